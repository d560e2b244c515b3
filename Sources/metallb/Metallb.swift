import ArgumentParser
import Foundation
import Kube
import Logging

@main
struct Metallb: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metallb",
        abstract: "A load balancer for bare-metal Kubernetes that speaks MetalLB's API (metallb.io).",
        discussion: """
            One binary for every role. Run `metallb <role> --help` for the options of a role.
            Roles read the in-cluster configuration when no --kubeconfig is given and KUBECONFIG is unset.
            """,
        version: BuildInfo.version,
        subcommands: [OperatorCommand.self, ControllerCommand.self, SpeakerCommand.self, ValidateCommand.self, DiagnoseCommand.self, VersionCommand.self]
    )
}

enum BuildInfo {
    static let version = "0.1.0-dev"
}

/// Options shared by every role.
struct RoleOptions: ParsableArguments {
    @Option(help: "Path to a kubeconfig file. Default: $KUBECONFIG, then the in-cluster configuration, then ~/.kube/config.")
    var kubeconfig: String?

    @Option(help: "Namespace the component works in (default: the kubeconfig context's or the pod's namespace).")
    var namespace: String?

    @Option(help: "Log level: all, debug, info, warn, error or none.")
    var logLevel: LogLevelOption = .info

    @Option(help: "Requests per second this component sends to the API server at most (client-side rate limit).")
    var kubeApiQps: Double = 50

    @Option(help: "Requests the client may send at once above the rate limit.")
    var kubeApiBurst: Int = 100

    func bootstrapLogging() { logLevel.bootstrap() }

    func kubeConfig() throws -> KubeConfig {
        var c = try KubeConfig.load(kubeconfig: kubeconfig)
        if let namespace, !namespace.isEmpty { c.namespace = namespace }
        guard kubeApiQps > 0, kubeApiBurst >= 1 else {
            throw KubeError.config("--kube-api-qps must be above 0 and --kube-api-burst at least 1")
        }
        c.qps = kubeApiQps
        c.burst = kubeApiBurst
        return c
    }
}

enum LogLevelOption: String, ExpressibleByArgument, CaseIterable {
    case all, debug, info, warn, error, none

    /// Logs to standard error at this level, for the whole process.
    func bootstrap() {
        let level = self.level
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    var level: Logger.Level {
        switch self {
        case .all: .trace
        case .debug: .debug
        case .info: .info
        case .warn: .warning
        case .error: .error
        case .none: .critical
        }
    }
}

struct NotImplemented: Error, CustomStringConvertible {
    let role: String
    var description: String { "metallb \(role): this role is not implemented yet in this build" }
}

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Run the operator: renders and keeps in place the controller, the speakers and the webhook from the MetalLB resource.")
    @OptionGroup var options: RoleOptions
    func run() async throws { throw NotImplemented(role: "operator") }
}

struct SpeakerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speaker", abstract: "Run a speaker (one per node): announces Service IPs over Layer 2 (ARP/NDP) or BGP.")
    @OptionGroup var options: RoleOptions
    func run() async throws { throw NotImplemented(role: "speaker") }
}

struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "version", abstract: "Print the version.")
    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: String = "text"

    func validate() throws {
        guard ["text", "json"].contains(output) else { throw ValidationError("--output must be text or json, not '\(output)'") }
    }

    func run() throws {
        #if arch(x86_64)
            let arch = "amd64"
        #elseif arch(arm64)
            let arch = "arm64"
        #else
            let arch = "unknown"
        #endif
        if output == "json" {
            print(#"{"version":"\#(BuildInfo.version)","platform":"linux/\#(arch)"}"#)
        } else {
            print("metallb \(BuildInfo.version) linux/\(arch)")
        }
    }
}

struct DiagnoseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagnose", abstract: "Checks for people debugging an installation.",
        subcommands: [DiagnoseAPI.self, DiagnoseBGP.self, DiagnoseL2.self])
}

struct DiagnoseAPI: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api",
        abstract: "Connect to the API server as the roles do; print its version and the LoadBalancer Services it has.")
    @OptionGroup var options: RoleOptions

    func run() async throws {
        options.bootstrapLogging()
        let config = try options.kubeConfig()
        let client = try KubeClient(config: config)
        do {
            let v = try await client.serverVersion()
            print("server: \(config.server) (\(config.source)), version \(v.gitVersion)")
            let services = try await client.resource(Service.self).listAll().items
            let lb = services.filter { $0.spec?.type == "LoadBalancer" }
            print("services: \(services.count), of type LoadBalancer: \(lb.count)")
            for s in lb.sorted(by: { $0.key < $1.key }) {
                let ips = s.status?.loadBalancer?.ingress?.compactMap { $0.ip ?? $0.hostname } ?? []
                print("  \(s.key)  \(ips.isEmpty ? "<pending>" : ips.joined(separator: ","))")
            }
            await client.shutdown()
        } catch {
            await client.shutdown()
            throw error
        }
    }
}
