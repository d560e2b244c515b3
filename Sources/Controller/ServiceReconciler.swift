import NetAddress
import API
import IPAM
import Synchronization
import Kube
import RoleKit
import Logging

/// Turns the API's pools into the allocator's.
func allocatorPools(_ config: Configuration) throws -> [IPAM.Pool] {
    return try config.ipAddressPools.map { p in
        let alloc = p.spec.serviceAllocation
        return try IPAM.Pool(
            name: p.name, parsing: p.spec.addresses, autoAssign: p.spec.autoAssign ?? true,
            avoidBuggyIPs: p.spec.avoidBuggyIPs ?? false, priority: alloc?.priority ?? 0,
            namespaces: alloc?.namespaces ?? [], namespaceSelectors: alloc?.namespaceSelectors ?? [],
            serviceSelectors: alloc?.serviceSelectors ?? [])
    }
}

/// The allocator and the pools it was last given; one per controller, owned by this actor.
public actor AllocationTable {
    public private(set) var allocator = Allocator()
    private var appliedPools: [IPAddressPool]?
    /// Pools whose counters changed since `takeChangedPools` was last called.
    private var changedPools: Set<String> = []

    public init() {}

    /// Gives the allocator the configuration's pools if they changed; returns the allocations
    /// that no longer fit (already released).
    func sync(_ config: Configuration) throws -> [ReleasedAllocation] {
        if appliedPools == config.ipAddressPools { return [] }
        let released = try allocator.setPools(allocatorPools(config))
        appliedPools = config.ipAddressPools
        changedPools.formUnion(allocator.pools.map(\.name))
        return released
    }

    func assign(_ key: ServiceKey, _ request: AllocationRequest) throws(AllocationError) -> AssignResult {
        let before = allocator.assigned(key)?.pool
        let result = try allocator.assign(key, request)
        if result.change != .unchanged {
            changedPools.insert(result.assignment.pool)
            if let before { changedPools.insert(before) }
        }
        return result
    }

    func restore(_ key: ServiceKey, _ addresses: [IPAddress], _ request: AllocationRequest) throws(AllocationError) -> Assignment {
        let a = try allocator.restore(key, addresses: addresses, request: request)
        changedPools.insert(a.pool)
        return a
    }

    func release(_ key: ServiceKey) -> Assignment? {
        let a = allocator.release(key)
        if let a { changedPools.insert(a.pool) }
        return a
    }

    public func assigned(_ key: ServiceKey) -> Assignment? { allocator.assigned(key) }

    /// Usage of every pool the allocator has.
    public var counters: [String: PoolCounters] { allocator.counters }

    /// The pools whose usage changed since the last call.
    func takeChangedPools() -> Set<String> {
        defer { changedPools.removeAll() }
        return changedPools
    }
}

/// Gives each LoadBalancer Service its addresses and writes them to
/// `status.loadBalancer.ingress`, with Events a user understands. The allocation table is
/// rebuilt from the Services' current status before anything is allocated (`restore`), so a
/// restart never moves an IP.
public struct ServiceReconciler: Reconciler {
    /// The key that stands for "the configuration changed: re-check every Service".
    public static let configKey = ObjectKey(namespace: nil, name: "~configuration")

    let client: KubeClient
    let services: Informer<Service>
    let namespaces: Informer<Namespace>
    let tracker: ConfigurationTracker
    let table: AllocationTable
    let recorder: EventRecorder?
    let loadBalancerClass: String?
    let logger: Logger
    /// The queue of the controller running this reconciler, to re-check waiting Services when
    /// an address is freed.
    public let queue = QueueRef()
    /// Services that got no address are tried again after this long at the latest.
    public var retryFailedAfter: Duration = .seconds(30)
    /// The queue of the pool status controller (keys: pools in `poolNamespace`).
    public let poolQueue = QueueRef()
    public var poolNamespace: String = MetalLBAPI.defaultNamespace

    public init(
        client: KubeClient, services: Informer<Service>, namespaces: Informer<Namespace>, tracker: ConfigurationTracker,
        table: AllocationTable, recorder: EventRecorder?, loadBalancerClass: String?, logger: Logger = Logger(label: "controller.services")
    ) {
        self.client = client
        self.services = services
        self.namespaces = namespaces
        self.tracker = tracker
        self.table = table
        self.recorder = recorder
        self.loadBalancerClass = loadBalancerClass
        self.logger = logger
    }

    /// Rebuilds the table from every managed Service's current ingress. Call once, with synced
    /// caches and a valid configuration, before the first reconcile.
    public func restore() async throws {
        guard let config = await tracker.current else { return }
        _ = try await table.sync(config)
        var restored = 0
        for svc in await services.list().sorted(by: { $0.key < $1.key }) where isManaged(svc, loadBalancerClass: loadBalancerClass) {
            let ips = (svc.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip.flatMap(IPAddress.init) }
            guard !ips.isEmpty, let request = try? await request(for: svc) else { continue }
            do {
                _ = try await table.restore(serviceKey(svc.key), ips, request)
                restored += 1
            } catch {
                logger.warning("cannot keep the Service's current address", metadata: ["service": "\(svc.key)", "reason": "\(error)"])
                recorder?.emit(svc, .warning, reason: "AllocationFailed", message: "cannot keep \(ips.map(\.description).joined(separator: ",")): \(error)")
            }
        }
        logger.info("allocation table rebuilt from Service status", metadata: ["services": "\(restored)"])
    }

    public func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        do {
            let result = try await reconcileAny(key)
            await flushChangedPools()
            return result
        } catch {
            await flushChangedPools()
            throw error
        }
    }

    /// Hands the pools whose usage changed to the pool status controller.
    func flushChangedPools() async {
        for p in await table.takeChangedPools() { await poolQueue.add(ObjectKey(namespace: poolNamespace, name: p)) }
    }

    func reconcileAny(_ key: ObjectKey) async throws -> ReconcileResult {
        guard let config = await tracker.current else { return .requeueAfter(.seconds(1)) }
        for r in try await table.sync(config) {
            logger.info("allocation no longer fits the pools", metadata: ["service": "\(r.service)", "reason": "\(r.reason)"])
            if let svc = await services.get(namespace: r.service.namespace, name: r.service.name) {
                recorder?.emit(svc, .warning, reason: "AllocationReleased", message: "\(r.previous.addresses.map(\.description).joined(separator: ",")) released: \(r.reason)")
            }
        }
        if key == Self.configKey {
            for k in await services.keys().sorted() { _ = try await reconcileService(k) }
            return .done
        }
        return try await reconcileService(key)
    }

    func reconcileService(_ key: ObjectKey) async throws -> ReconcileResult {
        let sk = serviceKey(key)
        guard let svc = await services.get(key), isManaged(svc, loadBalancerClass: loadBalancerClass) else {
            let previous = await table.release(sk)
            if previous != nil { await queue.add(Self.configKey) }
            if let previous, let svc = await services.get(key), svc.spec?.type != "LoadBalancer", !(svc.status?.loadBalancer?.ingress ?? []).isEmpty {
                try await writeIngress(svc, [])
                logger.info("released: no longer a LoadBalancer", metadata: ["service": "\(key)", "addresses": "\(previous)"])
            }
            return .done
        }
        let request: AllocationRequest
        do {
            request = try await self.request(for: svc)
        } catch {
            recorder?.emit(svc, .warning, reason: "AllocationFailed", message: "\(error)")
            return .done
        }
        var desired: [IPAddress] = []
        do {
            let result = try await table.assign(sk, request)
            desired = result.assignment.addresses
            let text = desired.map(\.description).joined(separator: ",")
            switch result.change {
            case .unchanged: break
            case .allocated, .extended:
                recorder?.emit(svc, .normal, reason: "IPAllocated", message: "Assigned IP [\(text)] from pool \(result.assignment.pool)")
            case .replaced(let previous, let reason):
                recorder?.emit(svc, .normal, reason: "IPAllocated", message: "Assigned IP [\(text)] from pool \(result.assignment.pool), replacing \(previous.addresses.map(\.description).joined(separator: ",")): \(reason)")
            }
        } catch {
            recorder?.emit(svc, .warning, reason: "AllocationFailed", message: "\(error)")
        }
        let current = (svc.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
        if current != desired.map(\.description) { try await writeIngress(svc, desired) }
        return desired.isEmpty ? .requeueAfter(retryFailedAfter) : .done
    }

    func request(for svc: Service) async throws -> AllocationRequest {
        let nsLabels = await namespaces.get(namespace: nil, name: svc.namespace ?? "")?.metadata.labels ?? [:]
        return try allocationRequest(for: svc, namespaceLabels: nsLabels)
    }

    func writeIngress(_ svc: Service, _ ips: [IPAddress]) async throws {
        let ingress: JSONValue = ips.isEmpty ? .null : .array(ips.map { ["ip": .string($0.description)] })
        _ = try await client.resource(Service.self, namespace: svc.namespace).mergePatch(
            svc.name, patch: ["status": ["loadBalancer": ["ingress": ingress]]], subresource: "status")
    }

    func serviceKey(_ key: ObjectKey) -> ServiceKey { ServiceKey(namespace: key.namespace ?? "", name: key.name) }
}

/// A reference to a work queue that exists only once the controller is built.
public final class QueueRef: Sendable {
    private let ref = Mutex<WorkQueue<ObjectKey>?>(nil)
    public init() {}
    public func set(_ q: WorkQueue<ObjectKey>) { ref.withLock { $0 = q } }
    func add(_ key: ObjectKey) async {
        if let q = ref.withLock({ $0 }) { await q.add(key) }
    }
}
