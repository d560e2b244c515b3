import Foundation
import Testing

@testable import Kube
import KubeTestSupport

@Suite struct WorkQueueTests {
    @Test func deduplicatesWaitingItems() async {
        let q = WorkQueue<String>()
        await q.add("a")
        await q.add("b")
        await q.add("a")
        #expect(await q.count == 2)
        #expect(await q.next() == "a")
        #expect(await q.next() == "b")
    }

    @Test func itemInProgressIsNotHandedOutTwice() async {
        let q = WorkQueue<String>()
        await q.add("a")
        let first = await q.next()
        #expect(first == "a")
        await q.add("a")  // changed while being processed
        #expect(await q.count == 0, "must wait until the worker is done")
        await q.add("b")
        #expect(await q.next() == "b")
        await q.done("a")
        #expect(await q.count == 1, "re-queued after done")
        #expect(await q.next() == "a")
    }

    @Test func waitingWorkerWakesOnAdd() async {
        let q = WorkQueue<Int>()
        async let got = q.next()
        try? await Task.sleep(for: .milliseconds(20))
        await q.add(7)
        #expect(await got == 7)
    }

    @Test func perItemBackoffGrowsAndForgetResets() async throws {
        let clock = ManualClock()
        let q = WorkQueue<String>(rateLimits: .init(baseDelay: .milliseconds(20), maxDelay: .seconds(10), qps: 1000, burst: 1000), clock: clock)
        // 20 ms, 40 ms, 80 ms: due exactly then on the queue's clock, not a moment before.
        for nominal in [20, 40, 80] {
            await q.addRateLimited("x")
            #expect(try await eventually { clock.sleepers == 1 }, "the item waits on the clock")
            clock.advance(by: .milliseconds(nominal - 1))
            // Positive signal for "not yet": still asleep on the clock, nothing queued.
            #expect(clock.sleepers == 1)
            let waiting = await q.count, scheduled = await q.delayedCount
            #expect(waiting == 0 && scheduled == 1)
            clock.advance(by: .milliseconds(1))
            #expect(await q.next() == "x")
            await q.done("x")
        }
        #expect(await q.failureCount("x") == 3)
        await q.forget("x")
        #expect(await q.failureCount("x") == 0)
    }

    @Test func overallBucketLimitsManyItems() async throws {
        // 0.01 token/s with burst 2: the 3rd distinct item waits 100 s even with no per-item backoff.
        let clock = ManualClock()
        let q = WorkQueue<Int>(rateLimits: .init(baseDelay: .nanoseconds(1), maxDelay: .seconds(1), qps: 0.01, burst: 2), clock: clock)
        await q.addRateLimited(1)
        await q.addRateLimited(2)
        await q.addRateLimited(3)
        // Positive signal: all three sleep on the clock (the first two for 1 ns).
        #expect(try await eventually { clock.sleepers == 3 })
        clock.advance(by: .milliseconds(1))
        #expect(try await eventually { await q.count == 2 }, "the first two are due at once")
        #expect(clock.sleepers == 1, "the third waits for a token")
        clock.advance(by: .seconds(99))
        let waiting = await q.count
        #expect(clock.sleepers == 1 && waiting == 2)
        clock.advance(by: .seconds(1))
        #expect(try await eventually { await q.count == 3 }, "a token after 100 s")
    }

    @Test func sooneraddAfterWins() async throws {
        let q = WorkQueue<String>()
        await q.add("k", after: .seconds(30))
        await q.add("k", after: .milliseconds(10))
        #expect(await eventually(timeout: .seconds(20)) { await q.count == 1 }, "the 10 ms add did not replace the 30 s one")
    }

    @Test func shutDownWithDrainFinishesQueuedAndInProgressItems() async {
        let q = WorkQueue<Int>()
        for i in 0..<3 { await q.add(i) }
        let taken = await q.next()
        #expect(taken == 0)
        let drained = Task { await q.shutDown(drain: true) }
        try? await Task.sleep(for: .milliseconds(20))
        await q.add(99)  // refused while shutting down
        var rest: [Int] = []
        while let i = await q.next() { rest.append(i); await q.done(i) }
        #expect(rest == [1, 2])
        await q.done(0)
        await drained.value
        #expect(await q.next() == nil)
    }

    @Test func shutDownWithoutDrainReleasesWaitingWorkers() async {
        let q = WorkQueue<Int>()
        async let w = q.next()
        try? await Task.sleep(for: .milliseconds(20))
        await q.shutDown()
        #expect(await w == nil)
    }

    @Test func tokenBucket() {
        var b = TokenBucket(rate: 10, burst: 2)
        let t0 = ContinuousClock.now
        #expect(b.reserve(now: t0) == .zero)
        #expect(b.reserve(now: t0) == .zero)
        let wait = b.reserve(now: t0)
        #expect(wait > .milliseconds(90) && wait <= .milliseconds(100))
        // After 1 s the bucket is full again (capped at burst).
        var c = TokenBucket(rate: 10, burst: 2)
        _ = c.reserve(now: t0)
        #expect(c.reserve(now: t0 + .seconds(1)) == .zero)
        #expect(c.reserve(now: t0 + .seconds(1)) == .zero)
        #expect(c.reserve(now: t0 + .seconds(1)) > .zero)
    }

    @Test func backoffGrowsToMaximum() {
        var b = Backoff(initial: .milliseconds(100), maximum: .seconds(1), factor: 2, jitter: 0)
        #expect(b.next() == .milliseconds(100))
        #expect(b.next() == .milliseconds(200))
        #expect(b.next() == .milliseconds(400))
        #expect(b.next() == .milliseconds(800))
        #expect(b.next() == .seconds(1))
        b.reset()
        #expect(b.next() == .milliseconds(100))
    }
}

@Suite struct WatchDecodingTests {
    @Test func decodesEveryEventTypeInOnePass() throws {
        func line(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }
        let added = try ResourceClient<ConfigMap>.decodeWatchLine(line(#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","namespace":"n","resourceVersion":"5"},"data":{"k":"v"}}}"#))
        guard case .added(let cm) = added else { Issue.record("not added"); return }
        #expect(cm.metadata.name == "a" && cm.data?["k"] == "v")
        let bm = try ResourceClient<ConfigMap>.decodeWatchLine(line(#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"12345"}}}"#))
        guard case .bookmark(let rv) = bm else { Issue.record("not a bookmark"); return }
        #expect(rv == "12345")
        do {
            _ = try ResourceClient<ConfigMap>.decodeWatchLine(line(#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (200)","reason":"Expired","code":410}}"#))
            Issue.record("ERROR must throw")
        } catch let e as KubeError {
            #expect(e.isGone)
        }
        #expect(throws: KubeError.self) { try ResourceClient<ConfigMap>.decodeWatchLine(line("{not json")) }
    }
}

import NIOCore
