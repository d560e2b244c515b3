import Kube
import KubeTestSupport
import Synchronization
import Testing

/// The test clock the leader election tests drive.
@Suite struct ManualClockTests {
    final class Log: Sendable {
        let m = Mutex<[Int]>([])
        func append(_ v: Int) { m.withLock { $0.append(v) } }
        var values: [Int] { m.withLock { $0 } }
    }

    @Test func sleepersWakeWhenTheClockReachesTheirDeadlineAndCancellationWakesAtOnce() async throws {
        let clock = ManualClock()
        let woke = Log()
        let t100 = Task { try await clock.sleep(for: .milliseconds(100)); woke.append(100) }
        let t300 = Task { try await clock.sleep(for: .milliseconds(300)); woke.append(300) }
        let cancelled = Task { () -> Bool in
            do { try await clock.sleep(for: .seconds(60)); return false } catch { return error is CancellationError }
        }
        #expect(try await eventually { clock.sleepers == 3 })
        let start = clock.now
        clock.advance(by: .milliseconds(150))
        try await t100.value
        #expect(woke.values == [100])
        #expect(clock.sleepers == 2)
        cancelled.cancel()
        #expect(await cancelled.value)
        #expect(clock.sleepers == 1)
        clock.advance(by: .milliseconds(150))
        try await t300.value
        #expect(woke.values == [100, 300])
        #expect(clock.now - start == .milliseconds(300))
        #expect(clock.elapsed == .milliseconds(300))
        // A task cancelled before it sleeps does not sleep at all.
        let early = Task { () -> Bool in
            withUnsafeCurrentTask { $0?.cancel() }
            do { try await clock.sleep(for: .seconds(1)); return false } catch { return true }
        }
        #expect(await early.value)
        #expect(clock.sleepers == 0)
    }
}
