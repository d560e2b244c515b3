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

    struct Key: Hashable {
        var type: ResourceType
        var namespace: String?
        var options: ListOptions
    }

    public init(client: KubeClient) { self.client = client }

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
        let informer = Informer(ResourceClient<T>(client: client, type: resourceType, namespace: namespace), options: options)
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
