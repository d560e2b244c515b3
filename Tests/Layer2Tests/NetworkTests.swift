#if os(Linux)
import Foundation
import Glibc
import Synchronization
import Testing
import NetAddress
import TestSupport
@testable import Layer2

// Live tests: two throwaway network namespaces joined by a veth pair, the Announcer running inside the "node" namespace,
// arping / ndisc6 / tcpdump in the "client" namespace. Addresses only from 10.254.0.0/24 and fd00:254::/64, only inside
// those namespaces; nothing is added to or routed through the root namespace, and no kernel address exists for the
// Service IPs (only the Announcer answers for them). Needs root: as non-root every test here fails, saying so.

/// Runs commands and manages the namespaces of one test.
final class TestNetwork: @unchecked Sendable {
    typealias SetupError = TestSetupError

    static let nodeInterface = "l2n0"
    static let clientInterface = "l2c0"
    static let nodeIPv4 = "10.254.0.1"
    static let clientIPv4 = "10.254.0.2"
    static let nodeIPv6 = "fd00:254::1"
    static let clientIPv6 = "fd00:254::2"

    let node: String
    let client: String
    private var created: [String] = []

    /// Fails (not skips) unless root with the tools installed.
    static func requirements() -> String? {
        if getuid() != 0 {
            return "Layer2 network tests need root (network namespaces, AF_PACKET sockets); run `swift test` as root. uid=\(getuid())"
        }
        let missing = ["ip", "arping", "ndisc6", "tcpdump"].filter { toolPath($0) == nil }
        if !missing.isEmpty {
            return "Layer2 network tests need \(missing.joined(separator: ", ")) (Debian: iproute2 arping ndisc6 tcpdump)"
        }
        return nil
    }

    /// Runs `tool args…` (at most `seconds`, then SIGKILL), capturing output.
    @discardableResult
    static func run(_ tool: String, _ args: [String], limit seconds: Int = 20) -> CommandResult {
        runTool(tool, args, limit: seconds, tag: "l2t")
    }

    /// Runs a command that must succeed during setup.
    private func must(_ tool: String, _ args: [String]) throws {
        let result = TestNetwork.run(tool, args)
        guard result.status == 0 else {
            throw SetupError(description: "\(tool) \(args.joined(separator: " ")) failed (\(result.status)): \(result.text)")
        }
    }

    /// Creates `l2t-<pid>-<random>-{n,c}` with the veth pair up and addressed; deletes whatever it made if a step fails.
    init() throws {
        TestNetwork.removeStale()
        let tag = "l2t-\(getpid())-\(String(UInt32.random(in: 0 ... UInt32.max), radix: 16))"
        node = tag + "-n"
        client = tag + "-c"
        do {
            for ns in [node, client] {
                try must("ip", ["netns", "add", ns])
                created.append(ns)
                // No DAD: addresses are usable at once (both ends are ours).
                try must("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])
                try must("ip", ["-n", ns, "link", "set", "lo", "up"])
            }
            try must("ip", ["-n", node, "link", "add", TestNetwork.nodeInterface, "type", "veth",
                            "peer", "name", TestNetwork.clientInterface, "netns", client])
            try must("ip", ["-n", node, "addr", "add", TestNetwork.nodeIPv4 + "/24", "dev", TestNetwork.nodeInterface])
            try must("ip", ["-n", client, "addr", "add", TestNetwork.clientIPv4 + "/24", "dev", TestNetwork.clientInterface])
            try must("ip", ["-n", node, "addr", "add", TestNetwork.nodeIPv6 + "/64", "dev", TestNetwork.nodeInterface, "nodad"])
            try must("ip", ["-n", client, "addr", "add", TestNetwork.clientIPv6 + "/64", "dev", TestNetwork.clientInterface, "nodad"])
            try must("ip", ["-n", node, "link", "set", TestNetwork.nodeInterface, "up"])
            try must("ip", ["-n", client, "link", "set", TestNetwork.clientInterface, "up"])
            try waitUntilReady()
        } catch {
            destroy()
            throw error
        }
    }

    /// Waits (≤ 10 s) until the client resolves the node's own addresses through the node kernel, so the link is usable.
    private func waitUntilReady() throws {
        let deadline = ContinuousClock.now + .seconds(10)
        let started = ContinuousClock.now
        var arpReady = false, ndpReady = false
        while ContinuousClock.now < deadline {
            arpReady = arpReady || !arping(TestNetwork.nodeIPv4, count: 1).macs.isEmpty
            ndpReady = ndpReady || !ndisc6(TestNetwork.nodeIPv6).macs.isEmpty
            if arpReady && ndpReady {
                TestNetwork.readiness.withLock { $0.append(ContinuousClock.now - started) }
                return
            }
            usleep(100_000)
        }
        throw SetupError(description: "veth link not usable after 10 s (ARP \(arpReady), NDP \(ndpReady))")
    }

    /// How long each setup waited for the link (reported by the tests).
    static let readiness = Mutex<[Duration]>([])

    /// Deletes the namespaces (idempotent); the veth pair goes with them.
    func destroy() {
        for ns in created.reversed() { TestNetwork.run("ip", ["netns", "del", ns]) }
        created = []
    }

    /// Deletes `l2t-<pid>-…` namespaces left by test processes that no longer run (e.g. a crash).
    static func removeStale() {
        let list = run("ip", ["netns", "list"]).stdout
        for line in list.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "l2t", let pid = Int32(parts[1]), pid != getpid(), kill(pid, 0) != 0 else { continue }
            run("ip", ["netns", "del", name])
        }
    }

    /// Runs `body` on a fresh thread that has entered the node namespace (setns(2) CLONE_NEWNET; sockets stay in the
    /// namespace they were created in, and threads started from it inherit it).
    func inNode<T: Sendable>(_ body: @escaping @Sendable () throws -> T) throws -> T {
        try TestNetwork.inNamespace(node, body)
    }

    static func inNamespace<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        try NetworkNamespace.run(in: name, body)
    }

    typealias Thread = TestThread

    // MARK: Client-side probes

    /// `arping -c count` from the client: the MACs that replied, one per reply line.
    func arping(_ ip: String, count: Int) -> (macs: [MACAddress], output: String) {
        let result = TestNetwork.run("ip", ["netns", "exec", client, "arping", "-c", String(count), "-W", "0.2",
                                            "-i", TestNetwork.clientInterface, ip])
        // "42 bytes from 02:…:0d (10.254.0.10): index=0 time=…"
        let macs = result.stdout.split(separator: "\n").compactMap { line -> MACAddress? in
            guard line.contains(" bytes from "), line.contains("(\(ip))") else { return nil }
            let words = line.split(separator: " ")
            guard let at = words.firstIndex(of: "from"), at + 1 < words.count else { return nil }
            return MACAddress(String(words[at + 1]))
        }
        return (macs, result.text)
    }

    /// One `ndisc6 -m` solicitation from the client: every target link-layer address that answered.
    func ndisc6(_ ip: String) -> (macs: [MACAddress], output: String) {
        let result = TestNetwork.run("ip", ["netns", "exec", client, "ndisc6", "-n", "-m", "-r", "1", "-w", "400",
                                            ip, TestNetwork.clientInterface])
        // "Target link-layer address: 02:00:…"
        let macs = result.stdout.split(separator: "\n").compactMap { line -> MACAddress? in
            guard line.hasPrefix("Target link-layer address: ") else { return nil }
            return MACAddress(String(line.dropFirst("Target link-layer address: ".count)).lowercased())
        }
        return (macs, result.text)
    }

    /// Link-layer multicast groups of the node's veth (`ip maddr`).
    func nodeLinkGroups() -> Set<MACAddress> {
        let text = TestNetwork.run("ip", ["-n", node, "maddr", "show", "dev", TestNetwork.nodeInterface]).stdout
        return Set(text.split(separator: "\n").compactMap { line -> MACAddress? in
            let words = line.split(separator: " ", omittingEmptySubsequences: true).map { $0.trimmingCharacters(in: .whitespaces) }
            guard words.count >= 2, words[0] == "link" else { return nil }
            return MACAddress(words[1])
        })
    }

    // MARK: Capture

    /// A tcpdump in the client namespace; `stop()` ends it and returns the frames.
    static func capture(namespace: String, interface: String) throws -> PacketCapture {
        try PacketCapture(namespace: namespace, interface: interface, filter: "arp or icmp6")
    }
}

/// Network tests share the machine's 2 cores with the build; run them one at a time.
@Suite("Layer2 live: namespaces + veth", .serialized)
struct NetworkTests {
    static let ownedV4 = IPAddress("10.254.0.10")!
    static let ownedV6 = IPAddress("fd00:254::10")!
    static let newV4 = IPAddress("10.254.0.11")!
    static let newV6 = IPAddress("fd00:254::11")!
    static let unowned = "10.254.0.77"
    static let unownedV6 = "fd00:254::77"

    /// Fast bursts for the tests: 3 rounds 100 ms apart.
    static let configuration = Announcer.Configuration(announcementRounds: 3, announcementInterval: .milliseconds(100))

    /// Runs `body` with fresh namespaces and an Announcer inside the node namespace; always stops it and deletes them.
    func withNetwork(configuration: Announcer.Configuration = NetworkTests.configuration,
                     onEvent: (@Sendable (Announcer.Event) -> Void)? = nil,
                     _ body: (TestNetwork, Announcer, MACAddress) throws -> Void) throws {
        if let problem = TestNetwork.requirements() {
            Issue.record(Comment(rawValue: problem))
            return
        }
        let network = try TestNetwork()
        defer { network.destroy() }
        let announcer = try network.inNode {
            try Announcer(interfaces: [TestNetwork.nodeInterface], configuration: configuration, onEvent: onEvent)
        }
        defer { announcer.stop() }
        let mac = try #require(announcer.hardwareAddress(of: TestNetwork.nodeInterface))
        try body(network, announcer, mac)
    }

    @Test func arpAndNDPAnswersForOwnedIPsOnly() throws {
        try withNetwork { network, announcer, mac in
            announcer.setOwned(ips: [Self.ownedV4, Self.ownedV6])
            #expect(announcer.answering() == [TestNetwork.nodeInterface: [Self.ownedV4, Self.ownedV6]])
            #expect(announcer.interfaces(answering: Self.ownedV6) == [TestNetwork.nodeInterface])
            usleep(300_000) // let the takeover burst finish so counters below are only answers

            let started = ContinuousClock.now
            let arp = network.arping(Self.ownedV4.description, count: 3)
            #expect(arp.macs == [mac, mac, mac], "arping owned: \(arp.output)")
            let none = network.arping(Self.unowned, count: 2)
            #expect(none.macs.isEmpty, "arping unowned: \(none.output)")

            var ndpReplies: [MACAddress] = []
            for _ in 0 ..< 3 {
                let nd = network.ndisc6(Self.ownedV6.description)
                #expect(nd.macs == [mac], "ndisc6 owned: \(nd.output)")
                ndpReplies += nd.macs
            }
            #expect(ndpReplies.count == 3)
            let ndNone = network.ndisc6(Self.unownedV6)
            #expect(ndNone.macs.isEmpty, "ndisc6 unowned: \(ndNone.output)")
            print("arping/ndisc6 probes took \(ContinuousClock.now - started)")

            let counters = try #require(announcer.counters()[TestNetwork.nodeInterface])
            #expect(counters.arpRepliesSent == 3)
            #expect(counters.neighborAdvertisementsSent == 3)
            #expect(counters.requestsAnswered == 6)
            #expect(counters.announcementsSent == 9) // 3 rounds × (ARP request + reply + NA)
            #expect(counters.errors == 0)
            #expect(counters.conflictsSeen == 0)
            // The kernel itself still answers for the veth's own address: the Announcer stays out of its way.
            #expect(network.arping(TestNetwork.nodeIPv4, count: 1).macs == [mac])
            #expect(announcer.counters()[TestNetwork.nodeInterface]?.arpRepliesSent == 3)
        }
    }

    @Test func newlyOwnedIPsAreAnnounced() throws {
        try withNetwork { network, announcer, mac in
            announcer.setOwned(ips: [Self.ownedV4])
            usleep(300_000)
            let capture = try TestNetwork.capture(namespace: network.client, interface: TestNetwork.clientInterface)
            defer { capture.stop() }
            let before = ContinuousClock.now
            let change = announcer.setOwned(ips: [Self.ownedV4, Self.newV4, Self.newV6])
            let setOwnedTook = ContinuousClock.now - before
            #expect(change.added == [TestNetwork.nodeInterface: [Self.newV4, Self.newV6]])
            #expect(change.removed.isEmpty)
            usleep(500_000)
            let frames = capture.stop()
            print("setOwned took \(setOwnedTook) (first round included); captured \(frames.count) frames; link ready after \(TestNetwork.readiness.withLock { $0 })")
            if frames.count < 9 { print(capture.report) }

            var arpRequests = 0, arpReplies = 0, advertisements = 0, stale = 0
            for bytes in frames {
                // The node kernel's own traffic (MLD reports, its NS) also comes from this MAC: look only at announcements.
                guard let frame = try? Layer2Frame(decoding: bytes), frame.ethernet.source == mac else { continue }
                switch frame.content {
                case .arp(let arp) where arp.isAnnouncement:
                    guard arp.senderProtocolAddress == IPv4Address("10.254.0.11")! else { stale += 1; continue }
                    #expect(arp.senderHardwareAddress == mac)
                    #expect(frame.ethernet.destination == .broadcast)
                    if arp.operation == .request { arpRequests += 1 } else { arpReplies += 1 }
                case .ndp(let ndp):
                    guard case .neighborAdvertisement(let na) = ndp.message, !na.isSolicited else { continue }
                    guard na.target == IPv6Address("fd00:254::11")! else { stale += 1; continue }
                    #expect(na.isOverride && na.targetLinkLayerAddress == mac)
                    #expect(ndp.destination == .allNodes && frame.ethernet.destination == .ipv6AllNodes)
                    advertisements += 1
                default:
                    continue
                }
            }
            // RFC 5227 §2.3/§3 gratuitous ARP in both forms and RFC 4861 §7.2.6 unsolicited NA, one per round, for the new IPs only.
            #expect(arpRequests == 3)
            #expect(arpReplies == 3)
            #expect(advertisements == 3)
            #expect(stale == 0, "IPs owned before were announced again")
            #expect(announcer.counters()[TestNetwork.nodeInterface]?.announcementsSent == 2 * 3 + 9)
        }
    }

    @Test func releasedIPsAreNoLongerAnsweredAndGroupsAreLeft() throws {
        try withNetwork { network, announcer, mac in
            let group = MACAddress(ipv6Multicast: IPv6Address("fd00:254::10")!.solicitedNodeMulticast)
            #expect(!network.nodeLinkGroups().contains(group))
            announcer.setOwned(ips: [Self.ownedV4, Self.ownedV6])
            #expect(network.nodeLinkGroups().contains(group), "PACKET_ADD_MEMBERSHIP for \(group)")
            #expect(announcer.joinedGroups(on: TestNetwork.nodeInterface) == [group])
            #expect(network.arping(Self.ownedV4.description, count: 1).macs == [mac])
            // ndisc6 -m prints every NA within its wait, so the takeover's unsolicited NAs (announcement rounds 100 ms
            // apart, just started) may be counted beside the answer: what matters is that ours, and only ours, answer.
            let answers = network.ndisc6(Self.ownedV6.description).macs
            #expect(!answers.isEmpty && Set(answers) == [mac], "\(answers)")

            let change = announcer.setOwned(ips: [IPAddress]())
            #expect(change.removed == [TestNetwork.nodeInterface: [Self.ownedV4, Self.ownedV6]])
            #expect(announcer.answering().isEmpty)
            #expect(!network.nodeLinkGroups().contains(group), "PACKET_DROP_MEMBERSHIP for \(group)")
            #expect(announcer.joinedGroups(on: TestNetwork.nodeInterface).isEmpty)
            let arp = network.arping(Self.ownedV4.description, count: 2)
            #expect(arp.macs.isEmpty, "arping released: \(arp.output)")
            let nd = network.ndisc6(Self.ownedV6.description)
            #expect(nd.macs.isEmpty, "ndisc6 released: \(nd.output)")
            #expect(announcer.counters()[TestNetwork.nodeInterface]?.requestsAnswered == 2)

            // Taking it back answers again; stop() ends everything and drops the group.
            announcer.setOwned(ips: [Self.ownedV4, Self.ownedV6])
            #expect(network.arping(Self.ownedV4.description, count: 1).macs == [mac])
            announcer.stop()
            #expect(!network.nodeLinkGroups().contains(group))
            #expect(network.arping(Self.ownedV4.description, count: 1).macs.isEmpty)
            #expect(announcer.setOwned(ips: [Self.ownedV4]).isEmpty)
        }
    }

    /// A gratuitous ARP from another station for an owned IP is reported as a conflict (RFC 5227 §2.4), not answered.
    @Test func conflictIsReported() throws {
        let events = Mutex<[Announcer.Event]>([])
        try withNetwork(onEvent: { event in events.withLock { $0.append(event) } }) { network, announcer, mac in
            announcer.setOwned(ips: [Self.ownedV4])
            let clientMAC = try TestNetwork.inNamespace(network.client) {
                try PacketSocket.interface(named: TestNetwork.clientInterface).hardwareAddress
            }
            let ip = Self.ownedV4.description
            let result = TestNetwork.run("ip", ["netns", "exec", network.client, "arping", "-U", "-S", ip, "-c", "1",
                                                "-i", TestNetwork.clientInterface, ip])
            // Positive signal first (the conflict was counted), then "no reply sent" means something.
            let deadline = ContinuousClock.now + .seconds(5)
            while (announcer.counters()[TestNetwork.nodeInterface]?.conflictsSeen ?? 0) == 0 && ContinuousClock.now < deadline { usleep(20_000) }
            let counters = try #require(announcer.counters()[TestNetwork.nodeInterface])
            #expect(counters.conflictsSeen == 1, "\(result.text)")
            #expect(counters.arpRepliesSent == 0)
            let expected = Announcer.Event.conflict(interface: TestNetwork.nodeInterface, address: Self.ownedV4,
                                                    claimedBy: try #require(clientMAC))
            #expect(events.withLock { $0 } == [expected])
            #expect(announcer.answering() == [TestNetwork.nodeInterface: [Self.ownedV4]]) // still ours: the caller decides
            _ = mac
        }
    }

    /// The threads answering ARP/NDP run real-time (SCHED_FIFO, `readerPriority`), so a busy machine does not delay the
    /// answers; nil leaves them at normal priority. Read back from /proc (field 41: policy, 40: rt_priority).
    @Test(arguments: [Int32(5), nil])
    func readerThreadsRunAtTheConfiguredPriority(priority: Int32?) throws {
        var configuration = NetworkTests.configuration
        configuration.readerPriority = priority
        try withNetwork(configuration: configuration) { _, _, _ in try Self.expectReaderScheduling(priority) }
    }

    static func expectReaderScheduling(_ priority: Int32?) throws {
        let name = "l2-" + TestNetwork.nodeInterface
        var found: (policy: Int, priority: Int)?
        let deadline = ContinuousClock.now + .seconds(5)
        while found == nil && ContinuousClock.now < deadline {
            for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
                let comm = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                guard comm == name, let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                      let close = stat.lastIndex(of: ")") else { continue }
                // Fields after "(comm)" start at field 3.
                let fields = stat[stat.index(after: close)...].split(separator: " ")
                guard fields.count > 38, let rt = Int(fields[37]), let policy = Int(fields[38]) else { continue }
                // A thread that has not applied its scheduling yet still shows 0: wait for it.
                if priority == nil || policy != 0 { found = (policy, rt) }
            }
            if found == nil { usleep(20_000) }
        }
        let seen = try #require(found, "no thread named \(name) with its scheduling applied")
        if let priority {
            #expect(seen.policy == 1, "SCHED_FIFO expected, policy \(seen.policy)")
            #expect(seen.priority == Int(priority))
        } else {
            #expect(seen.policy == 0 && seen.priority == 0)
        }
    }

    /// A request that waited in the socket while the reader was not running (a stalled process) is not answered when it
    /// is older than `maximumRequestAge`: another node may have taken the IP over meanwhile. Fresh ones still are.
    @Test func requestsOlderThanTheLimitAreNotAnswered() throws {
        var configuration = NetworkTests.configuration
        configuration.maximumRequestAge = .milliseconds(100)
        try withNetwork(configuration: configuration) { network, announcer, mac in try Self.expectStaleRequestsIgnored(network, announcer, mac) }
    }

    static func expectStaleRequestsIgnored(_ network: TestNetwork, _ announcer: Announcer, _ mac: MACAddress) throws {
        announcer.setOwned(ips: [Self.ownedV4])
        #expect(network.arping(Self.ownedV4.description, count: 1).macs == [mac], "a fresh request is answered")

        // The reader stops running for 1.5 s after its current wait; the first request ends that wait (and is answered),
        // the second waits in the socket for most of the stall and is read far older than 100 ms.
        announcer.simulateReaderStall(for: .milliseconds(1500))
        _ = network.arping(Self.ownedV4.description, count: 1)
        let late = network.arping(Self.ownedV4.description, count: 1)
        #expect(late.macs.isEmpty, "a request read after the stall must not be answered: \(late.output)")
        let deadline = ContinuousClock.now + .seconds(10)
        while announcer.totalCounters().staleRequestsIgnored == 0 && ContinuousClock.now < deadline { usleep(20_000) }
        #expect(announcer.totalCounters().staleRequestsIgnored == 1, "\(announcer.totalCounters())")
        #expect(network.arping(Self.ownedV4.description, count: 1).macs == [mac], "answers again once running")
    }

    /// The kernel's receive time comes with each frame: one left waiting in the socket is read as old as it is.
    @Test func receivedFramesCarryTheirAge() throws {
        if let problem = TestNetwork.requirements() {
            Issue.record(Comment(rawValue: problem))
            return
        }
        let network = try TestNetwork()
        defer { network.destroy() }
        let socket = try network.inNode { try PacketSocket(interface: TestNetwork.nodeInterface) }
        defer { socket.close() }
        _ = network.arping(Self.unowned, count: 1)
        usleep(300_000)
        let frame = try #require(try socket.receiveFrame(timeout: .seconds(5)), "the request never reached the socket")
        let age = try #require(frame.age, "no kernel timestamp")
        #expect(age >= .milliseconds(300), "age \(age)")
        #expect(age < .seconds(60), "age \(age)")
    }

    @Test func packetSocketBasics() throws {
        if let problem = TestNetwork.requirements() {
            Issue.record(Comment(rawValue: problem))
            return
        }
        let network = try TestNetwork()
        defer { network.destroy() }
        let interfaces = try network.inNode { try PacketSocket.interfaces() }
        #expect(interfaces.map(\.name).sorted() == ["l2n0", "lo"])
        #expect(interfaces.filter(\.canAnnounce).map(\.name) == ["l2n0"])
        #expect(interfaces.first { $0.name == "lo" }?.isLoopback == true)

        let veth = try network.inNode { try PacketSocket.interface(named: TestNetwork.nodeInterface) }
        #expect(veth.isUp && !veth.isLoopback && veth.hardwareType == 1)
        #expect(interfaces.first { $0.name == "l2n0" } == veth)

        // Loopback is refused (not Ethernet), with the interface named in the error.
        let loopbackError = try network.inNode { () -> String in
            do { _ = try PacketSocket(interface: "lo"); return "" } catch { return String(describing: error) }
        }
        #expect(loopbackError.contains("lo") && loopbackError.contains("not an Ethernet interface"), "\(loopbackError)")

        // receive times out with nil; close() wakes a receiver blocked without timeout at once.
        let socket = try network.inNode { try PacketSocket(interface: TestNetwork.nodeInterface) }
        defer { socket.close() }
        let start = ContinuousClock.now
        #expect(try socket.receive(timeout: .milliseconds(100)) == nil)
        #expect(ContinuousClock.now - start >= .milliseconds(100))
        let woke = Mutex<Duration?>(nil)
        let reader = try TestNetwork.Thread.start {
            let t0 = ContinuousClock.now
            _ = try? socket.receive()
            woke.withLock { $0 = ContinuousClock.now - t0 }
        }
        usleep(200_000)
        let closedAt = ContinuousClock.now
        socket.close()
        reader.join()
        // close wakes a reader blocked in receive (a hang would fail here, or at join above);
        // how fast depends on the machine's load, so only a hang is a failure.
        #expect(ContinuousClock.now - closedAt < .seconds(5))
        #expect(woke.withLock { $0 } != nil)
        #expect(throws: PacketSocketError.closed(interface: "l2n0")) { try socket.send(Array(repeating: 0, count: 60)) }
        #expect(try socket.receive(timeout: .milliseconds(10)) == nil)
    }
}

@Suite("PacketSocket errors (no root needed)")
struct PacketSocketErrorTests {
    @Test func missingInterfaceIsAClearError() {
        do {
            _ = try PacketSocket(interface: "nonexistent0")
            Issue.record("opened a socket on a missing interface")
        } catch {
            #expect(error.description.contains("nonexistent0"))
            #expect(error.description.contains("if_nametoindex"))
            #expect(error.description.contains("No such device"))
        }
        #expect(throws: PacketSocketError.invalidInterfaceName("a-name-longer-than-15")) {
            try PacketSocket.interface(named: "a-name-longer-than-15")
        }
    }

    @Test func filterProgramShape() {
        // Jumps land on the two return instructions; the accept value is non-zero, the drop is zero.
        let program = PacketSocket.filterProgram
        for (i, ins) in program.enumerated() where ins.code == 0x15 {
            #expect(program[i + 1 + Int(ins.jt)].code == 0x06 || ins.jt == 0)
            #expect(program[i + 1 + Int(ins.jf)].code == 0x06 || ins.jf == 0)
        }
        let drop = program[program.count - 2]
        let accept = program[program.count - 1]
        #expect(drop.code == 0x06 && drop.k == 0)
        #expect(accept.code == 0x06 && accept.k > 0)
    }
}
#endif
