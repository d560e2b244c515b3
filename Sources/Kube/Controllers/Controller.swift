import Foundation
import Logging

/// The outcome of one reconcile.
public enum ReconcileResult: Sendable, Equatable {
    /// Converged; nothing to do until something changes.
    case done
    /// Run again soon, with rate-limited backoff (like an error, without logging one).
    case requeue
    /// Run again after this delay (e.g. to re-check a deadline).
    case requeueAfter(Duration)
}

/// Level-triggered business logic: given a key, read the desired and actual state from caches,
/// make them agree, and say when to look again. Thrown errors requeue with backoff.
public protocol Reconciler: Sendable {
    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult
}

/// A reconciler runner in the manner of controller-runtime: informers feed keys into a work
/// queue; `workers` tasks take keys and call the reconciler; at most one worker holds a key
/// at a time. Nothing runs before every watched informer has synced.
public actor Controller {
    public nonisolated let name: String
    public nonisolated let queue: WorkQueue<ObjectKey>
    let reconciler: any Reconciler
    let workers: Int
    let logger: Logger
    private var syncBarriers: [@Sendable () async -> Void] = []
    private var starters: [@Sendable () async -> Void] = []
    private var stoppers: [@Sendable () async -> Void] = []
    public private(set) var reconcileCount = 0
    public private(set) var errorCount = 0

    public init(name: String, reconciler: any Reconciler, workers: Int = 2, rateLimits: WorkQueue<ObjectKey>.RateLimits = .init(), logger: Logger? = nil, clock: any ControllerClock = SystemClock()) {
        self.name = name
        self.reconciler = reconciler
        self.workers = max(1, workers)
        self.queue = WorkQueue(rateLimits: rateLimits, clock: clock)
        self.logger = logger ?? Logger(label: "controller.\(name)")
    }

    /// Enqueues the keys `map` returns for every add, update and delete (default: the object's key).
    public func watch<T: KubeObject>(_ informer: Informer<T>, map: @escaping @Sendable (T) -> [ObjectKey] = { [$0.key] }) async {
        let q = queue
        await informer.addHandler(.any { obj in for k in map(obj) { await q.add(k) } })
        syncBarriers.append { await informer.waitForSync() }
        starters.append { await informer.start() }
        stoppers.append { await informer.stop() }
    }

    /// Enqueues the controlling owner of each object whose controller reference has the given
    /// kind (and API group, when given): a change of an owned Deployment reconciles its owner.
    public func watchOwned<T: KubeObject>(_ informer: Informer<T>, ownerKind: String, ownerGroup: String? = nil) async {
        await watch(informer) { obj in
            guard let ref = obj.metadata.controller, ref.kind == ownerKind else { return [] }
            if let g = ownerGroup, !(ref.apiVersion.hasPrefix(g + "/") || (g.isEmpty && !ref.apiVersion.contains("/"))) { return [] }
            return [ObjectKey(namespace: obj.metadata.namespace, name: ref.name)]
        }
    }

    /// Starts the informers, waits for their caches, and runs the workers until the calling
    /// task is cancelled; then stops taking new keys, lets the reconciles in progress finish,
    /// and stops the informers.
    public func run() async {
        for s in starters { await s() }
        for b in syncBarriers { await b() }
        logger.debug("caches synced; starting workers", metadata: ["workers": "\(workers)"])
        let q = queue
        await withTaskCancellationHandler {
            await withTaskGroup(of: Void.self) { group in
                for _ in 0..<workers {
                    group.addTask { await self.worker() }
                }
            }
        } onCancel: {
            Task { await q.shutDown(drain: true) }
        }
        for s in stoppers { await s() }
    }

    private func worker() async {
        while let key = await queue.next() {
            await process(key)
            await queue.done(key)
        }
    }

    private func process(_ key: ObjectKey) async {
        reconcileCount += 1
        do {
            switch try await reconciler.reconcile(key) {
            case .done:
                await queue.forget(key)
            case .requeue:
                await queue.addRateLimited(key)
            case .requeueAfter(let d):
                await queue.forget(key)
                await queue.add(key, after: d)
            }
        } catch {
            errorCount += 1
            let n = await queue.failureCount(key)
            logger.warning("reconcile failed; will retry", metadata: ["key": "\(key)", "error": "\(error)", "failures": "\(n + 1)"])
            await queue.addRateLimited(key)
        }
    }
}
