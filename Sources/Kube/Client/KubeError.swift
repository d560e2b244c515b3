import Foundation

/// metav1.Status, as the API server returns it for failures.
public struct APIStatus: Codable, Sendable, Hashable {
    public struct Cause: Codable, Sendable, Hashable {
        public var reason: String?
        public var message: String?
        public var field: String?
    }
    public struct Details: Codable, Sendable, Hashable {
        public var name: String?
        public var group: String?
        public var kind: String?
        public var uid: String?
        public var causes: [Cause]?
        public var retryAfterSeconds: Int?
    }
    public var kind: String?
    public var apiVersion: String?
    public var status: String?
    public var message: String?
    public var reason: String?
    public var details: Details?
    public var code: Int?

    public init(code: Int, reason: String?, message: String?) {
        self.code = code
        self.reason = reason
        self.message = message
        self.status = "Failure"
    }
}

/// Every error the Kubernetes client throws.
public enum KubeError: Error, Sendable, CustomStringConvertible {
    /// The API server answered with a failure `Status`.
    case api(APIStatus, retryAfter: Double?)
    /// The request never got an answer (connection refused, TLS, reset, ...).
    case transport(String)
    /// The answer was not what the API promises.
    case decoding(String)
    /// No answer before the deadline.
    case timeout(String)
    /// Bad or missing client configuration.
    case config(String)
    /// The client or the component using it is shutting down.
    case cancelled

    public var status: APIStatus? { if case .api(let s, _) = self { return s }; return nil }
    public var code: Int? { status?.code }
    public var reason: String? { status?.reason }

    public var isNotFound: Bool { reason == "NotFound" || (code == 404 && reason == nil) }
    public var isAlreadyExists: Bool { reason == "AlreadyExists" }
    /// Optimistic-concurrency failure (stale resourceVersion) or an apply conflict.
    public var isConflict: Bool { reason == "Conflict" || code == 409 && reason != "AlreadyExists" }
    public var isInvalid: Bool { reason == "Invalid" || code == 422 }
    public var isForbidden: Bool { reason == "Forbidden" || code == 403 }
    public var isUnauthorized: Bool { reason == "Unauthorized" || code == 401 }
    /// The requested resourceVersion is too old: the watch must relist.
    public var isGone: Bool { reason == "Expired" || reason == "Gone" || code == 410 }
    public var isTooManyRequests: Bool { reason == "TooManyRequests" || code == 429 }
    public var isTimeout: Bool {
        if case .timeout = self { return true }
        return reason == "Timeout" || reason == "ServerTimeout" || code == 504
    }
    public var isServerError: Bool { (code ?? 0) >= 500 }
    public var retryAfter: Double? { if case .api(_, let r) = self { return r }; return nil }
    /// Field-level causes of an `Invalid` error.
    public var causes: [APIStatus.Cause] { status?.details?.causes ?? [] }

    public var description: String {
        switch self {
        case .api(let s, _):
            var m = "\(s.code.map(String.init) ?? "?") \(s.reason ?? "Failure"): \(s.message ?? "no message")"
            if let r = retryAfter { m += " (retry after \(r)s)" }
            return m
        case .transport(let m): return "transport error: \(m)"
        case .decoding(let m): return "decoding error: \(m)"
        case .timeout(let m): return "timeout: \(m)"
        case .config(let m): return "configuration error: \(m)"
        case .cancelled: return "cancelled"
        }
    }
}
