import Foundation
import Synchronization
import Testing
import NetAddress
@testable import Membership

/// Real UDP sockets on loopback, one thread per node, in this process.
@Suite("Membership over loopback UDP", .serialized)
struct MembershipSocketTests {
    static func startNodes(_ names: [String], host: String, keys: [String: [UInt8]] = [:],
                           config: MembershipConfig = MembershipConfig()) throws -> [String: MembershipNode] {
        var nodes: [String: MembershipNode] = [:]
        for n in names {
            let node = try MembershipNode(config: config, name: n, bind: try SocketEndpoint(host: host, port: 0),
                                          keyring: keyring(keys[n] ?? testKey))
            try node.start()
            nodes[n] = node
        }
        var list: [String: SocketEndpoint] = [:]
        for (n, node) in nodes {
            guard let bound = node.boundAddress else { throw MembershipNodeError.socket(call: "getsockname", errno: 0) }
            list[n] = bound
        }
        for node in nodes.values { node.setMembers(list) }
        return nodes
    }

    /// Polls `condition` until true or `seconds` pass (a generous bound for a loaded 2-core machine).
    static func eventually(_ seconds: Double = 10, _ condition: () -> Bool) async -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return condition()
    }

    /// The first update removing `member`, or nil after `seconds`.
    static func removal(of member: String, in stream: AsyncStream<AliveSetUpdate>, seconds: Double = 10) async -> AliveSetUpdate? {
        await withTaskGroup(of: AliveSetUpdate?.self) { group in
            group.addTask {
                for await u in stream where u.change.removed[member] != nil { return u }
                return nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(seconds))
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
    }

    @Test func threeNodesConvergeDetectCrashAndRejoinIPv4() async throws {
        let names = ["n0", "n1", "n2"]
        let nodes = try Self.startNodes(names, host: "127.0.0.1")
        defer { for n in nodes.values { n.stop(graceful: false) } }
        let all = Set(names)
        #expect(await Self.eventually { nodes.values.allSatisfy { $0.aliveSet == all } }, "never converged")
        for n in nodes.values { #expect(n.schedulingOutcome != nil) }
        print("membership thread scheduling: \(nodes["n0"]?.schedulingOutcome.map(String.init(describing:)) ?? "?")")

        // Crash n2 (no leave): the others notice after about the timeout.
        let victim = try #require(nodes["n2"])
        let victimAddress = try #require(victim.boundAddress)
        let streams = ["n0", "n1"].compactMap { nodes[$0]?.changes() }
        let stoppedAt = MembershipNode.monotonicNow()
        victim.stop(graceful: false)
        for (i, stream) in streams.enumerated() {
            let update = await Self.removal(of: "n2", in: stream)
            let u = try #require(update, "n\(i) never removed n2")
            #expect(u.change.removed["n2"] == .timeout)
            let ms = Double((u.change.at - stoppedAt).nanoseconds) / 1e6
            print("loopback crash detection by n\(i): \(ms) ms (default timeout \(MembershipConfig().timeout))")
            #expect(ms < 2000)
        }
        #expect(nodes["n0"]?.aliveSet == ["n0", "n1"])

        // n2 comes back (new process = new incarnation) on the same port.
        let back = try MembershipNode(name: "n2", bind: victimAddress, keyring: keyring())
        try back.start()
        defer { back.stop(graceful: false) }
        var list: [String: SocketEndpoint] = [:]
        for (n, node) in nodes { list[n] = node.boundAddress }
        list["n2"] = victimAddress
        back.setMembers(list)
        #expect(await Self.eventually { [nodes["n0"], nodes["n1"], back].allSatisfy { $0?.aliveSet == all } }, "n2 did not rejoin")
        // Other tests run in parallel on loopback and may reuse a closed port of ours: their datagrams are unknownSource
        // (from no member's address and port), unknownSender or badMAC here. Nothing of this cluster's own traffic may
        // be dropped.
        let ownDrops = (nodes["n0"]?.counters.dropped ?? [:]).filter { ![.unknownSource, .unknownSender, .badMAC].contains($0.key) }
        #expect(ownDrops.isEmpty, "\(ownDrops)")
    }

    @Test func gracefulLeaveOverIPv6() async throws {
        let names = ["v0", "v1", "v2"]
        let nodes = try Self.startNodes(names, host: "::1")
        defer { for n in nodes.values { n.stop(graceful: false) } }
        #expect(await Self.eventually { nodes.values.allSatisfy { $0.aliveSet == Set(names) } }, "never converged over ::1")
        let stream = try #require(nodes["v0"]?.changes())
        let stoppedAt = MembershipNode.monotonicNow()
        nodes["v1"]?.stop(graceful: true)
        let u = try #require(await Self.removal(of: "v1", in: stream))
        #expect(u.change.removed["v1"] == .left)
        print("graceful leave seen after \(Double((u.change.at - stoppedAt).nanoseconds) / 1e6) ms")
    }

    @Test func wrongKeyNeverBecomesAlive() async throws {
        let names = ["k0", "k1", "intruder"]
        let nodes = try Self.startNodes(names, host: "127.0.0.1", keys: ["intruder": otherKey])
        defer { for n in nodes.values { n.stop(graceful: false) } }
        #expect(await Self.eventually { nodes["k0"]?.aliveSet == ["k0", "k1"] && nodes["k1"]?.aliveSet == ["k0", "k1"] })
        // Give the intruder plenty of heartbeats.
        #expect(await Self.eventually { (nodes["k0"]?.counters.dropped[.badMAC] ?? 0) >= 50 })
        // Follows the positive signal above (≥ 50 intruder heartbeats seen and dropped); the
        // margin lets a wrongly accepted one show in the alive sets below.
        try await Task.sleep(for: .milliseconds(200))
        #expect(nodes["k0"]?.aliveSet == ["k0", "k1"])
        #expect(nodes["k1"]?.aliveSet == ["k0", "k1"])
        #expect(nodes["intruder"]?.aliveSet == ["intruder"], "\(String(describing: nodes["intruder"]?.counters)) \(String(describing: nodes["intruder"]?.schedulingOutcome))")
        #expect((nodes["intruder"]?.counters.dropped[.badMAC] ?? 0) > 0)
    }

    @Test func readinessAndMemberEditsThroughTheNodeAPI() async throws {
        let names = ["r0", "r1"]
        let nodes = try Self.startNodes(names, host: "127.0.0.1")
        defer { for n in nodes.values { n.stop(graceful: false) } }
        let r0 = try #require(nodes["r0"])
        #expect(await Self.eventually { r0.aliveSet == ["r0", "r1"] })
        r0.setReady("r1", false)
        #expect(r0.aliveSet == ["r0"], "readiness false acts at once")
        r0.setReady("r1", nil)
        #expect(r0.aliveSet == ["r0", "r1"])
        r0.setMembers(["r0": try #require(r0.boundAddress)])
        #expect(r0.aliveSet == ["r0"])
    }

    @Test func streamsEndWhenTheNodeStopsWhileBeingRead() async throws {
        let nodes = try Self.startNodes(["s0", "s1"], host: "127.0.0.1")
        let s0 = try #require(nodes["s0"])
        defer { nodes["s1"]?.stop(graceful: false) }
        #expect(await Self.eventually { s0.aliveSet == ["s0", "s1"] })
        let stream = s0.changes()
        let reader = Task {
            var count = 0
            for await _ in stream { count += 1 }
            return count
        }
        try await Task.sleep(for: .milliseconds(50))
        s0.stop(graceful: true)
        let count = await reader.value
        #expect(count >= 1, "the current set comes first")
        // After stop, a new subscription ends at once.
        var after = s0.changes().makeAsyncIterator()
        #expect(await after.next() == nil)
    }

    /// The failover fast path: `onChange` sees every change, in order, on the node's own threads (not the caller's), and
    /// the last update it saw matches the node's alive set.
    @Test func changeHandlerRunsOnTheNodeThreadsInOrder() async throws {
        struct Seen: Sendable {
            var update: AliveSetUpdate
            var thread: String
            var at: MonotonicTime
        }
        let log = Mutex<[Seen]>([])
        let record: @Sendable (AliveSetUpdate) -> Void = { update in
            let now = MembershipNode.monotonicNow()
            let thread = ((try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "?")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            log.withLock { $0.append(Seen(update: update, thread: thread, at: now)) }
        }
        var nodes: [String: MembershipNode] = [:]
        for n in ["h0", "h1", "h2"] {
            let handler: (@Sendable (AliveSetUpdate) -> Void)? = n == "h0" ? record : nil
            let node = try MembershipNode(name: n, bind: try SocketEndpoint(host: "127.0.0.1", port: 0), keyring: keyring(),
                                          onChange: handler)
            try node.start()
            nodes[n] = node
        }
        defer { for n in nodes.values { n.stop(graceful: false) } }
        var list: [String: SocketEndpoint] = [:]
        for (n, node) in nodes { list[n] = try #require(node.boundAddress) }
        let observer = try #require(nodes["h0"])
        let stream = observer.changes()
        for node in nodes.values { node.setMembers(list) }
        #expect(await Self.eventually { observer.aliveSet == ["h0", "h1", "h2"] }, "never converged")

        let streamSaw = Mutex<MonotonicTime?>(nil)
        let reader = Task {
            for await u in stream where u.change.removed["h2"] != nil {
                streamSaw.withLock { $0 = MembershipNode.monotonicNow() }
                return
            }
        }
        try #require(nodes["h2"]).stop(graceful: false)
        #expect(await Self.eventually { streamSaw.withLock { $0 } != nil }, "the stream never reported h2's removal")
        reader.cancel()
        #expect(await Self.eventually { log.withLock { $0.contains { $0.update.change.removed["h2"] != nil } } },
                "the handler never saw h2's removal")

        let updates = log.withLock { $0 }
        #expect(!updates.isEmpty)
        // Decision times never go backwards: the handler got them in order.
        for (a, b) in zip(updates, updates.dropFirst()) { #expect(a.update.change.at <= b.update.change.at) }
        // The timeout was decided, and handled, on one of the node's own threads (the standby when the node thread was
        // late), never on the caller's or Swift's pool.
        let removal = try #require(updates.first { $0.update.change.removed["h2"] != nil }, "the handler never saw h2 go")
        #expect(removal.update.change.removed["h2"] == .timeout)
        #expect(["membership", "membership-sb"].contains(removal.thread), "handled on \(removal.thread)")
        #expect(updates.last?.update.change.alive == observer.aliveSet)
    }

    /// A stalled node thread (its vCPU taken away for longer than the timeout) is covered by the standby thread on the
    /// other CPU: peers keep hearing it, nobody is declared dead. Control: without the standby the same stall is a
    /// (false) death. Needs two CPUs, which this machine and CI have.
    @Test(arguments: [true, false])
    func standbyThreadCoversAStalledNodeThread(standby: Bool) async throws {
        var config = MembershipConfig()
        config.standbyThread = standby
        let names = ["s0", "s1", "s2"]
        let nodes = try Self.startNodes(names, host: "127.0.0.1", config: config)
        defer { for n in nodes.values { n.stop(graceful: false) } }
        #expect(await Self.eventually { nodes.values.allSatisfy { $0.aliveSet == Set(names) } }, "never converged")
        let victim = try #require(nodes["s0"])
        let placement = try #require(victim.threadPlacement)
        if standby {
            #expect(placement.noStandbyReason == nil, "\(placement)")
            #expect(placement.primaryCPU != nil && placement.standbyCPU != nil && placement.primaryCPU != placement.standbyCPU, "\(placement)")
        } else {
            #expect(placement.noStandbyReason == "disabled")
        }
        let streams = ["s1", "s2"].compactMap { nodes[$0]?.changes() }
        // 3 × the timeout: long enough that a real silence is always seen.
        victim.simulatePrimaryStall(for: config.timeout * 3)
        // A window, not a wait for an event: the stall lasts 3 × timeout. Its positive signal is
        // checked below: standby takeovers (with a standby) or both peers' removals (without).
        try await Task.sleep(for: config.timeout * 3 + .milliseconds(200))
        var removals = 0
        for stream in streams {
            if await Self.removal(of: "s0", in: stream, seconds: 0.2) != nil { removals += 1 }
        }
        let takeovers = victim.counters.standbyTakeovers
        print("standby \(standby): \(placement); s0 removed by \(removals) of 2 peers; standby takeovers \(takeovers)")
        if standby {
            #expect(removals == 0)
            #expect(takeovers > 0)
        } else {
            #expect(removals == 2)
            #expect(takeovers == 0)
        }
    }

    @Test func startTwiceAndBindErrorsAreTyped() throws {
        let node = try MembershipNode(name: "e0", bind: try SocketEndpoint(host: "127.0.0.1", port: 0), keyring: keyring())
        try node.start()
        defer { node.stop(graceful: false) }
        #expect(throws: MembershipNodeError.alreadyStarted) { try node.start() }
        let port = try #require(node.boundAddress?.port)
        let clash = try MembershipNode(name: "e1", bind: try SocketEndpoint(host: "127.0.0.1", port: port), keyring: keyring())
        #expect(throws: MembershipNodeError.self) { try clash.start() }
        // 192.0.2.1 (TEST-NET-1) is not a local address: bind fails, nothing is sent anywhere.
        let foreign = try MembershipNode(name: "e2", bind: try SocketEndpoint(host: "192.0.2.1", port: 0), keyring: keyring())
        #expect(throws: MembershipNodeError.self) { try foreign.start() }
    }
}

@Suite("Membership crash detection distribution", .serialized)
struct MembershipDetectionDistributionTests {
    /// Crashes (stop without leave) one of three loopback nodes 20 times and records when each survivor drops it.
    @Test func crashDetectionDistribution() async throws {
        let names = ["d0", "d1", "d2"]
        let nodes = try MembershipSocketTests.startNodes(names, host: "127.0.0.1")
        var victim = try #require(nodes["d2"])
        let victimAddress = try #require(victim.boundAddress)
        var list: [String: SocketEndpoint] = [:]
        for (n, node) in nodes { list[n] = node.boundAddress }
        defer {
            for n in nodes.values { n.stop(graceful: false) }
            victim.stop(graceful: false)
        }
        var samples: [Double] = []
        for round in 0 ..< 20 {
            let ok = await MembershipSocketTests.eventually {
                nodes["d0"]?.aliveSet == Set(names) && nodes["d1"]?.aliveSet == Set(names) && victim.aliveSet == Set(names)
            }
            #expect(ok, "round \(round): did not converge")
            // Crash at a random phase of the heartbeat grid.
            try await Task.sleep(for: .milliseconds(Int.random(in: 5 ... 40)))
            let streams = ["d0", "d1"].compactMap { nodes[$0]?.changes() }
            let stoppedAt = MembershipNode.monotonicNow()
            victim.stop(graceful: false)
            for stream in streams {
                let u = try #require(await MembershipSocketTests.removal(of: "d2", in: stream))
                samples.append(Double((u.change.at - stoppedAt).nanoseconds) / 1e6)
            }
            victim = try MembershipNode(name: "d2", bind: victimAddress, keyring: keyring())
            victim.setMembers(list)
            try victim.start()
        }
        samples.sort()
        let p = { (q: Double) in samples[min(samples.count - 1, Int((Double(samples.count) * q).rounded(.up)) - 1)] }
        print(String(format: "loopback crash detection over %d samples (timeout %@): min %.1f p50 %.1f p99 %.1f max %.1f ms",
                     samples.count, "\(MembershipConfig().timeout)", samples[0], p(0.5), p(0.99), samples[samples.count - 1]))
        #expect(samples.count == 40)
        #expect(samples.allSatisfy { $0 < 2000 })
    }
}
