import API
import ArgumentParser
import Foundation
import Kube
import Logging
import Operator
import RoleKit
import Yams

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator",
        abstract: "Run the operator: renders and keeps in place the controller, the speakers and the webhook from the MetalLB resource.",
        discussion: """
            Reconciles the MetalLB named "metallb" in its namespace ($OPERATOR_NAMESPACE, else --namespace, else the \
            pod's): ServiceAccounts and RBAC, the controller Deployment (which serves the validating webhook), the \
            speaker DaemonSet, the membership Secret (created once), the webhook's certificate (its own CA, renewed \
            before expiry) and configuration, metrics Services. What it renders is applied with server-side apply \
            (field manager metallb-operator), watched, and put back when edited or deleted; the MetalLB's status says \
            Available, Progressing, Degraded (and why) and Upgradeable, with "speakers ready/desired". Another MetalLB \
            name gets Degraded and nothing is deployed for it. Deleting the MetalLB removes everything it ran.
            `metallb operator render -f metallb.yaml` prints what would be applied.
            """,
        subcommands: [OperatorRun.self, OperatorRender.self],
        defaultSubcommand: OperatorRun.self)
}

/// The image and namespace of the operator, from its environment.
struct OperatorEnvironment {
    static func settings(namespace: String, image: String?) -> OperatorSettings {
        let env = ProcessInfo.processInfo.environment
        let image = image ?? env["METALLB_IMAGE"].flatMap { $0.isEmpty ? nil : $0 } ?? "swift-metallb.local/metallb:\(BuildInfo.version)"
        return OperatorSettings(namespace: namespace, image: image, imagePullPolicy: env["METALLB_IMAGE_PULL_POLICY"] ?? "IfNotPresent",
                                version: BuildInfo.version)
    }
}

struct OperatorRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the operator (the default).")
    @OptionGroup var options: RoleOptions
    @OptionGroup var election: LeaderElectionOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(help: "Image of the controller and speakers (default: $METALLB_IMAGE, else swift-metallb.local/metallb:<version>).")
    var image: String?

    func run() async throws {
        let malloc = DaemonMemory.tune()
        options.bootstrapLogging()
        let logger = Logger(label: "operator")
        let config = try options.kubeConfig()
        let namespace = ProcessInfo.processInfo.environment["OPERATOR_NAMESPACE"].flatMap { $0.isEmpty ? nil : $0 } ?? config.namespace
        let client = try KubeClient(config: config, logger: Logger(label: "kube"))
        let settings = OperatorEnvironment.settings(namespace: namespace, image: image)
        logger.info("starting", metadata: ["namespace": "\(namespace)", "image": "\(settings.image)", "version": "\(BuildInfo.version)", "malloc": "\(malloc)"])
        let runtime = OperatorRuntime(client: client, settings: settings)
        var components: [any RoleComponent] = monitoring.servers(metrics: { "" }) as [any RoleComponent]
        components.append(LeaderElectedService(
            "operator", client: client, config: try election.config(leaseName: "metallb-operator", namespace: namespace)
        ) {
            await runtime.run()
        })
        try await Role.run(components, client: client, logger: logger)
    }
}

struct OperatorRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Print, as YAML, what the operator would apply for a MetalLB resource (for GitOps).",
        discussion: """
            The membership Secret gets a fresh random key and the webhook configuration is left out (its CA bundle \
            comes from the certificate the operator creates in the cluster).
            """)
    @Option(name: .shortAndLong, help: "A YAML file with the MetalLB resource ('-': standard input).")
    var file: String

    @Option(help: "Namespace to render into (default: the MetalLB's, else metallb-system).")
    var namespace: String?

    @Option(help: "Image of the controller and speakers (default: $METALLB_IMAGE, else swift-metallb.local/metallb:<version>).")
    var image: String?

    func run() throws {
        let text: String
        if file == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        } else {
            guard let data = FileManager.default.contents(atPath: file) else { throw ValidationError("cannot read \(file)") }
            text = String(decoding: data, as: UTF8.self)
        }
        let docs = try YAMLDocuments.parse(text)
        guard let doc = docs.first(where: { $0["kind"]?.stringValue == "MetalLB" }) else {
            throw ValidationError("\(file): no MetalLB resource in it")
        }
        var metallb = try doc.decode(as: MetalLB.self)
        let ns = namespace ?? metallb.metadata.namespace ?? "metallb-system"
        metallb.metadata.namespace = ns
        let settings = OperatorEnvironment.settings(namespace: ns, image: image)
        let objects: [RenderedObject]
        do {
            objects = try MetalLBRenderer.render(metallb, settings: settings, memberlistKey: "<generated by the operator>")
        } catch {
            throw ValidationError("the operator would refuse this MetalLB: \(error.reason): \(error.message)")
        }
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        var out = ""
        for o in objects { out += "---\n" + (try encoder.encode(o.object)) }
        print(out, terminator: "")
    }
}
