#if os(Linux)
import Foundation
import Glibc
import Synchronization
import Testing
import NetAddress
import TestSupport
@testable import Membership

// Two throwaway network namespaces joined by a veth pair (10.201.0.0/24, fd00:201::/64, only inside them). Each node's
// socket is created by start() on a thread that entered its namespace. Needs root: without it these tests fail, saying so.

/// Namespaces of one test, named mbt-<pid>-<random>-<side>; removed at the end, and stale ones of dead processes at start.
final class MembershipNetns: Sendable {
    struct Failure: Error, CustomStringConvertible { var description: String }

    let a: String
    let b: String
    static let vethA = "mbta0"
    static let vethB = "mbtb0"

    init() throws {
        Self.removeStale()
        let tag = "\(getpid())-\(UInt16.random(in: 0 ... .max))"
        a = "mbt-\(tag)-a"
        b = "mbt-\(tag)-b"
        do {
            try Self.must(["netns", "add", a])
            try Self.must(["netns", "add", b])
            try Self.must(["link", "add", Self.vethA, "netns", a, "type", "veth", "peer", "name", Self.vethB, "netns", b])
            for (ns, dev, v4, v6) in [(a, Self.vethA, "10.201.0.1/24", "fd00:201::1/64"), (b, Self.vethB, "10.201.0.2/24", "fd00:201::2/64")] {
                try Self.must(["-n", ns, "link", "set", "lo", "up"])
                try Self.must(["-n", ns, "addr", "add", v4, "dev", dev])
                try Self.must(["-n", ns, "addr", "add", v6, "dev", dev, "nodad"])
                // Keep the static IPv6 address across link down/up, as a node's network configuration would restore it.
                try Self.must(["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.\(dev).keep_addr_on_down=1"])
                try Self.must(["-n", ns, "link", "set", dev, "up"])
            }
        } catch {
            cleanup()
            throw error
        }
    }

    func cleanup() {
        _ = Self.ip(["netns", "del", a])
        _ = Self.ip(["netns", "del", b])
    }

    static func removeStale() {
        let (_, out) = ip(["netns", "list"])
        for line in out.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "mbt", let pid = Int32(parts[1]), pid != getpid(), kill(pid, 0) != 0 else { continue }
            _ = ip(["netns", "del", name])
        }
    }

    static func must(_ args: [String]) throws {
        let (status, out) = ip(args)
        guard status == 0 else { throw Failure(description: "ip \(args.joined(separator: " ")): status \(status): \(out)") }
    }

    /// Runs `ip args…` and waits for it: (status, stdout and stderr).
    @discardableResult
    static func ip(_ args: [String]) -> (Int32, String) {
        let result = runTool("ip", args, tag: "mbt")
        return (result.status, result.text)
    }

    /// Runs `body` on a new pthread that has entered namespace `name` (setns affects only that thread).
    static func inNamespace<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        try NetworkNamespace.run(in: name, body)
    }
}

@Suite("Membership across network namespaces", .serialized)
struct MembershipNamespaceTests {
    @Test(arguments: [("10.201.0.1", "10.201.0.2"), ("fd00:201::1", "fd00:201::2")])
    func linkDownAndUpBetweenNamespaces(hosts: (String, String)) async throws {
        #expect(getuid() == 0, "needs root to create network namespaces")
        let net = try MembershipNetns()
        defer { net.cleanup() }
        let addrA = try SocketEndpoint(host: hosts.0, port: 7946)
        let addrB = try SocketEndpoint(host: hosts.1, port: 7946)
        let members = ["ns-a": addrA, "ns-b": addrB]
        let nodeA = try MembershipNode(name: "ns-a", bind: addrA, keyring: keyring())
        let nodeB = try MembershipNode(name: "ns-b", bind: addrB, keyring: keyring())
        nodeA.setMembers(members)
        nodeB.setMembers(members)
        // The addresses exist only inside the namespaces: binding from this thread would fail.
        #expect(throws: MembershipNodeError.self) {
            try MembershipNode(name: "x", bind: addrA, keyring: keyring()).start()
        }
        try MembershipNetns.inNamespace(net.a) { try nodeA.start() }
        try MembershipNetns.inNamespace(net.b) { try nodeB.start() }
        defer {
            nodeA.stop(graceful: false)
            nodeB.stop(graceful: false)
        }
        let both: Set<String> = ["ns-a", "ns-b"]
        #expect(await MembershipSocketTests.eventually { nodeA.aliveSet == both && nodeB.aliveSet == both }, "never converged")

        // Node death as the benchmark does it: the link goes down.
        let stream = nodeB.changes()
        let downAt = MembershipNode.monotonicNow()
        try MembershipNetns.must(["-n", net.a, "link", "set", MembershipNetns.vethA, "down"])
        let u = try #require(await MembershipSocketTests.removal(of: "ns-a", in: stream))
        #expect(u.change.removed["ns-a"] == .timeout)
        print("netns \(hosts.0): link down → peer dropped after \(Double((u.change.at - downAt).nanoseconds) / 1e6) ms (includes spawning ip)")
        #expect(await MembershipSocketTests.eventually { nodeA.aliveSet == ["ns-a"] })

        try MembershipNetns.must(["-n", net.a, "link", "set", MembershipNetns.vethA, "up"])
        #expect(await MembershipSocketTests.eventually { nodeA.aliveSet == both && nodeB.aliveSet == both }, "did not rejoin")
    }
}
#endif
