/// Time as the leader elector and the work queue see it: the real clock in production, a
/// manual one in tests (`KubeTestSupport.ManualClock`), so that "a lease of 6 s" or "a retry
/// after 100 s" does not cost that much wall clock.
public protocol ControllerClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns once this clock reaches `deadline`; throws `CancellationError` when the calling
    /// task is cancelled first.
    func sleep(until deadline: ContinuousClock.Instant) async throws
}

extension ControllerClock {
    /// Returns after `duration` has passed on this clock.
    public func sleep(for duration: Duration) async throws { try await sleep(until: now + duration) }
}

/// The real (continuous, monotonic) clock.
public struct SystemClock: ControllerClock {
    public init() {}
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    public func sleep(until deadline: ContinuousClock.Instant) async throws { try await Task.sleep(until: deadline, clock: .continuous) }
}
