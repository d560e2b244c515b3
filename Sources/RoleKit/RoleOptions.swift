import API
import ArgumentParser
import Foundation
import Kube
import Logging

/// Options every role takes: how to reach the API server, its namespace, logging and the client's rate limit.
public struct RoleOptions: ParsableArguments {
    @Option(help: "Path to a kubeconfig file. Default: $KUBECONFIG, then the in-cluster configuration, then ~/.kube/config.")
    public var kubeconfig: String?

    @Option(help: "Namespace the component works in (default: the kubeconfig context's or the pod's namespace).")
    public var namespace: String?

    @Option(help: "Log level: all, debug, info, warn, error or none.")
    public var logLevel: LogLevelOption = .info

    @Option(help: "Requests per second this component sends to the API server at most (client-side rate limit).")
    public var kubeApiQps: Double = 50

    @Option(help: "Requests the client may send at once above the rate limit.")
    public var kubeApiBurst: Int = 100

    public init() {}

    public func bootstrapLogging() { logLevel.bootstrap() }

    public func kubeConfig() throws -> KubeConfig {
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

/// `--log-level`: MetalLB's level names.
public enum LogLevelOption: String, ExpressibleByArgument, CaseIterable, Sendable {
    case all, debug, info, warn, error, none

    /// Logs to standard error at this level, for the whole process.
    public func bootstrap() {
        let level = self.level
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }

    public var level: Logger.Level {
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

/// A duration flag written as a Go duration ("15s", "1m30s", "300ms"), as Kubernetes components write them.
public enum DurationFlag {
    /// Parses `text` for `flag`; the error names the flag and says what a valid value looks like.
    public static func parse(_ text: String, flag: String, allowZero: Bool = false) throws -> Duration {
        let d: GoDuration
        do { d = try GoDuration.parse(text) } catch { throw ValidationError("\(flag): \(error)") }
        guard d.nanoseconds > 0 || (allowZero && d.nanoseconds == 0) else {
            throw ValidationError("\(flag) must be \(allowZero ? "zero or more" : "positive"), got \(text)")
        }
        return .nanoseconds(d.nanoseconds)
    }
}

/// Lease leader election among a role's replicas (coordination.k8s.io/v1), as client-go's flags spell it.
public struct LeaderElectionOptions: ParsableArguments {
    @Flag(inversion: .prefixedNo, help: "Elect a leader among replicas (a Lease in the namespace); only the leader writes.")
    public var leaderElect = true

    @Option(help: "This replica's identity for leader election (default: $POD_NAME, else the host name).")
    public var identity: String?

    @Option(help: "How long the Lease holds after its last renewal before another replica may take it (Go duration).")
    public var leaderElectLeaseDuration = "15s"

    @Option(help: "The leader gives up leadership when it could not renew for this long (Go duration, shorter than the lease).")
    public var leaderElectRenewDeadline = "10s"

    @Option(help: "Interval between attempts to acquire or renew the Lease (Go duration).")
    public var leaderElectRetryPeriod = "2s"

    public init() {}

    public func validate() throws { _ = try timings() }

    /// This replica's identity.
    public var resolvedIdentity: String {
        identity ?? ProcessInfo.processInfo.environment["POD_NAME"] ?? ProcessInfo.processInfo.hostName
    }

    func timings() throws -> (lease: Duration, renew: Duration, retry: Duration) {
        let lease = try DurationFlag.parse(leaderElectLeaseDuration, flag: "--leader-elect-lease-duration")
        let renew = try DurationFlag.parse(leaderElectRenewDeadline, flag: "--leader-elect-renew-deadline")
        let retry = try DurationFlag.parse(leaderElectRetryPeriod, flag: "--leader-elect-retry-period")
        guard retry < renew, renew < lease else {
            throw ValidationError("leader election needs retry period < renew deadline < lease duration; got \(leaderElectRetryPeriod), \(leaderElectRenewDeadline), \(leaderElectLeaseDuration)")
        }
        return (lease, renew, retry)
    }

    /// The Lease settings, or nil when election is turned off.
    public func config(leaseName: String, namespace: String) throws -> LeaderElectionConfig? {
        guard leaderElect else { return nil }
        let t = try timings()
        return LeaderElectionConfig(
            leaseName: leaseName, namespace: namespace, identity: resolvedIdentity,
            leaseDuration: t.lease, renewDeadline: t.renew, retryPeriod: t.retry)
    }
}

/// Where the plain-HTTP monitoring endpoints listen (/metrics, /healthz, /readyz).
public struct MonitoringOptions: ParsableArguments {
    @Option(help: "Address the metrics and health endpoints listen on.")
    public var metricsHost = "0.0.0.0"

    @Option(help: "Port of the metrics and health endpoints (/metrics, /healthz, /readyz); 0 turns them off.")
    public var metricsPort = 7472

    @Option(help: "A second port serving only the same /healthz and /readyz, for probes kept apart from metrics (0: none).")
    public var healthPort = 0

    public init() {}

    public func validate() throws {
        guard (0...65535).contains(metricsPort) else { throw ValidationError("--metrics-port must be from 0 to 65535") }
        guard (0...65535).contains(healthPort) else { throw ValidationError("--health-port must be from 0 to 65535") }
        guard healthPort == 0 || healthPort != metricsPort else { throw ValidationError("--health-port must differ from --metrics-port") }
    }

    /// The monitoring servers these options ask for: metrics (with the probes) and, apart, the probes alone.
    public func servers(metrics: @escaping @Sendable () -> String, readiness: @escaping @Sendable () async -> String? = { nil })
        -> [MonitoringServer] {
        var out: [MonitoringServer] = []
        if metricsPort != 0 { out.append(MonitoringServer(host: metricsHost, port: metricsPort, metrics: metrics, readiness: readiness)) }
        if healthPort != 0 {
            out.append(MonitoringServer(host: metricsHost, port: healthPort, metrics: nil, readiness: readiness,
                                        logger: Logger(label: "health")))
        }
        return out
    }
}
