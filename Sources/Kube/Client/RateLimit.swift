import Foundation

/// A token bucket (pure): `rate` tokens per second up to `burst`. `reserve` takes a token now
/// and returns how long the caller must wait before using it (zero when one was available),
/// like Go's `rate.Limiter.Reserve`.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var last: ContinuousClock.Instant?

    public init(rate: Double, burst: Int) {
        self.rate = max(rate, 0.000_001)
        self.burst = Double(max(burst, 1))
        self.tokens = Double(max(burst, 1))
    }

    public mutating func reserve(now: ContinuousClock.Instant) -> Duration {
        if let last {
            let elapsed = now - last
            let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            tokens = min(burst, tokens + max(secs, 0) * rate)
        }
        last = now
        tokens -= 1
        if tokens >= 0 { return .zero }
        return .nanoseconds(Int64((-tokens / rate) * 1e9))
    }
}

/// Client-side request throttling shared by every request of one client.
actor RequestRateLimiter {
    private var bucket: TokenBucket

    init(qps: Double, burst: Int) { bucket = TokenBucket(rate: qps, burst: burst) }

    func wait() async throws {
        let d = bucket.reserve(now: .now)
        if d > .zero { try await Task.sleep(for: d) }
    }
}

/// Exponential backoff with jitter, for reconnects and retries.
public struct Backoff: Sendable {
    public var initial: Duration
    public var maximum: Duration
    public var factor: Double
    public var jitter: Double
    private var current: Duration?

    public init(initial: Duration = .milliseconds(200), maximum: Duration = .seconds(30), factor: Double = 2, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self.jitter = jitter
    }

    /// The next delay: initial, then multiplied by `factor` up to `maximum`, each ± jitter.
    public mutating func next() -> Duration {
        let base = current.map { min($0 * factor, maximum) } ?? initial
        current = base
        let j = 1 + Double.random(in: -jitter...jitter)
        return base * j
    }

    public mutating func reset() { current = nil }
}
