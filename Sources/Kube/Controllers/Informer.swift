import Foundation
import Logging

/// Callbacks of an informer. Each runs in event order; a slow handler delays the informer.
public struct InformerHandler<T: Sendable>: Sendable {
    public var onAdd: @Sendable (T) async -> Void
    public var onUpdate: @Sendable (_ old: T, _ new: T) async -> Void
    public var onDelete: @Sendable (T) async -> Void

    public init(
        onAdd: @escaping @Sendable (T) async -> Void = { _ in },
        onUpdate: @escaping @Sendable (T, T) async -> Void = { _, _ in },
        onDelete: @escaping @Sendable (T) async -> Void = { _ in }
    ) {
        self.onAdd = onAdd
        self.onUpdate = onUpdate
        self.onDelete = onDelete
    }

    /// One callback for every change, given the object's latest state.
    public static func any(_ f: @escaping @Sendable (T) async -> Void) -> InformerHandler<T> {
        InformerHandler(onAdd: f, onUpdate: { _, new in await f(new) }, onDelete: f)
    }
}

/// List + watch into a local cache, like client-go's shared informer: an initial paginated
/// list, then a watch resumed from the last resourceVersion seen (bookmarks included) after
/// every disconnect, a fresh list when the server says that version is gone (410), periodic
/// resync, named indexes, and a "has synced" barrier. Events are delivered exactly once per
/// resourceVersion: a replayed event or a relist that finds an object unchanged sends nothing.
public actor Informer<T: KubeObject> {
    public nonisolated let resource: ResourceClient<T>
    public nonisolated let options: ListOptions
    let resyncPeriod: Duration?
    let pageSize: Int
    let initialListFromCache: Bool
    /// Applied to every object before it is cached (client-go's SetTransform): drops what no reader needs.
    let transform: (@Sendable (inout T) -> Void)?
    let logger: Logger

    private var cache: [ObjectKey: T] = [:]
    private var indexers: [String: @Sendable (T) -> [String]] = [:]
    private var indices: [String: [String: Set<ObjectKey>]] = [:]
    private var handlers: [InformerHandler<T>] = []
    private var synced = false
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    private var runTask: Task<Void, Never>?
    /// Starts not yet matched by a stop.
    private var users = 0
    private var resyncTask: Task<Void, Never>?
    /// Bumped by `relist`: a loop of an older generation applies nothing more.
    private var generation = 0

    /// The resourceVersion the cache is current to.
    public private(set) var lastResourceVersion: String?
    /// How many full lists were made (1 after start; more after 410 Gone).
    public private(set) var listCount = 0
    /// How many watch connections were opened.
    public private(set) var watchCount = 0
    /// Events applied to the cache (watch events and relist differences).
    public private(set) var eventCount = 0

    /// - Parameter initialListFromCache: list from the API server's watch cache
    ///   (resourceVersion "0", as client-go's reflector does): faster and lighter on etcd, but
    ///   the list may lag the newest writes by a moment, so "synced" no longer means "has every
    ///   object written before start". Off by default: a controller rebuilding state on start
    ///   (e.g. which IP each Service holds) needs the consistent read.
    public init(
        _ resource: ResourceClient<T>, options: ListOptions = ListOptions(), resyncPeriod: Duration? = nil,
        pageSize: Int = 500, initialListFromCache: Bool = false, transform: (@Sendable (inout T) -> Void)? = nil,
        logger: Logger? = nil
    ) {
        self.resource = resource
        self.options = options
        self.resyncPeriod = resyncPeriod
        self.pageSize = pageSize
        self.initialListFromCache = initialListFromCache
        self.transform = transform
        self.logger = logger ?? Logger(label: "informer.\(resource.type.plural)")
    }

    /// Adds an index: `function` returns the index values of an object (e.g. its node name).
    public func addIndex(_ name: String, _ function: @escaping @Sendable (T) -> [String]) {
        indexers[name] = function
        var idx: [String: Set<ObjectKey>] = [:]
        for (k, o) in cache { for v in function(o) { idx[v, default: []].insert(k) } }
        indices[name] = idx
    }

    /// Adds a handler. Once synced, the handler first gets an add for every cached object.
    public func addHandler(_ handler: InformerHandler<T>) async {
        handlers.append(handler)
        if synced { for o in cache.values { await handler.onAdd(o) } }
    }

    /// Starts listing and watching. Informers are shared (`InformerCache`, several controllers watching one): every
    /// `start()` needs its `stop()`, and only the last `stop()` ends the watch.
    public func start() {
        users += 1
        guard runTask == nil else { return }
        runTask = Task { [generation] in await self.run(generation: generation) }
        if let resyncPeriod {
            resyncTask = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: resyncPeriod)
                    if Task.isCancelled { break }
                    await self.resync()
                }
            }
        }
    }

    /// Drops the current list/watch and starts over with a fresh list, for a caller that has reason to think the
    /// connection died silently (its node was cut off the network) and should not wait for the watch's deadline.
    /// Handlers see the differences as usual. Does nothing when not started.
    public func relist() {
        guard runTask != nil else { return }
        generation += 1
        runTask?.cancel()
        let g = generation
        runTask = Task { await self.run(generation: g) }
    }

    public func stop() {
        users = max(0, users - 1)
        guard users == 0 else { return }
        runTask?.cancel()
        resyncTask?.cancel()
        runTask = nil
        resyncTask = nil
    }

    /// Returns once the initial list is in the cache.
    public func waitForSync() async {
        if synced { return }
        await withCheckedContinuation { syncWaiters.append($0) }
    }

    public var hasSynced: Bool { synced }

    public func get(_ key: ObjectKey) -> T? { cache[key] }
    public func get(namespace: String?, name: String) -> T? { cache[ObjectKey(namespace: namespace, name: name)] }
    public func list() -> [T] { Array(cache.values) }
    public var count: Int { cache.count }
    public func keys() -> [ObjectKey] { Array(cache.keys) }
    public func list(index: String, value: String) -> [T] {
        (indices[index]?[value] ?? []).compactMap { cache[$0] }
    }

    // MARK: - Loop

    private func run(generation g: Int) async {
        var needList = true
        // After 410 Gone the watch cache is behind what we saw: relists are always consistent reads.
        var listFromCache = initialListFromCache && g == 0   // a relist wants what the server has now
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(30))
        while !Task.isCancelled {
            do {
                if needList {
                    var opts = options
                    opts.resourceVersion = listFromCache ? "0" : nil
                    let (items, rv) = try await resource.listAll(opts, pageSize: pageSize)
                    guard generation == g else { return }
                    listCount += 1
                    await replace(with: items, resourceVersion: rv)
                    needList = false
                    markSynced()
                }
                var opts = options
                // A random server-side timeout spreads reconnects over time (client-go: 5-10 min). Shorter here, 30-60 s:
                // the watch stream's own deadline (timeout + 10 s) is also how a silently dead connection is noticed
                // (kube-proxy masquerades a host-network Pod's traffic to the API server's ClusterIP, and the kernel
                // drops those NAT entries when the node's link goes down: the server's next event is answered with a
                // reset our socket never sees), and a speaker must not run on a stale cache for minutes after a blip.
                opts.timeoutSeconds = Int.random(in: 30...60)
                watchCount += 1
                for try await event in resource.watch(resourceVersion: lastResourceVersion, options: opts) {
                    guard generation == g else { return }
                    await apply(event)
                    backoff.reset()
                }
            } catch let e as KubeError where e.isGone {
                logger.info("resourceVersion expired; listing again", metadata: ["resourceVersion": "\(lastResourceVersion ?? "")"])
                needList = true
                listFromCache = false
            } catch {
                if Task.isCancelled { return }
                if case KubeError.cancelled = error { return }
                let d = backoff.next()
                logger.warning("list/watch failed; retrying", metadata: ["error": "\(error)", "in": "\(d)"])
                try? await Task.sleep(for: d)
            }
        }
    }

    private func markSynced() {
        guard !synced else { return }
        synced = true
        for w in syncWaiters { w.resume() }
        syncWaiters.removeAll()
    }

    private func apply(_ event: WatchEvent<T>) async {
        switch event {
        case .added(var o), .modified(var o):
            lastResourceVersion = o.metadata.resourceVersion ?? lastResourceVersion
            transform?(&o)
            await storeAndNotify(o)
        case .deleted(let o):
            lastResourceVersion = o.metadata.resourceVersion ?? lastResourceVersion
            guard let old = remove(o.key) else { return }
            eventCount += 1
            for h in handlers { await h.onDelete(old) }
        case .bookmark(let rv):
            if !rv.isEmpty { lastResourceVersion = rv }
        }
    }

    /// Replaces the cache with a fresh list, sending only the differences.
    private func replace(with items: [T], resourceVersion: String) async {
        var fresh: [ObjectKey: T] = [:]
        fresh.reserveCapacity(items.count)
        for var o in items {
            transform?(&o)
            fresh[o.key] = o
        }
        let gone = cache.keys.filter { fresh[$0] == nil }
        lastResourceVersion = resourceVersion
        for k in gone {
            if let old = remove(k) {
                eventCount += 1
                for h in handlers { await h.onDelete(old) }
            }
        }
        for o in fresh.values { await storeAndNotify(o) }
    }

    /// Caches `o` and tells the handlers (add or update); nothing when the cache has this resourceVersion already.
    private func storeAndNotify(_ o: T) async {
        let old = cache[o.key]
        if let old, old.metadata.resourceVersion == o.metadata.resourceVersion { return }
        store(o)
        eventCount += 1
        if let old {
            for h in handlers { await h.onUpdate(old, o) }
        } else {
            for h in handlers { await h.onAdd(o) }
        }
    }

    private func resync() async {
        for o in cache.values { for h in handlers { await h.onUpdate(o, o) } }
    }

    private func store(_ o: T) {
        let key = o.key
        if let old = cache[key] { unindex(old, key) }
        cache[key] = o
        for (name, f) in indexers { for v in f(o) { indices[name, default: [:]][v, default: []].insert(key) } }
    }

    private func remove(_ key: ObjectKey) -> T? {
        guard let old = cache.removeValue(forKey: key) else { return nil }
        unindex(old, key)
        return old
    }

    private func unindex(_ o: T, _ key: ObjectKey) {
        for (name, f) in indexers {
            for v in f(o) {
                indices[name]?[v]?.remove(key)
                if indices[name]?[v]?.isEmpty == true { indices[name]?[v] = nil }
            }
        }
    }
}
