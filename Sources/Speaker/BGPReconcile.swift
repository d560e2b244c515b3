import API
import BGP
import Kube
import Layer2
import NetAddress
import Synchronization

/// A callback that can be set later (the work queue exists only once the speaker runs).
final class Notifier: Sendable {
    private let action = Mutex<(@Sendable () -> Void)?>(nil)
    func set(_ f: (@Sendable () -> Void)?) { action.withLock { $0 = f } }
    func fire() { action.withLock { $0 }?() }
}

extension AnnounceReconciler {
    /// BGP mode for this node: the sessions its BGPPeers ask for, the routes each carries, and what `kubectl get`
    /// shows of them: one `ServiceBGPStatus` per Service sent to some peer, one `BGPSessionState` per session, and a
    /// `nodeAssigned` Event (protocol bgp).
    func reconcileBGP(configuration config: Configuration, services: [Service], bind: IPAddress?) async throws {
        let s = runtime.settings
        guard let me = await nodes.get(namespace: nil, name: s.node) else {
            runtime.logger.warning("BGP: this node's Node object is not in the cache; no session until it is", metadata: ["node": "\(s.node)"])
            return
        }
        let sessionPlan = BGPSessionPlan.sessions(for: me, configuration: config)
        let inputs = BGPInputs(configuration: config, node: me, ignoreExcludeLabel: s.ignoreExcludeLabel, loadBalancerClass: s.loadBalancerClass)
        var plans: [BGPPlan] = []
        var byKey: [String: Int] = [:]
        for (i, service) in services.enumerated() {
            let key = "\(service.metadata.namespace ?? "")/\(service.metadata.name ?? "")"
            let plan = BGPPlanner.plan(service, endpoints: await slices.list(index: InformerCache.serviceIndex, value: key), in: inputs)
            if case .notManaged = plan.outcome { continue }
            plans.append(plan)
            byKey[key] = i
        }
        let table = BGPRouteTable(sessions: sessionPlan.sessions, plans: plans)
        await runtime.bgp.apply(sessions: sessionPlan.sessions, refused: sessionPlan.refused, table: table, bfdLocalAddress: bind)

        // ServiceBGPStatus: one per Service this node sends to some peer.
        let desired = BGPStatusPlan.desired(table, plans: plans)
        try await writeBGP(BGPStatusPlan.writes(desired: desired, existing: await bgpStatuses.list()))

        // BGPSessionState: one per planned session (refused peers included, Idle with their reason).
        let snapshots = await runtime.bgp.snapshot()
        let refused = await runtime.bgp.refusedPeers()
        try await writeSessionStates(snapshots: snapshots, refused: refused, peers: config.bgpPeers)

        var announced: [ServiceIP] = []
        for plan in plans where !(table.peers[plan.serviceKey] ?? []).isEmpty {
            for ip in plan.ips { announced.append(ServiceIP(serviceKey: plan.serviceKey, ip: ip)) }
            if let index = byKey[plan.serviceKey], runtime.shouldTell(plan.serviceKey + "#bgp", "nodeAssigned/\(s.node)") {
                recorder.emit(services[index], .normal, reason: "nodeAssigned",
                              message: "announcing from node \"\(s.node)\" with protocol \"bgp\" to \((table.peers[plan.serviceKey] ?? []).joined(separator: ", "))")
            }
        }
        for plan in plans where (table.peers[plan.serviceKey] ?? []).isEmpty {
            _ = runtime.shouldTell(plan.serviceKey + "#bgp", "none")
        }
        runtime.setBGP(announced: announced.sorted(), sessions: snapshots)
    }

    private func writeBGP(_ writes: [BGPStatusPlan.Write]) async throws {
        let s = runtime.settings
        let client = runtime.client.resource(ServiceBGPStatus.self, namespace: s.namespace)
        let owner = await ownerReference()
        try await applyStatusWrites(writes, client: client, cache: bgpStatuses,
                                    object: { BGPStatusPlan.object($0, node: s.node, namespace: s.namespace, owner: owner) },
                                    setStatus: { try await setBGPStatus($0, $1, client) })
    }

    /// Applies one kind's status writes: a create makes the object (its name from generateName) and then writes its
    /// status, an update writes the status, a delete removes the object; then waits once until the cache has what was
    /// created, also when a write failed (the retry plans from the cache and must not create those again).
    func applyStatusWrites<T: KubeObject, D>(_ writes: [StatusWrite<D>], client: ResourceClient<T>, cache: Informer<T>,
                                             object: (D) -> T, setStatus: (String, D) async throws -> Void) async throws {
        let namespace = runtime.settings.namespace
        var created: [String] = []
        do {
            for w in writes {
                switch w {
                case .create(let d):
                    let made = try await client.create(object(d))
                    created.append(made.metadata.name ?? "")
                    try await setStatus(made.metadata.name ?? "", d)
                case .update(let name, let d):
                    try await setStatus(name, d)
                case .delete(let name):
                    _ = try await client.deleteIfExists(name)
                }
            }
        } catch {
            await Self.waitUntilCached(created, in: cache, namespace: namespace)
            throw error
        }
        await Self.waitUntilCached(created, in: cache, namespace: namespace)
    }

    private func setBGPStatus(_ name: String, _ d: BGPStatusPlan.Desired, _ client: ResourceClient<ServiceBGPStatus>) async throws {
        var o = ServiceBGPStatus(metadata: ObjectMeta(name: name, namespace: runtime.settings.namespace),
                                 status: BGPStatusPlan.status(d, node: runtime.settings.node))
        o.setTypeMeta()
        _ = try await client.apply(o, name: name, fieldManager: "metallb-speaker", force: true, subresource: "status")
    }

    /// Waits until the informer has the objects this reconcile created (at most 2 s once they were all created): the
    /// next reconcile plans from the cache, and an object it cannot see yet would be created a second time (names
    /// come from generateName). One wait for all of them, not one per object: 1,000 new Services are 1,000 creates.
    static func waitUntilCached<T: KubeObject>(_ names: [String], in informer: Informer<T>, namespace: String) async {
        var missing = names.filter { !$0.isEmpty }
        for _ in 0 ..< 100 {
            var still: [String] = []
            for n in missing where await informer.get(namespace: namespace, name: n) == nil { still.append(n) }
            missing = still
            if missing.isEmpty { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// The object name of a session's state: "<node>-<peer>" (deterministic, so a restart finds its own).
    static func sessionStateName(node: String, peer: String) -> String {
        String("\(node)-\(peer)".prefix(253))
    }

    private func writeSessionStates(snapshots: [BGPSessionSnapshot], refused: [String: String], peers: [API.BGPPeer]) async throws {
        let s = runtime.settings
        let client = runtime.client.resource(BGPSessionState.self, namespace: s.namespace)
        var wanted: [String: (peer: String, status: BGPSessionStateStatus)] = [:]
        for snap in snapshots {
            wanted[Self.sessionStateName(node: s.node, peer: snap.peerName)] = (snap.peerName, BGPSessionStateStatus(
                node: s.node, peer: snap.peerAddress.description, vrf: "", bgpStatus: snap.state.rawValue,
                bfdStatus: snap.bfd.map { "\($0)" } ?? BFDSessionStatus.notConfigured.rawValue, lastError: snap.lastError))
        }
        for (name, reason) in refused {
            let address = peers.first { $0.metadata.name == name }?.spec.peerAddress ?? ""
            wanted[Self.sessionStateName(node: s.node, peer: name)] = (name, BGPSessionStateStatus(
                node: s.node, peer: address, vrf: "", bgpStatus: BGPSessionFSMState.idle.rawValue,
                bfdStatus: BFDSessionStatus.notConfigured.rawValue, lastError: "not started: \(reason)"))
        }
        let existing = await sessionStates.list()
        for object in existing where wanted[object.metadata.name ?? ""] == nil {
            _ = try await client.deleteIfExists(object.metadata.name ?? "")
        }
        let owner = await ownerReference()
        for (name, want) in wanted.sorted(by: { $0.key < $1.key }) {
            let current = existing.first { $0.metadata.name == name }
            if current == nil {
                var o = BGPSessionState(metadata: ObjectMeta(name: name, namespace: s.namespace, labels: [
                    BGPStatusPlan.nodeLabel: s.node, "metallb.io/peer": want.peer,
                ]), spec: .object([:]))
                if let owner { o.metadata.ownerReferences = [owner] }
                o.setTypeMeta()
                _ = try await client.apply(o, name: name, fieldManager: "metallb-speaker", force: true)
            }
            guard current?.status != want.status else { continue }
            var o = BGPSessionState(metadata: ObjectMeta(name: name, namespace: s.namespace), status: want.status)
            o.setTypeMeta()
            _ = try await client.apply(o, name: name, fieldManager: "metallb-speaker", force: true, subresource: "status")
        }
    }

    func ownerReference() async -> OwnerReference? {
        let s = runtime.settings
        guard let pod = s.podName, let p = await pods.get(namespace: s.namespace, name: pod), let uid = p.metadata.uid else { return nil }
        return OwnerReference(apiVersion: "v1", kind: "Pod", name: pod, uid: uid)
    }
}
