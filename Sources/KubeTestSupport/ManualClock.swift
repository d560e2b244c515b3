import Kube
import Synchronization

/// A clock that moves only when the test says so (`advance`): sleepers wake when the clock
/// reaches their deadline, in deadline order. Cancelling a sleeper wakes it at once with
/// `CancellationError`, as `Task.sleep` does.
public final class ManualClock: ControllerClock {
    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var offset: Duration = .zero
        var nextID = 0
        var sleepers: [Int: Sleeper] = [:]
        /// Sleepers cancelled before they were registered.
        var cancelled: Set<Int> = []
    }
    private let origin = ContinuousClock.now
    private let state = Mutex(State())

    public init() {}

    /// Time advanced so far.
    public var elapsed: Duration { state.withLock { $0.offset } }
    public var now: ContinuousClock.Instant { origin.advanced(by: elapsed) }
    /// Tasks sleeping on this clock right now.
    public var sleepers: Int { state.withLock { $0.sleepers.count } }

    public func sleep(until deadline: ContinuousClock.Instant) async throws {
        let at = origin.duration(to: deadline)
        let id: Int = state.withLock { s in
            defer { s.nextID += 1 }
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
                let resume: Result<Void, any Error>? = state.withLock { s in
                    if s.cancelled.remove(id) != nil { return .failure(CancellationError()) }
                    if at <= s.offset { return .success(()) }
                    s.sleepers[id] = Sleeper(deadline: at, continuation: c)
                    return nil
                }
                if let resume { c.resume(with: resume) }
            }
        } onCancel: {
            let sleeper: Sleeper? = state.withLock { s in
                if let sl = s.sleepers.removeValue(forKey: id) { return sl }
                s.cancelled.insert(id)
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        // A cancellation that came after the wake-up left its mark: drop it.
        state.withLock { _ = $0.cancelled.remove(id) }
    }

    /// Moves the clock on and wakes every sleeper whose deadline is reached.
    public func advance(by duration: Duration) {
        let due: [Sleeper] = state.withLock { s in
            s.offset += duration
            let ids = s.sleepers.filter { $0.value.deadline <= s.offset }.sorted { $0.value.deadline < $1.value.deadline }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0) }
        }
        for s in due { s.continuation.resume() }
    }
}
