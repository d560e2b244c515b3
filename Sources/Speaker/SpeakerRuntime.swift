import API
import CLinuxSupport
import Kube
import Layer2
import Logging
import Membership
import NetAddress
import RoleKit
import Synchronization

/// How a speaker runs: who it is and how it finds the others.
public struct SpeakerSettings: Sendable {
    public var node: String
    public var namespace: String
    /// This speaker's Pod (owner of the status objects it writes); nil outside a cluster.
    public var podName: String?
    public var loadBalancerClass: String?
    public var ignoreExcludeLabel = false
    /// The membership port every speaker listens on.
    public var memberPort: UInt16 = 7946
    /// The label selector that finds the speaker Pods (the membership's members).
    public var memberLabels = "app=metallb,component=speaker"
    /// The address the membership binds to; nil: this node's InternalIP.
    public var bindAddress: IPAddress?
    /// Interfaces to answer on; empty: `Layer2Interfaces.suitable()` at start.
    public var interfaces: [String] = []
    public var keyring: MembershipKeyring
    public var membership = MembershipConfig()
    public var announcer = Announcer.Configuration()
    /// On stop, how long to keep answering while the other nodes take the IPs over (`Layer2Failover.handOver`).
    public var handOverTimeout: Duration = .seconds(2)
    /// Gratuitous ARP / unsolicited NA for every announced IP this often (nil: only when ownership changes), for
    /// switches and hosts that forget a MAC that is quiet for long.
    public var gratuitousInterval: Duration?
    /// During a burst of changes (1,000 Services created at once), full reconciles start at most this often; an
    /// isolated change is reconciled at once. Each reconcile plans every Service, so without a floor a burst keeps
    /// every speaker planning back to back, on the CPUs the API server needs to take the burst. Failover does not
    /// wait for it: ownership moves on the membership thread.
    public var reconcileInterval: Duration = .milliseconds(200)

    public init(node: String, namespace: String, keyring: MembershipKeyring) {
        self.node = node
        self.namespace = namespace
        self.keyring = keyring
    }
}

/// A speaker's Layer 2 half, wired: the configuration pipeline (`ConfigurationState` `speaker-<node>`), informers
/// from the shared cache, the planner for every Service, `Layer2Failover` for the takeover, and the ServiceL2Status
/// objects and Events that say who announces and why nobody does.
public final class SpeakerRuntime: Sendable {
    public let client: KubeClient
    public let settings: SpeakerSettings
    let logger = Logger(label: "speaker")
    private let state = Mutex(Shared())
    /// This node's BGP sessions (BGP mode; nothing runs until a BGPPeer selects this node).
    public let bgp: BGPApplier
    /// Wakes the announce reconciler when a BGP session changes (set by `run`).
    let bgpNotifier = Notifier()

    struct Shared {
        var failover: Layer2Failover?
        /// The membership address this node binds to (known before the membership starts).
        var memberEndpoint: SocketEndpoint?
        /// Told once the first plan is in the failover: the membership may start (`run` waits for it).
        var join: AsyncStream<Void>.Continuation?
        var joined = false
        var configured = false
        /// The last Event reason told per Service (not repeated on every reconcile).
        var told: [String: String] = [:]
        var waiting = "the caches and the configuration"
        /// The address mismatch last warned about (peers drop datagrams from an address they do not know).
        var warnedAddress: String?
        /// What BGP advertises from this node, per Service IP (for `metallb_speaker_announced{protocol="bgp"}`).
        var bgpAnnounced: [ServiceIP] = []
        var bgpSessions: [BGPSessionSnapshot] = []
        /// When the last announce reconcile started (for `reconcileInterval`).
        var lastReconcile: ContinuousClock.Instant?
    }

    func setBGP(announced: [ServiceIP], sessions: [BGPSessionSnapshot]) {
        state.withLock { s in
            s.bgpAnnounced = announced
            s.bgpSessions = sessions
        }
    }

    var bgpView: (announced: [ServiceIP], sessions: [BGPSessionSnapshot]) { state.withLock { ($0.bgpAnnounced, $0.bgpSessions) } }

    /// Warns once per distinct mismatch: peers take this node's membership address from its Pod's IP and drop
    /// datagrams from any other source (`MembershipSourceGate`), so a bind address that differs breaks failover.
    func checkMembershipAddress(pod: SocketEndpoint?, bound: SocketEndpoint?) {
        guard let pod, let bound, pod != bound else { return }
        let text = "\(bound) vs \(pod)"
        let first = state.withLock { s in
            defer { s.warnedAddress = text }
            return s.warnedAddress != text
        }
        if first {
            logger.warning("the membership is bound to another address than this node's speaker Pod IP: peers will drop its heartbeats; set --ml-bind-addr to the Pod IP (status.podIP)", metadata: [
                "bound": "\(bound)", "podIP": "\(pod)",
            ])
        }
    }

    public static let announceKey = ObjectKey(namespace: nil, name: "announcements")

    public init(client: KubeClient, settings: SpeakerSettings) {
        self.client = client
        self.settings = settings
        let notifier = bgpNotifier
        bgp = BGPApplier(onChange: { notifier.fire() })
    }

    /// Nil when ready, else what the speaker still waits for: a valid configuration, and a membership that has
    /// heard from the others (the speaker answers nothing before).
    public var readiness: String? {
        state.withLock { s in
            if !s.configured { return s.waiting }
            if !s.joined { return "joining the membership" }
            if s.failover?.alive == nil { return "the membership (no member heard yet)" }
            return nil
        }
    }

    /// The Service IPs this node announces now.
    public var owned: Set<ServiceIP> { state.withLock { $0.failover?.owned ?? [] } }

    /// Runs until the calling task is cancelled; then stops answering, tells the others it leaves, and removes its
    /// status objects.
    public func run() async throws {
        let s = settings
        // The speaker never writes back an object it reads: its caches keep neither managedFields nor kubectl's copy.
        let cache = InformerCache(client: client, dropping: [.managedFields, .lastAppliedConfiguration])
        let tracker = ConfigurationTracker()
        let informers = await ConfigurationInformers(cache: cache, namespace: s.namespace)
        let recorder = EventRecorder(client: client, component: "metallb-speaker", host: s.node)
        let services = await cache.informer(Service.self)
        let slices = await cache.informer(EndpointSlice.self, resource: try await client.endpointSliceResourceType())
        let nodes = await cache.informer(Node.self)
        let pods = await cache.informer(Pod.self, namespace: s.namespace, options: ListOptions(labelSelector: s.memberLabels))
        // Every node's objects (a new owner removes those of a node the membership says is gone), this node's among
        // them: one watch and one copy of each.
        let allStatuses = await cache.informer(ServiceL2Status.self, namespace: s.namespace)
        let bgpStatuses = await cache.informer(ServiceBGPStatus.self, namespace: s.namespace,
                                               options: ListOptions(labelSelector: "\(BGPStatusPlan.nodeLabel)=\(s.node)"))
        let sessionStates = await cache.informer(BGPSessionState.self, namespace: s.namespace,
                                                 options: ListOptions(labelSelector: "\(BGPStatusPlan.nodeLabel)=\(s.node)"))

        let announce = Controller(name: "speaker.announce", reconciler: AnnounceReconciler(runtime: self, tracker: tracker, services: services,
                                  slices: slices, nodes: nodes, pods: pods, allStatuses: allStatuses,
                                  bgpStatuses: bgpStatuses, sessionStates: sessionStates, recorder: recorder), workers: 1)
        let queue = announce.queue
        let key = Self.announceKey
        let one: @Sendable (any Sendable) -> [ObjectKey] = { _ in [key] }
        await announce.watch(services, map: one)
        await announce.watch(slices, map: one)
        await announce.watch(nodes, map: one)
        await announce.watch(pods, map: one)
        let node = s.node
        await announce.watch(allStatuses) { $0.metadata.labels?[Layer2StatusPlan.nodeLabel] == node ? [key] : [] }
        let config = Controller(name: "speaker.configuration", reconciler: ConfigurationReconciler(
            client: client, informers: informers, tracker: tracker, stateObject: .forSpeaker(node: s.node, namespace: s.namespace),
            fieldManager: "metallb-speaker", recorder: recorder, onValid: { await queue.add(key) }), workers: 1)
        await informers.watch(with: config, key: ObjectKey(namespace: s.namespace, name: MetalLBAPI.speakerConfigurationStateName(node: s.node)))

        // The membership needs this node's address: the Node object has it.
        await nodes.start()
        await nodes.waitForSync()
        let bind: IPAddress
        if let a = s.bindAddress {
            bind = a
        } else {
            let me = await nodes.get(namespace: nil, name: s.node)
            guard let text = me?.status?.addresses?.first(where: { $0.type == "InternalIP" })?.address, let a = IPAddress(text) else {
                await nodes.stop()
                throw SpeakerError.noNodeAddress(s.node)
            }
            bind = a
        }
        let interfaces = s.interfaces.isEmpty ? Layer2Interfaces.suitable() : s.interfaces
        guard !interfaces.isEmpty else {
            await nodes.stop()
            throw SpeakerError.noInterface
        }
        let announcer = try Announcer(interfaces: interfaces, configuration: s.announcer)
        let endpoint = SocketEndpoint(address: bind, port: s.memberPort)
        let failover = try Layer2Failover(node: s.node, announcer: announcer, membership: s.membership,
                                          bind: endpoint, keyring: s.keyring, handBackTimeout: s.handOverTimeout)
        let (joinSignal, join) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
        state.withLock {
            $0.failover = failover
            $0.memberEndpoint = endpoint
            $0.join = join
        }
        logger.info("answering once configured", metadata: [
            "node": "\(s.node)", "interfaces": "\(interfaces)", "membership": "\(bind):\(s.memberPort)",
        ])

        // Read by the reconciler before its controller runs, or not watched by it at all (a controller starts only
        // the informers it watches): started here, or they would be empty and a reconcile would create the status
        // objects again.
        await allStatuses.start()
        await bgpStatuses.start()
        await sessionStates.start()
        await allStatuses.waitForSync()
        await bgpStatuses.waitForSync()
        await sessionStates.waitForSync()
        bgpNotifier.set { Task { await queue.add(key) } }
        var joinError: MembershipNodeError?
        await withTaskGroup(of: MembershipNodeError?.self) { group in
            group.addTask { await config.run(); return nil }
            group.addTask { await announce.run(); return nil }
            // The membership starts once this node knows what to announce: the others count a member alive as soon
            // as they hear it, and elect it owner of its IPs; joining earlier would leave those IPs unanswered until
            // the configuration is loaded.
            group.addTask { [self] in
                var signals = joinSignal.makeAsyncIterator()
                guard await signals.next() != nil, !Task.isCancelled else { return nil }
                do throws(MembershipNodeError) {
                    try failover.start()
                } catch {
                    self.logger.error("could not start the membership", metadata: ["error": "\(error)", "membership": "\(endpoint)"])
                    return error
                }
                self.state.withLock { $0.joined = true }
                self.logger.info("joined the membership", metadata: [
                    "membership": "\(failover.membership.boundAddress.map { "\($0)" } ?? "\(endpoint)")",
                    "scheduling": "\(failover.membership.schedulingOutcome.map { "\($0)" } ?? "pending")",
                    "placement": "\(failover.membership.threadPlacement.map { "\($0)" } ?? "")",
                ])
                // A membership change moves ownership (on the membership thread); the status objects follow here.
                await queue.add(key)
                // Others back after this node was alone: its link was probably down, and a watch that died with it
                // (kube-proxy's masquerade entries for the API server's Service are flushed with the link, however
                // short the outage) would keep the caches stale until its deadline (up to a minute); list everything
                // again now. A CPU-starved moment that looked like solitude costs one relist; missing a real cut
                // costs a minute of stale state, so the relist does not wait for a minimum time alone.
                var wasAlone = false
                for await update in failover.membership.changes() {
                    let alive = update.change.alive
                    if wasAlone, alive.count > 1 {
                        self.logger.info("other speakers are back after this node was alone: listing the caches again",
                                         metadata: ["alive": "\(alive.sorted())"])
                        await cache.relistAll()
                    }
                    wasAlone = alive == [s.node]
                    await queue.add(key)
                }
                return nil
            }
            // After a burst (1,000 Services), the heap's freed blocks stay resident unless given back: once the
            // reconciles have been quiet for a while, return them (glibc malloc_trim; a few ms, only after activity).
            group.addTask { [self] in
                // The start of the last reconcile the heap was trimmed after: a trim only after a new one.
                var trimmedAfter: ContinuousClock.Instant?
                while !Task.isCancelled {
                    do { try await Task.sleep(for: .seconds(10)) } catch { return nil }
                    if let last = self.lastReconcileStart, last != trimmedAfter, self.quietFor(.seconds(5)) {
                        trimmedAfter = last
                        _ = clinux_release_free_memory()
                    }
                }
                return nil
            }
            if let every = s.gratuitousInterval {
                group.addTask {
                    while !Task.isCancelled {
                        do { try await Task.sleep(for: every) } catch { return nil }
                        failover.announcer.reannounce()
                    }
                    return nil
                }
            }
            joinError = await group.next() ?? nil
            group.cancelAll()
        }
        join.finish()
        // BGP: every session closed with a Cease NOTIFICATION (the routers withdraw our routes at once).
        bgpNotifier.set(nil)
        await bgp.stop()
        // Leave while still answering; stop answering once the others have announced (or after the timeout).
        let handOver = await failover.handOver(timeout: s.handOverTimeout)
        if handOver.unclaimed.isEmpty {
            logger.info("handed over", metadata: ["result": "\(handOver)"])
        } else {
            logger.warning("handed over, but another node did not announce every IP in time", metadata: ["result": "\(handOver)"])
        }
        await nodes.stop()
        await allStatuses.stop()
        await bgpStatuses.stop()
        await sessionStates.stop()
        // The role is shutting down, so this task is cancelled: the removal runs in a task of its own, which is not.
        let client = self.client, logger = self.logger
        await Task {
            let mine = client.resource(ServiceL2Status.self, namespace: s.namespace)
            do {
                let objects = try await mine.listAll(ListOptions(labelSelector: "\(Layer2StatusPlan.nodeLabel)=\(s.node)")).items
                for o in objects { _ = try await mine.deleteIfExists(o.metadata.name ?? "") }
            } catch {
                logger.warning("could not remove this node's ServiceL2Status objects", metadata: ["error": "\(error)"])
            }
        }.value
        logger.info("stopped")
        if let joinError { throw SpeakerError.membership(joinError) }
    }

    /// The first plan is in the failover: the membership may start (once; later calls do nothing).
    func requestJoin() {
        state.withLock { s in
            guard let join = s.join else { return }
            join.yield()
            s.join = nil
        }
    }

    /// This node's membership address: the bound one once started, the configured one before.
    var memberEndpoint: SocketEndpoint? {
        state.withLock { s in s.failover?.membership.boundAddress ?? s.memberEndpoint }
    }

    /// When the last announce reconcile started (was planned to start), if any did.
    var lastReconcileStart: ContinuousClock.Instant? { state.withLock { $0.lastReconcile } }

    /// Whether the last announce reconcile started at least `d` ago (or none ever did).
    func quietFor(_ d: Duration) -> Bool {
        state.withLock { st in st.lastReconcile.map { ContinuousClock.now - $0 >= d } ?? true }
    }

    /// How long the next announce reconcile should wait so that reconciles start at most every
    /// `settings.reconcileInterval`; records the (planned) start.
    func untilNextReconcile() -> Duration {
        let now = ContinuousClock.now
        return state.withLock { st in
            let start = st.lastReconcile.map { max(now, $0 + settings.reconcileInterval) } ?? now
            st.lastReconcile = start
            return start - now
        }
    }

    func setConfigured(_ configured: Bool) { state.withLock { $0.configured = configured } }

    /// Whether a valid configuration was loaded.
    public var isConfigured: Bool { state.withLock { $0.configured } }

    var failover: Layer2Failover? { state.withLock { $0.failover } }

    /// Whether `reason` is news for `service` (then it is remembered).
    func shouldTell(_ service: String, _ reason: String) -> Bool {
        state.withLock { s in
            guard s.told[service] != reason else { return false }
            s.told[service] = reason
            return true
        }
    }

    func forget(_ services: Set<String>) {
        state.withLock { s in s.told = s.told.filter { services.contains(String($0.key.split(separator: "#").first ?? "")) } }
    }
}

public enum SpeakerError: Error, CustomStringConvertible {
    case noNodeAddress(String)
    case noInterface
    case membership(MembershipNodeError)

    public var description: String {
        switch self {
        case .membership(let e): "the membership could not start: \(e)"
        case .noNodeAddress(let n): "node \(n) has no InternalIP to run the membership on; give --ml-bind-addr"
        case .noInterface: "no interface to answer on (none is up, takes part in ARP and is not a bridge or bond port); give --interface"
        }
    }
}

/// One reconcile for every change: members from the speaker Pods, the plan for every Service, the failover's
/// requests, then the ServiceL2Status objects and Events for what this node announces.
struct AnnounceReconciler: Reconciler {
    let runtime: SpeakerRuntime
    let tracker: ConfigurationTracker
    let services: Informer<Service>
    let slices: Informer<EndpointSlice>
    let nodes: Informer<Node>
    let pods: Informer<Pod>
    let allStatuses: Informer<ServiceL2Status>
    let bgpStatuses: Informer<ServiceBGPStatus>
    let sessionStates: Informer<BGPSessionState>
    let recorder: EventRecorder

    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        guard let failover = runtime.failover else { return .done }
        let s = runtime.settings
        // Changes that come while this waits are folded into this reconcile (one key: the queue keeps it once).
        let wait = runtime.untilNextReconcile()
        if wait > .zero { try? await Task.sleep(for: wait) }
        var members: [String: SocketEndpoint] = [:]
        for pod in await pods.list() {
            guard let node = pod.spec?.nodeName, let ip = pod.status?.podIP.flatMap({ IPAddress($0) }) else { continue }
            members[node] = SocketEndpoint(address: ip, port: s.memberPort)
        }
        runtime.checkMembershipAddress(pod: members[s.node], bound: runtime.memberEndpoint)
        // This node is a member whether or not its Pod is listed yet (outside a cluster there is none).
        if members[s.node] == nil, let bound = runtime.memberEndpoint { members[s.node] = bound }
        failover.setMembers(members)

        guard let config = await tracker.current else { return .done }
        runtime.setConfigured(true)
        let inputs = Layer2Inputs(configuration: config, nodes: await nodes.list(), ignoreExcludeLabel: s.ignoreExcludeLabel,
                                  loadBalancerClass: s.loadBalancerClass)
        var plans: [Layer2Plan] = []
        // Indices into `all`, not copies: a Service value is dozens of references to retain.
        let all = await services.list()
        var byKey: [String: Int] = [:]
        var allKeys: Set<String> = []
        allKeys.reserveCapacity(all.count)
        for (i, service) in all.enumerated() {
            let serviceKey = "\(service.metadata.namespace ?? "")/\(service.metadata.name ?? "")"
            allKeys.insert(serviceKey)
            let endpoints = await slices.list(index: InformerCache.serviceIndex, value: serviceKey)
            let plan = Layer2Planner.plan(service, endpoints: endpoints, in: inputs)
            if plan.outcome == .notManaged { continue }
            plans.append(plan)
            byKey[serviceKey] = i
        }
        let requests = plans.compactMap { $0.failoverRequest(node: s.node) }
        failover.setRequests(requests)
        runtime.requestJoin()
        let owned = Set(failover.owned.map(\.serviceKey))
        runtime.logger.debug("planned", metadata: [
            "services": "\(plans.count)", "announceable": "\(requests.count)", "owned": "\(owned.sorted())",
            "alive": "\(failover.alive.map { $0.sorted().description } ?? "not settled")",
        ])

        // BGP next, so that a failing Layer 2 status write never keeps the sessions and routes from following.
        var bgpError: (any Error)?
        do {
            try await reconcileBGP(configuration: config, services: all, bind: failover.membership.boundAddress?.address)
        } catch {
            bgpError = error
            runtime.logger.warning("BGP reconcile failed", metadata: ["error": "\(error)"])
        }

        // Status objects: one per Service this node announces.
        var desired: Set<Layer2StatusPlan.Desired> = []
        for r in requests where owned.contains(r.serviceKey) {
            let parts = r.serviceKey.split(separator: "/", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            desired.insert(Layer2StatusPlan.Desired(serviceNamespace: parts[0], serviceName: parts[1], interfaces: Array(r.interfaces ?? [])))
        }
        // One list for both steps: the stale step deletes only other nodes' objects.
        let statuses = await allStatuses.list()
        if failover.alive != nil {
            let writers = Set(statuses.compactMap { $0.metadata.labels?[Layer2StatusPlan.nodeLabel] }).subtracting([s.node])
            let gone = writers.filter { writer in
                guard let status = failover.membership.status(of: writer) else { return true }   // no longer a member
                return status.incarnation != nil && !status.up                                     // heard, then lost
            }
            let stale = Layer2StatusPlan.staleOfGoneNodes(statuses, node: s.node, gone: gone, announced: desired)
            try await write(stale.map { .delete(name: $0) })
        }
        try await write(Layer2StatusPlan.writes(desired: desired, existing: statuses.filter {
            $0.metadata.labels?[Layer2StatusPlan.nodeLabel] == s.node
        }))

        // Events: the owner says it announces; for a Service nobody may announce, one speaker (the first live
        // member by name) says why, so the Service gets one Event and not one per node.
        let reporter = (failover.alive ?? []).union([s.node]).min() == s.node
        let requestOf = Dictionary(requests.map { ($0.serviceKey, $0) }, uniquingKeysWith: { a, _ in a })
        for plan in plans {
            guard let index = byKey[plan.serviceKey] else { continue }
            let service = all[index]
            switch plan.outcome {
            case .announce:
                // Interfaces an L2Advertisement names that this speaker does not answer on (absent from the node,
                // or not one it serves): said on the Service, never silent.
                let named = requestOf[plan.serviceKey]?.interfaces ?? []
                let missing = named.subtracting(failover.announcer.interfaceNames).sorted()
                if owned.contains(plan.serviceKey), !missing.isEmpty,
                   runtime.shouldTell(plan.serviceKey + "#interfaces", "missing/\(s.node)/\(missing)") {
                    let serving = named.intersection(failover.announcer.interfaceNames).sorted()
                    let consequence = serving.isEmpty
                        ? "so this node, elected to announce it, answers on no interface and the IP is not reachable through it"
                        : "so it is announced on \(serving.joined(separator: ", ")) only"
                    recorder.emit(service, .warning, reason: "interfaceNotFound",
                                  message: "node \"\(s.node)\" has no interface \(missing.joined(separator: ", ")) among those it answers on (\(failover.announcer.interfaceNames.sorted().joined(separator: ", "))), \(consequence); fix the L2Advertisement's interfaces or the speaker's --interface")
                } else if missing.isEmpty {
                    _ = runtime.shouldTell(plan.serviceKey + "#interfaces", "ok")
                }
                if owned.contains(plan.serviceKey), runtime.shouldTell(plan.serviceKey, "nodeAssigned/\(s.node)") {
                    recorder.emit(service, .normal, reason: "nodeAssigned", message: "announcing from node \"\(s.node)\" with protocol \"layer2\"")
                } else if !owned.contains(plan.serviceKey) {
                    _ = runtime.shouldTell(plan.serviceKey, "elsewhere")
                }
            case .nobody(let reason, let message):
                // Address problems are the controller's to tell (and a Service whose address is in none of our
                // pools may well belong to another load balancer); the rest only a speaker can say.
                guard !Layer2Planner.addressReasons.contains(reason) else { break }
                if reporter, runtime.shouldTell(plan.serviceKey, reason) {
                    recorder.emit(service, .warning, reason: reason, message: "no node announces this Service over Layer 2: \(message)")
                }
            case .notManaged:
                break
            }
        }
        runtime.forget(allKeys)
        if let bgpError { throw bgpError }
        return .done
    }

    func write(_ writes: [Layer2StatusPlan.Write]) async throws {
        let s = runtime.settings
        let client = runtime.client.resource(ServiceL2Status.self, namespace: s.namespace)
        let owner = await ownerReference()
        try await applyStatusWrites(writes, client: client, cache: allStatuses,
                                    object: { Layer2StatusPlan.object($0, node: s.node, namespace: s.namespace, owner: owner) },
                                    setStatus: { try await setStatus($0, $1, client) })
    }

    func setStatus(_ name: String, _ d: Layer2StatusPlan.Desired, _ client: ResourceClient<ServiceL2Status>) async throws {
        var o = ServiceL2Status(metadata: ObjectMeta(name: name, namespace: runtime.settings.namespace),
                                status: Layer2StatusPlan.status(d, node: runtime.settings.node))
        o.setTypeMeta()
        _ = try await client.apply(o, name: name, fieldManager: "metallb-speaker", force: true, subresource: "status")
    }
}
