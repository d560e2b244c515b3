import Foundation
import Testing

@testable import Kube
import KubeTestSupport

/// Who leads when, to check that two candidates never lead at once.
actor LeadershipLog {
    private(set) var current: Set<String> = []
    private(set) var overlaps = 0
    private(set) var started: [String: ContinuousClock.Instant] = [:]
    func begin(_ id: String) {
        if !current.isEmpty { overlaps += 1 }
        current.insert(id)
        started[id] = .now
    }
    func end(_ id: String) { current.remove(id) }
}

@Suite(.timeLimit(.minutes(3))) struct LeaderElectionTests {
    func elector(_ env: TestEnv, _ lease: String, _ id: String, release: Bool, duration: Duration = .seconds(2)) -> LeaderElector {
        LeaderElector(
            client: env.client,
            config: LeaderElectionConfig(
                leaseName: lease, namespace: env.namespace, identity: id, leaseDuration: duration,
                renewDeadline: duration * 0.75, retryPeriod: .milliseconds(200), releaseOnCancel: release))
    }

    func runLeading(_ e: LeaderElector, _ log: LeadershipLog) -> Task<Void, Never> {
        Task {
            await e.run {
                await log.begin(e.config.identity)
                while !Task.isCancelled { try? await Task.sleep(for: .milliseconds(20)) }
                await log.end(e.config.identity)
            }
        }
    }

    @Test func handOverOnReleaseAndOnCrash() async throws {
        let env = try await TestEnv.make("le")
        defer { Task { await env.close() } }
        let log = LeadershipLog()
        // A 6 s lease: on a loaded machine each API call can take a few hundred ms, and the
        // release path (a's last renewal, the release, b's next try) must still clearly beat
        // waiting for expiry.
        let a = elector(env, "lock", "a", release: true, duration: .seconds(6))
        let b = elector(env, "lock", "b", release: false, duration: .seconds(6))
        let c = elector(env, "lock", "c", release: true, duration: .seconds(6))

        let ta = runLeading(a, log)
        #expect(try await eventually { await a.isLeader })
        let tb = runLeading(b, log)
        // Positive signal first: b has read the lease and seen a hold it.
        #expect(try await eventually { await b.currentLeader == "a" })
        let seenByB = try await env.client.resource(Lease.self, namespace: env.namespace).get("lock").spec?.renewTime
        // "b does not take over" needs time longer than the lease to mean anything; that a
        // kept renewing meanwhile is checked on the lease's renewTime below.
        try await Task.sleep(for: .seconds(7))
        #expect(await a.isLeader)
        #expect(await !b.isLeader)
        let lease = try await env.client.resource(Lease.self, namespace: env.namespace).get("lock")
        #expect(lease.spec?.holderIdentity == "a")
        #expect(lease.spec?.renewTime != seenByB, "a did not renew during the lease duration")
        #expect(lease.spec?.leaseDurationSeconds == 6)

        // a stops cleanly and releases the lease: b takes over within about one retry period.
        let t0 = ContinuousClock.now
        ta.cancel()
        await ta.value
        #expect(try await eventually(timeout: .seconds(10), interval: .milliseconds(10)) { await b.isLeader })
        let releaseHandover = ContinuousClock.now - t0

        // b "crashes" (stops without releasing): c must wait out the lease duration.
        let tc = runLeading(c, log)
        // Positive signal before "c does not lead": c has read the lease and seen b hold it.
        #expect(try await eventually { await c.currentLeader == "b" })
        #expect(await !c.isLeader)
        let t1 = ContinuousClock.now
        tb.cancel()
        await tb.value
        #expect(try await eventually(timeout: .seconds(30), interval: .milliseconds(10)) { await c.isLeader })
        let crashHandover = ContinuousClock.now - t1
        #expect(crashHandover >= .seconds(4), "c took over before b's lease expired: \(crashHandover)")
        // Released, the lease passes on without waiting for it to expire; crashed, it cannot.
        // (Relative, not absolute: both take longer on a loaded machine.)
        #expect(releaseHandover < crashHandover, "hand-over after release (\(releaseHandover)) was not faster than after a crash (\(crashHandover))")
        let after = try await env.client.resource(Lease.self, namespace: env.namespace).get("lock")
        #expect(after.spec?.holderIdentity == "c")
        #expect((after.spec?.leaseTransitions ?? 0) >= 2)
        tc.cancel()
        await tc.value
        #expect(await log.overlaps == 0, "two candidates led at once")
        print("leader hand-over: after release \(releaseHandover), after crash \(crashHandover) (lease 6 s, retry 200 ms)")
    }

    @Test func leaderStepsDownWhenItCannotRenew() async throws {
        let env = try await TestEnv.make("le")
        defer { Task { await env.close() } }
        let log = LeadershipLog()
        let a = elector(env, "lock", "a", release: true)
        let ta = runLeading(a, log)
        #expect(try await eventually { await a.isLeader })
        // Someone else takes the lease by force (as after a partition): a's renewals fail
        // with conflicts or find another holder, and a must stop leading.
        let leases = env.client.resource(Lease.self, namespace: env.namespace)
        var taken = false
        for _ in 0..<20 where !taken {
            var l = try await leases.get("lock")
            l.spec?.holderIdentity = "intruder"
            l.spec?.leaseDurationSeconds = 3600
            l.spec?.renewTime = KubeTime.microTime()
            do {
                _ = try await leases.update(l)
                taken = true
            } catch let e as KubeError where e.isConflict {
                continue  // a renewed in between: read again
            }
        }
        #expect(taken)
        #expect(try await eventually(timeout: .seconds(10)) { await !a.isLeader })
        await ta.value  // run returns by itself once leadership is lost
        #expect(await log.current.isEmpty)
        #expect(try await leases.get("lock").spec?.holderIdentity == "intruder")
    }
}
