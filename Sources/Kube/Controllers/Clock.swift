/// Time as the leader elector sees it: the real clock in production, a manual one in tests
/// (`KubeTestSupport.ManualClock`), so that "a lease of 6 s" does not cost 6 s of wall clock.
public protocol ControllerClock: Sendable {
    var now: ContinuousClock.Instant { get }
    /// Returns after `duration` has passed on this clock; throws `CancellationError` when the
    /// calling task is cancelled first.
    func sleep(for duration: Duration) async throws
}

/// The real (continuous, monotonic) clock.
public struct SystemClock: ControllerClock {
    public init() {}
    public var now: ContinuousClock.Instant { ContinuousClock.now }
    public func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}
