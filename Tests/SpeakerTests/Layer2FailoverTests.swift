#if os(Linux)
import Glibc
import Layer2
import Membership
import NetAddress
import Speaker
import Testing
import TestSupport

/// The pure part of Layer 2 failover: who owns what for a given set of live members.
@Suite struct FailoverPlanTests {
    static let requests = (1...40).map { i in FailoverRequest(serviceKey: "ns/svc\(i)", ips: [IPAddress("10.255.0.\(i)")!]) }

    @Test func nothingIsOwnedBeforeTheMembershipSettled() {
        #expect(FailoverPlan.owned(by: "a", requests: Self.requests, alive: nil).isEmpty)
    }

    @Test func liveNodesSplitEveryIPExactlyOnce() {
        let alive: Set<String> = ["a", "b", "c"]
        let owned = alive.map { FailoverPlan.owned(by: $0, requests: Self.requests, alive: alive) }
        let all = owned.reduce(into: Set<ServiceIP>()) { $0.formUnion($1) }
        #expect(all.count == Self.requests.count)
        #expect(owned.map(\.count).reduce(0, +) == Self.requests.count)  // no IP twice
        #expect(owned.allSatisfy { !$0.isEmpty })  // 40 Services over 3 nodes: each gets some
    }

    @Test func candidatesRestrictAndADeadCandidateHandsOver() {
        let r = [FailoverRequest(serviceKey: "ns/only-b-c", ips: [IPAddress("10.255.1.1")!], candidates: ["b", "c"])]
        #expect(FailoverPlan.owned(by: "a", requests: r, alive: ["a", "b", "c"]).isEmpty)
        let owners = ["b", "c"].filter { !FailoverPlan.owned(by: $0, requests: r, alive: ["a", "b", "c"]).isEmpty }
        #expect(owners.count == 1)
        let survivor = owners == ["b"] ? "c" : "b"
        #expect(FailoverPlan.owned(by: survivor, requests: r, alive: ["a", survivor]).count == 1)
        // No live candidate: nobody, not a node outside the candidates.
        #expect(FailoverPlan.owned(by: "a", requests: r, alive: ["a"]).isEmpty)
    }

    @Test func interfacesOfARequestAreKept() {
        let r = [
            FailoverRequest(serviceKey: "ns/x", ips: [IPAddress("10.255.2.1")!], interfaces: ["eth1"]),
            FailoverRequest(serviceKey: "ns/y", ips: [IPAddress("fd00:255::1")!]),
        ]
        let owned = FailoverPlan.owned(by: "a", requests: r, alive: ["a"])
        let map = FailoverPlan.byInterface(owned, requests: r, allInterfaces: ["eth0", "eth1"])
        #expect(map == ["eth1": [IPAddress("10.255.2.1")!, IPAddress("fd00:255::1")!], "eth0": [IPAddress("fd00:255::1")!]])
    }
}

/// Polls `condition` every 20 ms until it holds or `limit` passes.
private func eventually(_ limit: Duration = .seconds(20), _ condition: () -> Bool) async -> Bool {
    let end = ContinuousClock.now + limit
    while ContinuousClock.now < end {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// Two failover nodes in a network namespace of the test's own (a veth pair, membership over its loopback): the
/// wiring of membership → election → announcer, on the membership thread.
@Suite(.serialized) struct Layer2FailoverLiveTests {
    static let requests = (1...20).map { i in FailoverRequest(serviceKey: "ns/svc\(i)", ips: [IPAddress("10.255.0.\(i)")!]) }


    @Test func ownersSplitTheIPsAndTheSurvivorTakesAllOver() async throws {
        guard getuid() == 0 else {
            Issue.record("needs root (network namespaces): this test did not run")
            return
        }
        let netns = try TestNetworkNamespace(prefix: "sft")
        defer { netns.remove() }
        let ns = netns.name
        try netns.ip(["link", "add", "sfa0", "type", "veth", "peer", "name", "sfb0"])
        try netns.ip(["link", "set", "sfa0", "up"])
        try netns.ip(["link", "set", "sfb0", "up"])

        let key = MembershipKeyring.testKey
        let nodes = try NetworkNamespace.run(in: ns) { () throws -> [Layer2Failover] in
            let members: [String: SocketEndpoint] = ["a": SocketEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 17946),
                                                     "b": SocketEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 17947)]
            return try ["a", "b"].map { name in
                let announcer = try Announcer(interfaces: [name == "a" ? "sfa0" : "sfb0"],
                                              configuration: Announcer.Configuration(announcementRounds: 1))
                let f = try Layer2Failover(node: name, announcer: announcer, membership: MembershipConfig(),
                                           bind: members[name]!, keyring: try MembershipKeyring(primary: key))
                f.setRequests(Self.requests)
                f.setMembers(members)
                try f.start()
                return f
            }
        }
        let (a, b) = (nodes[0], nodes[1])
        var stopped = false
        defer { if !stopped { b.stop() }; a.stop() }

        let all = Set(Self.requests.flatMap { r in r.ips.map { ServiceIP(serviceKey: r.serviceKey, ip: $0) } })
        let split = await eventually { a.alive == ["a", "b"] && b.alive == ["a", "b"] && a.owned.union(b.owned) == all }
        #expect(split, "a owns \(a.owned.count), b owns \(b.owned.count), alive \(String(describing: a.alive)) / \(String(describing: b.alive))")
        #expect(a.owned.isDisjoint(with: b.owned))
        #expect(!a.owned.isEmpty && !b.owned.isEmpty)
        // What the failover decided is what the announcer answers for.
        #expect(Set(a.announcer.answering()["sfa0"] ?? []) == Set(a.owned.map(\.ip)))

        b.stop()
        stopped = true
        let takenOver = await eventually { a.owned == all && a.alive == ["a"] }
        #expect(takenOver, "after b left, a owns \(a.owned.count) of \(all.count)")
        #expect(Set(a.announcer.answering()["sfa0"] ?? []) == Set(all.map(\.ip)))
    }
}

/// Hand-over: the leaving node keeps answering until the others have claimed its IPs on the wire.
@Suite(.serialized) struct Layer2HandOverTests {

    @Test func theLeavingNodeAnswersUntilTheNewOwnerHasAnnounced() async throws {
        guard getuid() == 0 else {
            Issue.record("needs root (network namespaces): this test did not run")
            return
        }
        let netns = try TestNetworkNamespace(prefix: "sho")
        defer { netns.remove() }
        let ns = netns.name
        try netns.ip(["link", "add", "sha0", "type", "veth", "peer", "name", "shb0"])
        try netns.ip(["link", "set", "sha0", "up"])
        try netns.ip(["link", "set", "shb0", "up"])
        // One Service only node b may announce: nobody will claim it, and the hand-over must not wait for it.
        let onlyB = FailoverRequest(serviceKey: "ns/only-b", ips: [IPAddress("10.255.9.1")!], candidates: ["b"])
        let requests = Layer2FailoverLiveTests.requests + [onlyB]

        let key = MembershipKeyring.testKey
        let nodes = try NetworkNamespace.run(in: ns) { () throws -> [Layer2Failover] in
            let members: [String: SocketEndpoint] = ["a": SocketEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 17956),
                                                     "b": SocketEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: 17957)]
            return try ["a", "b"].map { name in
                let announcer = try Announcer(interfaces: [name == "a" ? "sha0" : "shb0"],
                                              configuration: Announcer.Configuration(announcementRounds: 1))
                let f = try Layer2Failover(node: name, announcer: announcer, membership: MembershipConfig(),
                                           bind: members[name]!, keyring: try MembershipKeyring(primary: key))
                f.setRequests(requests)
                f.setMembers(members)
                try f.start()
                return f
            }
        }
        let (a, b) = (nodes[0], nodes[1])
        var handedOver = false
        defer { if !handedOver { b.stop() }; a.stop() }
        let shared = Set(Layer2FailoverLiveTests.requests.flatMap { r in r.ips.map { ServiceIP(serviceKey: r.serviceKey, ip: $0) } })
        #expect(await eventually { a.alive == ["a", "b"] && b.alive == ["a", "b"] && a.owned.union(b.owned).isSuperset(of: shared) })
        let fromB = b.owned.filter { $0.serviceKey != "ns/only-b" }
        #expect(!fromB.isEmpty)
        #expect(b.owned.contains { $0.serviceKey == "ns/only-b" })

        let report = await b.handOver(timeout: .seconds(10))
        handedOver = true
        print("hand-over: \(report)")
        // Every IP a may take was claimed on the wire by a before b stopped answering; the other one was not waited for.
        #expect(report.owned == fromB.count + 1)
        #expect(report.expected == fromB.count, "\(report)")
        #expect(report.unclaimed.isEmpty, "\(report)")
        #expect(report.took < .seconds(10), "\(report)")
        #expect(a.owned == shared)
        #expect(a.takeovers == UInt64(fromB.count))
        #expect(b.announcer.answering().isEmpty)
    }
}

/// Hand-back: a node that comes (back) is elected owner of some IPs at once; the node that answered them keeps
/// answering until the newcomer claims them on the wire (or a deadline passes), so a rolling update has no moment
/// when nobody answers.
@Suite(.serialized) struct Layer2HandBackTests {
    /// Starts `a` alone (it settles, then owns everything), then `b` without requests; returns both.
    static func pair(prefix: String, ports: (UInt16, UInt16), handBack: Duration) throws -> (TestNetworkNamespace, Layer2Failover, Layer2Failover) {
        let netns = try TestNetworkNamespace(prefix: prefix)
        try netns.ip(["link", "add", "\(prefix)a0", "type", "veth", "peer", "name", "\(prefix)b0"])
        try netns.ip(["link", "set", "\(prefix)a0", "up"])
        try netns.ip(["link", "set", "\(prefix)b0", "up"])
        let key = MembershipKeyring.testKey
        let members: [String: SocketEndpoint] = ["a": SocketEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: ports.0),
                                                 "b": SocketEndpoint(address: .v4(IPv4Address(127, 0, 0, 1)), port: ports.1)]
        let nodes = try NetworkNamespace.run(in: netns.name) { () throws -> [Layer2Failover] in
            try ["a", "b"].map { name in
                let announcer = try Announcer(interfaces: ["\(prefix)\(name)0"], configuration: Announcer.Configuration(announcementRounds: 1))
                let f = try Layer2Failover(node: name, announcer: announcer, membership: MembershipConfig(), bind: members[name]!,
                                           keyring: try MembershipKeyring(primary: key), handBackTimeout: handBack)
                f.setMembers(members)
                return f
            }
        }
        nodes[0].setRequests(Layer2FailoverLiveTests.requests)
        try NetworkNamespace.run(in: netns.name) { () throws in try nodes[0].start() }
        return (netns, nodes[0], nodes[1])
    }

    static let all = Set(Layer2FailoverLiveTests.requests.flatMap { r in r.ips.map { ServiceIP(serviceKey: r.serviceKey, ip: $0) } })

    @Test func theOldOwnerAnswersUntilTheNewcomerClaims() async throws {
        guard getuid() == 0 else {
            Issue.record("needs root (network namespaces): this test did not run")
            return
        }
        let (netns, a, b) = try Self.pair(prefix: "shk", ports: (17966, 17967), handBack: .seconds(30))
        defer { b.stop(); a.stop(); netns.remove() }
        #expect(await eventually { a.alive == ["a"] && a.owned == Self.all })

        // b joins before it knows what to announce: a elects it owner of some IPs, but keeps answering them.
        try NetworkNamespace.run(in: netns.name) { () throws in try b.start() }
        #expect(await eventually { a.alive == ["a", "b"] && b.alive == ["a", "b"] })
        let toB = Self.all.subtracting(a.owned)
        #expect(!toB.isEmpty && !a.owned.isEmpty)
        #expect(a.answered == Self.all, "a answers \(a.answered.count) of \(Self.all.count) while b announces nothing")
        #expect(Set(a.announcer.answering()["shka0"] ?? []) == Set(Self.all.map(\.ip)))
        #expect(a.handBacks.claimed == 0 && a.handBacks.timedOut == 0)

        // b announces (gratuitous ARP on the link): a stops answering each IP b claimed, well before the deadline.
        b.setRequests(Layer2FailoverLiveTests.requests)
        #expect(await eventually(.seconds(10)) { a.answered == a.owned })
        #expect(b.owned == toB)
        #expect(a.handBacks.claimed == UInt64(toB.count), "\(a.handBacks)")
        #expect(a.handBacks.timedOut == 0)
        #expect(Set(a.announcer.answering()["shka0"] ?? []) == Set(a.owned.map(\.ip)))
    }

    @Test func aNewcomerThatNeverClaimsGetsItsIPsAfterTheDeadline() async throws {
        guard getuid() == 0 else {
            Issue.record("needs root (network namespaces): this test did not run")
            return
        }
        let (netns, a, b) = try Self.pair(prefix: "shl", ports: (17968, 17969), handBack: .milliseconds(300))
        defer { b.stop(); a.stop(); netns.remove() }
        #expect(await eventually { a.alive == ["a"] && a.owned == Self.all })
        try NetworkNamespace.run(in: netns.name) { () throws in try b.start() }
        #expect(await eventually { a.alive == ["a", "b"] })
        // Nobody claims: after the deadline a answers only what it owns.
        #expect(await eventually(.seconds(10)) { a.answered == a.owned && a.owned != Self.all })
        #expect(a.handBacks.timedOut == UInt64(Self.all.count - a.owned.count), "\(a.handBacks)")
        #expect(a.handBacks.claimed == 0)
    }
}

extension MembershipKeyring {
    /// A fixed 32-byte key for tests.
    static let testKey: [UInt8] = Array(0..<32)
}
#endif
