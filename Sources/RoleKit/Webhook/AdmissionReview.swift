import Kube

/// admission.k8s.io/v1 AdmissionReview, the request the API server sends to a webhook and
/// the response it expects.
public struct AdmissionReview: Codable, Sendable {
    public var apiVersion: String
    public var kind: String
    public var request: AdmissionRequest?
    public var response: AdmissionResponse?

    public init(apiVersion: String = "admission.k8s.io/v1", kind: String = "AdmissionReview", request: AdmissionRequest? = nil, response: AdmissionResponse? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.request = request
        self.response = response
    }
}

public struct GroupVersionKind: Codable, Sendable, Hashable {
    public var group: String
    public var version: String
    public var kind: String
    public init(group: String, version: String, kind: String) {
        self.group = group
        self.version = version
        self.kind = kind
    }
}

public struct AdmissionRequest: Codable, Sendable {
    public var uid: String
    public var kind: GroupVersionKind
    public var name: String?
    public var namespace: String?
    /// CREATE, UPDATE, DELETE or CONNECT.
    public var operation: String
    public var object: JSONValue?
    public var oldObject: JSONValue?
    public var dryRun: Bool?

    public init(uid: String, kind: GroupVersionKind, name: String?, namespace: String?, operation: String, object: JSONValue? = nil, oldObject: JSONValue? = nil) {
        self.uid = uid
        self.kind = kind
        self.name = name
        self.namespace = namespace
        self.operation = operation
        self.object = object
        self.oldObject = oldObject
    }
}

public struct AdmissionResponse: Codable, Sendable, Equatable {
    public struct Status: Codable, Sendable, Equatable {
        public var code: Int?
        public var message: String?
        public var reason: String?
    }
    public var uid: String
    public var allowed: Bool
    public var status: Status?
    public var warnings: [String]?

    public static func allow(_ uid: String, warnings: [String] = []) -> AdmissionResponse {
        AdmissionResponse(uid: uid, allowed: true, status: nil, warnings: warnings.isEmpty ? nil : warnings)
    }

    /// A denial. 403 is what the API server uses for webhook denials by default, and what
    /// kubectl prints in full; with 422 it would print only "The request is invalid", since
    /// the API server does not pass field causes on from a webhook.
    public static func deny(_ uid: String, code: Int = 403, message: String, warnings: [String] = []) -> AdmissionResponse {
        AdmissionResponse(uid: uid, allowed: false, status: Status(code: code, message: message, reason: code == 400 ? "BadRequest" : "Forbidden"), warnings: warnings.isEmpty ? nil : warnings)
    }
}
