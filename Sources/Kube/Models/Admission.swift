import Foundation

/// admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration.
public struct ValidatingWebhookConfiguration: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "admissionregistration.k8s.io", version: "v1", plural: "validatingwebhookconfigurations", kind: "ValidatingWebhookConfiguration", namespaced: false)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var webhooks: [ValidatingWebhook]?

    public init(apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(), webhooks: [ValidatingWebhook]? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.webhooks = webhooks
    }
}

/// admissionregistration.k8s.io/v1 ValidatingWebhook (`matchConditions` is passed through).
public struct ValidatingWebhook: Codable, Sendable, Hashable {
    public var name: String
    public var clientConfig: WebhookClientConfig
    public var rules: [RuleWithOperations]?
    public var failurePolicy: String?
    public var matchPolicy: String?
    public var namespaceSelector: LabelSelector?
    public var objectSelector: LabelSelector?
    public var sideEffects: String?
    public var timeoutSeconds: Int32?
    public var admissionReviewVersions: [String]?
    public var matchConditions: JSONValue?

    public init(
        name: String, clientConfig: WebhookClientConfig = WebhookClientConfig(), rules: [RuleWithOperations]? = nil,
        failurePolicy: String? = nil, matchPolicy: String? = nil, namespaceSelector: LabelSelector? = nil,
        objectSelector: LabelSelector? = nil, sideEffects: String? = nil, timeoutSeconds: Int32? = nil,
        admissionReviewVersions: [String]? = nil, matchConditions: JSONValue? = nil
    ) {
        self.name = name
        self.clientConfig = clientConfig
        self.rules = rules
        self.failurePolicy = failurePolicy
        self.matchPolicy = matchPolicy
        self.namespaceSelector = namespaceSelector
        self.objectSelector = objectSelector
        self.sideEffects = sideEffects
        self.timeoutSeconds = timeoutSeconds
        self.admissionReviewVersions = admissionReviewVersions
        self.matchConditions = matchConditions
    }
}

/// admissionregistration.k8s.io/v1 WebhookClientConfig. `caBundle` is base64 PEM as sent.
public struct WebhookClientConfig: Codable, Sendable, Hashable {
    public var url: String?
    public var service: ServiceReference?
    public var caBundle: String?

    public init(url: String? = nil, service: ServiceReference? = nil, caBundle: String? = nil) {
        self.url = url
        self.service = service
        self.caBundle = caBundle
    }
}

/// admissionregistration.k8s.io/v1 ServiceReference: the Service a webhook is served by.
public struct ServiceReference: Codable, Sendable, Hashable {
    public var namespace: String
    public var name: String
    public var path: String?
    public var port: Int32?

    public init(namespace: String, name: String, path: String? = nil, port: Int32? = nil) {
        self.namespace = namespace
        self.name = name
        self.path = path
        self.port = port
    }
}

/// admissionregistration.k8s.io/v1 RuleWithOperations.
public struct RuleWithOperations: Codable, Sendable, Hashable {
    public var operations: [String]?
    public var apiGroups: [String]?
    public var apiVersions: [String]?
    public var resources: [String]?
    public var scope: String?

    public init(
        operations: [String]? = nil, apiGroups: [String]? = nil, apiVersions: [String]? = nil,
        resources: [String]? = nil, scope: String? = nil
    ) {
        self.operations = operations
        self.apiGroups = apiGroups
        self.apiVersions = apiVersions
        self.resources = resources
        self.scope = scope
    }
}
