import API
import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import Controller

@Suite(.timeLimit(.minutes(4))) struct ServiceAllocationTests {
    func lbService(_ name: String, _ ns: String, annotations: [String: String]? = nil) -> Service {
        var s = Service(
            metadata: ObjectMeta(name: name, namespace: ns, annotations: annotations),
            spec: ServiceSpec(type: "LoadBalancer", ports: [Kube.ServicePort(protocol: "TCP", port: 80)], selector: ["app": name]))
        s.setTypeMeta()
        return s
    }

    @Test func servicesGetStableAddressesAcrossRestarts() async throws {
        let env = try await TestEnv.make("alloc")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let apps = try await TestEnv.createNamespace(env.client, prefix: "apps")
        var pool = IPAddressPool(metadata: ObjectMeta(name: "small", namespace: env.namespace), spec: IPAddressPoolSpec(addresses: ["10.30.0.0/30"]))
        pool.setTypeMeta()
        _ = try await env.client.resource(IPAddressPool.self, namespace: env.namespace).create(pool)

        // Only this test's Services: other tests' controllers share the API server.
        func start() -> Task<Void, Never> {
            var rt = ControllerRuntime(client: env.client, namespace: env.namespace, loadBalancerClass: nil, identity: "test")
            rt.retryFailedAfter = .milliseconds(500)
            rt.serviceNamespace = apps
            return Task { await rt.run() }
        }
        var running = start()
        defer { running.cancel() }

        let services = env.client.resource(Service.self, namespace: apps)
        func ip(_ name: String) async throws -> String? { try await services.get(name).status?.loadBalancer?.ingress?.first?.ip }

        _ = try await services.create(lbService("pinned", apps, annotations: ["metallb.io/loadBalancerIPs": "10.30.0.3"]))
        #expect(try await eventually { try await ip("pinned") == "10.30.0.3" })
        for n in ["a", "b", "c"] { _ = try await services.create(lbService(n, apps)) }
        #expect(try await eventually {
            let a = try await ip("a"), b = try await ip("b"), c = try await ip("c")
            return a != nil && b != nil && c != nil
        })
        let first = [try await ip("a"), try await ip("b"), try await ip("c")].compactMap { $0 }
        #expect(Set(first) == ["10.30.0.0", "10.30.0.1", "10.30.0.2"], "\(first)")

        // The pool is full: the next one waits, with an Event saying why.
        _ = try await services.create(lbService("late", apps))
        #expect(try await eventually {
            try await env.client.resource(Event.self, namespace: apps).listAll().items
                .contains { $0.involvedObject.name == "late" && $0.reason == "AllocationFailed" }
        })
        #expect(try await ip("late") == nil)

        // Restart the controller: nothing moves.
        running.cancel()
        await running.value
        running = start()
        // Positive signal before "nothing moved": the new controller has rebuilt its table and
        // reconciled. A marker Service created after the restart is refused for lack of
        // addresses (it would get one had the table not been rebuilt); then it goes, so that
        // it does not compete with "late" below.
        _ = try await services.create(lbService("marker", apps))
        #expect(try await eventually {
            try await env.client.resource(Event.self, namespace: apps).listAll().items
                .contains { $0.involvedObject.name == "marker" && $0.reason == "AllocationFailed" }
        }, "the restarted controller did not reconcile a new Service")
        #expect(try await ip("marker") == nil)
        try await services.delete("marker")
        let after = [try await ip("a"), try await ip("b"), try await ip("c")].compactMap { $0 }
        #expect(after == first, "addresses moved across a restart: \(first) → \(after)")
        #expect(try await ip("pinned") == "10.30.0.3")

        // Deleting a Service frees its address for the one waiting.
        let freed = try #require(try await ip("b"))
        try await services.delete("b")
        #expect(try await eventually { try await ip("late") == freed })

        // No longer a LoadBalancer: the address is released and the status cleared.
        _ = try await services.mergePatch("c", patch: ["spec": ["type": "ClusterIP"]])
        #expect(try await eventually { try await ip("c") == nil })
        let events = try await env.client.resource(Event.self, namespace: apps).listAll().items
        #expect(events.contains { $0.involvedObject.name == "a" && $0.reason == "IPAllocated" && ($0.message ?? "").contains("from pool small") })
    }
}
