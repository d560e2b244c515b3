import DequeModule
import Foundation

/// A work queue with client-go's semantics: an item waiting in the queue is stored once
/// however often it is added; an item being processed is never handed to a second worker,
/// and if it is added meanwhile it is queued again when the first worker calls `done`.
/// Failed items come back with per-item exponential backoff, bounded by an overall token
/// bucket. `shutDown(drain: true)` stops accepting work and waits for items in progress.
public actor WorkQueue<Item: Hashable & Sendable> {
    public struct RateLimits: Sendable {
        public var baseDelay: Duration
        public var maxDelay: Duration
        public var qps: Double
        public var burst: Int
        public init(baseDelay: Duration = .milliseconds(5), maxDelay: Duration = .seconds(1000), qps: Double = 10, burst: Int = 100) {
            self.baseDelay = baseDelay
            self.maxDelay = maxDelay
            self.qps = qps
            self.burst = burst
        }
    }

    private var queue = Deque<Item>()
    private var dirty = Set<Item>()
    private var processing = Set<Item>()
    private var failures: [Item: Int] = [:]
    private var waiters: [CheckedContinuation<Item?, Never>] = []
    private var drainWaiters: [CheckedContinuation<Void, Never>] = []
    private var delayed: [Item: (at: ContinuousClock.Instant, task: Task<Void, Never>)] = [:]
    private var bucket: TokenBucket
    private let limits: RateLimits
    /// Times delayed adds and the token bucket (tests: a manual clock).
    public nonisolated let clock: any ControllerClock
    public private(set) var isShuttingDown = false

    public init(rateLimits: RateLimits = RateLimits(), clock: any ControllerClock = SystemClock()) {
        limits = rateLimits
        self.clock = clock
        bucket = TokenBucket(rate: rateLimits.qps, burst: rateLimits.burst)
    }

    /// Items waiting (not counting those in progress or delayed).
    public var count: Int { queue.count }
    public var inProgress: Int { processing.count }
    /// Items scheduled for later (`add(_:after:)`, `addRateLimited`).
    public var delayedCount: Int { delayed.count }
    /// Nothing waiting, in progress or scheduled: without a new `add`, no worker gets an item.
    public var isIdle: Bool { queue.isEmpty && processing.isEmpty && delayed.isEmpty }

    public func add(_ item: Item) {
        guard !isShuttingDown, !dirty.contains(item) else { return }
        dirty.insert(item)
        if processing.contains(item) { return }
        handOut(item)
    }

    /// Gives a dirty item to a waiting worker, or queues it.
    private func handOut(_ item: Item) {
        if !waiters.isEmpty {
            dirty.remove(item)
            processing.insert(item)
            waiters.removeFirst().resume(returning: item)
        } else {
            queue.append(item)
        }
    }

    /// Adds the item after `delay`. A sooner pending add for the same item wins.
    public func add(_ item: Item, after delay: Duration) {
        guard !isShuttingDown else { return }
        if delay <= .zero { add(item); return }
        let at = clock.now + delay
        if let existing = delayed[item], existing.at <= at { return }
        delayed[item]?.task.cancel()
        let task = Task { [weak self, clock] in
            try? await clock.sleep(until: at)
            if Task.isCancelled { return }
            await self?.fireDelayed(item, at: at)
        }
        delayed[item] = (at, task)
    }

    private func fireDelayed(_ item: Item, at: ContinuousClock.Instant) {
        guard let d = delayed[item], d.at == at else { return }
        delayed[item] = nil
        add(item)
    }

    /// Adds the item after its rate-limited delay: the larger of the per-item backoff
    /// (base × 2^failures, capped) and the overall token bucket's wait.
    public func addRateLimited(_ item: Item) {
        let n = failures[item, default: 0]
        failures[item] = n + 1
        let exp = limits.baseDelay * pow(2, Double(min(n, 60)))
        let perItem = min(exp, limits.maxDelay)
        let overall = bucket.reserve(now: clock.now)
        add(item, after: max(perItem, overall))
    }

    /// Forgets the item's failures (call after a success).
    public func forget(_ item: Item) { failures[item] = nil }
    public func failureCount(_ item: Item) -> Int { failures[item, default: 0] }

    /// The next item, waiting for one; nil once the queue is shut down and empty.
    public func next() async -> Item? {
        if let item = queue.popFirst() {
            dirty.remove(item)
            processing.insert(item)
            return item
        }
        if isShuttingDown { return nil }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// Marks the item as processed; if it was added meanwhile, it is queued again.
    public func done(_ item: Item) {
        processing.remove(item)
        if dirty.contains(item) { handOut(item) }
        if isShuttingDown && queue.isEmpty {
            for w in waiters { w.resume(returning: nil) }
            waiters.removeAll()
            if processing.isEmpty {
                for w in drainWaiters { w.resume() }
                drainWaiters.removeAll()
            }
        }
    }

    /// Stops accepting items. Without `drain`, queued items are dropped and waiting workers get
    /// nil at once. With `drain`, workers still take every queued item, and this returns once
    /// the queue is empty and nothing is in progress (client-go's ShutDownWithDrain).
    public func shutDown(drain: Bool = false) async {
        isShuttingDown = true
        for (_, d) in delayed { d.task.cancel() }
        delayed.removeAll()
        if !drain {
            queue.removeAll()
            dirty.removeAll()
        }
        if queue.isEmpty {
            for w in waiters { w.resume(returning: nil) }
            waiters.removeAll()
        }
        if drain && !(processing.isEmpty && queue.isEmpty) {
            await withCheckedContinuation { drainWaiters.append($0) }
        }
    }
}
