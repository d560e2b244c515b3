import Foundation
import Testing

/// docs/grafana/swift-metallb.json: it parses, and every metric its queries use is one the code exports (a renamed
/// metric must not leave a dashboard panel silently empty).
struct GrafanaDashboardTests {
    /// The package root, from this file's path (Tests/SpeakerTests/…).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every "metallb_…" string literal in Sources/.
    static func exportedMetricNames() throws -> Set<String> {
        var names: Set<String> = []
        let sources = root.appendingPathComponent("Sources")
        let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)
        let pattern = try NSRegularExpression(pattern: #""(metallb_[a-z0-9_]+)""#)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift", let text = try? String(contentsOf: url, encoding: .utf8) else { continue }
            for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let r = Range(m.range(at: 1), in: text) { names.insert(String(text[r])) }
            }
        }
        return names
    }

    @Test func everyQueriedMetricIsExported() throws {
        let data = try Data(contentsOf: Self.root.appendingPathComponent("docs/grafana/swift-metallb.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let panels = try #require(dashboard["panels"] as? [[String: Any]])
        let exprs = panels.flatMap { ($0["targets"] as? [[String: Any]] ?? []).compactMap { $0["expr"] as? String } }
        #expect(exprs.count >= 15)
        let exported = try Self.exportedMetricNames()
        #expect(exported.contains("metallb_speaker_announced"))
        let pattern = try NSRegularExpression(pattern: #"metallb_[a-z0-9_]+"#)
        var queried: Set<String> = []
        for e in exprs {
            for m in pattern.matches(in: e, range: NSRange(e.startIndex..., in: e)) {
                if let r = Range(m.range, in: e) { queried.insert(String(e[r])) }
            }
        }
        #expect(!queried.isEmpty)
        let unknown = queried.subtracting(exported).sorted()
        #expect(unknown.isEmpty, "the dashboard queries metrics no code exports: \(unknown)")
    }
}
