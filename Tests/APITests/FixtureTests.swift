import Foundation
import Kube
import Testing

@testable import API

/// The fixture table: documented configurations are valid; each invalid one gets the error its `# expect:` line names.
@Suite struct FixtureTests {
    static let valid = Support.fixtureFiles("valid").map(\.lastPathComponent)
    static let invalid = Support.fixtureFiles("invalid").map(\.lastPathComponent)

    @Test func fixturesArePresent() {
        #expect(Self.valid.count >= 30)
        #expect(Self.invalid.count >= 30)
        for dir in ["valid", "invalid"] {
            for yaml in Support.fixtureFiles(dir) {
                let json = yaml.deletingPathExtension().appendingPathExtension("json")
                #expect(FileManager.default.fileExists(atPath: json.path), "run Fixtures/yaml2json.py: \(json.lastPathComponent) is missing")
            }
        }
    }

    @Test(arguments: valid)
    func validFixture(name: String) throws {
        let url = Support.fixtures.appendingPathComponent("valid").appendingPathComponent(name)
        let report = Validation.validate(documents: try Support.documents(url))
        #expect(report.errors.isEmpty, "\(name):\n\(report)")
    }

    @Test(arguments: invalid)
    func invalidFixture(name: String) throws {
        let url = Support.fixtures.appendingPathComponent("invalid").appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("# expect:") }, "\(name) has no # expect: line")
        let parts = line.dropFirst("# expect:".count).split(separator: "|", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
        try #require(parts.count == 2, "\(name): the expect line must be '# expect: <field> | <message>'")
        let report = Validation.validate(documents: try Support.documents(url))
        #expect(report.hasError(parts[0], parts[1]), "\(name): no error with field ~ \"\(parts[0])\" and message ~ \"\(parts[1])\"; got:\n\(report)")
    }
}
