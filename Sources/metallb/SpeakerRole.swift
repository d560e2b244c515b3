import ArgumentParser
import Foundation
import Kube
import Logging
import Membership
import NetAddress
import RoleKit
import Speaker

struct SpeakerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "speaker",
        abstract: "Run a speaker (one per node): answers ARP/NDP for the Service IPs this node announces, and advertises them over BGP.",
        discussion: """
            Layer 2 mode: for every LoadBalancer Service it decides, with MetalLB's rules, which nodes may announce \
            its IPs (L2Advertisements and their selectors, NetworkUnavailable, the exclude-from-external-load-balancers \
            label, externalTrafficPolicy Local, preferredNodeSelectors); the speakers' membership (HMAC-authenticated \
            heartbeats, key from --ml-secret-key-path) elects one live node per Service, which answers ARP/NDP and \
            takes over within the membership timeout when a node dies. It writes a ServiceL2Status for each Service it \
            announces, a nodeAssigned Event, and an Event that says why when no node may announce; its own \
            ConfigurationState is speaker-<node>. /readyz is not ready before the configuration is loaded and the \
            membership has heard from the others. SIGTERM: tells the others it leaves while still answering, stops \
            answering once they have announced its IPs (or after --hand-over-timeout), removes its status objects. \
            BGP mode: a session to every BGPPeer that selects this node (BFD from its BFDProfile), the Service \
            prefixes MetalLB's rules give each (BGPAdvertisements: aggregation, communities, local preference, \
            peers); BGPSessionState <node>-<peer> and ServiceBGPStatus objects say what runs; SIGTERM closes the \
            sessions with a Cease NOTIFICATION.
            """)
    @OptionGroup var options: RoleOptions
    @OptionGroup var monitoring: MonitoringOptions

    @Option(help: "This node's name (default: $METALLB_NODE_NAME, set from spec.nodeName).")
    var nodeName: String?

    @Option(help: "This speaker's Pod name, owner of its status objects (default: $METALLB_POD_NAME).")
    var podName: String?

    @Option(help: "Only handle Services of this spec.loadBalancerClass (default: Services without a class).")
    var lbClass: String?

    @Flag(help: "Announce from nodes labelled node.kubernetes.io/exclude-from-external-load-balancers too.")
    var ignoreExcludeLb = false

    @Option(help: "Address the membership binds to (default: $METALLB_ML_BIND_ADDR, else the node's InternalIP).")
    var mlBindAddr: String?

    @Option(help: "Port of the membership (UDP), the same on every node (default: $METALLB_ML_BIND_PORT, else 7946).")
    var mlBindPort: UInt16?

    @Option(help: "Label selector of the speaker Pods, whose IPs are the members.")
    var mlLabels = "app=metallb,component=speaker"

    @Option(help: "The membership key: a file, or a directory holding the file 'secretkey' (a mounted Secret). Default: $METALLB_ML_SECRET_KEY_PATH, else /etc/ml_secret_key.")
    var mlSecretKeyPath: String?

    @Flag(help: "Run without a membership key (heartbeats are then not authenticated: anyone on the network can forge them). For tests only.")
    var insecureMembership = false

    @Option(help: "On SIGTERM, how long to keep answering while the other nodes take this node's IPs over (Go duration; they are waited for on the wire: their gratuitous ARP / unsolicited NA; 0: stop answering at once).")
    var handOverTimeout = "2s"


    @Option(help: "Send gratuitous ARP / unsolicited NA for every announced IP this often (Go duration; 0: only when ownership changes, the default; else at least 1s).")
    var gratuitousArpInterval = "0"

    @Option(name: .customLong("interface"), help: "Interface to answer on (repeat; default: every up interface that takes part in ARP, not loopback, not a bridge or bond port).")
    var interfaces: [String] = []

    func run() async throws {
        let malloc = DaemonMemory.tune()
        options.bootstrapLogging()
        let logger = Logger(label: "speaker")
        let env = ProcessInfo.processInfo.environment
        guard let node = (nodeName ?? env["METALLB_NODE_NAME"]).flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw StartError("the node name is required: give --node-name or set METALLB_NODE_NAME (in a Pod, from the downward API: spec.nodeName)")
        }
        let handOver = try DurationFlag.parse(handOverTimeout, flag: "--hand-over-timeout", allowZero: true)
        let garp = try DurationFlag.parse(gratuitousArpInterval, flag: "--gratuitous-arp-interval", allowZero: true)
        guard garp == .zero || garp >= .seconds(1) else {
            throw StartError("--gratuitous-arp-interval must be 0 (off) or at least 1s, got \(gratuitousArpInterval)")
        }
        let keyring = try membershipKeyring(env)
        let config = try options.kubeConfig()
        let client = try KubeClient(config: config, logger: Logger(label: "kube"))
        var settings = SpeakerSettings(node: node, namespace: config.namespace, keyring: keyring)
        settings.podName = podName ?? env["METALLB_POD_NAME"]
        settings.loadBalancerClass = lbClass
        settings.ignoreExcludeLabel = ignoreExcludeLb
        settings.memberLabels = mlLabels
        settings.interfaces = interfaces
        settings.handOverTimeout = handOver
        if garp != .zero { settings.gratuitousInterval = garp }
        if let port = mlBindPort ?? env["METALLB_ML_BIND_PORT"].flatMap({ UInt16($0) }) { settings.memberPort = port }
        if let text = mlBindAddr ?? env["METALLB_ML_BIND_ADDR"], !text.isEmpty {
            guard let a = IPAddress(text) else { throw StartError("--ml-bind-addr: \"\(text)\" is not an IP address") }
            settings.bindAddress = a
        }
        logger.info("starting", metadata: ["node": "\(node)", "namespace": "\(config.namespace)", "server": "\(config.server)", "version": "\(BuildInfo.version)", "malloc": "\(malloc)"])

        let runtime = SpeakerRuntime(client: client, settings: settings)
        var components: [any RoleComponent] = [RoleService("speaker") { try await runtime.run() }]
        components += monitoring.servers(metrics: { runtime.metricsSnapshot().exposition() }, readiness: { runtime.readiness }) as [any RoleComponent]
        try await Role.run(components, client: client, logger: logger)
    }

    func membershipKeyring(_ env: [String: String]) throws -> MembershipKeyring {
        let path = mlSecretKeyPath ?? env["METALLB_ML_SECRET_KEY_PATH"] ?? "/etc/ml_secret_key"
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let file = isDirectory.boolValue ? path + "/secretkey" : path
        guard exists, let data = FileManager.default.contents(atPath: file) else {
            if insecureMembership {
                // Every speaker started this way uses the same public key: membership works, unauthenticated.
                return try MembershipKeyring(secret: "insecure-membership-key-for-tests-only")
            }
            throw StartError("no membership key at \(file): mount the speakers' membership Secret there (key 'secretkey'), or give --ml-secret-key-path (--insecure-membership runs without one, for tests only)")
        }
        let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            return try MembershipKeyring(secret: text)
        } catch {
            throw StartError("membership key \(file): \(error)")
        }
    }
}

/// A role that cannot start: the message says what to give it (printed without the usage text).
struct StartError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
