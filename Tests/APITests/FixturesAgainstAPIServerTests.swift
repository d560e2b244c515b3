import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import API

/// Our CRDs on the real Kubernetes 1.20 API server: every valid fixture is admitted, every
/// fixture marked as refused by the schema is refused with the field named; and `metallb
/// validate` gives the same verdict as the library on every fixture.
@Suite(.timeLimit(.minutes(5))) struct FixturesAgainstAPIServerTests {
    static func resourceType(of doc: JSONValue) -> ResourceType? {
        MetalLBAPI.resourceType(apiVersion: doc["apiVersion"]?.stringValue ?? "", kind: doc["kind"]?.stringValue ?? "")
    }

    /// Dry-run creates every document; returns the errors of those the server refused.
    static func dryRun(_ client: KubeClient, _ file: String) async throws -> [KubeError] {
        var errors: [KubeError] = []
        for doc in try ConfigurationFixture(path: file).documents() {
            guard let type = resourceType(of: doc) else {
                errors.append(.api(APIStatus(code: 404, reason: "NotFound", message: "no such kind: \(doc["kind"]?.stringValue ?? "?")"), retryAfter: nil))
                continue
            }
            let ns = type.namespaced ? (doc["metadata"]?["namespace"]?.stringValue ?? MetalLBAPI.defaultNamespace) : nil
            do {
                _ = try await client.resource(type, namespace: ns).create(UnstructuredObject(doc.objectValue ?? [:]), dryRun: true)
            } catch let e as KubeError {
                errors.append(e)
            }
        }
        return errors
    }

    @Test func validFixturesAreAdmittedAndInvalidSchemaCasesRefused() async throws {
        let plane = try await SharedControlPlane.instance.get()
        let client = try plane.client()
        defer { Task { await client.shutdown() } }
        try await installCRDs(client, namespaces: [MetalLBAPI.defaultNamespace])

        let valid = ConfigurationFixture.all("valid").map(\.path)
        #expect(valid.count >= 30)
        for f in valid {
            let errors = try await Self.dryRun(client, f)
            #expect(errors.isEmpty, "\((f as NSString).lastPathComponent): \(errors)")
        }
        let invalid = ConfigurationFixture.all("invalid").filter(\.refusedBySchema).map(\.path)
        #expect(invalid.count >= 20)
        for f in invalid {
            let h = ConfigurationFixture(path: f)
            let errors = try await Self.dryRun(client, f)
            let name = (f as NSString).lastPathComponent
            #expect(!errors.isEmpty, "\(name): the API server admitted it")
            let text = errors.map { "\($0) \($0.causes.compactMap(\.field))" }.joined(separator: " ")
            // The server names the field without list indexes ("spec.interfaces").
            let leaf = (h.field.split(separator: ".").last.map(String.init) ?? h.field).split(separator: "[").first.map(String.init) ?? h.field
            #expect(text.contains(leaf) || errors.contains { $0.isNotFound }, "\(name): refusal does not name \(h.field): \(text)")
        }
    }

    @Test func validateCommandGivesTheLibraryVerdictOnEveryFixture() async throws {
        let binary = ControlPlane.repoRoot + "/.build/debug/metallb"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the metallb binary first (swift build)")
        for (dir, expectValid) in [("valid", true), ("invalid", false)] {
            for f in ConfigurationFixture.all(dir).map(\.path) {
                let name = (f as NSString).lastPathComponent
                // The library on the JSON twin of the fixture...
                let json = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: URL(fileURLWithPath: f.replacingOccurrences(of: ".yaml", with: ".json"))))
                let docs = json.arrayValue ?? [json]
                let library = Validation.validate(documents: docs)
                #expect(library.isValid == expectValid, "library on \(name): \(library.errors)")
                // ...and the CLI on the YAML: same verdict, same errors.
                let (code, out, _) = try await runProcess(binary, ["validate", "-f", f, "-o", "json"])
                #expect(code == (expectValid ? 0 : 1), "metallb validate \(name) exited \(code): \(out)")
                let parsed = try JSONDecoder().decode(JSONValue.self, from: Data(out.utf8))
                let cliErrors = Set((parsed["errors"]?.arrayValue ?? []).compactMap { e in
                    e["field"]?.stringValue.map { "\(e["kind"]?.stringValue ?? "")|\($0)|\(e["message"]?.stringValue ?? "")" }
                })
                let libErrors = Set(library.errors.map { "\($0.kind)|\($0.field)|\($0.message)" })
                #expect(cliErrors == libErrors, "\(name)")
                if !expectValid {
                    let h = ConfigurationFixture(path: f)
                    #expect(library.errors.contains { $0.field.contains(h.field) && $0.message.contains(h.message) }, "\(name): expected \(h.field) | \(h.message), got \(library.errors)")
                }
            }
        }
    }
}

