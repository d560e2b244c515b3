import API
import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import Controller
@testable import RoleKit

/// A CA and a serving certificate for 127.0.0.1, made with openssl.
func makeServingCertificate(in dir: String, serial: String = "01") async throws -> String {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let ossl = "/usr/bin/openssl"
    if !FileManager.default.fileExists(atPath: dir + "/ca.crt") {
        _ = try await ControlPlane.run(ossl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/ca.key", "-out", dir + "/ca.crt", "-days", "1", "-subj", "/CN=webhook-test-ca"])
    }
    try "subjectAltName=IP:127.0.0.1\n".write(toFile: dir + "/ext.cnf", atomically: true, encoding: .utf8)
    _ = try await ControlPlane.run(ossl, ["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/new.key", "-out", dir + "/new.csr", "-subj", "/CN=127.0.0.1"])
    _ = try await ControlPlane.run(ossl, ["x509", "-req", "-in", dir + "/new.csr", "-CA", dir + "/ca.crt", "-CAkey", dir + "/ca.key", "-set_serial", serial, "-out", dir + "/new.crt", "-days", "1", "-extfile", dir + "/ext.cnf"])
    // Replace both files, as a Secret volume update does.
    _ = rename(dir + "/new.key", dir + "/tls.key")
    _ = rename(dir + "/new.crt", dir + "/tls.crt")
    return try String(contentsOfFile: dir + "/ca.crt", encoding: .utf8)
}

/// Our webhook server in this process, registered with the shared API server for the given
/// namespaces only (labelled with the first one's name), and ready when `start` returns.
struct WebhookHarness {
    let certDir: String
    let port: Int
    let name: String
    let serving: Task<Void, any Error>
    let client: KubeClient

    static func start(env: TestEnv, namespaces: [String], operatorNamespace: String? = nil) async throws -> WebhookHarness {
        let client = env.client
        let label = namespaces[0]
        for n in namespaces {
            _ = try await client.resource(Namespace.self).mergePatch(n, patch: ["metadata": ["labels": ["webhook-test": .string(label)]]])
        }
        let certDir = FileManager.default.temporaryDirectory.appendingPathComponent("wh-\(UUID().uuidString.prefix(6))").path
        let caPEM = try await makeServingCertificate(in: certDir)
        let ns = operatorNamespace ?? namespaces[0]
        let server = WebhookServer(
            certDirectory: certDir, host: "127.0.0.1", port: 0,
            admission: ConfigurationAdmission { try await Configuration.list(from: client, namespace: ns, includeNodes: true) })
        let serving = Task { try await server.run() }
        guard try await eventually(timeout: .seconds(20), { server.localPort != nil }), let port = server.localPort else {
            serving.cancel()
            throw WebhookHarnessError(description: "the webhook server did not start listening")
        }
        let whName = "metallb-test-\(label)"
        var config = ValidatingWebhookConfiguration(
            metadata: ObjectMeta(name: whName),
            webhooks: [ValidatingWebhook(
                name: "config.metallb.io",
                clientConfig: WebhookClientConfig(url: "https://127.0.0.1:\(port)/validate", caBundle: Data(caPEM.utf8).base64EncodedString()),
                rules: [RuleWithOperations(
                    operations: ["CREATE", "UPDATE", "DELETE"], apiGroups: ["metallb.io"], apiVersions: ["*"],
                    resources: ["ipaddresspools", "l2advertisements", "bgpadvertisements", "bgppeers", "bfdprofiles", "communities", "metallbs"])],
                failurePolicy: "Fail", namespaceSelector: LabelSelector(matchLabels: ["webhook-test": label]),
                sideEffects: "None", timeoutSeconds: 10, admissionReviewVersions: ["v1"])])
        config.setTypeMeta()
        _ = try await client.resource(ValidatingWebhookConfiguration.self).create(config)
        let hook = WebhookHarness(certDir: certDir, port: port, name: whName, serving: serving, client: client)
        // The webhook configuration takes a moment to reach the API server's admission chain.
        var probe = IPAddressPool(metadata: ObjectMeta(name: "probe", namespace: namespaces[0]), spec: IPAddressPoolSpec(addresses: ["10.99.0.9-10.99.0.1"]))
        probe.setTypeMeta()
        let pools = client.resource(IPAddressPool.self, namespace: namespaces[0])
        let ready = try await eventually(timeout: .seconds(20)) {
            do {
                _ = try await pools.create(probe, dryRun: true)
                return false
            } catch let e as KubeError { return e.status?.message?.contains("admission webhook") == true }
        }
        guard ready else {
            hook.stop()
            throw WebhookHarnessError(description: "the API server never called the webhook")
        }
        return hook
    }

    func stop() {
        serving.cancel()
        let client = client, name = name, dir = certDir
        Task { try? await client.resource(ValidatingWebhookConfiguration.self).delete(name) }
        try? FileManager.default.removeItem(atPath: dir)
    }
}

struct WebhookHarnessError: Error, CustomStringConvertible { let description: String }

@Suite(.timeLimit(.minutes(5))) struct WebhookTests {
    @Test func theAPIServerCallsTheWebhookForConfigurationKinds() async throws {
        let env = try await TestEnv.make("webhook")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let hook = try await WebhookHarness.start(env: env, namespaces: [env.namespace])
        defer { hook.stop() }
        let client = env.client
        let ns = env.namespace
        let certDir = hook.certDir
        let port = hook.port

        let pools = client.resource(IPAddressPool.self, namespace: ns)
        func pool(_ name: String, _ addresses: [String]) -> IPAddressPool {
            var p = IPAddressPool(metadata: ObjectMeta(name: name, namespace: ns), spec: IPAddressPoolSpec(addresses: addresses))
            p.setTypeMeta()
            return p
        }
        _ = try await pools.create(pool("first", ["192.168.10.0/24"]))
        do {
            _ = try await pools.create(pool("second", ["192.168.10.128/25"]))
            Issue.record("an overlapping pool was admitted")
        } catch let e as KubeError {
            let m = e.status?.message ?? ""
            #expect(m.contains("denied the request"), "\(e)")
            #expect(e.isForbidden)
            #expect(m.contains("spec.addresses"), "the message names the field: \(m)")
            #expect(m.contains("first"), "the message names the other pool: \(m)")
        }

        // A pool still used by an advertisement cannot be deleted.
        var adv = L2Advertisement(metadata: ObjectMeta(name: "l2", namespace: ns), spec: L2AdvertisementSpec(ipAddressPools: ["first"]))
        adv.setTypeMeta()
        _ = try await client.resource(L2Advertisement.self, namespace: ns).create(adv)
        do {
            try await pools.delete("first")
            Issue.record("a referenced pool was deleted")
        } catch let e as KubeError {
            #expect(e.status?.message?.contains("still referenced by L2Advertisement l2") == true, "\(e)")
        }
        try await client.resource(L2Advertisement.self, namespace: ns).delete("l2")
        try await pools.delete("first")

        // What a user sees from kubectl apply.
        let bad = certDir + "/bad.yaml"
        try """
            apiVersion: metallb.io/v1beta1
            kind: IPAddressPool
            metadata: {name: reversed, namespace: \(ns)}
            spec:
              addresses: ["10.0.0.9-10.0.0.1"]
            """.write(toFile: bad, atomically: true, encoding: .utf8)
        let kubectl = (ProcessInfo.processInfo.environment["HOME"] ?? "/root") + "/.cache/swift-metallb/k8s-v1.20.2/bin/kubectl"
        do {
            _ = try await ControlPlane.run(kubectl, ["--kubeconfig", env.plane.kubeconfig, "apply", "-f", bad])
            Issue.record("kubectl apply of a reversed range succeeded")
        } catch {
            let text = "\(error)"
            #expect(text.contains("admission webhook \"config.metallb.io\" denied the request"), "\(text)")
            #expect(text.contains("spec.addresses[0]"), "\(text)")
            print("kubectl apply said: \(text.split(separator: "\n").last(where: { $0.contains("denied") }) ?? "")")
        }

        // A rotated certificate is picked up by the next connection.
        let before = try await ControlPlane.run("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        try await Task.sleep(for: .milliseconds(1100))  // a distinct modification time
        _ = try await makeServingCertificate(in: certDir, serial: "0x2A")
        let after = try await ControlPlane.run("/bin/sh", ["-c", "openssl s_client -connect 127.0.0.1:\(port) </dev/null 2>/dev/null | openssl x509 -noout -serial"])
        #expect(before.contains("serial=01"), "\(before)")
        #expect(after.contains("serial=2A"), "\(after)")
        _ = try await pools.create(pool("after-rotation", ["192.168.20.0/24"]))
    }

    @Test func admissionRulesWithoutAServer() async throws {
        var pool = IPAddressPool(metadata: ObjectMeta(name: "a", namespace: "ns"), spec: IPAddressPoolSpec(addresses: ["10.0.0.0/24"]))
        pool.setTypeMeta()
        var peer = BGPPeer(metadata: ObjectMeta(name: "p", namespace: "ns"), spec: BGPPeerSpec(myASN: 64500, peerASN: 64501, peerAddress: "10.1.1.1", bfdProfile: "fast"))
        peer.setTypeMeta()
        let config = Configuration(operatorNamespace: "ns", ipAddressPools: [pool], bgpPeers: [peer], bfdProfiles: [BFDProfile(metadata: ObjectMeta(name: "fast", namespace: "ns"))])
        let admission = ConfigurationAdmission { config }
        let gvk = { (kind: String) in GroupVersionKind(group: "metallb.io", version: "v1beta1", kind: kind) }

        let del = await admission.review(AdmissionRequest(uid: "1", kind: gvk("BFDProfile"), name: "fast", namespace: "ns", operation: "DELETE"))
        #expect(!del.allowed)
        #expect(del.status?.message?.contains("BGPPeer p") == true)
        let delUnused = await admission.review(AdmissionRequest(uid: "2", kind: gvk("IPAddressPool"), name: "a", namespace: "ns", operation: "DELETE"))
        #expect(delUnused.allowed)

        let badPeer: JSONValue = ["apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": ["name": "q", "namespace": "ns"],
                                  "spec": ["myASN": 64500, "peerAddress": "10.1.1.2", "holdTime": "2s"]]
        let r = await admission.review(AdmissionRequest(uid: "3", kind: gvk("BGPPeer"), name: "q", namespace: "ns", operation: "CREATE", object: badPeer))
        #expect(!r.allowed)
        #expect(r.status?.message?.contains("spec.holdTime") == true, "\(r)")
        // A reference to a BFD profile that does not exist is refused, as MetalLB does, with what to create.
        let later: JSONValue = ["apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": ["name": "r", "namespace": "ns"],
                                "spec": ["myASN": 64500, "peerASN": 64502, "peerAddress": "10.1.1.3", "bfdProfile": "later"]]
        let dangling = await admission.review(AdmissionRequest(uid: "4", kind: gvk("BGPPeer"), name: "r", namespace: "ns", operation: "CREATE", object: later))
        #expect(!dangling.allowed)
        #expect(dangling.status?.message?.contains("spec.bfdProfile: no BFDProfile named \"later\"") == true, "\(dangling)")
    }
}
