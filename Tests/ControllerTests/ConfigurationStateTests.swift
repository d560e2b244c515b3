import API
import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import Controller
@testable import RoleKit

@Suite(.timeLimit(.minutes(3))) struct ConfigurationStateTests {
    @Test func controllerReportsValidityAndKeepsTheLastValidConfiguration() async throws {
        let env = try await TestEnv.make("cfgstate")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let ns = env.namespace
        let informers = await ConfigurationInformers(cache: InformerCache(client: env.client), namespace: ns)
        let tracker = ConfigurationTracker()
        let recorder = EventRecorder(client: env.client, component: "metallb-controller")
        let controller = Controller(
            name: "config", reconciler: ConfigurationReconciler(
                client: env.client, informers: informers, tracker: tracker, stateObject: .forController(namespace: ns),
                fieldManager: "metallb-controller", recorder: recorder), workers: 1)
        await informers.watch(with: controller, key: ObjectKey(namespace: ns, name: "config"))
        let run = Task { await controller.run() }
        defer { run.cancel() }
        // The same pipeline run as a speaker's, under the name that role gives it: speaker-<node>.
        let speakerTracker = ConfigurationTracker()
        let speakerInformers = await ConfigurationInformers(cache: InformerCache(client: env.client), namespace: ns)
        let speaker = Controller(
            name: "speaker-config", reconciler: ConfigurationReconciler(
                client: env.client, informers: speakerInformers, tracker: speakerTracker,
                stateObject: .forSpeaker(node: "node-1", namespace: ns), fieldManager: "metallb-speaker"), workers: 1)
        await speakerInformers.watch(with: speaker, key: ObjectKey(namespace: ns, name: "speaker-node-1"))
        let runSpeaker = Task { await speaker.run() }
        defer { runSpeaker.cancel() }

        let states = env.client.resource(ConfigurationState.self, namespace: ns)
        let pools = env.client.resource(IPAddressPool.self, namespace: ns)
        func pool(_ name: String, _ cidr: String) -> IPAddressPool {
            var p = IPAddressPool(metadata: ObjectMeta(name: name, namespace: ns), spec: IPAddressPoolSpec(addresses: [cidr]))
            p.setTypeMeta()
            return p
        }
        func state() async throws -> ConfigurationState? { try await states.getIfExists("controller") }
        func speakerState() async throws -> ConfigurationState? { try await states.getIfExists("speaker-node-1") }

        _ = try await pools.create(pool("a", "10.10.0.0/24"))
        #expect(try await eventually {
            let pools = await tracker.current?.ipAddressPools.count
            return try await state()?.status?.result == .valid && pools == 1
        })
        let valid = try #require(try await state())
        #expect(valid.metadata.labels?["metallb.io/component-type"] == "controller")
        #expect(try await eventually { try await speakerState()?.status?.result == .valid })
        let speakerValid = try #require(try await speakerState())
        #expect(speakerValid.metadata.labels?["metallb.io/component-type"] == "speaker")
        #expect(speakerValid.metadata.labels?["metallb.io/node-name"] == "node-1")
        let validSince = valid.status?.conditions?.first?.lastTransitionTime

        // An overlapping pool (no webhook here to stop it): reported, and not taken into use.
        _ = try await pools.create(pool("b", "10.10.0.128/25"))
        #expect(try await eventually { try await state()?.status?.result == .invalid })
        let invalid = try #require(try await state())
        #expect(invalid.status?.errorSummary?.contains("spec.addresses") == true, "\(String(describing: invalid.status))")
        #expect(invalid.status?.conditions?.first?.status == "False")
        let inUse = await tracker.current?.ipAddressPools.map(\.name)
        #expect(inUse == ["a"], "the last valid configuration stays in use")
        #expect(try await eventually { try await speakerState()?.status?.result == .invalid })
        #expect(await speakerTracker.current?.ipAddressPools.map(\.name) == ["a"])
        let events = try await env.client.resource(Event.self, namespace: ns).listAll().items
        #expect(events.contains { $0.reason == "InvalidConfiguration" && $0.involvedObject.name == "controller" })

        try await pools.delete("b")
        #expect(try await eventually { try await state()?.status?.result == .valid })
        let again = try #require(try await state())
        #expect(again.status?.errorSummary == nil)
        #expect(again.status?.conditions?.first?.status == "True")
        _ = validSince
    }
}
