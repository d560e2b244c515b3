import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL

/// A connection to one API server: TLS and authentication from a `KubeConfig`, client-side
/// rate limiting, retries of idempotent requests on 429/5xx and connection failures, and
/// decoding of the API's `Status` into `KubeError`. Thread-safe; share one per process.
public final class KubeClient: Sendable {
    public let config: KubeConfig
    public let logger: Logger
    let http: HTTPClient
    let limiter: RequestRateLimiter
    let tokens: TokenSource?
    let discovery = DiscoveryCache()
    /// How many times an idempotent request is retried on 429/5xx/connection errors.
    public let maxRetries: Int

    public init(config: KubeConfig, logger: Logger = Logger(label: "kube"), maxRetries: Int = 5) throws {
        self.config = config
        self.logger = logger
        self.maxRetries = maxRetries
        var tls = TLSConfiguration.makeClientConfiguration()
        if config.insecureSkipTLSVerify {
            tls.certificateVerification = .none
        } else if let ca = config.caPEM {
            do {
                tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
            } catch {
                throw KubeError.config("\(config.source): CA certificate is not valid PEM: \(error)")
            }
        }
        switch config.auth {
        case .clientCertificate(let certPEM, let keyPEM):
            do {
                tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certPEM).map { .certificate($0) }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: keyPEM, format: .pem))
            } catch {
                throw KubeError.config("\(config.source): client certificate or key is not valid PEM: \(error)")
            }
            tokens = nil
        case .tokenFile(let path):
            tokens = TokenSource(path: path)
        default:
            tokens = nil
        }
        var hc = HTTPClient.Configuration(
            tlsConfiguration: tls,
            timeout: .init(connect: .seconds(10), read: nil),
            ignoreUncleanSSLShutdown: true)
        hc.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)
        hc.httpVersion = .http1Only
        self.http = HTTPClient(eventLoopGroup: MultiThreadedEventLoopGroup.singleton, configuration: hc)
        self.limiter = RequestRateLimiter(qps: config.qps, burst: config.burst)
    }

    private init(sharing other: KubeClient, qps: Double, burst: Int) {
        var c = other.config
        c.qps = qps
        c.burst = burst
        config = c
        logger = other.logger
        maxRetries = other.maxRetries
        http = other.http
        tokens = other.tokens
        limiter = RequestRateLimiter(qps: qps, burst: burst)
    }

    /// A client on the same connections and credentials with a rate limit of its own, as
    /// Kubernetes components give their events: a burst of events then does not delay the
    /// writes a user waits for. Shut down only the original client.
    public func withRateLimit(qps: Double, burst: Int) -> KubeClient {
        KubeClient(sharing: self, qps: qps, burst: burst)
    }

    /// Closes connections. Call once, before the process ends.
    public func shutdown() async {
        try? await http.shutdown()
    }

    /// A typed client for one kind, in `namespace` (nil: all namespaces, or cluster-scoped).
    public func resource<T: KubeObject>(_ type: T.Type, namespace: String? = nil) -> ResourceClient<T> {
        ResourceClient(client: self, type: T.resourceType, namespace: namespace)
    }

    /// A client for any kind given by its `ResourceType`, decoding into `T` (e.g. `UnstructuredObject`).
    public func resource<T: Codable & Sendable>(_ type: ResourceType, as: T.Type = UnstructuredObject.self, namespace: String? = nil) -> ResourceClient<T> {
        ResourceClient(client: self, type: type, namespace: namespace)
    }

    // MARK: - Requests

    struct Response: Sendable {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    /// Sends one request and returns the body of a 2xx answer; throws `KubeError` otherwise.
    func send(
        method: HTTPMethod, path: String, query: [(String, String)] = [], body: ByteBuffer? = nil,
        contentType: String = "application/json", timeout: Duration = .seconds(60)
    ) async throws -> ByteBuffer {
        let idempotent = method == .GET || method == .HEAD
        var attempt = 0
        var backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(5))
        while true {
            try Task.checkCancellation()
            do {
                let r = try await sendOnce(method: method, path: path, query: query, body: body, contentType: contentType, timeout: timeout)
                if (200..<300).contains(r.status.code) { return r.body }
                throw Self.error(from: r)
            } catch let error as KubeError {
                attempt += 1
                // 429 means the server did not act on the request, so any verb may retry it.
                let retriable = error.isTooManyRequests
                    || (idempotent && (error.isServerError || { if case .transport = error { return true }; return false }()))
                guard retriable, attempt <= maxRetries else { throw error }
                let delay = error.retryAfter.map { Duration.milliseconds(Int64($0 * 1000)) } ?? backoff.next()
                logger.debug("retrying request", metadata: ["method": "\(method)", "path": "\(path)", "attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: delay)
            }
        }
    }

    func sendOnce(
        method: HTTPMethod, path: String, query: [(String, String)], body: ByteBuffer?,
        contentType: String, timeout: Duration
    ) async throws -> Response {
        let response = try await start(method: method, path: path, query: query, body: body, contentType: contentType, timeout: timeout)
        do {
            // Kubernetes lists can be large (10,000 ConfigMaps are tens of MB).
            let bytes = try await response.body.collect(upTo: 1 << 30)
            return Response(status: response.status, headers: response.headers, body: bytes)
        } catch is CancellationError {
            throw KubeError.cancelled
        } catch {
            throw KubeError.transport("\(method) \(path): reading the response failed: \(error)")
        }
    }

    /// Starts a request and returns once the response head arrived; the body streams.
    func start(
        method: HTTPMethod, path: String, query: [(String, String)], body: ByteBuffer?,
        contentType: String, timeout: Duration
    ) async throws -> HTTPClientResponse {
        try await limiter.wait()
        var req = HTTPClientRequest(url: url(path: path, query: query))
        req.method = method
        req.headers.add(name: "Accept", value: "application/json")
        req.headers.add(name: "User-Agent", value: "swift-metallb")
        if let body {
            req.headers.add(name: "Content-Type", value: contentType)
            req.body = .bytes(body)
        }
        switch config.auth {
        case .token(let t): req.headers.add(name: "Authorization", value: "Bearer \(t)")
        case .tokenFile: if let t = try await tokens?.token() { req.headers.add(name: "Authorization", value: "Bearer \(t)") }
        case .basic(let u, let p):
            req.headers.add(name: "Authorization", value: "Basic " + Data("\(u):\(p)".utf8).base64EncodedString())
        default: break
        }
        do {
            let secs = timeout.components.seconds
            return try await http.execute(req, timeout: .seconds(max(secs, 1)))
        } catch is CancellationError {
            throw KubeError.cancelled
        } catch let e as HTTPClientError where e == .deadlineExceeded {
            throw KubeError.timeout("\(method) \(path): no response within \(timeout)")
        } catch let e as HTTPClientError where e == .cancelled || e == .alreadyShutdown {
            throw KubeError.cancelled
        } catch {
            if Task.isCancelled { throw KubeError.cancelled }
            throw KubeError.transport("\(method) \(config.server)\(path): \(error)")
        }
    }

    func url(path: String, query: [(String, String)]) -> String {
        var s = config.server + path
        if !query.isEmpty {
            var allowed = CharacterSet.urlQueryAllowed
            allowed.remove(charactersIn: "&=+,;")
            s += "?" + query.map { k, v in "\(k)=\(v.addingPercentEncoding(withAllowedCharacters: allowed) ?? v)" }.joined(separator: "&")
        }
        return s
    }

    static func error(from r: Response) -> KubeError {
        var status = (try? KubeJSON.decoder.decode(APIStatus.self, from: Data(buffer: r.body)))
        if status?.kind != "Status" || status?.code == nil {
            let text = String(buffer: r.body).trimmingCharacters(in: .whitespacesAndNewlines)
            status = APIStatus(code: Int(r.status.code), reason: reasonForCode(Int(r.status.code)), message: text.isEmpty ? r.status.reasonPhrase : String(text.prefix(500)))
        }
        var retryAfter = r.headers.first(name: "Retry-After").flatMap(Double.init)
        if retryAfter == nil, let s = status?.details?.retryAfterSeconds, r.status.code == 429 || r.status.code >= 500 {
            retryAfter = Double(s)
        }
        return .api(status!, retryAfter: retryAfter)
    }

    static func reasonForCode(_ code: Int) -> String? {
        switch code {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 410: "Expired"
        case 422: "Invalid"
        case 429: "TooManyRequests"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        case 504: "Timeout"
        default: nil
        }
    }

    // MARK: - Discovery

    /// The server's version (`/version`).
    public func serverVersion() async throws -> ServerVersion {
        try decode(ServerVersion.self, from: await send(method: .GET, path: "/version"))
    }

    /// Whether the server serves `group/version` (e.g. "discovery.k8s.io/v1").
    public func serves(apiVersion: String) async throws -> Bool {
        if let known = await discovery.get(apiVersion) { return known }
        let path = apiVersion.contains("/") ? "/apis/\(apiVersion)" : "/api/\(apiVersion)"
        do {
            _ = try await send(method: .GET, path: path)
            await discovery.set(apiVersion, true)
            return true
        } catch let e as KubeError where e.isNotFound {
            await discovery.set(apiVersion, false)
            return false
        }
    }

    /// EndpointSlices live in discovery.k8s.io/v1 from Kubernetes 1.21 and only in v1beta1 before.
    public func endpointSliceResourceType() async throws -> ResourceType {
        try await serves(apiVersion: "discovery.k8s.io/v1")
            ? EndpointSlice.resourceType : EndpointSlice.resourceType.withVersion("v1beta1")
    }

    func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try KubeJSON.decoder.decode(T.self, from: Data(buffer: buffer))
        } catch {
            throw KubeError.decoding("\(T.self): \(error)")
        }
    }

    func encode<T: Encodable>(_ value: T) throws -> ByteBuffer {
        do {
            return ByteBuffer(data: try KubeJSON.encoder.encode(value))
        } catch {
            throw KubeError.decoding("encoding \(T.self): \(error)")
        }
    }
}

public struct ServerVersion: Codable, Sendable {
    public var major: String
    public var minor: String
    public var gitVersion: String
    public var platform: String?
}

/// Remembers which API versions the server serves. A "not served" answer is kept for 30 s
/// only, since a CRD installed meanwhile makes its version appear.
actor DiscoveryCache {
    private var served: [String: (Bool, ContinuousClock.Instant)] = [:]
    func get(_ k: String) -> Bool? {
        guard let (v, at) = served[k] else { return nil }
        if !v && ContinuousClock.now - at > .seconds(30) { return nil }
        return v
    }
    func set(_ k: String, _ v: Bool) { served[k] = (v, .now) }
}

/// Reads a bearer token from a file and re-reads it when the file changes or at least every
/// minute (kubelet rotates projected service-account tokens in place).
actor TokenSource {
    let path: String
    private var cached: String?
    private var readAt: ContinuousClock.Instant?
    private var mtime: Date?

    init(path: String) { self.path = path }

    func token() throws -> String {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        let m = attrs?[.modificationDate] as? Date
        if let cached, let readAt, ContinuousClock.now - readAt < .seconds(60), m == mtime { return cached }
        guard let d = FileManager.default.contents(atPath: path) else {
            if let cached { return cached }
            throw KubeError.config("cannot read token file \(path)")
        }
        let t = String(decoding: d, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        cached = t
        readAt = .now
        mtime = m
        return t
    }
}
