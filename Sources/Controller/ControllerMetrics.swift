import Foundation
import IPAM
import Prometheus
import RoleKit
import Synchronization

/// The controller's Prometheus metrics, with MetalLB's names:
/// - `metallb_allocator_addresses_in_use_total{pool}`: addresses of the pool held by Services;
/// - `metallb_allocator_addresses_total{pool}`: addresses the pool can hand out (a float: a /64
///   IPv6 pool holds 2^64);
/// - `metallb_k8s_client_config_loaded_bool`: 1 once a valid configuration was loaded;
/// - `metallb_k8s_client_config_stale_bool`: 1 while the latest configuration is invalid and
///   the controller runs on an older one;
/// - `process_resident_memory_bytes` and `metallb_process_heap_bytes{state="in_use"|"free"}`: the process's memory,
///   read at each scrape (as the speaker's).
public final class ControllerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let pools = Mutex<[String: (inUse: Gauge, total: Gauge)]>([:])
    private let loaded: Gauge
    private let stale: Gauge
    private let resident: Gauge
    private let heapInUse: Gauge
    private let heapFree: Gauge

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        loaded = registry.makeGauge(name: "metallb_k8s_client_config_loaded_bool", help: "1 if the MetalLB configuration was successfully loaded at least once.")
        stale = registry.makeGauge(name: "metallb_k8s_client_config_stale_bool", help: "1 if running on a stale configuration, because the latest config failed to load.")
        resident = registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes (VmRSS: the heap, code and shared libraries).")
        let heapHelp = "The malloc heap: bytes in use, and bytes freed but still held from the kernel."
        heapInUse = registry.makeGauge(name: "metallb_process_heap_bytes", labels: [("state", "in_use")], help: heapHelp)
        heapFree = registry.makeGauge(name: "metallb_process_heap_bytes", labels: [("state", "free")], help: heapHelp)
    }

    /// Sets the two gauges of one pool.
    public func setPool(_ name: String, _ counters: PoolCounters) {
        let registry = self.registry
        let g = pools.withLock { pools in
            if let g = pools[name] { return g }
            let labels = [("pool", name)]
            let g = (
                inUse: registry.makeGauge(name: "metallb_allocator_addresses_in_use_total", labels: labels, help: "Number of IP addresses in use, per pool."),
                total: registry.makeGauge(name: "metallb_allocator_addresses_total", labels: labels, help: "Number of usable IP addresses, per pool."))
            pools[name] = g
            return g
        }
        g.inUse.set(Int64(counters.assigned))
        g.total.set(counters.capacity.doubleValue)
    }

    /// Drops the gauges of pools that no longer exist.
    public func keepPools(_ names: Set<String>) {
        let gone = pools.withLock { pools in
            let gone = pools.filter { !names.contains($0.key) }
            for k in gone.keys { pools[k] = nil }
            return Array(gone.values)
        }
        for g in gone {
            registry.unregisterGauge(g.inUse)
            registry.unregisterGauge(g.total)
        }
    }

    public func configuration(loaded isLoaded: Bool, stale isStale: Bool) {
        loaded.set(to: isLoaded ? 1.0 : 0.0)
        stale.set(to: isStale ? 1.0 : 0.0)
    }

    /// The text exposition format (version 0.0.4).
    public func exposition() -> String {
        let memory = DaemonMemory.usage()
        if let rss = memory.resident { resident.set(to: Double(rss)) }
        heapInUse.set(to: Double(memory.heapInUse))
        heapFree.set(to: Double(memory.heapFree))
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return String(decoding: buffer, as: UTF8.self)
    }
}
