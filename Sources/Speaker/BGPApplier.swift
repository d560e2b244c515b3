import BFD
import BGP
import Logging
import NetAddress
import Synchronization

/// What one BGP session of this node looks like now (for `BGPSessionState` and metrics).
public struct BGPSessionSnapshot: Hashable, Sendable {
    public var peerName: String
    public var peerAddress: IPAddress
    public var state: BGPState
    /// nil without BFD.
    public var bfd: BFDState?
    /// Why the session is not Established, in plain words (the last error, NOTIFICATION or refusal).
    public var lastError: String?
    public var prefixesSent: Int
    public var updatesSent: Int
    /// Prefixes the plan gives this session; those not yet sent are pending.
    public var prefixesWanted: Int = 0
    /// Times the BFD session came Up, and went from Up to down, since the speaker started.
    public var bfdUpEvents: UInt64 = 0
    public var bfdDownEvents: UInt64 = 0

    public init(peerName: String, peerAddress: IPAddress, state: BGPState, bfd: BFDState?, lastError: String?,
                prefixesSent: Int, updatesSent: Int, prefixesWanted: Int = 0, bfdUpEvents: UInt64 = 0, bfdDownEvents: UInt64 = 0) {
        self.peerName = peerName
        self.peerAddress = peerAddress
        self.state = state
        self.bfd = bfd
        self.lastError = lastError
        self.prefixesSent = prefixesSent
        self.updatesSent = updatesSent
        self.prefixesWanted = prefixesWanted
        self.bfdUpEvents = bfdUpEvents
        self.bfdDownEvents = bfdDownEvents
    }
}

/// Keeps this node's BGP sessions equal to the plan: opens new ones, re-establishes only those whose settings changed
/// (`PlannedSession.mustReestablish`), re-ties BFD when only its profile changed, closes the ones no longer planned
/// (Cease), and gives each session its routes. Session I/O and the Adj-RIB-Out diff are the `BGP` module's.
public actor BGPApplier {
    let speaker: BGPSpeaker
    let logger: Logger
    /// Called (on any thread) when something a status shows changed: a state, an error.
    let onChange: @Sendable () -> Void
    private var bfdEndpoint: BFDEndpoint?
    private var bfdLocal: String?
    private struct Running {
        var plan: PlannedSession
        var peer: BGPPeer
        var tie: PeerWithBFD?
        var bfdState: BFDState?
        /// How many prefixes the plan gives this session (what it should advertise).
        var wanted = 0
    }
    private var running: [String: Running] = [:]
    /// Peers refused by the plan, with the reason (shown as their session's lastError).
    private var refused: [String: String] = [:]
    private let bfdStates = BFDStates()

    public init(logger: Logger = Logger(label: "speaker.bgp"), onChange: @escaping @Sendable () -> Void) {
        speaker = BGPSpeaker(logger: logger)
        self.logger = logger
        self.onChange = onChange
    }

    /// Makes the running sessions and their routes match `sessions` and `table`. `bfdLocalAddress`: this node's
    /// address for the BFD endpoint (UDP 3784), opened when a session first needs it.
    public func apply(sessions: [PlannedSession], refused newRefused: [RefusedPeer], table: BGPRouteTable, bfdLocalAddress: IPAddress?) async {
        refused = Dictionary(newRefused.map { ($0.peerName, $0.reason) }, uniquingKeysWith: { a, _ in a })
        let wanted = Dictionary(sessions.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        for (id, r) in running where wanted[id] == nil || wanted[id]!.mustReestablish(comparedTo: r.plan) {
            await close(id, reason: wanted[id] == nil ? "no longer configured for this node" : "its settings changed")
        }
        for session in sessions.sorted(by: { $0.id < $1.id }) {
            if var r = running[session.id] {
                if r.plan.bfd != session.bfd {
                    await r.tie?.stop()
                    r.tie = await tie(r.peer, session, bfdLocalAddress)
                    r.bfdState = nil
                }
                r.plan = session
                running[session.id] = r
            } else {
                await open(session, bfdLocalAddress)
            }
            let routes = table.routes(for: session)
            running[session.id]?.wanted = routes.count
            running[session.id]?.peer.setRoutes(routes)
        }
    }

    private func open(_ session: PlannedSession, _ bfdLocal: IPAddress?) async {
        let onChange = self.onChange
        let logger = self.logger
        let name = session.peerName
        do {
            let peer = try await speaker.addPeer(session.peerConfig) { event in
                switch event {
                case .established, .down, .notificationReceived, .notificationSent, .transportError, .pathDown:
                    logger.info("bgp", metadata: ["peer": "\(name)", "event": "\(event)"])
                    onChange()
                case .stateChanged:
                    onChange()
                default:
                    break
                }
            }
            running[session.id] = Running(plan: session, peer: peer, tie: await tie(peer, session, bfdLocal))
            logger.info("bgp session opened", metadata: ["session": "\(session)"])
        } catch {
            refused[session.peerName] = "could not open the session: \(error)"
            logger.warning("bgp session not opened", metadata: ["peer": "\(name)", "error": "\(error)"])
        }
    }

    private func tie(_ peer: BGPPeer, _ session: PlannedSession, _ local: IPAddress?) async -> PeerWithBFD? {
        guard let bfd = session.bfd else { return nil }
        guard let endpoint = bfdEndpointFor(local ?? session.sourceAddress) else { return nil }
        let states = bfdStates, onChange = self.onChange, name = session.peerName
        do {
            return try await PeerWithBFD(peer: peer, endpoint: endpoint, peerAddress: session.peerAddress, parameters: bfd.parameters) { change in
                states.set(name, change.new)
                onChange()
            }
        } catch {
            refused[session.peerName] = "BFD profile \(bfd.profile): \(error)"
            return nil
        }
    }

    private func bfdEndpointFor(_ local: IPAddress?) -> BFDEndpoint? {
        guard let local else {
            logger.warning("BFD needs this node's address: none known")
            return nil
        }
        if let e = bfdEndpoint, bfdLocal == local.description { return e }
        do {
            let e = try BFDEndpoint(localAddress: local.description)
            bfdEndpoint = e
            bfdLocal = local.description
            return e
        } catch {
            logger.warning("BFD endpoint", metadata: ["address": "\(local)", "error": "\(error)"])
            return nil
        }
    }

    private func close(_ id: String, reason: String, forRestart: Bool = false) async {
        guard let r = running.removeValue(forKey: id) else { return }
        await r.tie?.stop()
        if forRestart && r.plan.gracefulRestart {
            try? await r.peer.stopForRestart().get()
        } else {
            try? await r.peer.shutdown(shutdownCommunication: "metallb: \(reason)")
        }
        try? await speaker.removePeer(r.plan.peerAddress).get()
        bfdStates.set(r.plan.peerName, nil)
        logger.info("bgp session closed", metadata: ["peer": "\(r.plan.peerName)", "reason": "\(reason)"])
    }

    /// Every planned session's state, and the refused peers (state Idle, with their reason).
    public func snapshot() async -> [BGPSessionSnapshot] {
        var out: [BGPSessionSnapshot] = []
        for (_, r) in running.sorted(by: { $0.key < $1.key }) {
            guard let s = try? await r.peer.currentStatus() else { continue }
            let updates = s.messagesSent[.update] ?? 0
            out.append(BGPSessionSnapshot(
                peerName: r.plan.peerName, peerAddress: r.plan.peerAddress, state: s.state,
                bfd: r.plan.bfd == nil ? nil : (bfdStates.get(r.plan.peerName) ?? .down),
                lastError: s.state == .established ? nil : (refused[r.plan.peerName] ?? s.lastError ?? s.lastDown.map { "\($0)" }),
                prefixesSent: s.prefixesSent, updatesSent: updates, prefixesWanted: r.wanted,
                bfdUpEvents: bfdStates.events(r.plan.peerName).ups, bfdDownEvents: bfdStates.events(r.plan.peerName).downs))
        }
        return out
    }

    /// The refused peers (not running), with their reasons.
    public func refusedPeers() -> [String: String] { refused.filter { running[$0.key] == nil } }

    /// Closes every session and the BFD endpoint: with a Cease NOTIFICATION (the peer withdraws our routes at once),
    /// or, for a peer with `enableGracefulRestart`, by closing the connection alone (RFC 4724): a router that
    /// negotiated graceful restart keeps our routes until the speaker is back and has sent them again.
    public func stop() async {
        for id in running.keys.sorted() { await close(id, reason: "the speaker stops", forRestart: true) }
        await bfdEndpoint?.stop()
        bfdEndpoint = nil
        await speaker.close()
    }
}

/// BFD states by peer name, written from BFD's callbacks, and how often each session came Up and went down
/// (kept across re-ties, as counters are).
final class BFDStates: Sendable {
    private let states = Mutex<(current: [String: BFDState], ups: [String: UInt64], downs: [String: UInt64])>(([:], [:], [:]))
    func set(_ peer: String, _ state: BFDState?) {
        states.withLock { s in
            let old = s.current[peer]
            if state == .up, old != .up { s.ups[peer, default: 0] += 1 }
            if old == .up, state != nil, state != .up { s.downs[peer, default: 0] += 1 }
            s.current[peer] = state
        }
    }
    func get(_ peer: String) -> BFDState? { states.withLock { $0.current[peer] } }
    func events(_ peer: String) -> (ups: UInt64, downs: UInt64) { states.withLock { ($0.ups[peer] ?? 0, $0.downs[peer] ?? 0) } }
}
