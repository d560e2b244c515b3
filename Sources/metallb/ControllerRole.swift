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
        abstract: "Run the controller: validates the configuration, reports it in ConfigurationState, serves the validating webhook.",
        discussion: """
            This build validates the metallb.io configuration of its namespace whenever it changes, keeps \
            running on the last valid one, writes the ConfigurationState named "controller", and serves the \
            validating webhook when given --webhook-cert-dir. Assigning IPs to LoadBalancer Services is not \
            implemented in this build yet.
            """)
    @OptionGroup var options: RoleOptions

    @Option(help: "Directory with tls.crt and tls.key for the validating webhook (reloaded when they change). No webhook without it.")
    var webhookCertDir: String?

    @Option(help: "Address the webhook listens on.")
    var webhookHost = "0.0.0.0"

    @Option(help: "Port the webhook listens on.")
    var webhookPort = 9443

    @Option(help: "Only handle Services of this spec.loadBalancerClass (default: Services without a class).")
    var lbClass: String?

    @Flag(inversion: .prefixedNo, help: "Elect a leader among controller replicas (a Lease in the namespace); only the leader writes.")
    var leaderElect = true

    @Option(help: "This replica's identity for leader election (default: $POD_NAME, else the host name).")
    var identity: String?

    func run() async throws {
        options.bootstrapLogging()
        let logger = Logger(label: "controller")
        let config = try options.kubeConfig()
        let client = try KubeClient(config: config, logger: Logger(label: "kube"))
        let namespace = config.namespace
        let id = identity ?? ProcessInfo.processInfo.environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName
        logger.info("starting", metadata: ["namespace": "\(namespace)", "server": "\(config.server)", "identity": "\(id)", "version": "\(BuildInfo.version)"])
        logger.warning("assigning IPs to LoadBalancer Services is not implemented in this build; the controller validates the configuration and serves the webhook")

        await runUntilSignalled(logger: logger) {
            await withTaskGroup(of: Void.self) { group in
                if let dir = webhookCertDir {
                    let webhook = WebhookServer(
                        certDirectory: dir, host: webhookHost, port: webhookPort,
                        admission: ConfigurationAdmission { try await Configuration.list(from: client, namespace: namespace) })
                    group.addTask {
                        do { try await webhook.run() } catch { logger.critical("webhook stopped", metadata: ["error": "\(error)"]) }
                    }
                }
                group.addTask {
                    let work: @Sendable () async -> Void = {
                        let informers = ConfigurationInformers(client: client, namespace: namespace)
                        let controller = Controller(
                            name: "configuration",
                            reconciler: ConfigurationReconciler(
                                client: client, informers: informers, tracker: ConfigurationTracker(),
                                recorder: EventRecorder(client: client, component: "metallb-controller", host: id)),
                            workers: 1)
                        await informers.watch(with: controller, key: ObjectKey(namespace: namespace, name: MetalLBAPI.controllerConfigurationStateName))
                        await controller.run()
                    }
                    if leaderElect {
                        let elector = LeaderElector(client: client, config: LeaderElectionConfig(leaseName: "metallb-controller", namespace: namespace, identity: id))
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
