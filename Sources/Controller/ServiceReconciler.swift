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
            name: p.name, addresses: try AddressSet(parsing: p.spec.addresses), autoAssign: p.spec.autoAssign ?? true,
            avoidBuggyIPs: p.spec.avoidBuggyIPs ?? false, priority: alloc?.priority ?? 0,
            namespaces: alloc?.namespaces ?? [], namespaceSelectors: alloc?.namespaceSelectors ?? [],
            serviceSelectors: alloc?.serviceSelectors ?? [])
    }
}

/// Where a hold (see `AllocationTable.hold`) ended up.
enum HoldOutcome: Sendable, Equatable {
    /// Recorded in the allocator, in this pool: counted in the pool's usage, never handed out.
    case reserved(Assignment)
    /// The allocator refused the addresses (why: the error's text), e.g. no pool contains them
    /// any more: kept aside as an "unknown pool" hold, re-tried on every pool change, and no
    /// other Service's new allocation may use them.
    case outsidePools(String)
}

/// The allocator and the pools it was last given; one per controller, owned by this actor.
public actor AllocationTable {
    public private(set) var allocator = Allocator()
    private var appliedPools: [IPAddressPool]?
    /// Pools whose counters changed since `takeChangedPools` was last called.
    private var changedPools: Set<String> = []

    /// Addresses kept for Services that show them in their status but whose settings cannot be
    /// used (or whose address the allocator refused at start-up), until the Service is
    /// reconciled with usable settings, stops being ours, or is deleted.
    struct Hold: Sendable {
        var addresses: [IPAddress]
        var request: AllocationRequest
        /// True when the allocator has a record for it; false for an "unknown pool" hold.
        var placed: Bool
    }
    private var holds: [ServiceKey: Hold] = [:]

    public init() {}

    /// What `sync` did to the allocations.
    struct SyncResult: Sendable {
        /// Allocations that no longer fit (already released): their Services get new ones.
        var released: [ReleasedAllocation] = []
        /// Holds that no longer fit their pool: kept as "unknown pool" holds.
        var heldOutside: [ReleasedAllocation] = []
    }

    /// Gives the allocator the configuration's pools if they changed; returns the allocations
    /// that no longer fit (already released). Holds that no longer fit are kept aside, and
    /// holds kept aside are placed again when a pool now takes them, before anything else is
    /// allocated.
    func sync(_ config: Configuration) throws -> SyncResult {
        if appliedPools == config.ipAddressPools { return SyncResult() }
        var result = SyncResult()
        for r in try allocator.setPools(allocatorPools(config)) {
            if holds[r.service] != nil {
                holds[r.service]?.placed = false
                result.heldOutside.append(r)
            } else {
                result.released.append(r)
            }
        }
        appliedPools = config.ipAddressPools
        changedPools.formUnion(allocator.pools.map(\.name))
        for (key, h) in holds.sorted(by: { $0.key < $1.key }) where !h.placed {
            if let a = try? allocator.restore(key, addresses: h.addresses, request: h.request) {
                holds[key]?.placed = true
                changedPools.insert(a.pool)
            }
        }
        result.heldOutside.removeAll { holds[$0.service]?.placed != false }
        return result
    }

    /// What `assign` did: the allocator's answer, and whether a hold of the Service ended.
    struct Assigned: Sendable {
        var assignment: Assignment
        var change: AssignResult.Change
        var wasHeld: Bool
    }

    /// Allocates for a Service whose settings are usable; any hold of it ends here (the
    /// allocator keeps a placed hold's addresses when they fit the real settings). Throws
    /// `addressInUse` rather than hand out an address another Service holds outside the pools.
    func assign(_ key: ServiceKey, _ request: AllocationRequest) throws(AllocationError) -> Assigned {
        let before = allocator.assigned(key)
        let wasHeld = holds[key] != nil
        // The reconciler clears the status of a Service that gets nothing: its hold ends
        // either way.
        holds[key] = nil
        let result: AssignResult
        do {
            result = try allocator.assign(key, request)
        } catch {
            if let before, allocator.assigned(key) == nil { changedPools.insert(before.pool) }
            throw error
        }
        guard result.change != .unchanged else { return Assigned(assignment: result.assignment, change: .unchanged, wasHeld: wasHeld) }
        changedPools.insert(result.assignment.pool)
        if let before { changedPools.insert(before.pool) }
        let aside = holds.filter { !$0.value.placed }
        for ip in result.assignment.addresses {
            let by = aside.filter { $0.value.addresses.contains(ip) }.map(\.key).sorted()
            guard !by.isEmpty else { continue }
            // The allocator does not know that address is taken: undo.
            allocator.release(key)
            if case .extended(let added) = result.change,
               let kept = try? allocator.restore(key, addresses: result.assignment.addresses.filter { $0 != added }, request: request) {
                return Assigned(assignment: kept, change: .unchanged, wasHeld: wasHeld)
            }
            throw .addressInUse(ip, by: by)
        }
        return Assigned(assignment: result.assignment, change: result.change, wasHeld: wasHeld)
    }

    func restore(_ key: ServiceKey, _ addresses: [IPAddress], _ request: AllocationRequest) throws(AllocationError) -> Assignment {
        let a = try allocator.restore(key, addresses: addresses, request: request)
        holds[key] = nil
        changedPools.insert(a.pool)
        return a
    }

    /// Keeps exactly `addresses` for the Service, described by `request` (a request built to
    /// fit them: see `ServiceReconciler.holdRequest`), whatever its settings say. Recorded in
    /// the allocator if it accepts them, else kept aside as an "unknown pool" hold.
    func hold(_ key: ServiceKey, _ addresses: [IPAddress], _ request: AllocationRequest) -> HoldOutcome {
        let before = allocator.assigned(key)
        if let h = holds[key], h.placed, h.request == request, let before, Set(before.addresses) == Set(addresses) {
            return .reserved(before)
        }
        do {
            let a = try allocator.restore(key, addresses: addresses, request: request)
            holds[key] = Hold(addresses: a.addresses, request: request, placed: true)
            changedPools.insert(a.pool)
            if let before { changedPools.insert(before.pool) }
            return .reserved(a)
        } catch {
            if let before, Set(before.addresses) == Set(addresses) {
                // Already recorded with these addresses (under the settings they had): keep it.
                holds[key] = Hold(addresses: before.addresses, request: request, placed: true)
                return .reserved(before)
            }
            if let before {
                allocator.release(key)
                changedPools.insert(before.pool)
            }
            holds[key] = Hold(addresses: addresses, request: request, placed: false)
            return .outsidePools("\(error)")
        }
    }

    func release(_ key: ServiceKey) -> Assignment? {
        let hold = holds.removeValue(forKey: key)
        let a = allocator.release(key)
        if let a { changedPools.insert(a.pool) }
        return a ?? hold.map { Assignment(addresses: $0.addresses, pool: "") }
    }

    public func assigned(_ key: ServiceKey) -> Assignment? { allocator.assigned(key) }

    /// The addresses kept for the Service by a hold (in a pool or outside them), if any.
    func held(_ key: ServiceKey) -> [IPAddress]? { holds[key]?.addresses }

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
    ///
    /// A Service that shows addresses in its status keeps them reserved whatever else is wrong
    /// with it: when its settings cannot be read, or the allocator refuses its addresses for
    /// its settings, the addresses are held (`keep`) until that Service's own reconcile, with a
    /// Warning Event and a log line, so no other Service is given them in between.
    public func restore() async throws {
        guard let config = await tracker.current else { return }
        _ = try await table.sync(config)
        var restored = 0, kept = 0
        for svc in await services.list().sorted(by: { $0.key < $1.key }) where isManaged(svc, loadBalancerClass: loadBalancerClass) {
            let ips = statusAddresses(svc)
            guard !ips.isEmpty else { continue }
            let request: AllocationRequest
            do {
                request = try await self.request(for: svc)
            } catch {
                await keep(svc, ips, because: "cannot read the Service's settings: \(error)", until: "its settings are fixed", atStartUp: true)
                kept += 1
                continue
            }
            do {
                _ = try await table.restore(serviceKey(svc.key), ips, request)
                restored += 1
            } catch {
                // Its own reconcile gives it a valid allocation (or nothing); until then
                // nobody else gets these.
                await keep(svc, ips, because: "the Service's settings no longer allow its address: \(error)", until: "the Service is reconciled", atStartUp: true)
                kept += 1
            }
        }
        logger.info("allocation table rebuilt from Service status", metadata: ["services": "\(restored)", "held": "\(kept)"])
    }

    /// Holds exactly `ips` for the Service (see `AllocationTable.hold`) and says so, as a
    /// Warning Event on the Service and in the log.
    func keep(_ svc: Service, _ ips: [IPAddress], because problem: String, until: String, atStartUp: Bool) async {
        let request = await holdRequest(for: svc, ips)
        let text = request.addresses.map(\.description).joined(separator: ",")
        let when = atStartUp ? " at start-up" : ""
        let message: String
        switch await table.hold(serviceKey(svc.key), request.addresses, request) {
        case .reserved(let a):
            message = "\(problem); \(text) kept reserved\(when) in pool \(a.pool) until \(until)"
        case .outsidePools(let why):
            message = "\(problem); \(text) kept reserved\(when) outside the pools (\(why)) until \(until)"
        }
        var metadata: Logger.Metadata = ["service": "\(svc.key)", "addresses": "\(text)", "reason": "\(problem)"]
        let ignored = ips.filter { !request.addresses.contains($0) }
        if !ignored.isEmpty { metadata["ignored"] = "\(ignored.map(\.description).joined(separator: ","))" }
        logger.warning("keeping the Service's current address", metadata: metadata)
        recorder?.emit(svc, .warning, reason: "AllocationFailed", message: message)
    }

    /// The request a hold is recorded with: exactly `ips` (the first of each family, in status
    /// order), no pool annotation, and what can be read of the rest (sharing key, ports,
    /// traffic policy, labels) so that the allocator's sharing rules still hold. Never fails.
    func holdRequest(for svc: Service, _ ips: [IPAddress]) async -> AllocationRequest {
        var addresses: [IPAddress] = []
        for ip in ips where !addresses.contains(where: { $0.family == ip.family }) { addresses.append(ip) }
        let ann = svc.metadata.annotations ?? [:]
        let sharingKey = ServiceAnnotations.allowSharedIP.lazy.compactMap { ann[$0]?.trimmingSpaces }.first { !$0.isEmpty }
        let ports: [AllocatedPort] = (svc.spec?.ports ?? []).compactMap { p in
            let proto: TransportProtocol? = switch p.protocol ?? "TCP" {
            case "TCP": .tcp
            case "UDP": .udp
            case "SCTP": .sctp
            default: nil
            }
            return proto.map { AllocatedPort($0, Int(p.port)) }
        }
        let families: FamilyRequest = addresses.count > 1 ? .requireDualStack(primary: addresses[0].family) : .single(addresses.first?.family ?? .ipv4)
        return AllocationRequest(
            families: families, addresses: addresses.sorted(), pool: nil, sharingKey: sharingKey, ports: ports,
            externalTrafficPolicy: svc.spec?.externalTrafficPolicy == "Local" ? .local : .cluster,
            podSelector: svc.spec?.selector ?? [:],
            namespaceLabels: await namespaces.get(namespace: nil, name: svc.namespace ?? "")?.metadata.labels ?? [:],
            serviceLabels: svc.metadata.labels ?? [:])
    }

    /// The addresses in the Service's `status.loadBalancer.ingress`.
    func statusAddresses(_ svc: Service) -> [IPAddress] {
        (svc.status?.loadBalancer?.ingress ?? []).compactMap { $0.ip.flatMap(IPAddress.init) }
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
        let synced = try await table.sync(config)
        for r in synced.released {
            logger.info("allocation no longer fits the pools", metadata: ["service": "\(r.service)", "reason": "\(r.reason)"])
            if let svc = await services.get(namespace: r.service.namespace, name: r.service.name) {
                recorder?.emit(svc, .warning, reason: "AllocationReleased", message: "\(r.previous.addresses.map(\.description).joined(separator: ",")) released: \(r.reason)")
            }
        }
        for r in synced.heldOutside {
            let text = r.previous.addresses.map(\.description).joined(separator: ",")
            logger.warning("held address no longer fits the pools, kept reserved outside them", metadata: ["service": "\(r.service)", "addresses": "\(text)", "reason": "\(r.reason)"])
            if let svc = await services.get(namespace: r.service.namespace, name: r.service.name) {
                recorder?.emit(svc, .warning, reason: "AllocationFailed", message: "\(text) kept reserved outside the pools: \(r.reason)")
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
            // Never release on unreadable settings: what the Service shows (or, with a cache
            // that has not caught up with our last write, what the table has) stays reserved
            // until the settings are fixed; the status is left alone.
            var ips = statusAddresses(svc)
            if ips.isEmpty { ips = await table.held(sk) ?? [] }
            if ips.isEmpty { ips = await table.assigned(sk)?.addresses ?? [] }
            if ips.isEmpty {
                logger.info("cannot read the Service's settings", metadata: ["service": "\(key)", "reason": "\(error)"])
                recorder?.emit(svc, .warning, reason: "AllocationFailed", message: "\(error)")
            } else {
                await keep(svc, ips, because: "cannot read the Service's settings: \(error)", until: "its settings are fixed", atStartUp: false)
            }
            return .done
        }
        var desired: [IPAddress] = []
        // A hold that ends with the Service moving (or getting nothing) frees its addresses:
        // the Services waiting for one are tried again at once.
        let heldBefore = await table.held(sk)
        do {
            let result = try await table.assign(sk, request)
            desired = result.assignment.addresses
            let text = desired.map(\.description).joined(separator: ",")
            switch result.change {
            case .unchanged:
                // A hold becomes an allocation again (the settings were fixed).
                if result.wasHeld {
                    recorder?.emit(svc, .normal, reason: "IPAllocated", message: "Assigned IP [\(text)] from pool \(result.assignment.pool)")
                }
            case .allocated, .extended:
                recorder?.emit(svc, .normal, reason: "IPAllocated", message: "Assigned IP [\(text)] from pool \(result.assignment.pool)")
            case .replaced(let previous, let reason):
                recorder?.emit(svc, .normal, reason: "IPAllocated", message: "Assigned IP [\(text)] from pool \(result.assignment.pool), replacing \(previous.addresses.map(\.description).joined(separator: ",")): \(reason)")
            }
        } catch {
            recorder?.emit(svc, .warning, reason: "AllocationFailed", message: "\(error)")
        }
        if let heldBefore, Set(heldBefore) != Set(desired) { await queue.add(Self.configKey) }
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
