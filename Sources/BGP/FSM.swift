import NetAddress
/// The six BGP FSM states (RFC 4271 §8.2.2).
public enum BGPState: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case idle = "Idle"
    case connect = "Connect"
    case active = "Active"
    case openSent = "OpenSent"
    case openConfirm = "OpenConfirm"
    case established = "Established"

    public var description: String { rawValue }
}

/// Timers the FSM asks the caller to run (RFC 4271 §8.1.3, §10; RFC 4724 §4.2).
public enum BGPTimer: String, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    /// ConnectRetryTimer (RFC 4271 §8.1.3).
    case connectRetry
    /// HoldTimer (RFC 4271 §8.1.3).
    case hold
    /// KeepaliveTimer (RFC 4271 §8.1.3).
    case keepalive
    /// IdleHoldTimer: delay before AutomaticStart after an error, with backoff (RFC 4271 §8.1.1, event 13).
    case idleHold
    /// The peer's Restart Time: stale routes die when it fires (RFC 4724 §4.2).
    case gracefulRestart
    /// Local limit on stale routes after the peer came back (RFC 4724 §4.2).
    case stalePath

    /// Per-connection timers (keyed by connection in `PeerSession`); the others, ConnectRetry included (it also
    /// runs in Active, with no connection), belong to the peer.
    public var isPerConnection: Bool { self == .hold || self == .keepalive }

    /// RFC 4271 §10: ConnectRetry and Keepalive intervals get jitter (the IdleHold backoff too); Hold never does.
    public var appliesJitter: Bool { self == .connectRetry || self == .keepalive || self == .idleHold }

    /// RFC 4271 §10 jitter: `base` scaled by a factor in 0.75...1.0; `fraction` is the caller's random number in 0...1.
    public static func jittered(_ base: Duration, fraction: Double) -> Duration {
        base * (0.75 + 0.25 * min(max(fraction, 0), 1))
    }

    public var description: String {
        switch self {
        case .connectRetry: "ConnectRetryTimer"
        case .hold: "HoldTimer"
        case .keepalive: "KeepaliveTimer"
        case .idleHold: "IdleHoldTimer"
        case .gracefulRestart: "GracefulRestartTimer"
        case .stalePath: "StalePathTimer"
        }
    }
}

/// Who opened a TCP connection.
public enum ConnectionDirection: String, Hashable, Sendable, CustomStringConvertible {
    case outbound, inbound
    public var description: String { rawValue }
}

/// Identifies one TCP connection of a peer (serial number + direction).
public struct ConnectionID: Hashable, Sendable, CustomStringConvertible {
    public var serial: UInt64
    public var direction: ConnectionDirection
    public init(serial: UInt64, direction: ConnectionDirection) { self.serial = serial; self.direction = direction }
    public var description: String { "\(direction)#\(serial)" }
}

/// FSM inputs (RFC 4271 §8.1; event numbers in the doc comments). DelayOpen (events 12, 20) is not implemented.
public enum BGPEvent: Hashable, Sendable, CustomStringConvertible {
    /// Event 1 ManualStart (active: initiate TCP, or passive when `config.passive`).
    case manualStart
    /// Event 4 ManualStart_with_PassiveTcpEstablishment.
    case manualStartPassive
    /// Event 2 ManualStop, with an optional RFC 9003 Shutdown Communication.
    case manualStop(shutdownCommunication: String?)
    /// Event 3/5 AutomaticStart (passive variant when `config.passive`).
    case automaticStart
    /// Events 9 (ConnectRetry), 10 (Hold), 11 (Keepalive), 13 (IdleHold), plus the RFC 4724 timers.
    case timerExpired(BGPTimer)
    /// Event 16 Tcp_CR_Acked: our outbound connection succeeded.
    case tcpConnectionAcked
    /// Event 17 TcpConnectionConfirmed: an inbound connection from the peer was accepted.
    case tcpConnectionConfirmed
    /// Event 18 TcpConnectionFails.
    case tcpConnectionFails
    /// Event 19 BGPOpen (decoded; the FSM performs the §6.2 checks that need configuration).
    case openReceived(OpenMessage)
    /// Events 21 BGPHeaderErr, 22 BGPOpenMsgErr, 28 UpdateMsgErr (and ROUTE-REFRESH errors): the decoder's error.
    case messageError(BGPError)
    /// Events 24 NotifMsgVerErr / 25 NotifMsg.
    case notificationReceived(NotificationMessage)
    /// Event 26 KeepAliveMsg.
    case keepaliveReceived
    /// Event 27 UpdateMsg, with the RFC 7606 handlings applied while decoding.
    case updateReceived(UpdateMessage, errors: [UpdateErrorHandling])
    /// ROUTE-REFRESH received (RFC 2918 §4, RFC 7313).
    case routeRefreshReceived(RouteRefreshMessage)
    /// Event 23 OpenCollisionDump: this connection lost collision resolution (RFC 4271 §6.8).
    case collisionDump
    /// We sent an UPDATE: restarts the KeepaliveTimer (RFC 4271 §8.2.2 Established).
    case updateSent

    public var description: String {
        switch self {
        case .manualStart: "ManualStart"
        case .manualStartPassive: "ManualStart_with_PassiveTcpEstablishment"
        case .manualStop(let c): "ManualStop" + (c.map { " (\"\($0)\")" } ?? "")
        case .automaticStart: "AutomaticStart"
        case .timerExpired(let t): "\(t)_Expires"
        case .tcpConnectionAcked: "Tcp_CR_Acked"
        case .tcpConnectionConfirmed: "TcpConnectionConfirmed"
        case .tcpConnectionFails: "TcpConnectionFails"
        case .openReceived: "BGPOpen"
        case .messageError(let e):
            switch e.code {
            case .messageHeaderError: "BGPHeaderErr"
            case .openMessageError: "BGPOpenMsgErr"
            case .updateMessageError: "UpdateMsgErr"
            default: "MessageErr"
            }
        case .notificationReceived(let n): isVersionError(n) ? "NotifMsgVerErr" : "NotifMsg"
        case .keepaliveReceived: "KeepAliveMsg"
        case .updateReceived: "UpdateMsg"
        case .routeRefreshReceived: "RouteRefreshMsg"
        case .collisionDump: "OpenCollisionDump"
        case .updateSent: "UpdateSent"
        }
    }
}

/// NOTIFICATION OPEN Message Error / Unsupported Version Number (RFC 4271 §8.1.2 event 24).
func isVersionError(_ n: NotificationMessage) -> Bool {
    n.code == NotificationCode.openMessageError.rawValue && n.subcode == OpenSubcode.unsupportedVersionNumber.rawValue
}

/// Why an Established session ended.
public enum SessionDownReason: Hashable, Sendable, CustomStringConvertible {
    /// We sent this NOTIFICATION (protocol error found in the peer's input, FSM error, collision …).
    case notificationSent(NotificationMessage)
    /// The peer sent this NOTIFICATION.
    case notificationReceived(NotificationMessage)
    /// No KEEPALIVE/UPDATE within the hold time (we sent Hold Timer Expired).
    case holdTimerExpired(holdTime: UInt16)
    /// TCP closed or failed without a NOTIFICATION.
    case connectionFailed
    /// ManualStop (we sent this Cease).
    case manualStop(NotificationMessage)

    public var description: String {
        switch self {
        case .notificationSent(let n): "sent NOTIFICATION \(n)"
        case .notificationReceived(let n): "peer sent NOTIFICATION \(n)"
        case .holdTimerExpired(let h): "hold timer expired (nothing heard from the peer for \(h)s); sent NOTIFICATION Hold Timer Expired"
        case .connectionFailed: "TCP connection closed or failed without a NOTIFICATION"
        case .manualStop(let n): "stopped by the operator; sent NOTIFICATION \(n)"
        }
    }
}

/// What the RIB must do with the peer's routes when the session goes down.
public enum RouteDisposition: Hashable, Sendable, CustomStringConvertible {
    /// Withdraw everything learned from the peer.
    case withdrawAll
    /// The peer is restarting (RFC 4724 §4.2): keep its routes for `families`, marked stale, for at most
    /// `restartTime`; other families are withdrawn. A later `.purgeStaleRoutes` says when to drop them.
    case retainStale(families: [AFISAFI], restartTime: Duration)

    public var description: String {
        switch self {
        case .withdrawAll: "withdraw all routes from the peer"
        case .retainStale(let f, let t): "peer restarting: keep its \(f.map(\.description).joined(separator: ", ")) routes as stale for up to \(t)"
        }
    }
}

/// The session left Established.
public struct SessionDown: Hashable, Sendable, CustomStringConvertible {
    public var reason: SessionDownReason
    public var routes: RouteDisposition
    public var description: String { "\(reason); \(routes)" }
}

/// One state transition, for logs and `metallb diagnose bgp`.
public struct StateChange: Hashable, Sendable, CustomStringConvertible {
    public var from: BGPState
    public var to: BGPState
    /// The RFC 4271 event name.
    public var event: String
    /// Plain-words explanation.
    public var reason: String
    public var description: String { "\(from) → \(to) on \(event): \(reason)" }
}

/// What the caller must do (in order).
public enum BGPAction: Hashable, Sendable, CustomStringConvertible {
    /// Open a TCP connection to the peer (port 179); report its outcome for this ID.
    case connect(ConnectionID)
    /// Close this TCP connection (or abort this connection attempt).
    case closeConnection(ConnectionID)
    case sendOpen(OpenMessage)
    case sendKeepalive
    case sendNotification(NotificationMessage)
    /// (Re)start `timer` with this base duration (apply jitter if `timer.appliesJitter`).
    case startTimer(BGPTimer, Duration)
    case stopTimer(BGPTimer)
    /// Hand an UPDATE to the RIB (decode it with `codecContext`); `errors` are its RFC 7606 handlings.
    case deliverUpdate(UpdateMessage, errors: [UpdateErrorHandling])
    /// The peer asked for our routes again (RFC 2918 §4; subtype per RFC 7313).
    case deliverRouteRefresh(RouteRefreshMessage)
    /// The peer finished its initial UPDATEs for this family (End-of-RIB, RFC 4724 §2).
    case endOfRIB(AFISAFI)
    case sessionEstablished(NegotiatedSession)
    case sessionDown(SessionDown)
    /// Delete the peer's routes still marked stale for these families (RFC 4724 §4.2).
    case purgeStaleRoutes([AFISAFI])
    /// Free per-connection resources (RFC 4271 "releases all BGP resources").
    case releaseResources
    case stateChanged(StateChange)

    public var description: String {
        switch self {
        case .connect(let c): "connect (\(c))"
        case .closeConnection(let c): "close connection \(c)"
        case .sendOpen(let o): "send OPEN (AS \(o.asNumber), hold \(o.holdTime)s, id \(o.bgpIdentifier))"
        case .sendKeepalive: "send KEEPALIVE"
        case .sendNotification(let n): "send NOTIFICATION \(n)"
        case .startTimer(let t, let d): "start \(t) \(d)"
        case .stopTimer(let t): "stop \(t)"
        case .deliverUpdate(let u, _): "deliver UPDATE (+\(u.announcedPrefixes.count) −\(u.withdrawnPrefixes.count))"
        case .deliverRouteRefresh(let r): "route refresh requested for \(r.afiSafi)"
        case .endOfRIB(let f): "End-of-RIB for \(f)"
        case .sessionEstablished(let s): "session established: \(s)"
        case .sessionDown(let d): "session down: \(d)"
        case .purgeStaleRoutes(let f): "purge stale routes for \(f.map(\.description).joined(separator: ", "))"
        case .releaseResources: "release resources"
        case .stateChanged(let c): "\(c)"
        }
    }
}

/// The BGP finite state machine of one peer connection (RFC 4271 §8) as a pure value: each input returns the
/// actions to perform; no I/O, no clock. Timers are started/stopped through actions and come back as
/// `.timerExpired`; an expiry for a timer the machine does not consider running is ignored (stale timer race).
///
/// Beyond RFC 4271: OPEN negotiation (`NegotiatedSession`), IdleHold backoff after errors, RFC 6608 FSM error
/// subcodes, Graceful Restart receiving-speaker procedures (RFC 4724 §4.2, RFC 8538) and End-of-RIB tracking.
/// Collision detection across two connections lives in `PeerSession`.
public struct BGPStateMachine: Sendable {
    public let config: BGPSessionConfig
    public private(set) var state: BGPState = .idle
    /// RFC 4271 §8 ConnectRetryCounter.
    public private(set) var connectRetryCounter = 0
    /// Consecutive failures since the last Established or ManualStart; drives the IdleHold backoff.
    public private(set) var consecutiveFailures = 0
    /// The current TCP connection (or outbound attempt), if any.
    public private(set) var connectionID: ConnectionID?
    /// The negotiated parameters from OpenConfirm on; kept after the session goes down, for diagnostics.
    public private(set) var negotiated: NegotiatedSession?
    /// Timers the machine has started and not stopped or seen expire.
    public private(set) var runningTimers: Set<BGPTimer> = []
    /// Families whose End-of-RIB has not arrived yet in this Established session (only when the peer does GR).
    public private(set) var pendingEndOfRIB: Set<AFISAFI> = []
    /// The peer's routes kept as stale after it restarted (RFC 4724 §4.2).
    public private(set) var staleFamilies: Set<AFISAFI> = []
    /// ManualStop was the last administrative input: no automatic restarts.
    public private(set) var administrativelyDown = true
    /// The last transition, for diagnostics.
    public private(set) var lastChange: StateChange?
    /// The last error that took the machine to Idle, for diagnostics.
    public private(set) var lastError: String?

    var nextSerial: UInt64 = 1

    public init(config: BGPSessionConfig) {
        self.config = config
    }

    /// The OPEN this machine sends.
    public var localOpen: OpenMessage { config.openMessage() }

    /// How to decode this session's UPDATEs.
    public var codecContext: CodecContext { negotiated?.codecContext ?? CodecContext(fourOctetAS: config.fourOctetAS) }

    /// Established and every expected End-of-RIB received.
    public var initialUpdatesComplete: Bool { state == .established && pendingEndOfRIB.isEmpty }

    // MARK: Convenience inputs

    public mutating func manualStart() -> [BGPAction] { handle(.manualStart) }
    public mutating func manualStartPassive() -> [BGPAction] { handle(.manualStartPassive) }
    public mutating func manualStop(shutdownCommunication: String? = nil) -> [BGPAction] {
        handle(.manualStop(shutdownCommunication: shutdownCommunication))
    }
    public mutating func automaticStart() -> [BGPAction] { handle(.automaticStart) }
    public mutating func timerExpired(_ t: BGPTimer) -> [BGPAction] { handle(.timerExpired(t)) }
    public mutating func tcpConnectionAcked() -> [BGPAction] { handle(.tcpConnectionAcked) }
    public mutating func tcpConnectionConfirmed() -> [BGPAction] { handle(.tcpConnectionConfirmed) }
    public mutating func tcpConnectionFails() -> [BGPAction] { handle(.tcpConnectionFails) }

    /// A decoded message from the peer.
    public mutating func received(_ message: BGPMessage, updateErrors: [UpdateErrorHandling] = []) -> [BGPAction] {
        switch message {
        case .open(let o): handle(.openReceived(o))
        case .update(let u): handle(.updateReceived(u, errors: updateErrors))
        case .notification(let n): handle(.notificationReceived(n))
        case .keepalive: handle(.keepaliveReceived)
        case .routeRefresh(let r): handle(.routeRefreshReceived(r))
        }
    }

    /// A message that failed to decode (or a framing error): the NOTIFICATION is in the error.
    public mutating func decodeFailed(_ error: BGPError) -> [BGPAction] { handle(.messageError(error)) }

    // MARK: The FSM

    /// Processes one event (RFC 4271 §8.2.2).
    public mutating func handle(_ event: BGPEvent) -> [BGPAction] {
        var a: [BGPAction] = []
        if case .timerExpired(let t) = event {
            guard runningTimers.remove(t) != nil else { return [] }   // stale expiry
            switch t {
            case .idleHold:
                if state == .idle { start(passive: config.passive, automatic: true, event, &a) }
                return a
            case .gracefulRestart:
                purgeAllStale("the peer did not come back within its restart time", &a)
                return a
            case .stalePath:
                purgeAllStale("the peer did not send End-of-RIB in time", &a)
                return a
            default: break
            }
        }
        switch state {
        case .idle: idle(event, &a)
        case .connect: connect(event, &a)
        case .active: active(event, &a)
        case .openSent: openSent(event, &a)
        case .openConfirm: openConfirm(event, &a)
        case .established: established(event, &a)
        }
        return a
    }

    /// Idle (RFC 4271 §8.2.2): only start events do anything; everything else is ignored.
    private mutating func idle(_ e: BGPEvent, _ a: inout [BGPAction]) {
        switch e {
        case .manualStart: start(passive: config.passive, automatic: false, e, &a)
        case .manualStartPassive: start(passive: true, automatic: false, e, &a)
        case .automaticStart:
            guard !administrativelyDown else { return }
            start(passive: config.passive, automatic: true, e, &a)
        case .manualStop:
            administrativelyDown = true
            stop(.idleHold, &a)
        default: break
        }
    }

    /// Idle + ManualStart/AutomaticStart (events 1, 3, 4, 5): ConnectRetryCounter = 0, start ConnectRetryTimer,
    /// initiate TCP (active) and go to Connect, or only listen (passive) and go to Active.
    private mutating func start(passive: Bool, automatic: Bool, _ e: BGPEvent, _ a: inout [BGPAction]) {
        if !automatic {
            administrativelyDown = false
            consecutiveFailures = 0
        }
        stop(.idleHold, &a)
        connectRetryCounter = 0
        startTimer(.connectRetry, config.connectRetryTime, &a)
        let how = automatic ? "automatic restart" : "started by the operator"
        if passive {
            transition(.active, e, "\(how); waiting for the peer to connect (passive)", &a)
        } else {
            let c = newConnection(.outbound)
            connectionID = c
            a.append(.connect(c))
            transition(.connect, e, "\(how); connecting to the peer", &a)
        }
    }

    /// Connect (RFC 4271 §8.2.2).
    private mutating func connect(_ e: BGPEvent, _ a: inout [BGPAction]) {
        switch e {
        case .manualStart, .manualStartPassive, .automaticStart, .updateSent: break
        case .manualStop:
            toIdle(e, "stopped by the operator", admin: true, &a)
        case .timerExpired(.connectRetry):
            // Drop the attempt, restart the timer, try again.
            if let old = connectionID { a.append(.closeConnection(old)) }
            let c = newConnection(.outbound)
            connectionID = c
            startTimer(.connectRetry, config.connectRetryTime, &a)
            a.append(.connect(c))
        case .tcpConnectionAcked:
            connectionEstablished(.outbound, e, &a)
        case .tcpConnectionConfirmed:
            // The peer connected first: use its connection, abandon ours.
            if let old = connectionID { a.append(.closeConnection(old)) }
            connectionEstablished(.inbound, e, &a)
        case .tcpConnectionFails:
            // RFC 4271: stop ConnectRetryTimer, drop, release, Idle (ConnectRetryCounter unchanged).
            toIdle(e, "could not connect to the peer", countRetry: false, &a)
        default:
            toIdle(e, "unexpected \(e) while connecting", &a)
        }
    }

    /// Active (RFC 4271 §8.2.2).
    private mutating func active(_ e: BGPEvent, _ a: inout [BGPAction]) {
        switch e {
        case .manualStart, .manualStartPassive, .automaticStart, .updateSent: break
        case .manualStop:
            toIdle(e, "stopped by the operator", admin: true, &a)
        case .timerExpired(.connectRetry):
            startTimer(.connectRetry, config.connectRetryTime, &a)
            // A passive peer never initiates (RFC 4271 §8.1.1 PassiveTcpEstablishment); keep listening.
            guard !config.passive else { return }
            let c = newConnection(.outbound)
            connectionID = c
            a.append(.connect(c))
            transition(.connect, e, "connect retry timer expired; connecting to the peer", &a)
        case .tcpConnectionAcked:
            connectionEstablished(.outbound, e, &a)
        case .tcpConnectionConfirmed:
            connectionEstablished(.inbound, e, &a)
        case .tcpConnectionFails:
            toIdle(e, "TCP connection failed", &a)
        default:
            toIdle(e, "unexpected \(e) while waiting for a connection", &a)
        }
    }

    /// Connect/Active + TCP up: stop ConnectRetryTimer, send OPEN, HoldTimer = large value, OpenSent.
    private mutating func connectionEstablished(_ dir: ConnectionDirection, _ e: BGPEvent, _ a: inout [BGPAction]) {
        if dir == .inbound || connectionID?.direction != .outbound { connectionID = newConnection(dir) }
        stop(.connectRetry, &a)
        a.append(.sendOpen(localOpen))
        startTimer(.hold, .seconds(Int(config.largeHoldTime)), &a)
        transition(.openSent, e, "\(dir == .outbound ? "connected to the peer" : "accepted the peer's connection"); OPEN sent, waiting for the peer's OPEN", &a)
    }

    /// OpenSent (RFC 4271 §8.2.2).
    private mutating func openSent(_ e: BGPEvent, _ a: inout [BGPAction]) {
        switch e {
        case .manualStart, .manualStartPassive, .automaticStart, .tcpConnectionAcked, .tcpConnectionConfirmed, .updateSent:
            break   // a second connection is `PeerSession`'s business
        case .manualStop(let text):
            manualStop(text, e, &a)
        case .timerExpired(.hold):
            toIdle(e, "the peer sent no OPEN within \(config.largeHoldTime)s", notify: NotificationMessage(.holdTimerExpired), &a)
        case .tcpConnectionFails:
            // RFC 4271: close, restart ConnectRetryTimer, keep listening, Active.
            if let old = connectionID { a.append(.closeConnection(old)) }
            connectionID = nil
            stop(.hold, &a)
            startTimer(.connectRetry, config.connectRetryTime, &a)
            transition(.active, e, "the connection closed before the peer's OPEN", &a)
        case .openReceived(let open):
            do {
                let n = try NegotiatedSession.negotiate(config: config, localOpen: localOpen, peerOpen: open)
                negotiated = n
                stop(.connectRetry, &a)
                a.append(.sendKeepalive)
                stop(.hold, &a)
                if n.holdTime > 0 {
                    startTimer(.keepalive, .seconds(Int(n.keepaliveTime)), &a)
                    startTimer(.hold, .seconds(Int(n.holdTime)), &a)
                }
                transition(.openConfirm, e, "received an acceptable OPEN (\(n)); KEEPALIVE sent", &a)
            } catch {
                toIdle(e, "the peer's OPEN was refused: \(error)", notify: error.notification, &a)
            }
        case .messageError(let err):
            toIdle(e, "the peer sent a malformed message: \(err)", notify: err.notification, &a)
        case .notificationReceived(let n):
            toIdle(e, "the peer sent NOTIFICATION \(n)", countRetry: !isVersionError(n), &a)
        case .collisionDump:
            collisionDump(e, &a)
        default:
            fsmError(.unexpectedMessageInOpenSent, e, &a)
        }
    }

    /// OpenConfirm (RFC 4271 §8.2.2).
    private mutating func openConfirm(_ e: BGPEvent, _ a: inout [BGPAction]) {
        switch e {
        case .manualStart, .manualStartPassive, .automaticStart, .tcpConnectionAcked, .tcpConnectionConfirmed, .updateSent:
            break
        case .manualStop(let text):
            manualStop(text, e, &a)
        case .timerExpired(.hold):
            toIdle(e, "no KEEPALIVE from the peer within \(negotiated?.holdTime ?? 0)s", notify: NotificationMessage(.holdTimerExpired), &a)
        case .timerExpired(.keepalive):
            a.append(.sendKeepalive)
            startTimer(.keepalive, .seconds(Int(negotiated?.keepaliveTime ?? 0)), &a)
        case .tcpConnectionFails:
            toIdle(e, "the connection closed before the session came up", &a)
        case .notificationReceived(let n):
            toIdle(e, "the peer sent NOTIFICATION \(n)", countRetry: !isVersionError(n), &a)
        case .messageError(let err):
            toIdle(e, "the peer sent a malformed message: \(err)", notify: err.notification, &a)
        case .collisionDump:
            collisionDump(e, &a)
        case .keepaliveReceived:
            guard let n = negotiated else { return }
            if n.holdTime > 0 { startTimer(.hold, .seconds(Int(n.holdTime)), &a) }
            consecutiveFailures = 0
            lastError = nil
            pendingEndOfRIB = n.peerGracefulRestart != nil ? Set(n.families) : []
            transition(.established, e, "the peer confirmed our OPEN; session established (\(n))", &a)
            a.append(.sessionEstablished(n))
            reconcileStaleRoutes(n, &a)
        default:
            fsmError(.unexpectedMessageInOpenConfirm, e, &a)
        }
    }

    /// Established (RFC 4271 §8.2.2).
    private mutating func established(_ e: BGPEvent, _ a: inout [BGPAction]) {
        let n = negotiated
        switch e {
        case .manualStart, .manualStartPassive, .automaticStart, .tcpConnectionAcked, .tcpConnectionConfirmed:
            break
        case .manualStop(let text):
            manualStop(text, e, &a)
        case .timerExpired(.hold):
            let h = n?.holdTime ?? 0
            toIdle(e, "no KEEPALIVE or UPDATE from the peer within \(h)s", notify: NotificationMessage(.holdTimerExpired),
                   down: .holdTimerExpired(holdTime: h), &a)
        case .timerExpired(.keepalive):
            a.append(.sendKeepalive)
            startTimer(.keepalive, .seconds(Int(n?.keepaliveTime ?? 0)), &a)
        case .updateSent:
            if let n, n.holdTime > 0 { startTimer(.keepalive, .seconds(Int(n.keepaliveTime)), &a) }
        case .tcpConnectionFails:
            toIdle(e, "the TCP connection closed without a NOTIFICATION", down: .connectionFailed, &a)
        case .notificationReceived(let msg):
            toIdle(e, "the peer sent NOTIFICATION \(msg)", down: .notificationReceived(msg), &a)
        case .keepaliveReceived:
            if let n, n.holdTime > 0 { startTimer(.hold, .seconds(Int(n.holdTime)), &a) }
        case .updateReceived(let u, let errors):
            if let n, n.holdTime > 0 { startTimer(.hold, .seconds(Int(n.holdTime)), &a) }
            if let f = u.endOfRIB, errors.isEmpty {
                pendingEndOfRIB.remove(f)
                a.append(.endOfRIB(f))
                if staleFamilies.remove(f) != nil {
                    a.append(.purgeStaleRoutes([f]))
                    if staleFamilies.isEmpty { stop(.stalePath, &a) }
                }
            } else {
                a.append(.deliverUpdate(u, errors: errors))
            }
        case .routeRefreshReceived(let r):
            // RFC 2918 §4: ignore a refresh for a family we did not advertise (or without the capability).
            if let n, config.routeRefresh || config.enhancedRouteRefresh, n.families.contains(r.afiSafi) {
                a.append(.deliverRouteRefresh(r))
            }
        case .messageError(let err):
            toIdle(e, "the peer sent a malformed message: \(err)", notify: err.notification, down: .notificationSent(err.notification), &a)
        case .collisionDump:
            collisionDump(e, &a)
        default:
            fsmError(.unexpectedMessageInEstablished, e, &a)
        }
    }

    // MARK: Shared transitions

    /// ManualStop in OpenSent/OpenConfirm/Established: Cease / Administrative Shutdown (RFC 4486, RFC 9003); with
    /// the N bit negotiated it is wrapped in Cease / Hard Reset so the peer does not keep our routes (RFC 8538 §3).
    private mutating func manualStop(_ text: String?, _ e: BGPEvent, _ a: inout [BGPAction]) {
        var n = NotificationMessage.cease(.administrativeShutdown, shutdownCommunication: text)
        if negotiated?.gracefulNotification == true, state == .established {
            n = NotificationMessage(.cease, subcode: CeaseSubcode.hardReset.rawValue, data: [n.code, n.subcode] + n.data)
        }
        toIdle(e, "stopped by the operator", notify: n, down: .manualStop(n), admin: true, &a)
    }

    /// Unexpected message or event: NOTIFICATION Finite State Machine Error with the RFC 6608 subcode.
    private mutating func fsmError(_ sub: FSMSubcode, _ e: BGPEvent, _ a: inout [BGPAction]) {
        let n = NotificationMessage(.finiteStateMachineError, subcode: sub.rawValue)
        toIdle(e, "unexpected \(e) in \(state)", notify: n, down: .notificationSent(n), &a)
    }

    /// Event 23 OpenCollisionDump: Cease / Connection Collision Resolution, Idle, no automatic restart (the other
    /// connection carries on).
    private mutating func collisionDump(_ e: BGPEvent, _ a: inout [BGPAction]) {
        let n = NotificationMessage.cease(.connectionCollisionResolution)
        toIdle(e, "connection collision: the other connection to this peer is kept", notify: n, down: .notificationSent(n),
               restart: false, &a)
    }

    /// Every path to Idle: optional NOTIFICATION, close, stop per-connection timers, session-down report (with
    /// Graceful Restart retention when it applies), release, counters, then the IdleHold backoff timer.
    private mutating func toIdle(_ e: BGPEvent, _ why: String, notify: NotificationMessage? = nil,
                                 down: SessionDownReason = .connectionFailed, countRetry: Bool = true, admin: Bool = false,
                                 restart: Bool = true, _ a: inout [BGPAction]) {
        let wasEstablished = state == .established
        if let notify { a.append(.sendNotification(notify)) }
        if let old = connectionID { a.append(.closeConnection(old)) }
        connectionID = nil
        for t in [BGPTimer.connectRetry, .hold, .keepalive] { stop(t, &a) }
        if wasEstablished { reportDown(down, admin: admin, &a) }
        a.append(.releaseResources)
        pendingEndOfRIB = []
        if admin {
            connectRetryCounter = 0
            administrativelyDown = true
        } else if countRetry {
            connectRetryCounter += 1
        }
        if !admin { lastError = why }
        transition(.idle, e, why, &a)
        if !admin, restart, config.autoRestart, !administrativelyDown {
            consecutiveFailures += 1
            let d = config.backoff.delay(afterFailures: consecutiveFailures)
            startTimer(.idleHold, d, &a)
        }
    }

    /// Leaving Established: RFC 4724 §4.2 retention when the peer advertised Graceful Restart and the session ended
    /// without a NOTIFICATION — or, with the N bit on both sides, with any NOTIFICATION but Hard Reset or a hold
    /// timer expiry (RFC 8538 §4). ManualStop always withdraws.
    private mutating func reportDown(_ reason: SessionDownReason, admin: Bool, _ a: inout [BGPAction]) {
        guard let n = negotiated else { return }
        var graceful: Bool
        switch reason {
        case .connectionFailed: graceful = true
        case .manualStop: graceful = false
        case .holdTimerExpired: graceful = n.gracefulNotification
        case .notificationSent(let m), .notificationReceived(let m):
            let hardReset = m.code == NotificationCode.cease.rawValue && m.subcode == CeaseSubcode.hardReset.rawValue
            graceful = n.gracefulNotification && !hardReset
        }
        let families = n.peerGracefulRestartFamilies
        let restartTime = n.peerGracefulRestart?.restartTime ?? 0
        if admin || families.isEmpty || restartTime == 0 { graceful = false }
        if graceful {
            staleFamilies.formUnion(families)
            a.append(.sessionDown(SessionDown(reason: reason, routes: .retainStale(families: families, restartTime: .seconds(Int(restartTime))))))
            stop(.stalePath, &a)
            startTimer(.gracefulRestart, .seconds(Int(restartTime)), &a)
        } else {
            staleFamilies = []
            stop(.gracefulRestart, &a)
            stop(.stalePath, &a)
            a.append(.sessionDown(SessionDown(reason: reason, routes: .withdrawAll)))
        }
    }

    /// Back in Established after the peer restarted (RFC 4724 §4.2): stop the restart timer; drop stale routes at
    /// once for families the new OPEN does not cover with Graceful Restart and the F bit; keep the rest until
    /// End-of-RIB or the stale-path timer.
    private mutating func reconcileStaleRoutes(_ n: NegotiatedSession, _ a: inout [BGPAction]) {
        guard !staleFamilies.isEmpty else { return }
        stop(.gracefulRestart, &a)
        let keep = Set(n.peerForwardingPreserved)
        let purge = staleFamilies.subtracting(keep).sorted()
        if !purge.isEmpty {
            staleFamilies.subtract(purge)
            a.append(.purgeStaleRoutes(purge))
        }
        if !staleFamilies.isEmpty {
            startTimer(.stalePath, config.gracefulRestart?.stalePathTime ?? .seconds(360), &a)
        }
    }

    private mutating func purgeAllStale(_ why: String, _ a: inout [BGPAction]) {
        guard !staleFamilies.isEmpty else { return }
        let f = staleFamilies.sorted()
        staleFamilies = []
        stop(.gracefulRestart, &a)
        stop(.stalePath, &a)
        a.append(.purgeStaleRoutes(f))
    }

    // MARK: Helpers

    private mutating func newConnection(_ dir: ConnectionDirection) -> ConnectionID {
        defer { nextSerial += 1 }
        return ConnectionID(serial: nextSerial, direction: dir)
    }

    private mutating func startTimer(_ t: BGPTimer, _ d: Duration, _ a: inout [BGPAction]) {
        runningTimers.insert(t)
        a.append(.startTimer(t, d))
    }

    private mutating func stop(_ t: BGPTimer, _ a: inout [BGPAction]) {
        if runningTimers.remove(t) != nil { a.append(.stopTimer(t)) }
    }

    private mutating func transition(_ to: BGPState, _ e: BGPEvent, _ why: String, _ a: inout [BGPAction]) {
        let c = StateChange(from: state, to: to, event: e.description, reason: why)
        state = to
        lastChange = c
        a.append(.stateChanged(c))
    }

    // MARK: PeerSession support

    /// Takes over the peer-level memory (backoff, stale routes, peer timers) of the machine this one replaces.
    mutating func inheritPeerState(from other: BGPStateMachine) {
        consecutiveFailures = other.consecutiveFailures
        staleFamilies = other.staleFamilies
        administrativelyDown = other.administrativelyDown
        runningTimers.formUnion(other.runningTimers.filter { !$0.isPerConnection })
        nextSerial = max(nextSerial, other.nextSerial)
    }

    /// A machine for a second (inbound) connection while this one is busy (RFC 4271 §6.8).
    func spawnSecondary() -> BGPStateMachine {
        var m = BGPStateMachine(config: config)
        m.inheritPeerState(from: self)
        m.runningTimers = []
        m.state = .active
        m.administrativelyDown = false
        return m
    }

    /// Forgets timers (the caller was told to stop them).
    mutating func dropTimers(_ t: Set<BGPTimer>) { runningTimers.subtract(t) }

    mutating func setNextSerial(_ s: UInt64) { nextSerial = max(nextSerial, s) }
}
