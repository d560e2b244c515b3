import Foundation
import Kube
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle

/// The validating webhook: AdmissionReview v1 over HTTPS. The serving certificate and key
/// (`tls.crt`, `tls.key` in `certDirectory`, as a Secret mounted in a pod) are read again
/// whenever either file changes, so a rotated certificate is used without a restart.
public final class WebhookServer: RoleComponent, Sendable {
    public let certDirectory: String
    public let host: String
    public let port: Int
    let admission: ConfigurationAdmission
    let logger: Logger
    private let tls: NIOLockedValueBox<(stamp: String, context: NIOSSLContext)?> = .init(nil)
    private let server = NIOLockedValueBox<HTTPServer?>(nil)

    public init(certDirectory: String, host: String = "0.0.0.0", port: Int = 9443, admission: ConfigurationAdmission, logger: Logger = Logger(label: "webhook")) {
        self.certDirectory = certDirectory
        self.host = host
        self.port = port
        self.admission = admission
        self.logger = logger
    }

    /// The port actually bound (useful with port 0).
    public var localPort: Int? { server.withLockedValue { $0 }?.localPort }

    /// The TLS context for a new connection, re-read when the files changed.
    func currentContext() throws -> NIOSSLContext {
        let crt = certDirectory + "/tls.crt", key = certDirectory + "/tls.key"
        func stamp(_ p: String) -> String {
            let a = try? FileManager.default.attributesOfItem(atPath: p)
            return "\((a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)/\((a?[.size] as? Int) ?? 0)"
        }
        let s = stamp(crt) + "|" + stamp(key)
        if let cached = tls.withLockedValue({ $0 }), cached.stamp == s { return cached.context }
        do {
            var config = TLSConfiguration.makeServerConfiguration(
                certificateChain: try NIOSSLCertificate.fromPEMFile(crt).map { .certificate($0) },
                privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
            config.minimumTLSVersion = .tlsv12
            let ctx = try NIOSSLContext(configuration: config)
            tls.withLockedValue { $0 = (s, ctx) }
            logger.info("loaded the webhook serving certificate", metadata: ["dir": "\(certDirectory)"])
            return ctx
        } catch {
            if let cached = tls.withLockedValue({ $0 }) {
                logger.warning("cannot load the new webhook certificate; keeping the previous one", metadata: ["error": "\(error)"])
                return cached.context
            }
            throw KubeError.config("webhook certificate \(crt) / key \(key): \(error)")
        }
    }

    /// Serves until the calling task is cancelled.
    public func run() async throws {
        _ = try currentContext()  // fail at start on a bad certificate, with the file names
        let server = HTTPServer(host: host, port: port, tls: { try self.currentContext() }, logger: logger) { head, body in
            await self.respond(head, body)
        }
        self.server.withLockedValue { $0 = server }
        try await untilGracefulShutdown { try await server.run() }
    }

    func respond(_ head: HTTPRequestHead, _ body: ByteBuffer) async -> HTTPReply {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        guard head.method == .POST, path == "/validate" || path.hasPrefix("/validate-") else {
            if head.method == .GET && path == "/healthz" { return HTTPReply(.ok, body: ByteBuffer(string: "{\"status\":\"ok\"}")) }
            return HTTPReply(.notFound, body: ByteBuffer(string: "{\"error\":\"POST an AdmissionReview to /validate\"}"))
        }
        let review: AdmissionReview
        do {
            review = try KubeJSON.decoder.decode(AdmissionReview.self, from: Data(buffer: body))
        } catch {
            return HTTPReply(.badRequest, body: ByteBuffer(string: "{\"error\":\"not an AdmissionReview: \(String(describing: error).replacingOccurrences(of: "\"", with: "'"))\"}"))
        }
        guard let request = review.request else { return HTTPReply(.badRequest, body: ByteBuffer(string: "{\"error\":\"AdmissionReview without request\"}")) }
        let response = await admission.review(request)
        if !response.allowed {
            logger.info("denied", metadata: ["operation": "\(request.operation)", "kind": "\(request.kind.kind)", "name": "\(request.name ?? "")", "reason": "\(response.status?.message ?? "")"])
        }
        let out = AdmissionReview(apiVersion: review.apiVersion, kind: "AdmissionReview", response: response)
        return Self.reply(out, logger: logger)
    }

    /// The HTTP answer carrying `review`: 200 with its JSON, or, when it cannot be encoded,
    /// 500 with a plain-text error (logged), never an empty 200 the API server would read as
    /// a malformed answer with no hint why.
    static func reply(
        _ review: AdmissionReview, logger: Logger,
        encode: (AdmissionReview) throws -> Data = { try KubeJSON.encoder.encode($0) }
    ) -> HTTPReply {
        do {
            return HTTPReply(.ok, body: ByteBuffer(data: try encode(review)))
        } catch {
            logger.error("cannot encode the AdmissionReview response", metadata: ["uid": "\(review.response?.uid ?? "")", "error": "\(error)"])
            return HTTPReply(.internalServerError, text: "webhook: cannot encode the AdmissionReview response: \(error)\n")
        }
    }
}
