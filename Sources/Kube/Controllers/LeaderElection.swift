import Foundation
import Logging

/// Settings of Lease-based leader election (client-go's defaults).
public struct LeaderElectionConfig: Sendable {
    public var leaseName: String
    public var namespace: String
    /// This candidate's identity, unique among candidates (e.g. the pod name).
    public var identity: String
    /// How long a lease is valid after its last renewal, as observed by the others.
    public var leaseDuration: Duration
    /// A leader that could not renew for this long gives up leadership.
    public var renewDeadline: Duration
    /// Interval between attempts to acquire or renew.
    public var retryPeriod: Duration
    /// On shutdown, empty the lease so another candidate takes over at once.
    public var releaseOnCancel: Bool

    public init(
        leaseName: String, namespace: String, identity: String, leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2), releaseOnCancel: Bool = true
    ) {
        self.leaseName = leaseName
        self.namespace = namespace
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnCancel = releaseOnCancel
    }
}

/// Leader election on a coordination.k8s.io/v1 Lease. A candidate takes the lease when it
/// is free, released, or was not renewed for `leaseDuration` as measured on the candidate's
/// own clock from when it last saw the lease change (so clock skew between nodes does not
/// matter). The leader renews every `retryPeriod` and steps down when it could not renew
/// within `renewDeadline`. Updates carry the resourceVersion, so two candidates can never
/// both win one round.
public actor LeaderElector {
    public nonisolated let config: LeaderElectionConfig
    let leases: ResourceClient<Lease>
    let logger: Logger
    /// Measures lease ages and paces retries and renewals (lease timestamps written to the API
    /// server are wall-clock time regardless).
    public nonisolated let clock: any ControllerClock
    private var observedSpec: LeaseSpec?
    private var observedAt: ContinuousClock.Instant
    public private(set) var isLeader = false
    /// The holder seen last (this candidate's identity while it leads).
    public private(set) var currentLeader: String?
    /// Acquire or renew attempts finished so far (successful or not): tests driving a manual
    /// clock wait for it to grow before moving time on.
    public private(set) var attempts = 0
    /// True while it waits on its clock between attempts (tests: safe to move the clock on).
    public private(set) var isWaiting = false

    public init(client: KubeClient, config: LeaderElectionConfig, logger: Logger? = nil, clock: any ControllerClock = SystemClock()) {
        self.config = config
        self.leases = client.resource(Lease.self, namespace: config.namespace)
        self.logger = logger ?? Logger(label: "leader-election")
        self.clock = clock
        self.observedAt = clock.now
    }

    /// Waits to become leader, then runs `lead` while renewing the lease. Returns when
    /// leadership is lost (then `lead` is cancelled), when `lead` returns, or when the calling
    /// task is cancelled (then the lease is released if `releaseOnCancel`). Returns whether it
    /// ever led.
    @discardableResult
    public func run(lead: @escaping @Sendable () async -> Void) async -> Bool {
        while !Task.isCancelled {
            if await attempt() { break }
            isWaiting = true
            try? await clock.sleep(for: config.retryPeriod * Double.random(in: 1.0...1.2))
            isWaiting = false
        }
        guard !Task.isCancelled else { return false }
        isLeader = true
        logger.info("became leader", metadata: ["lease": "\(config.namespace)/\(config.leaseName)", "identity": "\(config.identity)"])
        let lost = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await lead(); return false }
            group.addTask { await self.renewUntilLost() }
            let first = await group.next() ?? false
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        isLeader = false
        if lost {
            logger.warning("lost leadership: could not renew the lease within the renew deadline", metadata: ["lease": "\(config.leaseName)"])
        } else if config.releaseOnCancel {
            // A fresh task: the calling task may be cancelled, which would abort the request.
            await Task { await self.release() }.value
        }
        return true
    }

    /// Renews every retryPeriod; returns true when the renew deadline passed without success,
    /// false when cancelled.
    private func renewUntilLost() async -> Bool {
        var lastRenew = clock.now
        while !Task.isCancelled {
            isWaiting = true
            try? await clock.sleep(for: config.retryPeriod)
            isWaiting = false
            if Task.isCancelled { return false }
            let remaining = config.renewDeadline - (clock.now - lastRenew)
            if remaining > .zero, await withDeadline(remaining, clock: clock, { await self.attempt() }) == true {
                lastRenew = clock.now
                continue
            }
            if Task.isCancelled { return false }
            if clock.now - lastRenew >= config.renewDeadline { return true }
        }
        return false
    }

    /// One try to acquire or renew. Never throws: failures count as "not acquired".
    func attempt() async -> Bool {
        defer { attempts += 1 }
        let now = Date()
        let durationSeconds = Int32(max(1, config.leaseDuration.components.seconds))
        do {
            guard var lease = try await leases.getIfExists(config.leaseName) else {
                var fresh = Lease(
                    metadata: ObjectMeta(name: config.leaseName, namespace: config.namespace),
                    spec: LeaseSpec(
                        holderIdentity: config.identity, leaseDurationSeconds: durationSeconds,
                        acquireTime: KubeTime.microTime(now), renewTime: KubeTime.microTime(now), leaseTransitions: 0))
                fresh.setTypeMeta()
                let created = try await leases.create(fresh)
                observe(created.spec)
                return true
            }
            let spec = lease.spec ?? LeaseSpec()
            if spec != observedSpec { observe(spec) }
            let holder = spec.holderIdentity ?? ""
            currentLeader = holder.isEmpty ? nil : holder
            if !holder.isEmpty && holder != config.identity {
                let d = Duration.seconds(Int64(spec.leaseDurationSeconds ?? durationSeconds))
                if clock.now - observedAt < d { return false }
            }
            var next = spec
            if holder != config.identity {
                next.acquireTime = KubeTime.microTime(now)
                next.leaseTransitions = (spec.leaseTransitions ?? 0) + (holder.isEmpty && spec.acquireTime == nil ? 0 : 1)
            }
            next.holderIdentity = config.identity
            next.leaseDurationSeconds = durationSeconds
            next.renewTime = KubeTime.microTime(now)
            lease.spec = next
            let updated = try await leases.update(lease)
            observe(updated.spec)
            return true
        } catch let e as KubeError where e.isConflict || e.isAlreadyExists {
            return false
        } catch {
            logger.debug("lease attempt failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    private func observe(_ spec: LeaseSpec?) {
        observedSpec = spec
        observedAt = clock.now
        currentLeader = spec?.holderIdentity.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Empties the lease if this candidate still holds it, so that another takes over at once.
    /// A conflict is retried: a renewal cancelled on our side may still reach the server after
    /// our read, and giving up then would make the others wait for the lease to expire.
    public func release() async {
        for attempt in 1...3 {
            do {
                guard var lease = try await leases.getIfExists(config.leaseName),
                    lease.spec?.holderIdentity == config.identity
                else { return }
                let now = KubeTime.microTime()
                lease.spec?.holderIdentity = ""
                lease.spec?.leaseDurationSeconds = 1
                lease.spec?.renewTime = now
                lease.spec?.acquireTime = now
                _ = try await leases.update(lease)
                currentLeader = nil
                logger.info("released the lease", metadata: ["lease": "\(config.leaseName)"])
                return
            } catch let e as KubeError where e.isConflict && attempt < 3 {
                continue
            } catch {
                logger.warning("could not release the lease", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}

/// Runs `body`, returning nil if it has not finished within `timeout` (it is then cancelled).
func withDeadline<R: Sendable>(_ timeout: Duration, clock: any ControllerClock = SystemClock(), _ body: @escaping @Sendable () async -> R) async -> R? {
    await withTaskGroup(of: R?.self) { group in
        group.addTask { await body() }
        group.addTask { try? await clock.sleep(for: timeout); return nil }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
