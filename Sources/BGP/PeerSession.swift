import NetAddress
/// An action plus the connection it concerns (nil: the peer as a whole — ConnectRetry, IdleHold and Graceful
/// Restart timers, RIB actions of a session without a connection any more).
public struct PeerAction: Hashable, Sendable, CustomStringConvertible {
    public var connection: ConnectionID?
    public var action: BGPAction

    public init(_ connection: ConnectionID?, _ action: BGPAction) {
        self.connection = connection
        self.action = action
    }

    public var description: String { connection.map { "[\($0)] \(action)" } ?? "\(action)" }
}

/// One configured peer with up to two simultaneous connections (RFC 4271 §6.8 connection collision): the primary
/// machine, plus a secondary one for an inbound connection that arrives while the primary is already past
/// Active. When an OPEN arrives on one while the other is in OpenConfirm, the connection initiated by the speaker
/// with the higher BGP Identifier (RFC 6286 §2.3: the higher AS when identifiers are equal) is kept; the other gets
/// Cease / Connection Collision Resolution. A new connection colliding with an Established one is closed.
///
/// Timers: per-connection timers (Hold, Keepalive) are tagged with their connection and must be reported back with
/// it; the others are tagged nil.
public struct PeerSession: Sendable {
    public private(set) var primary: BGPStateMachine
    public private(set) var secondary: BGPStateMachine?
    private var serial: UInt64 = 1

    public init(config: BGPSessionConfig) {
        primary = BGPStateMachine(config: config)
    }

    public var config: BGPSessionConfig { primary.config }

    /// The most advanced state among the connections.
    public var state: BGPState {
        let order: [BGPState] = [.idle, .connect, .active, .openSent, .openConfirm, .established]
        guard let s = secondary else { return primary.state }
        return order.firstIndex(of: s.state)! > order.firstIndex(of: primary.state)! ? s.state : primary.state
    }

    public mutating func manualStart() -> [PeerAction] { run(primary: .manualStart) }
    public mutating func automaticStart() -> [PeerAction] { run(primary: .automaticStart) }

    /// ManualStop: both connections.
    public mutating func manualStop(shutdownCommunication: String? = nil) -> [PeerAction] {
        var out: [PeerAction] = []
        if secondary != nil { out += run(secondary: .manualStop(shutdownCommunication: shutdownCommunication)) }
        out += run(primary: .manualStop(shutdownCommunication: shutdownCommunication))
        return out
    }

    /// A timer started by an earlier action expired; pass the connection the start action was tagged with.
    public mutating func timerExpired(_ timer: BGPTimer, connection: ConnectionID? = nil) -> [PeerAction] {
        guard let connection else { return run(primary: .timerExpired(timer)) }
        return route(connection, .timerExpired(timer))
    }

    /// The outbound connection `id` (from a `.connect` action) is up.
    public mutating func outboundConnected(_ id: ConnectionID) -> [PeerAction] {
        guard primary.connectionID == id || secondary?.connectionID == id else {
            return [PeerAction(id, .closeConnection(id))]   // an attempt we already gave up
        }
        return route(id, .tcpConnectionAcked)
    }

    /// The peer connected to us. Returns the new connection's ID (to tag its socket) and the actions; when the
    /// connection is refused the actions close it.
    public mutating func inboundConnectionAccepted() -> (ConnectionID, [PeerAction]) {
        switch primary.state {
        case .connect, .active:
            let out = run(primary: .tcpConnectionConfirmed)
            return (primary.connectionID!, out)
        case .openSent, .openConfirm, .established:
            guard secondary == nil else { fallthrough }
            var s = primary.spawnSecondary()
            s.setNextSerial(serial)
            secondary = s
            let out = run(secondary: .tcpConnectionConfirmed)
            return (secondary?.connectionID ?? ConnectionID(serial: serial - 1, direction: .inbound), out)
        default:
            // Idle refuses every connection (RFC 4271 §8.2.2); a third connection is refused too.
            let id = ConnectionID(serial: serial, direction: .inbound)
            serial += 1
            return (id, [PeerAction(id, .closeConnection(id))])
        }
    }

    /// TCP connection `id` failed or was closed by the peer.
    public mutating func connectionFailed(_ id: ConnectionID) -> [PeerAction] { route(id, .tcpConnectionFails) }

    /// A decoded message on connection `id`. An OPEN first goes through collision detection (RFC 4271 §6.8).
    public mutating func received(_ message: BGPMessage, updateErrors: [UpdateErrorHandling] = [], on id: ConnectionID) -> [PeerAction] {
        switch message {
        case .open(let o): return openReceived(o, on: id)
        case .update(let u): return route(id, .updateReceived(u, errors: updateErrors))
        case .notification(let n): return route(id, .notificationReceived(n))
        case .keepalive: return route(id, .keepaliveReceived)
        case .routeRefresh(let r): return route(id, .routeRefreshReceived(r))
        }
    }

    /// A message on `id` failed to decode.
    public mutating func decodeFailed(_ error: BGPError, on id: ConnectionID) -> [PeerAction] { route(id, .messageError(error)) }

    /// We sent an UPDATE on `id`.
    public mutating func updateSent(on id: ConnectionID) -> [PeerAction] { route(id, .updateSent) }

    // MARK: Collision detection (RFC 4271 §6.8)

    private mutating func openReceived(_ open: OpenMessage, on id: ConnectionID) -> [PeerAction] {
        let onPrimary = primary.connectionID == id
        guard onPrimary || secondary?.connectionID == id else { return [] }
        guard let other = onPrimary ? secondary : primary,
              other.state == .openConfirm || other.state == .established,
              let otherNeg = other.negotiated, otherNeg.peerIdentifier == open.bgpIdentifier
        else { return route(id, .openReceived(open)) }

        let keepThis: Bool
        if other.state == .established {
            keepThis = false
        } else {
            let local = config.routerID.rawValue, remote = open.bgpIdentifier.rawValue
            // RFC 4271 §6.8 / RFC 6286 §2.3: the connection initiated by the higher identifier (then higher AS) wins.
            let localWins = local != remote ? local > remote : config.localAS > open.asNumber
            let winner: ConnectionDirection = localWins ? .outbound : .inbound
            if id.direction != other.connectionID?.direction {
                keepThis = id.direction == winner
            } else {
                keepThis = true   // two connections in the same direction: the newer one wins
            }
        }
        var out: [PeerAction] = []
        if keepThis {
            out += onPrimary ? run(secondary: .collisionDump) : run(primary: .collisionDump)
            out += route(id, .openReceived(open))
        } else {
            out += route(id, .collisionDump)
        }
        return out
    }

    // MARK: Plumbing

    private mutating func route(_ id: ConnectionID, _ e: BGPEvent) -> [PeerAction] {
        if primary.connectionID == id { return run(primary: e) }
        if secondary?.connectionID == id { return run(secondary: e) }
        return []   // stale: the connection is gone
    }

    private mutating func run(primary e: BGPEvent) -> [PeerAction] {
        primary.setNextSerial(serial)
        let before = primary.connectionID
        let acts = primary.handle(e)
        serial = max(serial, primary.nextSerial)
        var out = tag(acts, before: before, after: primary.connectionID)
        normalize(&out)
        return out
    }

    private mutating func run(secondary e: BGPEvent) -> [PeerAction] {
        guard var s = secondary else { return [] }
        s.setNextSerial(serial)
        let before = s.connectionID
        let acts = s.handle(e)
        serial = max(serial, s.nextSerial)
        secondary = s
        var out = tag(acts, before: before, after: s.connectionID)
        if !Self.live(s.state) {
            // The secondary is done: it never owns peer-level timers.
            out = out.filter {
                switch $0.action {
                case .startTimer(let t, _), .stopTimer(let t): t.isPerConnection
                default: true
                }
            }
        }
        normalize(&out)
        return out
    }

    private static func live(_ s: BGPState) -> Bool { s == .openSent || s == .openConfirm || s == .established }

    private func tag(_ acts: [BGPAction], before: ConnectionID?, after: ConnectionID?) -> [PeerAction] {
        acts.map { a in
            switch a {
            case .connect(let c), .closeConnection(let c): PeerAction(c, a)
            case .startTimer(let t, _) where !t.isPerConnection, .stopTimer(let t) where !t.isPerConnection: PeerAction(nil, a)
            default: PeerAction(after ?? before, a)
            }
        }
    }

    /// Drops a finished secondary; promotes it when the primary has no live connection any more.
    private mutating func normalize(_ out: inout [PeerAction]) {
        guard var s = secondary else { return }
        guard Self.live(s.state) else { secondary = nil; return }
        guard !Self.live(primary.state) else { return }
        if primary.state == .connect, let c = primary.connectionID { out.append(PeerAction(c, .closeConnection(c))) }
        for t in [BGPTimer.connectRetry, .idleHold] where primary.runningTimers.contains(t) {
            out.append(PeerAction(nil, .stopTimer(t)))
        }
        var old = primary
        old.dropTimers([.connectRetry, .idleHold])
        s.inheritPeerState(from: old)
        primary = s
        secondary = nil
    }
}
