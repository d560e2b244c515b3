import Foundation
import Testing

@testable import Kube
import KubeTestSupport

/// Tests against a real kube-apiserver + etcd (hack/envtest). No fake API server anywhere.
@Suite(.timeLimit(.minutes(5))) struct APIServerTests {
    @Test func serverIsKubernetes1_20_2() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let v = try await env.client.serverVersion()
        #expect(v.gitVersion == "v1.20.2")
    }

    @Test func crudAndConflictOnStaleResourceVersion() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)

        let created = try await cms.create(configMap("a", env.namespace, data: ["k": "1"]))
        #expect(created.metadata.uid != nil)
        #expect(created.metadata.resourceVersion != nil)

        var fresh = try await cms.get("a")
        #expect(fresh.data == ["k": "1"])
        fresh.data = ["k": "2"]
        let updated = try await cms.update(fresh)
        #expect(updated.data == ["k": "2"])
        #expect(updated.metadata.resourceVersion != created.metadata.resourceVersion)

        // An update based on the old resourceVersion must be refused, not silently applied.
        var stale = created
        stale.data = ["k": "stale"]
        do {
            _ = try await cms.update(stale)
            Issue.record("stale update was accepted")
        } catch let e as KubeError {
            #expect(e.isConflict, "\(e)")
            #expect(e.code == 409)
        }
        #expect(try await cms.get("a").data == ["k": "2"])

        // Errors are typed.
        do { _ = try await cms.get("missing"); Issue.record("no error") } catch let e as KubeError { #expect(e.isNotFound) }
        do { _ = try await cms.create(configMap("a", env.namespace)); Issue.record("no error") } catch let e as KubeError { #expect(e.isAlreadyExists) }
        do {
            _ = try await cms.create(configMap("Not_A_Valid_Name", env.namespace))
            Issue.record("no error")
        } catch let e as KubeError {
            #expect(e.isInvalid)
            #expect(e.causes.contains { $0.field == "metadata.name" }, "\(e.causes)")
        }

        // Merge patch, JSON patch with a failing test op, delete with a stale precondition.
        let patched = try await cms.mergePatch("a", patch: ["data": ["extra": "x"]])
        #expect(patched.data == ["k": "2", "extra": "x"])
        do {
            _ = try await cms.jsonPatch("a", operations: [["op": "test", "path": "/data/k", "value": "nope"]])
            Issue.record("failed test op accepted")
        } catch let e as KubeError {
            #expect(e.code == 422 || e.code == 409 || e.code == 500, "\(e)")
        }
        do {
            try await cms.delete("a", options: DeleteOptions(preconditions: .init(resourceVersion: created.metadata.resourceVersion)))
            Issue.record("delete with stale precondition accepted")
        } catch let e as KubeError {
            #expect(e.isConflict, "\(e)")
        }
        try await cms.delete("a", options: DeleteOptions(propagationPolicy: .background))
        #expect(try await cms.getIfExists("a") == nil)
        #expect(try await cms.deleteIfExists("a") == false)
    }

    @Test func serverSideApplyIsIdempotentAndTracksFieldOwners() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)
        let desired = configMap("ssa", env.namespace, data: ["owned-by-a": "1", "shared": "a"])

        let first = try await cms.apply(desired, name: "ssa", fieldManager: "manager-a")
        let second = try await cms.apply(desired, name: "ssa", fieldManager: "manager-a")
        #expect(first.metadata.resourceVersion == second.metadata.resourceVersion, "a no-op apply must not write")

        // Another manager setting a field that manager-a owns conflicts...
        let other = configMap("ssa", env.namespace, data: ["shared": "b", "owned-by-b": "2"])
        do {
            _ = try await cms.apply(other, name: "ssa", fieldManager: "manager-b")
            Issue.record("conflicting apply accepted without force")
        } catch let e as KubeError {
            #expect(e.isConflict, "\(e)")
            #expect(e.status?.message?.contains("manager-a") == true, "\(e)")
        }
        // ...unless it forces, which takes the field over.
        let forced = try await cms.apply(other, name: "ssa", fieldManager: "manager-b", force: true)
        #expect(forced.data == ["owned-by-a": "1", "shared": "b", "owned-by-b": "2"])
        let managers = Set((forced.metadata.managedFields ?? []).compactMap(\.manager))
        #expect(managers == ["manager-a", "manager-b"])

        // manager-a re-applies without "shared": it no longer owns it, so b's value stays;
        // dropping a field it owns alone removes it.
        let a2 = try await cms.apply(configMap("ssa", env.namespace, data: [:]), name: "ssa", fieldManager: "manager-a")
        #expect(a2.data == ["shared": "b", "owned-by-b": "2"])
    }

    @Test func statusSubresourceIsKeptApartFromSpec() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let widgets = try await installWidgetCRD(env.client)
            .inNamespace(env.namespace)

        var w = UnstructuredObject([
            "apiVersion": "test.metallb.io/v1", "kind": "Widget",
            "metadata": ["name": "w1", "namespace": .string(env.namespace)],
            "spec": ["size": 1], "status": ["phase": "ignored-on-create"],
        ])
        let created = try await widgets.create(w)
        #expect(created["status"] == nil, "status is dropped on create when the subresource is on")
        #expect(created.metadata.generation == 1)

        // Writing status through the main resource is ignored; spec through /status too.
        w = created
        w["status"] = ["phase": "via-main"]
        w["spec"] = ["size": 2]
        let afterMain = try await widgets.update(w)
        #expect(afterMain["status"] == nil)
        #expect(afterMain["spec"]?["size"]?.intValue == 2)
        #expect(afterMain.metadata.generation == 2)

        var s = afterMain
        s["status"] = ["phase": "Ready"]
        s["spec"] = ["size": 99]
        let afterStatus = try await widgets.updateStatus(s)
        #expect(afterStatus["status"]?["phase"]?.stringValue == "Ready")
        #expect(afterStatus["spec"]?["size"]?.intValue == 2)
        #expect(afterStatus.metadata.generation == 2, "status writes do not bump generation")

        let patched = try await widgets.mergePatch("w1", patch: ["status": ["phase": "Patched"]], subresource: "status")
        #expect(patched["status"]?["phase"]?.stringValue == "Patched")
        let applied = try await widgets.apply(
            UnstructuredObject(["apiVersion": "test.metallb.io/v1", "kind": "Widget", "metadata": ["name": "w1"], "status": ["phase": "Applied"]]),
            name: "w1", fieldManager: "status-writer", force: true, subresource: "status")
        #expect(applied["status"]?["phase"]?.stringValue == "Applied")
        #expect(applied["spec"]?["size"]?.intValue == 2)
    }

    @Test func paginationReturnsEveryObjectOnce() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)
        try await withThrowingTaskGroup(of: Void.self) { g in
            for i in 0..<130 {
                g.addTask { _ = try await cms.create(configMap(String(format: "cm-%03d", i), env.namespace, labels: ["batch": i % 2 == 0 ? "even" : "odd"])) }
            }
            try await g.waitForAll()
        }
        let page = try await cms.list(ListOptions(limit: 50))
        #expect(page.items.count == 50)
        #expect(page.metadata?.continue?.isEmpty == false)
        #expect((page.metadata?.remainingItemCount ?? 0) == 80)

        let (all, rv) = try await cms.listAll(pageSize: 50)
        #expect(all.count == 130)
        #expect(Set(all.map(\.name)).count == 130)
        #expect(!rv.isEmpty)

        let even = try await cms.listAll(ListOptions(labelSelector: "batch=even"), pageSize: 20).items
        #expect(even.count == 65)
        let one = try await cms.listAll(ListOptions(fieldSelector: "metadata.name=cm-007")).items
        #expect(one.map(\.name) == ["cm-007"])
    }

    @Test func unauthenticatedAndForbiddenAreTyped() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        var bad = env.client.config
        bad.auth = .token("not-a-real-token")
        let badClient = try KubeClient(config: bad)
        defer { Task { await badClient.shutdown() } }
        do {
            _ = try await badClient.resource(ConfigMap.self, namespace: env.namespace).list()
            Issue.record("a bad token was accepted")
        } catch let e as KubeError {
            #expect(e.isUnauthorized, "\(e)")
        }

        // A client certificate for a user with no RBAC grants: authenticated, but forbidden.
        let pki = env.plane.dir + "/pki"
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("nobody-\(UUID().uuidString.prefix(6))").path
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: tmp) }
        _ = try await ControlPlane.run("/usr/bin/openssl", ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", tmp + "/k.pem", "-subj", "/CN=nobody", "-out", tmp + "/r.csr"])
        _ = try await ControlPlane.run("/usr/bin/openssl", ["x509", "-req", "-in", tmp + "/r.csr", "-CA", pki + "/ca.crt", "-CAkey", pki + "/ca.key", "-CAcreateserial", "-out", tmp + "/c.pem", "-days", "1"])
        var nobody = env.client.config
        nobody.auth = .clientCertificate(
            certificatePEM: Array(try Data(contentsOf: URL(fileURLWithPath: tmp + "/c.pem"))),
            keyPEM: Array(try Data(contentsOf: URL(fileURLWithPath: tmp + "/k.pem"))))
        let nobodyClient = try KubeClient(config: nobody)
        defer { Task { await nobodyClient.shutdown() } }
        do {
            _ = try await nobodyClient.resource(ConfigMap.self, namespace: env.namespace).list()
            Issue.record("an unprivileged user could list")
        } catch let e as KubeError {
            #expect(e.isForbidden, "\(e)")
            #expect(e.status?.message?.contains("nobody") == true)
        }
    }

    @Test func endpointSlicesUseV1beta1OnKubernetes1_20() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let type = try await env.client.endpointSliceResourceType()
        #expect(type.apiVersion == "discovery.k8s.io/v1beta1")
        let slices = env.client.resource(type, as: EndpointSlice.self, namespace: env.namespace)
        var s = EndpointSlice(
            metadata: ObjectMeta(name: "svc-abc", namespace: env.namespace, labels: ["kubernetes.io/service-name": "svc"]),
            addressType: "IPv4",
            endpoints: [Endpoint(addresses: ["10.1.0.5"], conditions: EndpointConditions(ready: true), topology: ["kubernetes.io/hostname": "node-1"])],
            ports: [EndpointPort(name: "http", protocol: "TCP", port: 80)])
        s.apiVersion = type.apiVersion
        s.kind = "EndpointSlice"
        _ = try await slices.create(s)
        let got = try await slices.get("svc-abc")
        #expect(got.endpoints.first?.nodeName == "node-1")
        #expect(got.endpoints.first?.conditions?.ready == true)
    }

    @Test func eventRecorderCountsRepeats() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cm = try await env.client.resource(ConfigMap.self, namespace: env.namespace).create(configMap("subject", env.namespace))
        let recorder = EventRecorder(client: env.client, component: "metallb-test", host: "node-x")
        await recorder.record(cm, .warning, reason: "PoolExhausted", message: "no free address in pool a")
        await recorder.record(cm, .warning, reason: "PoolExhausted", message: "no free address in pool a")
        await recorder.record(cm, .normal, reason: "IPAllocated", message: "assigned 10.0.0.1")
        let events = try await env.client.resource(Event.self, namespace: env.namespace).listAll().items
        #expect(events.count == 2)
        let exhausted = events.first { $0.reason == "PoolExhausted" }
        #expect(exhausted?.count == 2)
        #expect(exhausted?.type == "Warning")
        #expect(exhausted?.involvedObject.name == "subject")
        #expect(exhausted?.involvedObject.uid == cm.metadata.uid)
        #expect(exhausted?.source?.component == "metallb-test")
        #expect(events.first { $0.reason == "IPAllocated" }?.count == 1)
    }
}

/// Installs (once) a small CRD with a status subresource, for tests of custom resources.
func installWidgetCRD(_ client: KubeClient) async throws -> ResourceClient<UnstructuredObject> {
    let type = ResourceType(group: "test.metallb.io", version: "v1", plural: "widgets", kind: "Widget", namespaced: true)
    let crds = client.resource(CustomResourceDefinition.self)
    let crd: JSONValue = [
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": ["name": "widgets.test.metallb.io"],
        "spec": [
            "group": "test.metallb.io", "scope": "Namespaced",
            "names": ["plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"],
            "versions": [[
                "name": "v1", "served": true, "storage": true,
                "subresources": ["status": [:]],
                "schema": ["openAPIV3Schema": [
                    "type": "object",
                    "properties": [
                        "spec": ["type": "object", "properties": ["size": ["type": "integer", "minimum": 0]]],
                        "status": ["type": "object", "properties": ["phase": ["type": "string"]]],
                    ],
                ]],
            ]],
        ],
    ]
    _ = try await crds.apply(crd, name: "widgets.test.metallb.io", fieldManager: "metallb-tests", force: true)
    let ok = try await eventually(timeout: .seconds(30)) { try await crds.get("widgets.test.metallb.io").isEstablished }
    guard ok else { throw KubeError.timeout("CRD widgets.test.metallb.io not established") }
    // The API server takes a moment after Established before it serves the new resource.
    _ = try await eventually(timeout: .seconds(10)) { (try? await client.resource(type).list(ListOptions(limit: 1))) != nil }
    return client.resource(type)
}
