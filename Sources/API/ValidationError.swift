import Foundation
import Kube

/// One problem found in a configuration: which object, which field, what is wrong and what is allowed.
public struct ValidationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Errors make the configuration unusable; warnings do not.
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    /// The object's kind, e.g. "IPAddressPool".
    public var kind: String
    public var namespace: String?
    public var name: String
    /// The field path, e.g. "spec.addresses[1]"; empty for the whole object.
    public var field: String
    /// What is wrong and what is allowed.
    public var message: String
    /// True when the problem is a reference to a BFDProfile, Secret or Community alias that does not exist (yet).
    /// The webhook refuses these too, as MetalLB's does (see ConfigurationAdmission).
    public var isMissingReference: Bool

    public init(
        severity: Severity = .error, kind: String, namespace: String?, name: String, field: String, message: String,
        isMissingReference: Bool = false
    ) {
        self.severity = severity
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.field = field
        self.message = message
        self.isMissingReference = isMissingReference
    }

    /// "namespace/name" or "name".
    public var objectName: String {
        if let ns = namespace, !ns.isEmpty { return "\(ns)/\(name)" }
        return name
    }

    /// "IPAddressPool metallb-system/pool1: spec.addresses[1]: <message>".
    public var description: String {
        var s = kind.isEmpty ? objectName : "\(kind) \(objectName)"
        if !field.isEmpty { s += ": \(field)" }
        return s + ": " + message
    }
}

/// The outcome of validating a configuration.
public struct ValidationReport: Sendable, Hashable, CustomStringConvertible {
    public var errors: [ValidationError]
    public var warnings: [ValidationError]

    public init(errors: [ValidationError] = [], warnings: [ValidationError] = []) {
        self.errors = errors
        self.warnings = warnings
    }

    init(issues: [ValidationError]) {
        errors = issues.filter { $0.severity == .error }
        warnings = issues.filter { $0.severity == .warning }
    }

    /// True when there is no error (warnings allowed).
    public var isValid: Bool { errors.isEmpty }

    /// Errors and warnings about one object (what a webhook reports when that object is written).
    public func about(kind: String, namespace: String?, name: String) -> ValidationReport {
        let ns = namespace ?? ""
        func mine(_ e: ValidationError) -> Bool { e.kind == kind && (e.namespace ?? "") == ns && e.name == name }
        return ValidationReport(errors: errors.filter(mine), warnings: warnings.filter(mine))
    }

    /// The report without missing-reference errors.
    public var ignoringMissingReferences: ValidationReport {
        ValidationReport(errors: errors.filter { !$0.isMissingReference }, warnings: warnings)
    }

    public mutating func append(_ other: ValidationReport) {
        errors += other.errors
        warnings += other.warnings
    }

    /// One line per error, then one per warning (prefixed "warning: ").
    public var description: String {
        (errors.map(\.description) + warnings.map { "warning: \($0.description)" }).joined(separator: "\n")
    }
}

/// Identifies the object a problem is about.
struct ObjectRef: Sendable, Hashable {
    var kind: String
    var namespace: String?
    var name: String

    init(kind: String, namespace: String?, name: String) {
        self.kind = kind
        self.namespace = namespace
        self.name = name
    }

    init<T: KubeObject>(_ o: T) {
        self.init(kind: T.resourceType.kind, namespace: o.metadata.namespace, name: o.metadata.name ?? "")
    }

    func issue(_ severity: ValidationError.Severity, _ field: String, _ message: String, missingReference: Bool = false) -> ValidationError {
        ValidationError(
            severity: severity, kind: kind, namespace: namespace, name: name, field: field, message: message,
            isMissingReference: missingReference)
    }
}
