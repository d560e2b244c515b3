import Foundation
import Kube
import KubeTestSupport
import Testing

/// The shared cache against the real API server: one informer (one watch) per type, namespace and selector, shared
/// by every asker; EndpointSlices indexed by their Service.
@Suite(.timeLimit(.minutes(2))) struct InformerCacheTests {
    @Test func askersShareOneInformerPerTypeNamespaceAndSelector() async throws {
        let env = try await TestEnv.make("infcache")
        defer { Task { await env.close() } }
        let cache = InformerCache(client: env.client)
        let a = await cache.informer(ConfigMap.self, namespace: env.namespace)
        let b = await cache.informer(ConfigMap.self, namespace: env.namespace)
        #expect(a === b)
        let labelled = await cache.informer(ConfigMap.self, namespace: env.namespace, options: ListOptions(labelSelector: "app=x"))
        #expect(labelled !== a)
        let everywhere = await cache.informer(ConfigMap.self)
        #expect(everywhere !== a)
        #expect(await cache.count == 3)

        await cache.start()
        await cache.waitForSync()
        // Made after start: started at once.
        let late = await cache.informer(Service.self, namespace: env.namespace)
        await late.waitForSync()
        #expect(await late.hasSynced)

        let maps = env.client.resource(ConfigMap.self, namespace: env.namespace)
        var m = ConfigMap(metadata: ObjectMeta(name: "one", namespace: env.namespace, labels: ["app": "x"]))
        m.setTypeMeta()
        _ = try await maps.create(m)
        #expect(try await eventually { await a.get(namespace: env.namespace, name: "one") != nil })
        #expect(try await eventually { await labelled.count == 1 })
        // Both askers of `a` hold the same cache: one list and one watch served them.
        #expect(await a.listCount == 1)
        #expect(await a.watchCount >= 1)
        await cache.stop()
    }

    @Test func endpointSlicesAreIndexedByService() async throws {
        let env = try await TestEnv.make("infslices")
        defer { Task { await env.close() } }
        let cache = InformerCache(client: env.client)
        // Kubernetes 1.20 serves EndpointSlices as v1beta1 only; newer servers serve v1 as well.
        let v1beta1 = ResourceType(group: "discovery.k8s.io", version: "v1beta1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true)
        let slices = await cache.informer(EndpointSlice.self, namespace: env.namespace, resource: v1beta1)
        await cache.start()
        await cache.waitForSync()
        let client = env.client.resource(v1beta1, as: EndpointSlice.self, namespace: env.namespace)
        for (name, service) in [("web-a", "web"), ("web-b", "web"), ("db-a", "db")] {
            var s = EndpointSlice(metadata: ObjectMeta(name: name, namespace: env.namespace, labels: [EndpointSlice.serviceNameLabel: service]),
                                  addressType: "IPv4", endpoints: [])
            s.apiVersion = "discovery.k8s.io/v1beta1"
            s.kind = "EndpointSlice"
            _ = try await client.create(s)
        }
        // Every slice seen first (the last one created included), then the index read.
        #expect(try await eventually { await slices.count == 3 })
        #expect(await slices.list(index: InformerCache.serviceIndex, value: "\(env.namespace)/web").map(\.name).sorted() == ["web-a", "web-b"])
        #expect(await slices.list(index: InformerCache.serviceIndex, value: "\(env.namespace)/db").map(\.name) == ["db-a"])
        await cache.stop()
    }

    @Test func cachesDropWhatTheyAreToldTo() async throws {
        let env = try await TestEnv.make("inftrim")
        defer { Task { await env.close() } }
        let maps = env.client.resource(ConfigMap.self, namespace: env.namespace)
        var m = ConfigMap(metadata: ObjectMeta(name: "applied", namespace: env.namespace, annotations: [
            CacheTrim.lastAppliedAnnotation: #"{"apiVersion":"v1","kind":"ConfigMap"}"#, "keep": "me",
        ]))
        m.setTypeMeta()
        _ = try await maps.create(m)
        // The server records who wrote what; a plain read has it.
        #expect(try await maps.get("applied").metadata.managedFields?.isEmpty == false)

        let byDefault = InformerCache(client: env.client)
        let lean = InformerCache(client: env.client, dropping: [.managedFields, .lastAppliedConfiguration])
        let kept = InformerCache(client: env.client, dropping: [])
        let a = await byDefault.informer(ConfigMap.self, namespace: env.namespace)
        let b = await lean.informer(ConfigMap.self, namespace: env.namespace)
        let c = await kept.informer(ConfigMap.self, namespace: env.namespace)
        for cache in [byDefault, lean, kept] {
            await cache.start()
            await cache.waitForSync()
        }
        let fromA = try #require(await a.get(namespace: env.namespace, name: "applied"))
        #expect(fromA.metadata.managedFields == nil)
        #expect(fromA.metadata.annotations?[CacheTrim.lastAppliedAnnotation] != nil)
        let fromB = try #require(await b.get(namespace: env.namespace, name: "applied"))
        #expect(fromB.metadata.managedFields == nil)
        #expect(fromB.metadata.annotations == ["keep": "me"])
        let fromC = try #require(await c.get(namespace: env.namespace, name: "applied"))
        #expect(fromC.metadata.managedFields?.isEmpty == false)

        // Watch events are trimmed as the list was.
        var second = ConfigMap(metadata: ObjectMeta(name: "second", namespace: env.namespace, annotations: [CacheTrim.lastAppliedAnnotation: "{}"]))
        second.setTypeMeta()
        _ = try await maps.create(second)
        #expect(try await eventually { await b.get(namespace: env.namespace, name: "second") != nil })
        let watched = try #require(await b.get(namespace: env.namespace, name: "second"))
        #expect(watched.metadata.managedFields == nil)
        #expect(watched.metadata.annotations == nil)
        for cache in [byDefault, lean, kept] { await cache.stop() }
    }
}

func eventually(_ limit: Duration = .seconds(20), _ condition: () async throws -> Bool) async throws -> Bool {
    let end = ContinuousClock.now + limit
    while ContinuousClock.now < end {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()

}
