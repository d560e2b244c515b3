import Foundation
import Kube
import Testing

@testable import API

/// Test helpers shared by the API tests.
enum Support {
    static let ns = MetalLBAPI.defaultNamespace

    static func meta(_ name: String, namespace: String = ns, labels: [String: String]? = nil) -> ObjectMeta {
        ObjectMeta(name: name, namespace: namespace, labels: labels)
    }

    static func pool(_ name: String, _ addresses: [String], labels: [String: String]? = nil) -> IPAddressPool {
        IPAddressPool(metadata: meta(name, labels: labels), spec: IPAddressPoolSpec(addresses: addresses))
    }

    static func peer(_ name: String, _ spec: BGPPeerSpec, apiVersion: String? = nil) -> BGPPeer {
        BGPPeer(apiVersion: apiVersion, metadata: meta(name), spec: spec)
    }

    static func bgpAdv(_ name: String, _ spec: BGPAdvertisementSpec? = nil) -> BGPAdvertisement {
        BGPAdvertisement(metadata: meta(name), spec: spec)
    }

    static func l2Adv(_ name: String, _ spec: L2AdvertisementSpec? = nil) -> L2Advertisement {
        L2Advertisement(metadata: meta(name), spec: spec)
    }

    static func basicAuthSecret(_ name: String, password: String? = "pw") -> Secret {
        Secret(metadata: meta(name), type: MetalLBAPI.basicAuthSecretType, stringData: password.map { ["password": $0] } ?? [:])
    }

    /// A configuration with one L2 advertisement of everything and one valid peer, plus `edit`.
    static func config(_ edit: (inout Configuration) -> Void) -> Configuration {
        var c = Configuration(
            l2Advertisements: [l2Adv("all")],
            bgpPeers: [],
            secrets: [])
        edit(&c)
        return c
    }

    /// The report of a configuration built by `config`.
    static func report(_ edit: (inout Configuration) -> Void) -> ValidationReport {
        config(edit).validate()
    }

    /// The directory of the fixtures, found from this file's path.
    static var fixtures: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    /// The documents of a fixture, from the JSON generated next to its YAML.
    static func documents(_ yaml: URL) throws -> [JSONValue] {
        let json = yaml.deletingPathExtension().appendingPathExtension("json")
        let data = try Data(contentsOf: json)
        return try JSONDecoder().decode([JSONValue].self, from: data)
    }

    /// The fixture YAML files of a subdirectory, sorted by name.
    static func fixtureFiles(_ dir: String) -> [URL] {
        let d = fixtures.appendingPathComponent(dir)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: d.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted().map { d.appendingPathComponent($0) }
    }
}

extension ValidationReport {
    /// True when some error's field contains `field` and its message contains `message`.
    func hasError(_ field: String, _ message: String) -> Bool {
        errors.contains { matches($0.field, field) && matches($0.message, message) }
    }

    func hasWarning(_ field: String, _ message: String) -> Bool {
        warnings.contains { matches($0.field, field) && matches($0.message, message) }
    }

    /// Substring match where an empty needle matches anything.
    private func matches(_ text: String, _ needle: String) -> Bool { needle.isEmpty || text.contains(needle) }
}
