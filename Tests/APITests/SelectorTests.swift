import Kube
import Testing
@testable import API

@Suite("Label selectors")
struct LabelSelectorTests {
    @Test func matching() {
        let labels = ["app": "web", "tier": "front"]
        #expect(LabelSelector.everything.matches([:]))
        #expect(LabelSelector(matchLabels: ["app": "web"]).matches(labels))
        #expect(!LabelSelector(matchLabels: ["app": "db"]).matches(labels))
        #expect(!LabelSelector(matchLabels: ["app": "web", "x": "y"]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "app", .in, ["web", "db"])]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "app", .in, ["db"])]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "missing", .in, ["x"])]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "app", .notIn, ["web"])]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "missing", .notIn, ["web"])]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "tier", .exists)]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "nope", .exists)]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "nope", .doesNotExist)]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "app", .doesNotExist)]).matches(labels))
        let both = LabelSelector(matchLabels: ["tier": "front"], matchExpressions: [.init(key: "app", .in, ["web"])])
        #expect(both.matches(labels))
        #expect(!both.matches(["tier": "front", "app": "db"]))
        #expect(both.canonicalDescription == "tier=front, app In (web)")
    }
}

