import API
import Foundation
import Kube
import KubeTestSupport
import Operator
import Testing
import TestSupport

/// The operator against the real API server (the shared control plane, no kube-controller-manager: the test plays
/// the DaemonSet controller where it needs status). It renders and applies, repairs what is deleted or edited,
/// reports a wrongly named MetalLB, and deleting the MetalLB removes everything, cluster-scoped objects included.
///
/// The controller Deployment never becomes ready here, so the validating webhook is never registered: a webhook with
/// failurePolicy Fail and no pod behind it would refuse every configuration object of the other tests.
@Suite(.serialized, .timeLimit(.minutes(3))) struct OperatorRuntimeTests {
    static func metallb(_ name: String, namespace: String) -> MetalLB {
        var m = MetalLB(metadata: ObjectMeta(name: name, namespace: namespace), spec: MetalLBSpec(logLevel: "debug"))
        m.setTypeMeta()
        return m
    }

    @Test func rendersRepairsReportsAndCleansUp() async throws {
        let env = try await TestEnv.make("op")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let ns = env.namespace
        let runtime = OperatorRuntime(client: env.client, settings: OperatorSettings(namespace: ns, image: "example.invalid/metallb:test", version: "test"))
        let run = Task { await runtime.run() }
        defer { run.cancel() }

        let metallbs = env.client.resource(MetalLB.self, namespace: ns)
        _ = try await metallbs.create(Self.metallb("metallb", namespace: ns))
        let daemonSets = env.client.resource(DaemonSet.self, namespace: ns)
        let deployments = env.client.resource(Deployment.self, namespace: ns)
        let clusterRoles = env.client.resource(ClusterRole.self)
        #expect(try await eventually(timeout: .seconds(60)) {
            let ds = try await daemonSets.getIfExists("speaker")
            let d = try await deployments.getIfExists("controller")
            return ds != nil && d != nil
        })
        let speaker = try #require(try await daemonSets.getIfExists("speaker"))
        #expect(speaker.metadata.ownerReferences?.first?.kind == "MetalLB")
        #expect(try await clusterRoles.getIfExists("\(ns):speaker") != nil)
        // The membership Secret exists once, and keeps its key across reconciles.
        let secrets = env.client.resource(Secret.self, namespace: ns)
        let key = try #require(try await secrets.getIfExists(MetalLBRenderer.memberlistSecretName)).data?["secretkey"]
        #expect(key != nil)
        // The webhook certificate was made; the webhook is not registered (no controller pod serves it).
        let cert = try #require(try await secrets.getIfExists(MetalLBRenderer.webhookCertSecretName))
        #expect(cert.data?["tls.crt"] != nil && cert.data?["ca.crt"] != nil)
        let vwc = try await env.client.resource(ValidatingWebhookConfiguration.self).getIfExists(MetalLBRenderer.webhookConfigurationName)
        #expect(vwc == nil)

        // Status: the finalizer is set, and without ready pods it is not Available and says why.
        #expect(try await eventually(timeout: .seconds(30)) {
            let m = try await metallbs.get("metallb")
            return (m.metadata.finalizers ?? []).contains(OperatorRuntime.finalizer)
                && m.status?.conditions?.first { $0.type == "Available" }?.status == "False"
        })

        // Drift: the DaemonSet deleted, a ClusterRole edited: both put back.
        try await daemonSets.delete("speaker")
        _ = try await clusterRoles.mergePatch("\(ns):speaker", patch: ["rules": .array([])])
        #expect(try await eventually(timeout: .seconds(30)) {
            let ds = try await daemonSets.getIfExists("speaker")
            let role = try await clusterRoles.getIfExists("\(ns):speaker")
            return ds != nil && ds?.metadata.uid != speaker.metadata.uid && !(role?.rules ?? []).isEmpty
        })
        #expect(try await secrets.getIfExists(MetalLBRenderer.memberlistSecretName)?.data?["secretkey"] == key)

        // The speakers report ready (the test plays the DaemonSet controller): the status follows.
        let ds = try #require(try await daemonSets.getIfExists("speaker"))
        _ = try await daemonSets.mergePatch("speaker", patch: ["status": [
            "desiredNumberScheduled": 2, "numberReady": 2, "updatedNumberScheduled": 2, "currentNumberScheduled": 2,
            "numberMisscheduled": 0, "observedGeneration": .int(ds.metadata.generation ?? 1),
        ]], subresource: "status")
        #expect(try await eventually(timeout: .seconds(30)) { try await metallbs.get("metallb").status?.speakers == "2/2" })

        // Another name: Degraded with what to do, nothing deployed for it.
        _ = try await metallbs.create(Self.metallb("other", namespace: ns))
        #expect(try await eventually(timeout: .seconds(30)) {
            let c = try await metallbs.get("other").status?.conditions?.first { $0.type == "Degraded" }
            return c?.status == "True" && c?.reason == "IgnoredName" && (c?.message.contains("rename it to metallb") ?? false)
        })

        // A refused spec: Degraded with its reason, what runs stays.
        _ = try await metallbs.mergePatch("metallb", patch: ["spec": ["bgpBackend": "frr"]])
        #expect(try await eventually(timeout: .seconds(30)) {
            let c = try await metallbs.get("metallb").status?.conditions?.first { $0.type == "Degraded" }
            return c?.status == "True" && c?.reason != "ComponentCrashLooping" && c?.reason != "AsExpected"
        })
        #expect(try await daemonSets.getIfExists("speaker") != nil)
        _ = try await metallbs.mergePatch("metallb", patch: ["spec": ["bgpBackend": .null]])

        // Deleting the MetalLB removes everything it ran, the cluster-scoped objects too, then the finalizer.
        try await metallbs.delete("metallb")
        #expect(try await eventually(timeout: .seconds(60)) {
            try await metallbs.getIfExists("metallb") == nil
        })
        #expect(try await daemonSets.getIfExists("speaker") == nil)
        #expect(try await deployments.getIfExists("controller") == nil)
        #expect(try await clusterRoles.getIfExists("\(ns):speaker") == nil)
        #expect(try await clusterRoles.getIfExists("\(ns):controller") == nil)
        #expect(try await secrets.getIfExists(MetalLBRenderer.memberlistSecretName) == nil)
        #expect(try await secrets.getIfExists(MetalLBRenderer.webhookCertSecretName) == nil)
        try await metallbs.delete("other")
    }
}

/// bundle/install.yaml as the API server sees it: every object passes a dry-run create (validation included), so a
/// broken manifest fails here and not in a user's `kubectl apply`.
@Suite struct InstallManifestTests {
    @Test func everyObjectOfInstallYAMLPassesADryRunCreate() async throws {
        let env = try await TestEnv.make("bundle")
        defer { Task { await env.close() } }
        let text = try String(contentsOfFile: ControlPlane.repoRoot + "/bundle/install.yaml", encoding: .utf8)
        #expect(!text.contains("__METALLB_IMAGE__"), "a placeholder left in bundle/install.yaml")
        let docs = try YAMLDocuments.parse(text)
        let plurals = [
            "Namespace": ("", "namespaces", false), "CustomResourceDefinition": ("apiextensions.k8s.io", "customresourcedefinitions", false),
            "ServiceAccount": ("", "serviceaccounts", true), "ClusterRole": ("rbac.authorization.k8s.io", "clusterroles", false),
            "ClusterRoleBinding": ("rbac.authorization.k8s.io", "clusterrolebindings", false), "Role": ("rbac.authorization.k8s.io", "roles", true),
            "RoleBinding": ("rbac.authorization.k8s.io", "rolebindings", true), "Deployment": ("apps", "deployments", true),
        ]
        var kinds: [String] = []
        for doc in docs {
            let kind = try #require(doc["kind"]?.stringValue)
            kinds.append(kind)
            let (group, plural, namespaced) = try #require(plurals[kind], "unexpected kind \(kind) in install.yaml")
            let version = String(try #require(doc["apiVersion"]?.stringValue).split(separator: "/").last!)
            let type = ResourceType(group: group, version: version, plural: plural, kind: kind, namespaced: namespaced)
            // Namespaced objects go to the test's namespace (the real one may be another test's); the object is unchanged otherwise.
            var object = try doc.decode(as: UnstructuredObject.self)
            if namespaced { object.metadata.namespace = env.namespace }
            let client = env.client.resource(type, namespace: namespaced ? env.namespace : nil)
            do {
                _ = try await client.create(object, dryRun: true)
            } catch let e as KubeError where e.isAlreadyExists {
                // Validated, then refused only because it exists (the CRDs and namespace of this control plane).
            }
        }
        #expect(kinds.first == "Namespace")
        #expect(kinds.filter { $0 == "CustomResourceDefinition" }.count == 11)
        #expect(kinds.contains("Deployment"))
    }
}
