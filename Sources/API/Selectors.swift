import Foundation
import Kube

/// Label selector operators (metav1.LabelSelectorOperator).
public enum LabelSelectorOperator: String, Sendable, Hashable, CaseIterable {
    case `in` = "In"
    case notIn = "NotIn"
    case exists = "Exists"
    case doesNotExist = "DoesNotExist"
}

extension LabelSelectorRequirement {
    /// A requirement with a known operator, e.g. `.init(key: "app", .in, ["web"])`.
    public init(key: String, _ op: LabelSelectorOperator, _ values: [String] = []) {
        self.init(key: key, operator: op.rawValue, values: values)
    }
}

/// The one label-selector matcher: the webhook, the allocator and the speaker use it, so they cannot disagree.
extension LabelSelector {
    /// The selector that matches every label set.
    public static let everything = LabelSelector()

    /// True when the selector has neither labels nor expressions (it selects everything).
    public var isEmpty: Bool { (matchLabels ?? [:]).isEmpty && (matchExpressions ?? []).isEmpty }

    /// Whether `labels` satisfy every label and expression (empty matches all; unknown operators match nothing).
    public func matches(_ labels: [String: String]) -> Bool {
        for (k, v) in matchLabels ?? [:] where labels[k] != v { return false }
        for e in matchExpressions ?? [] {
            let values = e.values ?? []
            switch LabelSelectorOperator(rawValue: e.operator) {
            case .in?: guard let v = labels[e.key], values.contains(v) else { return false }
            case .notIn?: if let v = labels[e.key], values.contains(v) { return false }
            case .exists?: if labels[e.key] == nil { return false }
            case .doesNotExist?: if labels[e.key] != nil { return false }
            case nil: return false
            }
        }
        return true
    }

    /// A canonical text of the selector, equal for selectors that select the same way (order-insensitive).
    public var canonicalDescription: String {
        var parts: [String] = []
        for (k, v) in (matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) { parts.append("\(k)=\(v)") }
        var exprs: [String] = []
        for e in matchExpressions ?? [] {
            exprs.append("\(e.key) \(e.operator) (\((e.values ?? []).sorted().joined(separator: ",")))")
        }
        parts.append(contentsOf: exprs.sorted())
        return parts.joined(separator: ", ")
    }
}

/// Syntax checks of Kubernetes names and labels (k8s.io/apimachinery validation rules).
public enum KubeNames {
    private static func isAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
    private static func isLowerAlnum(_ c: Character) -> Bool { c.isASCII && (c.isLowercase || c.isNumber) }

    /// RFC 1123 label: at most 63 lowercase letters, digits and "-", starting and ending alphanumeric.
    public static func isDNSLabel(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 63, let f = s.first, let l = s.last, isLowerAlnum(f), isLowerAlnum(l) else { return false }
        return s.allSatisfy { isLowerAlnum($0) || $0 == "-" }
    }

    /// RFC 1123 subdomain: at most 253 characters, dot-separated labels.
    public static func isDNSSubdomain(_ s: String) -> Bool {
        guard !s.isEmpty, s.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { part in
            guard let f = part.first, let l = part.last, isLowerAlnum(f), isLowerAlnum(l) else { return false }
            return part.allSatisfy { isLowerAlnum($0) || $0 == "-" }
        }
    }

    /// The name part of a qualified name or a label value: at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
    static func isQualifiedNamePart(_ s: Substring) -> Bool {
        guard !s.isEmpty, s.count <= 63, let f = s.first, let l = s.last, isAlnum(f), isAlnum(l) else { return false }
        return s.allSatisfy { isAlnum($0) || $0 == "-" || $0 == "_" || $0 == "." }
    }

    /// A label key: an optional DNS subdomain prefix and "/", then a name of at most 63 characters.
    public static func isLabelKey(_ s: String) -> Bool {
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return isQualifiedNamePart(parts[0])
        case 2: return isDNSSubdomain(String(parts[0])) && isQualifiedNamePart(parts[1])
        default: return false
        }
    }

    /// A label value: empty, or at most 63 of [A-Za-z0-9-_.], alphanumeric at both ends.
    public static func isLabelValue(_ s: String) -> Bool { s.isEmpty || isQualifiedNamePart(Substring(s)) }

    /// A Linux network interface (or VRF device) name: 1-15 bytes, no "/", ":" or whitespace, not "." or "..".
    public static func isInterfaceName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 15, s != ".", s != ".." else { return false }
        return !s.contains { $0 == "/" || $0 == ":" || $0.isWhitespace }
    }
}
