import API
import ArgumentParser
import Controller
import Dispatch
import Foundation
import Kube
import Logging

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run the controller: assigns IPs from IPAddressPools to LoadBalancer Services.",
        discussion: """
            Validates the metallb.io configuration of its namespace whenever it changes and keeps running on \
            the last valid one (reported in the ConfigurationState named "controller"); rebuilds its allocation \
            table from the Services' current status on start, so a restart never moves an IP; assigns addresses \
            and writes them to status.loadBalancer.ingress, with Events; serves the validating webhook when \
            given --webhook-cert-dir. Only the elected leader writes. Serves Prometheus metrics on             http://HOST:PORT/metrics (metallb_allocator_addresses_in_use_total and metallb_allocator_addresses_total             per pool, written by the leader) and /healthz.
            """)
    @OptionGroup var options: RoleOptions

    @Option(help: "Directory with tls.crt and tls.key for the validating webhook (reloaded when they change). No webhook without it.")
    var webhookCertDir: String?

    @Option(help: "Address the webhook listens on.")
    var webhookHost = "0.0.0.0"

    @Option(help: "Port the webhook listens on.")
    var webhookPort = 9443

    @Option(help: "Address the metrics and health endpoints listen on.")
    var metricsHost = "0.0.0.0"

    @Option(help: "Port of the metrics and health endpoints (/metrics, /healthz); 0 turns them off.")
    var metricsPort = 7472

    @Option(help: "Only handle Services of this spec.loadBalancerClass (default: Services without a class).")
    var lbClass: String?

    @Flag(inversion: .prefixedNo, help: "Elect a leader among controller replicas (a Lease in the namespace); only the leader writes.")
    var leaderElect = true

    @Option(help: "This replica's identity for leader election (default: $POD_NAME, else the host name).")
    var identity: String?

    @Option(help: "How long the Lease holds after its last renewal before another replica may take it (Go duration).")
    var leaderElectLeaseDuration = "15s"

    @Option(help: "The leader gives up leadership when it could not renew for this long (Go duration, shorter than the lease).")
    var leaderElectRenewDeadline = "10s"

    @Option(help: "Interval between attempts to acquire or renew the Lease (Go duration).")
    var leaderElectRetryPeriod = "2s"

    func validate() throws {
        let lease = try duration(leaderElectLeaseDuration, "--leader-elect-lease-duration")
        let renew = try duration(leaderElectRenewDeadline, "--leader-elect-renew-deadline")
        let retry = try duration(leaderElectRetryPeriod, "--leader-elect-retry-period")
        guard retry < renew, renew < lease else {
            throw ArgumentParser.ValidationError("leader election needs retry period < renew deadline < lease duration; got \(leaderElectRetryPeriod), \(leaderElectRenewDeadline), \(leaderElectLeaseDuration)")
        }
        guard (0...65535).contains(metricsPort) else { throw ArgumentParser.ValidationError("--metrics-port must be from 0 to 65535") }
        guard (1...65535).contains(webhookPort) else { throw ArgumentParser.ValidationError("--webhook-port must be from 1 to 65535") }
    }

    func duration(_ text: String, _ flag: String) throws -> Duration {
        do {
            let d = try GoDuration.parse(text)
            guard d.nanoseconds > 0 else { throw ArgumentParser.ValidationError("\(flag) must be positive, got \(text)") }
            return .nanoseconds(d.nanoseconds)
        } catch let e as ArgumentParser.ValidationError {
            throw e
        } catch {
            throw ArgumentParser.ValidationError("\(flag): \(error)")
        }
    }

    func run() async throws {
        options.bootstrapLogging()
        let logger = Logger(label: "controller")
        let config = try options.kubeConfig()
        let client = try KubeClient(config: config, logger: Logger(label: "kube"))
        let namespace = config.namespace
        let id = identity ?? ProcessInfo.processInfo.environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName
        logger.info("starting", metadata: ["namespace": "\(namespace)", "server": "\(config.server)", "identity": "\(id)", "version": "\(BuildInfo.version)"])

        let lease = try duration(leaderElectLeaseDuration, "--leader-elect-lease-duration")
        let renew = try duration(leaderElectRenewDeadline, "--leader-elect-renew-deadline")
        let retry = try duration(leaderElectRetryPeriod, "--leader-elect-retry-period")
        let metrics = ControllerMetrics()
        await runUntilSignalled(logger: logger) {
            await withTaskGroup(of: Void.self) { group in
                if metricsPort != 0 {
                    let server = monitoringServer(host: metricsHost, port: metricsPort) { metrics.exposition() }
                    group.addTask {
                        do { try await server.run() } catch { logger.critical("metrics endpoint stopped", metadata: ["error": "\(error)"]) }
                    }
                }
                if let dir = webhookCertDir {
                    let webhook = WebhookServer(
                        certDirectory: dir, host: webhookHost, port: webhookPort,
                        admission: ConfigurationAdmission { try await Configuration.list(from: client, namespace: namespace, includeNodes: true) })
                    group.addTask {
                        do { try await webhook.run() } catch { logger.critical("webhook stopped", metadata: ["error": "\(error)"]) }
                    }
                }
                group.addTask {
                    // A fresh runtime for each term as leader: its table is rebuilt from the
                    // Services as another leader may have left them.
                    let work: @Sendable () async -> Void = {
                        var runtime = ControllerRuntime(client: client, namespace: namespace, loadBalancerClass: lbClass, identity: id)
                        runtime.metrics = metrics
                        await runtime.run()
                        // A replica that no longer leads has no current pool usage to report.
                        metrics.keepPools([])
                    }
                    if leaderElect {
                        let elector = LeaderElector(client: client, config: LeaderElectionConfig(
                            leaseName: "metallb-controller", namespace: namespace, identity: id,
                            leaseDuration: lease, renewDeadline: renew, retryPeriod: retry))
                        while !Task.isCancelled { await elector.run(lead: work) }
                    } else {
                        await work()
                    }
                }
            }
        }
        await client.shutdown()
        logger.info("stopped")
    }
}

/// Runs `body` until SIGTERM or SIGINT, then cancels it and waits for it to finish.
func runUntilSignalled(logger: Logger, _ body: @escaping @Sendable () async -> Void) async {
    let task = Task { await body() }
    let sources = [SIGTERM, SIGINT].map { sig -> any DispatchSourceSignal in
        signal(sig, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
        s.setEventHandler {
            logger.info("signal received; shutting down", metadata: ["signal": "\(sig)"])
            task.cancel()
        }
        s.resume()
        return s
    }
    await task.value
    sources.forEach { $0.cancel() }
}

/// The plain-HTTP endpoints of a role: Prometheus metrics and a liveness probe.
func monitoringServer(host: String, port: Int, metrics: @escaping @Sendable () -> String) -> HTTPServer {
    HTTPServer(host: host, port: port, logger: Logger(label: "monitoring")) { head, _ in
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.GET, "/metrics"): return HTTPReply(.ok, contentType: "text/plain; version=0.0.4; charset=utf-8", text: metrics())
        case (.GET, "/healthz"): return HTTPReply(.ok, text: "ok\n")
        default: return HTTPReply(.notFound, text: "not found: GET /metrics or /healthz\n")
        }
    }
}
