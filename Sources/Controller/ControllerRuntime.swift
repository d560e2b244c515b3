import API
import Kube
import Logging
import RoleKit

/// Everything the controller role runs while it leads: the configuration reconciler and the
/// Service reconciler, wired in the order that keeps restarts safe (caches synced → a valid
/// configuration → the allocation table rebuilt from Service status → allocations).
public struct ControllerRuntime: Sendable {
    public let client: KubeClient
    public let namespace: String
    public let loadBalancerClass: String?
    public let identity: String
    /// Services that got no address are tried again after this long at the latest.
    public var retryFailedAfter: Duration = .seconds(30)
    public let table = AllocationTable()
    public let tracker = ConfigurationTracker()
    public var metrics: ControllerMetrics?
    /// Watch the Services of this namespace only (default: every namespace). Tests use it to
    /// keep controllers that share one API server apart.
    public var serviceNamespace: String?
    let logger = Logger(label: "controller")

    public init(client: KubeClient, namespace: String, loadBalancerClass: String?, identity: String) {
        self.client = client
        self.namespace = namespace
        self.loadBalancerClass = loadBalancerClass
        self.identity = identity
    }

    /// Runs until the calling task is cancelled.
    public func run() async {
        // Events have a rate limit of their own (half the client's): a burst of allocations
        // writes every Service's status first and tells about it as the budget allows.
        let recorder = EventRecorder(
            client: client.withRateLimit(qps: max(1, client.config.qps / 2), burst: max(1, client.config.burst / 2)),
            component: "metallb-controller", host: identity)
        let cache = InformerCache(client: client)
        let services = await cache.informer(Service.self, namespace: serviceNamespace)
        let namespaces = await cache.informer(Namespace.self)
        var serviceReconciler = ServiceReconciler(
            client: client, services: services, namespaces: namespaces, tracker: tracker, table: table,
            recorder: recorder, loadBalancerClass: loadBalancerClass)
        serviceReconciler.retryFailedAfter = retryFailedAfter
        serviceReconciler.poolNamespace = namespace
        let serviceController = Controller(name: "services", reconciler: serviceReconciler, workers: 1)
        let queue = serviceController.queue
        serviceReconciler.queue.set(queue)
        let restoreTable = serviceReconciler
        let configKey = ServiceReconciler.configKey

        let informers = await ConfigurationInformers(cache: cache, namespace: namespace)
        let metrics = self.metrics, tracker = self.tracker
        let configController = Controller(
            name: "configuration",
            reconciler: ConfigurationReconciler(
                client: client, informers: informers, tracker: tracker,
                stateObject: ConfigurationState.forController(namespace: namespace), fieldManager: "metallb-controller",
                recorder: recorder,
                onValid: { await queue.add(configKey) },
                onValidated: { valid in
                    let loaded = await tracker.current != nil
                    metrics?.configuration(loaded: loaded, stale: loaded && !valid)
                }),
            workers: 1)
        let poolController = Controller(
            name: "pool-status", reconciler: PoolStatusReconciler(client: client, pools: informers.pools, table: table, metrics: metrics),
            workers: 1)
        serviceReconciler.poolQueue.set(poolController.queue)
        await poolController.watch(informers.pools)
        await informers.watch(with: configController, key: ObjectKey(namespace: namespace, name: MetalLBAPI.controllerConfigurationStateName))
        await serviceController.watch(services)
        // A namespace's labels feed pools' namespace selectors: re-check everything.
        await serviceController.watch(namespaces) { _ in [configKey] }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await configController.run() }
            group.addTask { await poolController.run() }
            group.addTask {
                await services.start()
                await namespaces.start()
                // Polls rather than waits, so that a shutdown before the first valid
                // configuration is not stuck.
                while !Task.isCancelled {
                    let a = await services.hasSynced
                    let b = await namespaces.hasSynced
                    let c = await tracker.current != nil
                    if a && b && c { break }
                    try? await Task.sleep(for: .milliseconds(100))
                }
                if Task.isCancelled {
                    await services.stop()
                    await namespaces.stop()
                    return
                }
                do {
                    try await restoreTable.restore()
                } catch {
                    logger.error("rebuilding the allocation table failed", metadata: ["error": "\(error)"])
                }
                await serviceController.run()
                // Balances the start above (informers are shared: each start has its stop).
                await services.stop()
                await namespaces.stop()
            }
        }
    }
}
