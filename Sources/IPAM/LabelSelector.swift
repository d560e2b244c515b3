// A pure Kubernetes label selector (metav1.LabelSelector semantics).

/// matchLabels plus matchExpressions; every clause must hold, and an empty selector matches everything.
public struct LabelSelector: Hashable, Sendable, CustomStringConvertible {
    /// A matchExpressions operator.
    public enum Operator: String, Hashable, Sendable {
        case `in` = "In"
        case notIn = "NotIn"
        case exists = "Exists"
        case doesNotExist = "DoesNotExist"
    }

    /// One matchExpressions entry.
    public struct Requirement: Hashable, Sendable, CustomStringConvertible {
        public var key: String
        public var `operator`: Operator
        public var values: [String]

        public init(key: String, _ op: Operator, _ values: [String] = []) {
            self.key = key
            self.operator = op
            self.values = values
        }

        /// Kubernetes semantics: NotIn and DoesNotExist hold when the label is absent; In with no values matches nothing.
        public func matches(_ labels: [String: String]) -> Bool {
            switch self.operator {
            case .in:
                guard let v = labels[key] else { return false }
                return values.contains(v)
            case .notIn:
                guard let v = labels[key] else { return true }
                return !values.contains(v)
            case .exists:
                return labels[key] != nil
            case .doesNotExist:
                return labels[key] == nil
            }
        }

        public var description: String {
            switch self.operator {
            case .in: return "\(key) in (\(values.sorted().joined(separator: ",")))"
            case .notIn: return "\(key) notin (\(values.sorted().joined(separator: ",")))"
            case .exists: return key
            case .doesNotExist: return "!\(key)"
            }
        }
    }

    public var matchLabels: [String: String]
    public var matchExpressions: [Requirement]

    public init(matchLabels: [String: String] = [:], matchExpressions: [Requirement] = []) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// The selector that matches every label set.
    public static let everything = LabelSelector()

    /// Whether `labels` satisfy every clause.
    public func matches(_ labels: [String: String]) -> Bool {
        for (k, v) in matchLabels where labels[k] != v { return false }
        for r in matchExpressions where !r.matches(labels) { return false }
        return true
    }

    /// kubectl-style text, e.g. "app=web,tier in (a,b)".
    public var description: String {
        let eq = matchLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return (eq + matchExpressions.map(\.description)).joined(separator: ",")
    }
}
