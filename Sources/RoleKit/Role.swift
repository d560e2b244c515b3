import Kube
import Logging
import ServiceLifecycle

/// A part of a role that runs until the role stops: a ServiceLifecycle service. (Named so as not to be confused
/// with a Kubernetes Service, which `Kube` calls `Service`.)
public typealias RoleComponent = ServiceLifecycle.Service

/// A role's long-running part (a reconciler loop, a server, a speaker's announcer) as a ServiceLifecycle service:
/// it runs `body` until the body returns or the role shuts down, when the body's task is cancelled.
public struct RoleService: RoleComponent, Sendable, CustomStringConvertible {
    public let name: String
    let body: @Sendable () async throws -> Void

    public init(_ name: String, _ body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.body = body
    }

    public func run() async throws {
        try await untilGracefulShutdown { try await body() }
    }

    public var description: String { name }
}

/// Runs `work` only while this replica holds the Lease; a lost Lease cancels `work`, and the replica tries again.
/// Without a configuration (election turned off) `work` simply runs.
public struct LeaderElectedService: RoleComponent, Sendable, CustomStringConvertible {
    public let name: String
    let client: KubeClient
    let config: LeaderElectionConfig?
    let work: @Sendable () async -> Void

    public init(_ name: String, client: KubeClient, config: LeaderElectionConfig?, work: @escaping @Sendable () async -> Void) {
        self.name = name
        self.client = client
        self.config = config
        self.work = work
    }

    public func run() async throws {
        let work = self.work
        guard let config else {
            await cancelWhenGracefulShutdown { await work() }
            return
        }
        let elector = LeaderElector(client: client, config: config)
        // A new term for every win: work starts again from what the previous leader left.
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled { _ = await elector.run(lead: work) }
        }
    }

    public var description: String { name }
}

/// Runs `body` until it ends or the role shuts down gracefully (then `body` is cancelled); the cancellation that the
/// shutdown caused is not an error (it would make the role exit non-zero on every SIGTERM).
func untilGracefulShutdown(_ body: @escaping @Sendable () async throws -> Void) async throws {
    do {
        try await cancelWhenGracefulShutdown { try await body() }
    } catch is CancellationError where Task.isShuttingDownGracefully || Task.isCancelled {
        return
    }
}

/// Starting and stopping a role: every service in one ServiceGroup, SIGTERM and SIGINT shutting it down
/// gracefully (each service's task is cancelled and awaited, the last started first). One place for every role.
public enum Role {
    public static func run(_ services: [any RoleComponent], logger: Logger) async throws {
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: services.map {
                // A service that ends by itself (a server that could not bind) ends the role: better a restart by
                // the kubelet than a role half running.
                ServiceGroupConfiguration.ServiceConfiguration(
                    service: $0, successTerminationBehavior: .gracefullyShutdownGroup, failureTerminationBehavior: .gracefullyShutdownGroup)
            },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
        try await group.run()
    }

    /// Runs the role, then shuts `client` down; an error is logged ("stopped on an error") and thrown after the
    /// client is closed, so that the process exits non-zero.
    public static func run(_ services: [any RoleComponent], client: KubeClient, logger: Logger) async throws {
        var failed: (any Error)?
        do {
            try await run(services, logger: logger)
        } catch {
            failed = error
            logger.error("stopped on an error", metadata: ["error": "\(error)"])
        }
        await client.shutdown()
        if let failed { throw failed }
    }
}
