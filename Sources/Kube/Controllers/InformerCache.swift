import Logging

/// One informer per resource type, namespace and selector in a process, shared by every reconciler that asks for
/// it, as controller-runtime's shared cache does: a speaker's Layer 2 and BGP halves both read Services,
/// EndpointSlices and Nodes over one watch each, and see the same objects.
public actor InformerCache {
    public nonisolated let client: KubeClient
    private var informers: [Key: any Sendable] = [:]
    private var starters: [Key: @Sendable () async -> Void] = [:]
    private var stoppers: [Key: @Sendable () async -> Void] = [:]
    private var syncers: [Key: @Sendable () async -> Void] = [:]
    private var relisters: [Key: @Sendable () async -> Void] = [:]
    private var started = false
    /// What every informer of the cache drops from the objects it keeps.
    public nonisolated let dropping: Set<CacheTrim>

    struct Key: Hashable {
        var type: ResourceType
        var namespace: String?
        var options: ListOptions
    }

    /// - Parameter dropping: what the cached objects leave out. `managedFields` (the default) is never read by a
    ///   reconciler and never sent back by this client; add `lastAppliedConfiguration` only where cached objects are
    ///   never written back whole.
    public init(client: KubeClient, dropping: Set<CacheTrim> = [.managedFields]) {
        self.client = client
        self.dropping = dropping
    }

    /// The index `endpointSlicesByService` adds to every EndpointSlice informer of the cache: the slices of a
    /// Service, by "namespace/name" (from the `kubernetes.io/service-name` label).
    public static let serviceIndex = "service"

    /// The shared informer for `type` in `namespace` (nil: every namespace, or a cluster-scoped type) with `options`;
    /// made on the first call. Informers made after `start()` start at once.
    public func informer<T: KubeObject>(
        _ type: T.Type, namespace: String? = nil, options: ListOptions = ListOptions(), resource: ResourceType? = nil
    ) async -> Informer<T> {
        let resourceType = resource ?? T.resourceType
        let key = Key(type: resourceType, namespace: namespace, options: options)
        if let existing = informers[key] as? Informer<T> { return existing }
        let dropping = self.dropping
        var transform: (@Sendable (inout T) -> Void)?
        if !dropping.isEmpty { transform = { (object: inout T) in CacheTrim.apply(dropping, to: &object) } }
        let informer = Informer(ResourceClient<T>(client: client, type: resourceType, namespace: namespace), options: options,
                                transform: transform)
        if T.self == EndpointSlice.self {
            await informer.addIndex(Self.serviceIndex) { slice in
                guard let name = slice.metadata.labels?[EndpointSlice.serviceNameLabel] else { return [] }
                return ["\(slice.metadata.namespace ?? "")/\(name)"]
            }
        }
        informers[key] = informer
        starters[key] = { await informer.start() }
        stoppers[key] = { await informer.stop() }
        syncers[key] = { await informer.waitForSync() }
        relisters[key] = { await informer.relist() }
        if started { await informer.start() }
        return informer
    }

    /// How many informers (so watches) the process has.
    public var count: Int { informers.count }

    /// Starts every informer made so far and every one made later.
    public func start() async {
        started = true
        for s in starters.values { await s() }
    }

    /// Lists every started informer again and restarts its watch (`Informer.relist`).
    public func relistAll() async {
        for r in relisters.values { await r() }
    }

    /// Returns once every informer made so far has listed its objects.
    public func waitForSync() async {
        for s in syncers.values { await s() }
    }

    public func stop() async {
        started = false
        for s in stoppers.values { await s() }
    }
}

/// Parts of an object a cache can leave out: with 1,000 Services they are most of what a speaker keeps.
public enum CacheTrim: Hashable, Sendable {
    /// `metadata.managedFields`: the server's record of field ownership.
    case managedFields
    /// The `kubectl.kubernetes.io/last-applied-configuration` annotation: `kubectl apply`'s copy of the whole object
    /// as last applied, often larger than the rest of it.
    case lastAppliedConfiguration

    public static let lastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

    static func apply<T: KubeObject>(_ trims: Set<CacheTrim>, to object: inout T) {
        if trims.contains(.managedFields), object.metadata.managedFields != nil { object.metadata.managedFields = nil }
        if trims.contains(.lastAppliedConfiguration), object.metadata.annotations?[lastAppliedAnnotation] != nil {
            object.metadata.annotations?[lastAppliedAnnotation] = nil
            if object.metadata.annotations?.isEmpty == true { object.metadata.annotations = nil }
        }
    }
}
