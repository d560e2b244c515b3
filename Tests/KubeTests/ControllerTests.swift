import Foundation
import Testing

@testable import Kube
import KubeTestSupport

/// Counts reconciles per key and catches two workers on one key.
actor ReconcileProbe {
    private(set) var counts: [ObjectKey: Int] = [:]
    private var active: Set<ObjectKey> = []
    private(set) var concurrentSameKey = 0
    private var failuresLeft: [String: Int] = [:]
    private(set) var held: Set<String> = []

    func setFailures(_ name: String, _ n: Int) { failuresLeft[name] = n }
    func hold(_ name: String) { held.insert(name) }
    func release(_ name: String) { held.remove(name) }
    func isActive(_ k: ObjectKey) -> Bool { active.contains(k) }
    func enter(_ k: ObjectKey) throws {
        if active.contains(k) { concurrentSameKey += 1 }
        active.insert(k)
        counts[k, default: 0] += 1
    }
    func leave(_ k: ObjectKey) { active.remove(k) }
    func shouldFail(_ k: ObjectKey) -> Bool {
        guard let n = failuresLeft[k.name], n > 0 else { return false }
        failuresLeft[k.name] = n - 1
        return true
    }
    func count(_ k: ObjectKey) -> Int { counts[k, default: 0] }
}

struct ProbeReconciler: Reconciler {
    let probe: ReconcileProbe
    struct Failure: Error {}
    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        try await probe.enter(key)
        try? await Task.sleep(for: .milliseconds(30))
        // A held key stays in its reconcile until the test releases it.
        while await probe.held.contains(key.name), !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(5))
        }
        await probe.leave(key)
        if await probe.shouldFail(key) { throw Failure() }
        return .done
    }
}

@Suite(.timeLimit(.minutes(3))) struct ControllerTests {
    @Test func reconcilesOwnersOfChangedObjectsOneWorkerPerKeyWithRetries() async throws {
        let env = try await TestEnv.make("ctl")
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)
        let secrets = env.client.resource(Secret.self, namespace: env.namespace)
        let owner = try await cms.create(configMap("owner", env.namespace))
        var s = Secret(metadata: ObjectMeta(
            name: "owned", namespace: env.namespace,
            ownerReferences: [OwnerReference(apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid!, controller: true)]))
        s.setTypeMeta()
        _ = try await secrets.create(s)
        var stray = Secret(metadata: ObjectMeta(name: "stray", namespace: env.namespace))
        stray.setTypeMeta()
        _ = try await secrets.create(stray)

        let probe = ReconcileProbe()
        await probe.setFailures("flaky", 3)
        let controller = Controller(
            name: "test", reconciler: ProbeReconciler(probe: probe), workers: 4,
            rateLimits: .init(baseDelay: .milliseconds(10), maxDelay: .seconds(1)))
        let cmInformer = Informer(cms)
        await controller.watch(cmInformer)
        await controller.watchOwned(Informer(secrets), ownerKind: "ConfigMap", ownerGroup: "")
        let run = Task { await controller.run() }

        let ownerKey = ObjectKey(namespace: env.namespace, name: "owner")
        #expect(try await eventually { await probe.count(ownerKey) >= 1 })
        // Only the controlled Secret maps to its owner; the stray one maps to nothing.
        #expect(await probe.count(ObjectKey(namespace: env.namespace, name: "stray")) == 0)

        // A burst of changes to one object while its reconcile is running: the changes
        // are coalesced into one more reconcile, never a concurrent one. The reconcile
        // is held open so the outcome does not depend on how fast the machine is.
        #expect(try await eventually { await !probe.isActive(ownerKey) })
        let before = await probe.count(ownerKey)
        await probe.hold("owner")
        _ = try await cms.mergePatch("owner", patch: ["data": ["i": .string("start")]])
        #expect(try await eventually { await probe.isActive(ownerKey) })
        for i in 0..<20 { _ = try await cms.mergePatch("owner", patch: ["data": ["i": .string("\(i)")]]) }
        // Watch events arrive after the patch responses: release only once the last one is in.
        #expect(try await eventually { await cmInformer.get(namespace: env.namespace, name: "owner")?.data?["i"] == "19" })
        await probe.release("owner")
        #expect(try await eventually { await probe.count(ownerKey) - before >= 2 })
        // Positive signal before "no third reconcile": the controller has nothing queued,
        // running or scheduled (every watch event is in, see above).
        #expect(try await eventually { await controller.queue.isIdle })
        let burst = await probe.count(ownerKey) - before
        #expect(burst == 2, "a held reconcile plus 20 changes gave \(burst) reconciles, want 2")

        // A change of the owned Secret reconciles its owner.
        let c1 = await probe.count(ownerKey)
        _ = try await secrets.mergePatch("owned", patch: ["stringData": ["k": "v"]])
        #expect(try await eventually { await probe.count(ownerKey) > c1 })

        // Failures are retried with backoff until they succeed.
        _ = try await cms.create(configMap("flaky", env.namespace))
        let flaky = ObjectKey(namespace: env.namespace, name: "flaky")
        #expect(try await eventually { await probe.count(flaky) >= 4 })
        // Positive signal before "no fifth try": the success left nothing queued or scheduled.
        #expect(try await eventually { await controller.queue.isIdle })
        #expect(await probe.count(flaky) == 4, "stops after the first success")
        #expect(await controller.errorCount == 3)
        #expect(await probe.concurrentSameKey == 0)

        run.cancel()
        await run.value
    }
}
