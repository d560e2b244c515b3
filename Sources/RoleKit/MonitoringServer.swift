import Kube
import Logging
import NIOHTTP1
import ServiceLifecycle

/// A role's plain-HTTP endpoints: Prometheus metrics, a liveness probe, and a readiness probe that says what it
/// waits for (unlike a bare "ok": a role is ready only when `readiness` returns nil).
public struct MonitoringServer: RoleComponent, Sendable, CustomStringConvertible {
    public let server: HTTPServer

    /// - Parameters:
    ///   - metrics: the Prometheus exposition text (nil: probes only, /metrics is not found).
    ///   - readiness: nil when ready, else what the role still waits for (served with 503).
    public init(
        host: String, port: Int, metrics: (@Sendable () -> String)?,
        readiness: @escaping @Sendable () async -> String? = { nil }, logger: Logger = Logger(label: "monitoring")
    ) {
        server = HTTPServer(host: host, port: port, logger: logger) { head, _ in
            let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
            switch (head.method, path) {
            case (.GET, "/metrics") where metrics != nil:
                return HTTPReply(.ok, contentType: "text/plain; version=0.0.4; charset=utf-8", text: metrics?() ?? "")
            case (.GET, "/healthz"): return HTTPReply(.ok, text: "ok\n")
            case (.GET, "/readyz"):
                if let waiting = await readiness() { return HTTPReply(.serviceUnavailable, text: "not ready: \(waiting)\n") }
                return HTTPReply(.ok, text: "ok\n")
            default: return HTTPReply(.notFound, text: metrics == nil ? "not found: GET /healthz or /readyz\n" : "not found: GET /metrics, /healthz or /readyz\n")
            }
        }
    }

    public func run() async throws {
        try await untilGracefulShutdown { try await server.run() }
    }

    public var description: String { "monitoring :\(server.port)" }
}
