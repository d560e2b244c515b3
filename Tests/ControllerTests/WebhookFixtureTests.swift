import API
import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import Controller

/// Every invalid fixture that the 1.20 API server's schema lets through must be refused by our
/// webhook when the real API server calls it, with a message that names the field. The
/// fixture's documents are created in order (so earlier ones are real objects the later one is
/// checked against) and removed again before the next fixture.
@Suite(.timeLimit(.minutes(5))) struct WebhookFixtureTests {
    @Test func theWebhookRefusesEverySemanticOnlyFixture() async throws {
        let env = try await TestEnv.make("whfix")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let client = env.client
        // The fixtures' "metallb-system" plays the operator namespace, "default" another one.
        let operatorNS = env.namespace
        let otherNS = try await TestEnv.createNamespace(client, prefix: "whfix-other")
        let hook = try await WebhookHarness.start(env: env, namespaces: [operatorNS, otherNS], operatorNamespace: operatorNS)
        defer { hook.stop() }

        let fixtures = ConfigurationFixture.all("invalid").filter { !$0.refusedBySchema }
        #expect(fixtures.count >= 40)
        var refused = 0
        for fixture in fixtures {
            func rename(_ text: String) -> String {
                text.replacingOccurrences(of: "metallb-system", with: operatorNS).replacingOccurrences(of: "\"default\"", with: "\"\(otherNS)\"")
            }
            var created: [(ResourceType, String?, String)] = []
            var denial: String?
            for doc in try fixture.documents() {
                guard var object = doc.objectValue,
                      let type = MetalLBAPI.resourceType(apiVersion: doc["apiVersion"]?.stringValue ?? "", kind: doc["kind"]?.stringValue ?? "")
                else {
                    Issue.record("\(fixture.name): a document of unknown kind")
                    continue
                }
                var meta = object["metadata"]?.objectValue ?? [:]
                let ns: String? = switch meta["namespace"]?.stringValue {
                case nil: type.namespaced ? operatorNS : nil
                case "default": otherNS
                default: operatorNS
                }
                if let ns { meta["namespace"] = .string(ns) }
                object["metadata"] = .object(meta)
                let name = meta["name"]?.stringValue ?? ""
                do {
                    _ = try await client.resource(type, namespace: ns).create(UnstructuredObject(object))
                    created.append((type, ns, name))
                } catch let e as KubeError {
                    denial = e.status?.message ?? "\(e)"
                    break
                }
            }
            // Undo in reverse order: references point from later objects to earlier ones.
            for (type, ns, name) in created.reversed() {
                try? await client.resource(type, namespace: ns).delete(name)
            }
            guard let denial else {
                Issue.record("\(fixture.name): every document was admitted")
                continue
            }
            refused += 1
            #expect(denial.contains("admission webhook \"config.metallb.io\" denied the request"), "\(fixture.name): \(denial)")
            #expect(denial.contains(fixture.field), "\(fixture.name): the refusal does not name \(fixture.field): \(denial)")
            #expect(rename(denial).contains(rename(fixture.message)) || denial.contains(rename(fixture.message)),
                    "\(fixture.name): the refusal does not say \"\(fixture.message)\": \(denial)")
        }
        print("webhook refused \(refused) of \(fixtures.count) semantic-only invalid fixtures")
        #expect(refused == fixtures.count)
    }
}
