import API
import IPAM
import Kube
import RoleKit
import Logging
import Synchronization

/// Keeps each IPAddressPool's status (`assignedIPv4`, `assignedIPv6`, `availableIPv4`,
/// `availableIPv6`) and the pool metrics equal to the allocator's counters. Keys are pool
/// names; the Service reconciler adds the pools it changed, and every pool change of the
/// cluster adds that pool. The work queue coalesces a burst of allocations into one write.
/// Counts beyond Int64 (IPv6 pools larger than 2^63 addresses) saturate at Int64.max.
/// A pool's status is written at most once per `minimumInterval`: during a burst of
/// allocations it trails by up to that long instead of taking the API budget the Services'
/// own status writes need.
public struct PoolStatusReconciler: Reconciler {
    public static let fieldManager = "metallb-controller"
    public var minimumInterval: Duration = .seconds(1)
    final class LastWrites: Sendable {
        let times = Mutex<[String: ContinuousClock.Instant]>([:])
    }
    let lastWrites = LastWrites()
    let client: KubeClient
    let pools: Informer<IPAddressPool>
    let table: AllocationTable
    let metrics: ControllerMetrics?
    let logger: Logger

    public init(client: KubeClient, pools: Informer<IPAddressPool>, table: AllocationTable, metrics: ControllerMetrics?, logger: Logger = Logger(label: "controller.pools")) {
        self.client = client
        self.pools = pools
        self.table = table
        self.metrics = metrics
        self.logger = logger
    }

    public func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        let counters = await table.counters
        metrics?.keepPools(Set(counters.keys))
        guard let pool = await pools.get(key) else { return .done }
        // A pool the allocator does not have yet (the configuration holding it is not valid,
        // or not applied yet) is written once the table takes it.
        guard let c = counters[key.name] else { return .done }
        metrics?.setPool(key.name, c)
        let status = IPAddressPoolStatus(
            assignedIPv4: Int64(c.assignedIPv4), assignedIPv6: Int64(c.assignedIPv6),
            availableIPv4: c.availableIPv4.int64Saturating, availableIPv6: c.availableIPv6.int64Saturating)
        if pool.status == status { return .done }
        let now = ContinuousClock.now
        if let last = lastWrites.times.withLock({ $0[key.name] }), now - last < minimumInterval {
            return .requeueAfter(minimumInterval - (now - last))
        }
        lastWrites.times.withLock { $0[key.name] = now }
        _ = try await client.resource(IPAddressPool.self, namespace: key.namespace).mergePatch(
            key.name,
            patch: ["status": [
                "assignedIPv4": .int(status.assignedIPv4 ?? 0), "assignedIPv6": .int(status.assignedIPv6 ?? 0),
                "availableIPv4": .int(status.availableIPv4 ?? 0), "availableIPv6": .int(status.availableIPv6 ?? 0),
            ]],
            subresource: "status")
        return .done
    }
}
