import Foundation

/// metav1.ObjectMeta. Timestamps stay RFC 3339 strings as the API server sends them.
public struct ObjectMeta: Codable, Sendable, Hashable {
    public var name: String?
    public var generateName: String?
    public var namespace: String?
    public var uid: String?
    public var resourceVersion: String?
    public var generation: Int64?
    public var creationTimestamp: String?
    public var deletionTimestamp: String?
    public var deletionGracePeriodSeconds: Int64?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var finalizers: [String]?
    /// Server-side-apply field managers, as read from the server. Never sent back: a write
    /// that carried them would reset the server's record of field ownership.
    public var managedFields: [ManagedFieldsEntry]?

    public init(
        name: String? = nil, generateName: String? = nil, namespace: String? = nil,
        labels: [String: String]? = nil, annotations: [String: String]? = nil,
        ownerReferences: [OwnerReference]? = nil, finalizers: [String]? = nil,
        resourceVersion: String? = nil
    ) {
        self.name = name
        self.generateName = generateName
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.ownerReferences = ownerReferences
        self.finalizers = finalizers
        self.resourceVersion = resourceVersion
    }

    enum CodingKeys: String, CodingKey {
        case name, generateName, namespace, uid, resourceVersion, generation, creationTimestamp
        case deletionTimestamp, deletionGracePeriodSeconds, labels, annotations, ownerReferences, finalizers, managedFields
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(name, forKey: .name)
        try c.encodeIfPresent(generateName, forKey: .generateName)
        try c.encodeIfPresent(namespace, forKey: .namespace)
        try c.encodeIfPresent(uid, forKey: .uid)
        try c.encodeIfPresent(resourceVersion, forKey: .resourceVersion)
        try c.encodeIfPresent(generation, forKey: .generation)
        try c.encodeIfPresent(creationTimestamp, forKey: .creationTimestamp)
        try c.encodeIfPresent(deletionTimestamp, forKey: .deletionTimestamp)
        try c.encodeIfPresent(deletionGracePeriodSeconds, forKey: .deletionGracePeriodSeconds)
        try c.encodeIfPresent(labels, forKey: .labels)
        try c.encodeIfPresent(annotations, forKey: .annotations)
        try c.encodeIfPresent(ownerReferences, forKey: .ownerReferences)
        try c.encodeIfPresent(finalizers, forKey: .finalizers)
    }

    /// The controlling owner, if any (`controller: true`).
    public var controller: OwnerReference? { ownerReferences?.first { $0.controller == true } }
}

/// One manager's entry in `metadata.managedFields`. The field set itself (`fieldsV1`) is not
/// decoded: it is large, and only the server interprets it.
public struct ManagedFieldsEntry: Codable, Sendable, Hashable {
    public var manager: String?
    public var operation: String?
    public var apiVersion: String?
    public var time: String?
    public var fieldsType: String?
    public var subresource: String?
}

public struct OwnerReference: Codable, Sendable, Hashable {
    public var apiVersion: String
    public var kind: String
    public var name: String
    public var uid: String
    public var controller: Bool?
    public var blockOwnerDeletion: Bool?

    public init(apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil, blockOwnerDeletion: Bool? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}

public struct ListMeta: Codable, Sendable, Hashable {
    public var resourceVersion: String?
    public var `continue`: String?
    public var remainingItemCount: Int64?
}

/// metav1.Condition, as used in CRD statuses.
public struct Condition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var observedGeneration: Int64?
    public var lastTransitionTime: String
    public var reason: String
    public var message: String

    public init(type: String, status: String, observedGeneration: Int64? = nil, lastTransitionTime: String, reason: String, message: String) {
        self.type = type
        self.status = status
        self.observedGeneration = observedGeneration
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// metav1.LabelSelector.
public struct LabelSelector: Codable, Sendable, Hashable {
    public var matchLabels: [String: String]?
    public var matchExpressions: [LabelSelectorRequirement]?

    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }
}

public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    public var key: String
    public var `operator`: String
    public var values: [String]?

    public init(key: String, operator: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }
}
