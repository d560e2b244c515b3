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
    func elector(_ env: TestEnv, _ lease: String, _ id: String, release: Bool, duration: Duration = .seconds(2), clock: any ControllerClock = SystemClock()) -> LeaderElector {
        LeaderElector(
            client: env.client,
            config: LeaderElectionConfig(
                leaseName: lease, namespace: env.namespace, identity: id, leaseDuration: duration,
                renewDeadline: duration * 0.75, retryPeriod: .milliseconds(200), releaseOnCancel: release),
            clock: clock)
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

    /// Moves `clock` on in steps of 250 ms (more than a retry period with its jitter), until
    /// `done` or `steps` steps; returns the steps taken. Each step waits (wall clock) until every
    /// one of `running` sleeps on the clock, moves it, then waits until each has finished an
    /// attempt (the API calls are real).
    func pump(_ clock: ManualClock, _ running: [LeaderElector], steps: Int, until done: () async -> Bool = { false }) async throws -> Int {
        for n in 1...steps {
            let asleep = try await eventually(timeout: .seconds(20), interval: .milliseconds(2)) {
                for e in running where await !e.isWaiting { return false }
                return clock.sleepers == running.count
            }
            #expect(asleep, "step \(n): not every candidate is waiting on the clock (\(clock.sleepers) sleepers)")
            var before: [Int] = []
            for e in running { before.append(await e.attempts) }
            clock.advance(by: .milliseconds(250))
            let attempted = try await eventually(timeout: .seconds(20), interval: .milliseconds(2)) {
                for (e, b) in zip(running, before) where await e.attempts <= b { return false }
                return true
            }
            #expect(attempted, "step \(n): not every candidate made an attempt after the clock moved")
            if await done() { return n }
        }
        return steps
    }

    @Test func handOverOnReleaseAndOnCrash() async throws {
        let env = try await TestEnv.make("le")
        defer { Task { await env.close() } }
        let log = LeadershipLog()
        // A 6 s lease on a manual clock: lease ages, retries and renewals follow the test's
        // steps, not the wall clock (the API calls are real).
        let clock = ManualClock()
        let a = elector(env, "lock", "a", release: true, duration: .seconds(6), clock: clock)
        let b = elector(env, "lock", "b", release: false, duration: .seconds(6), clock: clock)
        let c = elector(env, "lock", "c", release: true, duration: .seconds(6), clock: clock)
        let leases = env.client.resource(Lease.self, namespace: env.namespace)

        let ta = runLeading(a, log)
        #expect(try await eventually { await a.isLeader })
        let tb = runLeading(b, log)
        // Positive signal first: b has read the lease and seen a hold it.
        #expect(try await eventually { await b.currentLeader == "a" })
        let seenByB = try await leases.get("lock").spec?.renewTime
        // 7 s on the clock, longer than the lease: a keeps renewing, b never takes over.
        _ = try await pump(clock, [a, b], steps: 28)
        #expect(await a.isLeader)
        #expect(await !b.isLeader)
        let lease = try await leases.get("lock")
        #expect(lease.spec?.holderIdentity == "a")
        #expect(lease.spec?.renewTime != seenByB, "a did not renew during the lease duration")
        #expect(lease.spec?.leaseDurationSeconds == 6)

        // a stops cleanly and releases the lease: b takes over at its next retry.
        ta.cancel()
        await ta.value
        let releaseSteps = try await pump(clock, [b], steps: 40) { await b.isLeader }
        #expect(await b.isLeader)
        #expect(releaseSteps <= 2, "hand-over after release took \(releaseSteps) steps of 250 ms")

        // b "crashes" (stops without releasing): c must wait out the lease duration.
        let tc = runLeading(c, log)
        // Positive signal before "c does not lead": c has read the lease and seen b hold it.
        #expect(try await eventually { await c.currentLeader == "b" })
        #expect(await !c.isLeader)
        tb.cancel()
        await tb.value
        let crashSteps = try await pump(clock, [c], steps: 40) { await c.isLeader }
        #expect(await c.isLeader)
        let crashHandover = Duration.milliseconds(250) * crashSteps
        // c saw b's last renewal at most one step before b stopped.
        #expect(crashHandover >= .milliseconds(5750), "c took over before b's lease expired: \(crashHandover)")
        #expect(crashHandover <= .milliseconds(6750), "c waited longer than the lease: \(crashHandover)")
        let after = try await leases.get("lock")
        #expect(after.spec?.holderIdentity == "c")
        #expect((after.spec?.leaseTransitions ?? 0) >= 2)
        tc.cancel()
        await tc.value
        #expect(await log.overlaps == 0, "two candidates led at once")
        print("leader hand-over on a manual clock: after release \(releaseSteps) step(s), after crash \(crashHandover) (lease 6 s, retry 200 ms, steps of 250 ms)")
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
