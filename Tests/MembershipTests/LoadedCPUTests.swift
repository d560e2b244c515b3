import Foundation
import Glibc
import Synchronization
import Testing
import NetAddress
@testable import Membership

/// Busy threads on every CPU (twice over) at normal priority while three nodes run: nobody may be suspected.
@Suite("Membership under CPU saturation", .serialized)
struct MembershipLoadedCPUTests {
    final class Burner: Sendable {
        private let running = Atomic<Bool>(true)
        private let finished = Atomic<Int>(0)
        let threads: Int

        init(threads: Int) {
            self.threads = threads
            for _ in 0 ..< threads {
                let t = Thread { [self] in
                    var x: UInt64 = 1
                    while running.load(ordering: .relaxed) {
                        for _ in 0 ..< 10_000 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
                    }
                    if x == 42 { print("") }
                    finished.add(1, ordering: .relaxed)
                }
                t.start()
            }
        }

        func stop() {
            running.store(false, ordering: .relaxed)
            while finished.load(ordering: .relaxed) < threads { usleep(1000) }
        }
    }

    static func run(seconds: Double, scheduling: SchedulingRequest) async throws -> (removals: Int, longestGapMs: Double, outcome: String) {
        let names = ["cpu0", "cpu1", "cpu2"]
        var nodes: [String: MembershipNode] = [:]
        for n in names {
            let node = try MembershipNode(name: n, bind: try SocketEndpoint(host: "127.0.0.1", port: 0), keyring: keyring(), scheduling: scheduling)
            try node.start()
            nodes[n] = node
        }
        defer { for n in nodes.values { n.stop(graceful: false) } }
        var list: [String: SocketEndpoint] = [:]
        for (n, node) in nodes { list[n] = node.boundAddress }
        for node in nodes.values { node.setMembers(list) }
        #expect(await MembershipSocketTests.eventually { nodes.values.allSatisfy { $0.aliveSet == Set(names) } })
        let streams = nodes.values.map { $0.changes() }
        let burner = Burner(threads: 2 * max(1, ProcessInfo.processInfo.activeProcessorCount))
        // A measurement window (every CPU busy for `seconds`), not a wait for an event; the
        // positive signal is the heartbeat gap statistics read below (longestDirectGap).
        try await Task.sleep(for: .seconds(seconds))
        burner.stop()
        var removals = 0
        for s in streams {
            // Drain what was published during the run (the first element is the current set).
            let collected = await withTaskGroup(of: Int.self) { group in
                group.addTask {
                    var count = 0
                    for await u in s { count += u.change.removed.count }
                    return count
                }
                try? await Task.sleep(for: .milliseconds(100))
                group.cancelAll()
                return await group.next() ?? 0
            }
            removals += collected
        }
        var longest = Duration.zero
        for (n, node) in nodes {
            for peer in names where peer != n {
                longest = max(longest, node.status(of: peer)?.longestDirectGap ?? .zero)
            }
        }
        return (removals, Double(longest.nanoseconds) / 1e6, nodes["cpu0"]?.schedulingOutcome?.description ?? "?")
    }

    @Test func noFalseSuspicionWithEveryCPUBusy() async throws {
        let r = try await Self.run(seconds: 5, scheduling: .default)
        print("CPU saturated 5 s, \(r.outcome): \(r.removals) removals, longest heartbeat gap \(r.longestGapMs) ms (timeout \(MembershipConfig().timeout))")
        #expect(r.removals == 0)
    }

    /// The fallback when SCHED_FIFO is refused. Measured, not asserted: under saturation plus vCPU steal its longest gap
    /// came within 2 ms of the timeout once (128 ms), so it has no margin to promise; SCHED_FIFO is what the defaults rely on.
    @Test func niceFallbackUnderSaturation() async throws {
        let r = try await Self.run(seconds: 5, scheduling: .nice(-10))
        print("CPU saturated 5 s, \(r.outcome): \(r.removals) removals, longest heartbeat gap \(r.longestGapMs) ms (timeout \(MembershipConfig().timeout))")
        #expect(r.outcome == SchedulingOutcome.nice(-10).description)
    }
}
