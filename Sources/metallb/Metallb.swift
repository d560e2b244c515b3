import ArgumentParser
import Foundation
import Kube
import Logging
import RoleKit

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

struct NotImplemented: Error, CustomStringConvertible {
    let role: String
    var description: String { "metallb \(role): this role is not implemented yet in this build" }
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
