import Foundation

/// apiextensions.k8s.io/v1 CustomResourceDefinition.
public struct CustomResourceDefinition: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "apiextensions.k8s.io", version: "v1", plural: "customresourcedefinitions", kind: "CustomResourceDefinition", namespaced: false)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: CustomResourceDefinitionSpec
    public var status: CustomResourceDefinitionStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: CustomResourceDefinitionSpec, status: CustomResourceDefinitionStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// Whether the API server serves the CRD's resources (condition Established is True).
    public var isEstablished: Bool {
        status?.conditions?.contains { $0.type == "Established" && $0.status == "True" } ?? false
    }
}

/// apiextensions.k8s.io/v1 CustomResourceDefinitionSpec (`conversion` is passed through).
public struct CustomResourceDefinitionSpec: Codable, Sendable, Hashable {
    public var group: String
    public var names: CustomResourceDefinitionNames
    public var scope: String
    public var versions: [CustomResourceDefinitionVersion]
    public var conversion: JSONValue?
    public var preserveUnknownFields: Bool?

    public init(
        group: String, names: CustomResourceDefinitionNames, scope: String,
        versions: [CustomResourceDefinitionVersion], conversion: JSONValue? = nil, preserveUnknownFields: Bool? = nil
    ) {
        self.group = group
        self.names = names
        self.scope = scope
        self.versions = versions
        self.conversion = conversion
        self.preserveUnknownFields = preserveUnknownFields
    }
}

/// apiextensions.k8s.io/v1 CustomResourceDefinitionNames.
public struct CustomResourceDefinitionNames: Codable, Sendable, Hashable {
    public var plural: String
    public var singular: String?
    public var kind: String
    public var listKind: String?
    public var shortNames: [String]?
    public var categories: [String]?

    public init(
        plural: String, singular: String? = nil, kind: String, listKind: String? = nil,
        shortNames: [String]? = nil, categories: [String]? = nil
    ) {
        self.plural = plural
        self.singular = singular
        self.kind = kind
        self.listKind = listKind
        self.shortNames = shortNames
        self.categories = categories
    }
}

/// apiextensions.k8s.io/v1 CustomResourceDefinitionVersion (schema and columns are passed through).
public struct CustomResourceDefinitionVersion: Codable, Sendable, Hashable {
    public var name: String
    public var served: Bool
    public var storage: Bool
    public var deprecated: Bool?
    public var deprecationWarning: String?
    public var schema: JSONValue?
    public var subresources: JSONValue?
    public var additionalPrinterColumns: JSONValue?

    public init(
        name: String, served: Bool = true, storage: Bool = true, deprecated: Bool? = nil,
        deprecationWarning: String? = nil, schema: JSONValue? = nil, subresources: JSONValue? = nil,
        additionalPrinterColumns: JSONValue? = nil
    ) {
        self.name = name
        self.served = served
        self.storage = storage
        self.deprecated = deprecated
        self.deprecationWarning = deprecationWarning
        self.schema = schema
        self.subresources = subresources
        self.additionalPrinterColumns = additionalPrinterColumns
    }
}

/// apiextensions.k8s.io/v1 CustomResourceDefinitionStatus.
public struct CustomResourceDefinitionStatus: Codable, Sendable, Hashable {
    public var conditions: [CustomResourceDefinitionCondition]?
    public var acceptedNames: CustomResourceDefinitionNames?
    public var storedVersions: [String]?

    public init(
        conditions: [CustomResourceDefinitionCondition]? = nil, acceptedNames: CustomResourceDefinitionNames? = nil,
        storedVersions: [String]? = nil
    ) {
        self.conditions = conditions
        self.acceptedNames = acceptedNames
        self.storedVersions = storedVersions
    }
}

/// apiextensions.k8s.io/v1 CustomResourceDefinitionCondition (Established, NamesAccepted, ...).
public typealias CustomResourceDefinitionCondition = ResourceCondition

/// The condition several built-in kinds share (CustomResourceDefinition, DaemonSet): type, status, transition time,
/// reason, message. (metav1.Condition, with observedGeneration, is `Condition`.)
public struct ResourceCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?

    public init(type: String, status: String, lastTransitionTime: String? = nil, reason: String? = nil, message: String? = nil) {
        self.type = type
        self.status = status
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}
