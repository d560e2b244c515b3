import API
import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import Controller

/// The controller's Service semantics against the real API server: pool status and metrics,
/// selectors, requested addresses, sharing, pool edits and deletions, dual stack. Each test
/// runs its own controller on its own Services namespace, with its own pools.
struct ServiceWorld {
    let env: TestEnv
    let apps: String
    let metrics = ControllerMetrics()
    var running: Task<Void, Never>?

    static func make(_ prefix: String, env: TestEnv? = nil) async throws -> ServiceWorld {
        let env = if let env { env } else { try await TestEnv.make(prefix) }
        try await installCRDs(env.client)
        let apps = try await TestEnv.createNamespace(env.client, prefix: prefix + "-apps")
        return ServiceWorld(env: env, apps: apps)
    }

    mutating func start() {
        var rt = ControllerRuntime(client: env.client, namespace: env.namespace, loadBalancerClass: nil, identity: "test")
        rt.retryFailedAfter = .milliseconds(500)
        rt.serviceNamespace = apps
        rt.metrics = metrics
        running = Task { [rt] in await rt.run() }
    }

    func stop() async {
        running?.cancel()
        await running?.value
    }

    var pools: ResourceClient<IPAddressPool> { env.client.resource(IPAddressPool.self, namespace: env.namespace) }
    var services: ResourceClient<Service> { env.client.resource(Service.self, namespace: apps) }

    func pool(_ name: String, _ addresses: [String], autoAssign: Bool? = nil, allocation: ServiceAllocation? = nil) async throws {
        var p = IPAddressPool(metadata: ObjectMeta(name: name, namespace: env.namespace), spec: IPAddressPoolSpec(addresses: addresses, autoAssign: autoAssign, serviceAllocation: allocation))
        p.setTypeMeta()
        _ = try await pools.create(p)
    }

    @discardableResult
    func service(
        _ name: String, annotations: [String: String]? = nil, labels: [String: String]? = nil, ports: [Int32] = [80],
        families: [String]? = nil, familyPolicy: String? = nil, selector: String? = nil
    ) async throws -> Service {
        var s = Service(
            metadata: ObjectMeta(name: name, namespace: apps, labels: labels, annotations: annotations),
            spec: ServiceSpec(
                type: "LoadBalancer", ports: ports.map { Kube.ServicePort(name: "p\($0)", protocol: "TCP", port: $0) },
                selector: ["app": selector ?? name], ipFamilies: families, ipFamilyPolicy: familyPolicy))
        s.setTypeMeta()
        return try await services.create(s)
    }

    func ips(_ name: String) async throws -> [String] {
        try await services.get(name).status?.loadBalancer?.ingress?.compactMap(\.ip) ?? []
    }

    /// Waits until the Service has exactly these addresses.
    func expectIPs(_ name: String, _ want: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var last: [String] = []
        let ok = try await eventually {
            last = try await ips(name)
            return last == want
        }
        #expect(ok, "\(name): want \(want), have \(last)", sourceLocation: sourceLocation)
    }

    /// The messages of the Service's Events with this reason.
    func events(_ name: String, reason: String) async throws -> [String] {
        try await env.client.resource(Event.self, namespace: apps).listAll().items
            .filter { $0.involvedObject.name == name && $0.reason == reason }.compactMap(\.message)
    }

    /// Waits for an Event of the Service whose message contains `text`.
    func expectEvent(_ name: String, reason: String, containing text: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        var seen: [String] = []
        let ok = try await eventually {
            seen = try await events(name, reason: reason)
            return seen.contains { $0.contains(text) }
        }
        #expect(ok, "\(name): no \(reason) Event containing \"\(text)\"; have \(seen)", sourceLocation: sourceLocation)
    }
}

@Suite(.timeLimit(.minutes(5))) struct ServiceSemanticsTests {
    @Test func poolStatusAndMetricsFollowAllocations() async throws {
        var w = try await ServiceWorld.make("pstat")
        let env = w.env
        defer { Task { await env.close() } }
        try await w.pool("four", ["10.40.0.0/30"])
        try await w.pool("wide", ["fd00:40::/64"], autoAssign: false)
        w.start()
        let started = w
        defer { Task { await started.stop() } }

        for n in ["a", "b", "c"] { try await w.service(n) }
        func status(_ pool: String) async throws -> IPAddressPoolStatus? { try await w.pools.get(pool).status }
        #expect(try await eventually { try await status("four") == IPAddressPoolStatus(assignedIPv4: 3, assignedIPv6: 0, availableIPv4: 1, availableIPv6: 0) })
        // A /64 holds 2^64 addresses: the int64 status saturates, the metric (a float) does not.
        #expect(try await eventually { try await status("wide") == IPAddressPoolStatus(assignedIPv4: 0, assignedIPv6: 0, availableIPv4: 0, availableIPv6: Int64.max) })
        let text = w.metrics.exposition()
        #expect(text.contains("metallb_allocator_addresses_in_use_total{pool=\"four\"} 3"), "\(text)")
        #expect(text.contains("metallb_allocator_addresses_total{pool=\"four\"} 4"), "\(text)")
        #expect(text.contains("metallb_allocator_addresses_in_use_total{pool=\"wide\"} 0"), "\(text)")
        #expect(text.contains("metallb_allocator_addresses_total{pool=\"wide\"} 1.8446744073709552e+19"), "\(text)")
        #expect(text.contains("metallb_k8s_client_config_loaded_bool 1"), "\(text)")
        #expect(text.contains("metallb_k8s_client_config_stale_bool 0"), "\(text)")
        // The process's memory, read at the scrape: this test process is resident and has a heap.
        let rss = text.split(separator: "\n").first { $0.hasPrefix("process_resident_memory_bytes ") }
        #expect((rss?.split(separator: " ").last.flatMap { Double($0) } ?? 0) > 1_000_000, "\(text)")
        #expect(text.contains(#"metallb_process_heap_bytes{state="in_use"}"#), "\(text)")

        // A release shows in the status and the metric.
        try await w.services.delete("b")
        #expect(try await eventually {
            let s = try await status("four")
            return s?.assignedIPv4 == 2 && s?.availableIPv4 == 2
        })
        #expect(try await eventually { w.metrics.exposition().contains("metallb_allocator_addresses_in_use_total{pool=\"four\"} 2") })

        // A deleted pool leaves the metrics.
        try await w.pools.delete("wide")
        #expect(try await eventually { !w.metrics.exposition().contains("pool=\"wide\"") })
    }

    @Test func selectorsRequestsSharingAndPoolEdits() async throws {
        var w = try await ServiceWorld.make("sem")
        let env = w.env
        defer { Task { await env.close() } }
        let client = env.client
        _ = try await client.resource(Namespace.self).mergePatch(w.apps, patch: ["metadata": ["labels": ["team": "blue"]]])
        try await w.pool("general", ["10.41.0.0/29"])
        try await w.pool("gold", ["10.41.1.0/30"], allocation: ServiceAllocation(priority: 1, serviceSelectors: [LabelSelector(matchLabels: ["tier": "gold"])]))
        try await w.pool("blue", ["10.41.2.0/30"], allocation: ServiceAllocation(priority: 2, namespaceSelectors: [LabelSelector(matchLabels: ["team": "blue"])]))
        w.start()
        let started = w
        defer { Task { await started.stop() } }

        // Selectors and priorities: gold (priority 1) for gold Services, then the namespace's
        // pool (priority 2), then the unrestricted one.
        try await w.service("golden", labels: ["tier": "gold"])
        try await w.expectIPs("golden", ["10.41.1.0"])
        try await w.service("plain")
        try await w.expectIPs("plain", ["10.41.2.0"])
        try await w.expectEvent("plain", reason: "IPAllocated", containing: "from pool blue")
        // A pool whose selectors do not admit the Service cannot be asked for.
        try await w.service("not-gold", annotations: ["metallb.io/address-pool": "gold"])
        try await w.expectEvent("not-gold", reason: "AllocationFailed", containing: "pool \"gold\" does not allow")
        #expect(try await w.ips("not-gold") == [])

        // Requested addresses: outside every pool, then taken.
        try await w.service("outside", annotations: ["metallb.io/loadBalancerIPs": "10.99.9.9"])
        try await w.expectEvent("outside", reason: "AllocationFailed", containing: "is in no IPAddressPool")
        try await w.service("wants-plain", annotations: ["metallb.io/loadBalancerIPs": "10.41.2.0"])
        try await w.expectEvent("wants-plain", reason: "AllocationFailed", containing: "already in use")
        // The legacy spellings work too.
        try await w.service("legacy", annotations: ["metallb.universe.tf/loadBalancerIPs": "10.41.0.5"])
        try await w.expectIPs("legacy", ["10.41.0.5"])

        // Sharing: same key, different ports → one address; a port clash or another key → refused.
        try await w.service("web", annotations: ["metallb.io/allow-shared-ip": "k1", "metallb.io/loadBalancerIPs": "10.41.0.6"], ports: [80], selector: "site")
        try await w.service("mail", annotations: ["metallb.io/allow-shared-ip": "k1", "metallb.io/loadBalancerIPs": "10.41.0.6"], ports: [25], selector: "site")
        try await w.expectIPs("web", ["10.41.0.6"])
        try await w.expectIPs("mail", ["10.41.0.6"])
        try await w.service("clash", annotations: ["metallb.io/allow-shared-ip": "k1", "metallb.io/loadBalancerIPs": "10.41.0.6"], ports: [80], selector: "site")
        try await w.expectEvent("clash", reason: "AllocationFailed", containing: "port TCP/80 is already in use on \"10.41.0.6\" by \(w.apps)/web")
        try await w.service("other-key", annotations: ["metallb.io/allow-shared-ip": "k2", "metallb.io/loadBalancerIPs": "10.41.0.6"], ports: [443], selector: "site")
        try await w.expectEvent("other-key", reason: "AllocationFailed", containing: "with sharing key \"k1\", not \"k2\"")

        // Pool edit: "general" shrinks to 10.41.0.4/30. "legacy" (10.41.0.5) and the shared
        // 10.41.0.6 stay where they are; a Service outside the new range moves, with an Event.
        try await w.service("low", annotations: ["metallb.io/address-pool": "general"])
        try await w.expectIPs("low", ["10.41.0.0"])
        _ = try await w.pools.mergePatch("general", patch: ["spec": ["addresses": ["10.41.0.4/30"]]])
        try await w.expectEvent("low", reason: "AllocationReleased", containing: "10.41.0.0 released")
        try await w.expectIPs("low", ["10.41.0.4"])
        try await w.expectIPs("legacy", ["10.41.0.5"])
        try await w.expectIPs("web", ["10.41.0.6"])

        // Pool deletion: the namespace's pool goes, its Service moves to the unrestricted one.
        try await w.pools.delete("blue")
        try await w.expectEvent("plain", reason: "AllocationReleased", containing: "10.41.2.0 released")
        try await w.expectIPs("plain", ["10.41.0.7"])
        // The namespace's label no longer matches: nothing else changes for gold.
        try await w.expectIPs("golden", ["10.41.1.0"])
    }

    @Test func dualStackFamiliesAndPolicies() async throws {
        let plane = try await ControlPlane.start(extraArgs: ["--dual-stack"])
        defer { Task { await plane.stop() } }
        let client = try plane.client()
        let ns = try await TestEnv.createNamespace(client, prefix: "ds")
        var w = try await ServiceWorld.make("ds", env: TestEnv(plane: plane, client: client, namespace: ns))
        defer { Task { await client.shutdown() } }
        try await w.pool("both", ["10.43.0.0/30", "fd00:43::/126"])
        try await w.pool("wide", ["fd00:44::/64"], autoAssign: false)
        try await w.pool("v4only", ["10.43.1.0/30"], autoAssign: false)
        w.start()
        let started = w
        defer { Task { await started.stop() } }

        try await w.service("dual", families: ["IPv4", "IPv6"], familyPolicy: "RequireDualStack")
        try await w.expectIPs("dual", ["10.43.0.0", "fd00:43::"])
        try await w.service("six", families: ["IPv6"], familyPolicy: "SingleStack")
        try await w.expectIPs("six", ["fd00:43::1"])
        try await w.service("prefer", families: ["IPv6", "IPv4"], familyPolicy: "PreferDualStack")
        try await w.expectIPs("prefer", ["10.43.0.1", "fd00:43::2"])
        // RequireDualStack from a pool without IPv6 addresses is refused with the reason.
        try await w.service("dual-v4pool", annotations: ["metallb.io/address-pool": "v4only"], families: ["IPv4", "IPv6"], familyPolicy: "RequireDualStack")
        try await w.expectEvent("dual-v4pool", reason: "AllocationFailed", containing: "IPv6")
        // Requested addresses of both families.
        try await w.service("pinned", annotations: ["metallb.io/loadBalancerIPs": "10.43.0.3,fd00:43::3"], families: ["IPv4", "IPv6"], familyPolicy: "RequireDualStack")
        try await w.expectIPs("pinned", ["10.43.0.3", "fd00:43::3"])
        #expect(try await eventually {
            try await w.pools.get("both").status == IPAddressPoolStatus(assignedIPv4: 3, assignedIPv6: 4, availableIPv4: 1, availableIPv6: 0)
        })
        // A /64 holds 2^64 addresses: the int64 status saturates, the metric (a float) does not.
        try await w.service("v6", annotations: ["metallb.io/address-pool": "wide"], families: ["IPv6"], familyPolicy: "SingleStack")
        try await w.expectIPs("v6", ["fd00:44::"])
        #expect(try await eventually {
            try await w.pools.get("wide").status == IPAddressPoolStatus(assignedIPv4: 0, assignedIPv6: 1, availableIPv4: 0, availableIPv6: Int64.max)
        })
        let text = w.metrics.exposition()
        #expect(text.contains("metallb_allocator_addresses_in_use_total{pool=\"wide\"} 1"), "\(text)")
        #expect(text.contains("metallb_allocator_addresses_in_use_total{pool=\"both\"} 7"), "\(text)")
    }
}
