import API
import Foundation
import Kube
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import NetAddress

@testable import Controller
@testable import RoleKit

/// The webhook's HTTP answers, without a server or TLS: `respond` and `reply` directly.
@Suite struct WebhookReplyTests {
    /// Keeps every log message, to check what the server logs.
    final class Captured: Sendable {
        let lines = Mutex<[(Logger.Level, String)]>([])
    }
    struct CapturingHandler: LogHandler {
        let captured: Captured
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
            let extra = (metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            captured.lines.withLock { $0.append((level, "\(message) \(extra)")) }
        }
    }

    func text(_ b: ByteBuffer) -> String { b.getString(at: b.readerIndex, length: b.readableBytes) ?? "" }

    struct Unencodable: Error, CustomStringConvertible { var description: String { "no encoder today" } }

    @Test func anEncodingFailureIsA500WithAMessageAndALogLine() {
        let captured = Captured()
        let logger = Logger(label: "webhook-test") { _ in CapturingHandler(captured: captured) }
        let review = AdmissionReview(apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: .allow("u-1"))
        let reply = WebhookServer.reply(review, logger: logger) { _ in throw Unencodable() }
        #expect(reply.status == .internalServerError)
        #expect(reply.contentType.hasPrefix("text/plain"))
        #expect(text(reply.body).contains("cannot encode the AdmissionReview response: no encoder today"), "\(text(reply.body))")
        let lines = captured.lines.withLock { $0 }
        #expect(lines.contains { $0.0 == .error && $0.1.contains("cannot encode") && $0.1.contains("u-1") && $0.1.contains("no encoder today") }, "\(lines)")

        // The normal path: 200 with the review as JSON, nothing logged.
        let ok = WebhookServer.reply(review, logger: logger)
        #expect(ok.status == .ok)
        #expect(ok.contentType == "application/json")
        let back = try? KubeJSON.decoder.decode(AdmissionReview.self, from: Data(text(ok.body).utf8))
        #expect(back?.response == review.response)
        #expect(captured.lines.withLock { $0.count } == lines.count)
    }

    @Test func respondAnswersReviewsProbesAndGarbage() async throws {
        let server = WebhookServer(certDirectory: "/nonexistent", admission: ConfigurationAdmission { Configuration(operatorNamespace: "ns") })
        let request = #"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-2","kind":{"group":"metallb.io","version":"v1beta1","kind":"IPAddressPool"},"name":"a","namespace":"ns","operation":"DELETE"}}"#
        let post = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/validate")
        let r = await server.respond(post, ByteBuffer(string: request))
        #expect(r.status == .ok)
        let review = try KubeJSON.decoder.decode(AdmissionReview.self, from: Data(text(r.body).utf8))
        #expect(review.response?.uid == "u-2")
        #expect(review.response?.allowed == true)

        let garbage = await server.respond(post, ByteBuffer(string: "{"))
        #expect(garbage.status == .badRequest)
        let probe = await server.respond(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/healthz"), ByteBuffer())
        #expect(probe.status == .ok)
        let elsewhere = await server.respond(HTTPRequestHead(version: .http1_1, method: .GET, uri: "/other"), ByteBuffer())
        #expect(elsewhere.status == .notFound)
    }
}
