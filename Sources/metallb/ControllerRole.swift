import API
import ArgumentParser
import Controller
import Kube
import Logging
import RoleKit

struct ControllerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "controller",
        abstract: "Run the controller: assigns IPs from IPAddressPools to LoadBalancer Services.",
        discussion: """
            Validates the metallb.io configuration of its namespace whenever it changes and keeps running on \
            the last valid one (reported in the ConfigurationState named "controller"); rebuilds its allocation \
            table from the Services' current status on start, so a restart never moves an IP; assigns addresses \
            and writes them to status.loadBalancer.ingress, with Events; serves the validating webhook when \
            given --webhook-cert-dir. Only the elected leader writes. Serves Prometheus metrics on \
            http://HOST:PORT/metrics (metallb_allocator_addresses_in_use_total and metallb_allocator_addresses_total \
            per pool, written by the leader), /healthz and /readyz. SIGTERM or SIGINT stop it gracefully.
            """)
    @OptionGroup var options: RoleOptions
    @OptionGroup var monitoring: MonitoringOptions
    @OptionGroup var election: LeaderElectionOptions

    @Option(help: "Directory with tls.crt and tls.key for the validating webhook (reloaded when they change). No webhook without it.")
    var webhookCertDir: String?

    @Option(help: "Address the webhook listens on.")
    var webhookHost = "0.0.0.0"

    @Option(help: "Port the webhook listens on.")
    var webhookPort = 9443

    @Option(help: "Only handle Services of this spec.loadBalancerClass (default: Services without a class).")
    var lbClass: String?

    func validate() throws {
        guard (1...65535).contains(webhookPort) else { throw ValidationError("--webhook-port must be from 1 to 65535") }
    }

    func run() async throws {
        let malloc = DaemonMemory.tune()
        options.bootstrapLogging()
        let logger = Logger(label: "controller")
        let config = try options.kubeConfig()
        let client = try KubeClient(config: config, logger: Logger(label: "kube"))
        let namespace = config.namespace
        let id = election.resolvedIdentity
        logger.info("starting", metadata: ["namespace": "\(namespace)", "server": "\(config.server)", "identity": "\(id)", "version": "\(BuildInfo.version)", "malloc": "\(malloc)"])

        let metrics = ControllerMetrics()
        let lbClass = self.lbClass
        var services: [any RoleComponent] = []
        services += monitoring.servers(metrics: { metrics.exposition() }) as [any RoleComponent]
        if let dir = webhookCertDir {
            services.append(WebhookServer(
                certDirectory: dir, host: webhookHost, port: webhookPort,
                admission: ConfigurationAdmission { try await Configuration.list(from: client, namespace: namespace, includeNodes: true) }))
        }
        // A fresh runtime for each term as leader: its table is rebuilt from the Services as another leader may
        // have left them.
        services.append(LeaderElectedService(
            "allocation", client: client, config: try election.config(leaseName: "metallb-controller", namespace: namespace)
        ) {
            var runtime = ControllerRuntime(client: client, namespace: namespace, loadBalancerClass: lbClass, identity: id)
            runtime.metrics = metrics
            await runtime.run()
            // A replica that no longer leads has no current pool usage to report.
            metrics.keepPools([])
        })
        do {
            try await Role.run(services, logger: logger)
        } catch {
            logger.error("stopped on an error", metadata: ["error": "\(error)"])
        }
        await client.shutdown()
        logger.info("stopped")
    }
}
