import Foundation
import Kube
import Logging
import Testing

/// A watch whose connection goes silent (no event, no end: a peer that vanished without a FIN or RST) ends with a
/// timeout once its server-side timeout plus the grace has passed, so the informer opens a new one.
struct WatchDeadlineTests {
    @Test func aSilentWatchEndsAfterItsTimeoutAndTheGrace() async throws {
        // A server that accepts the request and never answers it.
        let server = HTTPServer(host: "127.0.0.1", port: 0, logger: Logger(label: "silent")) { _, _ in
            try? await Task.sleep(for: .seconds(120))
            return HTTPReply(.ok, text: "")
        }
        let run = Task { try await server.run() }
        defer { run.cancel() }
        var port: Int?
        for _ in 0..<200 {
            port = server.localPort
            if port != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let client = try KubeClient(config: KubeConfig(server: "http://127.0.0.1:\(try #require(port))"))
        defer { Task { await client.shutdown() } }
        let started = ContinuousClock.now
        var ended: (any Error)?
        do {
            for try await _ in client.resource(ConfigMap.self, namespace: "x").watch(resourceVersion: "1", options: ListOptions(timeoutSeconds: 1)) {}
        } catch {
            ended = error
        }
        let took = ContinuousClock.now - started
        let e = try #require(ended as? KubeError, "\(String(describing: ended))")
        #expect("\(e)".contains("presumed dead"), "\(e)")
        // Not before the server timeout (1 s) plus the grace (10 s); that it came from the watchdog and not from the
        // request's own 30 s header timeout is what the message above says.
        #expect(took >= .seconds(11), "\(took)")
    }
}
