import NetAddress
import Logging
import NIOCore
import NIOPosix

/// What a peer keeps of the routes it receives (the Adj-RIB-In, RFC 4271 §3.2). The speaker only advertises: it needs
/// no received route, and a router may send it a full Internet table (about a million prefixes), so by default
/// nothing is stored per prefix.
public enum ReceivedRoutesPolicy: Sendable, Hashable, CustomStringConvertible {
    /// Keep no received route, only counts of the prefixes announced and withdrawn (`BGPPeerStatus`): memory for
    /// received routes is constant whatever the peer sends. The default.
    case countOnly
    /// Keep received routes (with their attributes) in the Adj-RIB-In, up to `maximum`; announcements of further new
    /// prefixes are counted (`BGPPeerStatus.receivedRoutesNotKept`) and dropped, and the session stays up (no Cease /
    /// Maximum Number of Prefixes Reached: we do not use them for anything). For diagnostics and tests.
    case keep(maximum: Int)

    /// Keep every received route (tests only: unbounded).
    public static let keepAll = ReceivedRoutesPolicy.keep(maximum: .max)

    public var description: String {
        switch self {
        case .countOnly: "count only"
        case .keep(let m): m == .max ? "keep all" : "keep up to \(m)"
        }
    }
}

/// Transport and export settings of one peer, around the FSM's `BGPSessionConfig`.
public struct BGPPeerConfig: Sendable {
    public var session: BGPSessionConfig
    public var peerAddress: IPAddress
    /// TCP port we connect to (RFC 4271 §8.2.1: 179).
    public var peerPort: Int
    /// Source address of outgoing connections (nil: the kernel's choice).
    public var localAddress: IPAddress?
    /// IP TTL / hop limit of our packets; nil: 1 towards external peers (single hop), 255 towards internal ones (as FRR
    /// does). eBGP multihop is an explicit TTL here.
    public var ttl: Int?
    /// RFC 2385 TCP MD5 password.
    public var password: String?
    /// How long a TCP connect may take before it counts as failed.
    public var connectTimeout: Duration
    /// Next hops for routes without one (else the session's local address).
    public var defaultNextHopIPv4: IPv4Address?
    public var defaultNextHopIPv6: IPv6Address?
    /// What we keep of the routes the peer sends: by default nothing but counts (see `ReceivedRoutesPolicy`).
    public var receivedRoutes: ReceivedRoutesPolicy

    public init(session: BGPSessionConfig, peerAddress: IPAddress, peerPort: Int = 179, localAddress: IPAddress? = nil,
                ttl: Int? = nil, password: String? = nil, connectTimeout: Duration = .seconds(10),
                defaultNextHopIPv4: IPv4Address? = nil, defaultNextHopIPv6: IPv6Address? = nil,
                receivedRoutes: ReceivedRoutesPolicy = .countOnly) {
        self.session = session
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.localAddress = localAddress
        self.ttl = ttl
        self.password = password
        self.connectTimeout = connectTimeout
        self.defaultNextHopIPv4 = defaultNextHopIPv4
        self.defaultNextHopIPv6 = defaultNextHopIPv6
        self.receivedRoutes = receivedRoutes
    }

    /// The peer is in our AS (configured; `.internal` counts as such).
    public var isInternal: Bool {
        switch session.peerAS {
        case .fixed(let a): a == session.localAS
        case .internal: true
        case .external: false
        }
    }

    public var effectiveTTL: Int { ttl ?? (isInternal ? 255 : 1) }
}

/// What happens on a peer, in the order it happens; delivered on the peer's event loop.
public enum BGPPeerEvent: Sendable, CustomStringConvertible {
    case stateChanged(StateChange)
    case established(NegotiatedSession)
    case down(SessionDown)
    case notificationSent(NotificationMessage)
    case notificationReceived(NotificationMessage)
    /// A TCP connect failed or timed out (with the kernel's MD5 drop counters when they moved).
    case transportError(String)
    case updateReceived(UpdateMessage, errors: [UpdateErrorHandling])
    case endOfRIBReceived(AFISAFI)
    case endOfRIBSent(AFISAFI)
    /// RIB-out changes went out.
    case updatesSent(messages: Int, announced: Int, withdrawn: Int)
    /// A desired route cannot be sent on this session.
    case routeSkipped(RouteExport.Skip)
    case staleRoutesPurged([AFISAFI])
    /// Torn down from outside (e.g. BFD said the path failed).
    case pathDown(String)

    public var description: String {
        switch self {
        case .stateChanged(let c): "state \(c)"
        case .established(let n): "established: \(n)"
        case .down(let d): "session down: \(d)"
        case .notificationSent(let n): "sent NOTIFICATION \(n)"
        case .notificationReceived(let n): "received NOTIFICATION \(n)"
        case .transportError(let s): "transport: \(s)"
        case .updateReceived(let u, let e):
            "received UPDATE +\(u.announcedPrefixes.count) -\(u.withdrawnPrefixes.count)" + (e.isEmpty ? "" : " (\(e.map(\.description).joined(separator: "; ")))")
        case .endOfRIBReceived(let f): "received End-of-RIB for \(f)"
        case .endOfRIBSent(let f): "sent End-of-RIB for \(f)"
        case .updatesSent(let m, let a, let w): "sent \(m) UPDATE message(s): \(a) prefix(es) announced, \(w) withdrawn"
        case .routeSkipped(let s): "not advertised: \(s)"
        case .staleRoutesPurged(let f): "purged the peer's stale routes for \(f.map(\.description).joined(separator: ", "))"
        case .pathDown(let r): "path down: \(r)"
        }
    }
}

/// A route received from the peer (Adj-RIB-In, RFC 4271 §3.2).
public struct ReceivedRoute: Hashable, Sendable {
    public var prefix: IPPrefix
    public var attributes: PathAttributes
    /// Kept from before the peer restarted (RFC 4724 §4.2).
    public var stale: Bool
}

/// Observable per-peer state.
public struct BGPPeerStatus: Sendable, CustomStringConvertible {
    public var peer: IPAddress
    public var state: BGPState
    public var negotiated: NegotiatedSession?
    /// Time in Established (nil when not Established).
    public var uptime: Duration?
    public var messagesSent: [MessageType: Int]
    public var messagesReceived: [MessageType: Int]
    /// Prefixes the peer currently has from us.
    public var prefixesSent: Int
    /// Prefixes currently in our Adj-RIB-In from the peer (always 0 with `ReceivedRoutesPolicy.countOnly`).
    public var prefixesReceived: Int
    /// What is kept of received routes (`BGPPeerConfig.receivedRoutes`).
    public var receivedRoutesPolicy: ReceivedRoutesPolicy = .countOnly
    /// Prefixes the peer announced (NLRI and MP_REACH_NLRI, re-announcements included) since the session last came
    /// up; kept whatever the policy.
    public var prefixesAnnouncedByPeer: Int = 0
    /// Prefixes the peer withdrew (including treat-as-withdraw, RFC 7606) since the session last came up.
    public var prefixesWithdrawnByPeer: Int = 0
    /// Announcements of new prefixes not stored because the Adj-RIB-In was at `ReceivedRoutesPolicy.keep`'s maximum
    /// (since the session last came up).
    public var receivedRoutesNotKept: Int = 0
    public var lastError: String?
    public var lastNotificationSent: NotificationMessage?
    public var lastNotificationReceived: NotificationMessage?
    /// How many times the session reached Established.
    public var establishedCount: Int
    /// Why the session last left Established.
    public var lastDown: SessionDown?

    public var description: String {
        func counts(_ d: [MessageType: Int]) -> String {
            MessageType.allCases.map { "\($0)=\(d[$0] ?? 0)" }.joined(separator: " ")
        }
        var s = "peer \(peer): \(state)"
        if let uptime { s += ", up \(uptime.components.seconds)s" }
        s += "; sent [\(counts(messagesSent))], received [\(counts(messagesReceived))]"
        s += "; prefixes sent \(prefixesSent), received \(prefixesReceived)"
        switch receivedRoutesPolicy {
        case .countOnly: s += " (count only: the peer announced \(prefixesAnnouncedByPeer), withdrew \(prefixesWithdrawnByPeer))"
        case .keep: if receivedRoutesNotKept > 0 { s += " (\(receivedRoutesNotKept) not kept: \(receivedRoutesPolicy))" }
        }
        if let lastError { s += "; last error: \(lastError)" }
        if let n = lastNotificationSent { s += "; last NOTIFICATION sent: \(n)" }
        if let n = lastNotificationReceived { s += "; last NOTIFICATION received: \(n)" }
        return s
    }
}

/// One BGP peer on a NIO event loop: drives the pure `PeerSession` (FSM + collision handling) with TCP connections and
/// timers, and keeps the Adj-RIB-Out in step with the routes the caller wants advertised.
///
/// Every mutable property is touched only on `eventLoop` (public methods hop onto it), which is why the class can be
/// `@unchecked Sendable`.
public final class BGPPeer: @unchecked Sendable {
    public let config: BGPPeerConfig
    public let eventLoop: any EventLoop
    private let onEvent: @Sendable (BGPPeerEvent) -> Void
    private let logger: Logger

    private var session: PeerSession
    private var channels: [ConnectionID: any Channel] = [:]
    private var splitters: [ConnectionID: BGPFrameSplitter] = [:]
    private var lastWrite: [ConnectionID: EventLoopFuture<Void>] = [:]
    /// The addresses of the interface holding each connection's local address (next hops of the other family).
    private var interfaceAddresses: [ConnectionID: [IPAddress]] = [:]
    private var closing: [EventLoopFuture<Void>] = []
    /// Set by `stopForRestart` while it runs: NOTIFICATIONs are not sent (the connections just close).
    private var silent = false
    private struct TimerKey: Hashable { var timer: BGPTimer; var connection: ConnectionID? }
    private var timers: [TimerKey: Scheduled<Void>] = [:]
    private var pending: [PeerAction] = []
    private var draining = false
    private var md5Before: TCPMD5Counters?
    /// Outgoing connection attempts still in progress, with their start time.
    private var connecting: [ConnectionID: NIODeadline] = [:]
    /// True while the FSM handles a ConnectRetry expiry: an attempt it abandons then got no answer in time (other
    /// abandons — the peer's connection came first, ManualStop — are not errors).
    private var handlingConnectRetry = false

    private var desired: [AdvertisedRoute] = []
    private var ribOut = AdjRIBOut()
    /// The Adj-RIB-In; stays empty with `ReceivedRoutesPolicy.countOnly`, at most `maximum` entries with `.keep`.
    private var ribIn: [IPPrefix: ReceivedRoute] = [:]
    private var announcedByPeer = 0
    private var withdrawnByPeer = 0
    private var notKept = 0
    private var establishedOn: ConnectionID?
    private var establishedAt: NIODeadline?
    private var sent: [MessageType: Int] = [:]
    private var received: [MessageType: Int] = [:]
    private var lastError: String?
    private var lastNotificationSent: NotificationMessage?
    private var lastNotificationReceived: NotificationMessage?
    private var establishedCount = 0
    private var lastDown: SessionDown?

    public init(config: BGPPeerConfig, eventLoop: any EventLoop, logger: Logger = Logger(label: "bgp"),
                onEvent: @escaping @Sendable (BGPPeerEvent) -> Void = { _ in }) {
        self.config = config
        self.eventLoop = eventLoop
        self.onEvent = onEvent
        self.logger = logger
        self.session = PeerSession(config: config.session)
    }

    // MARK: Public API

    /// ManualStart (RFC 4271 §8.1.2 event 1, or event 4/5 when the session config is passive).
    public func start() {
        eventLoop.execute { self.run(self.session.manualStart()) }
    }

    /// ManualStop: Cease / Administrative Shutdown on live connections (RFC 4486, RFC 9003 text); completes when
    /// every connection is closed.
    @discardableResult
    public func stop(shutdownCommunication: String? = nil) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.closing = []
            self.run(self.session.manualStop(shutdownCommunication: shutdownCommunication))
            for (_, t) in self.timers { t.cancel() }
            self.timers = [:]
            return EventLoopFuture.andAllComplete(self.closing, on: self.eventLoop)
        }
    }

    /// Leaves for a restart (RFC 4724 §4): every connection is closed without a NOTIFICATION, which a peer that
    /// negotiated graceful restart with us takes as our restart: it keeps our routes, marked stale, until we are back
    /// and send End-of-RIB, or until the Restart Time we advertised passes. A peer without graceful restart withdraws
    /// them as for any lost connection (use `stop` to tell it why). Nothing restarts afterwards; completes when every
    /// connection is closed.
    @discardableResult
    public func stopForRestart() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            self.closing = []
            self.silent = true
            self.run(self.session.manualStop(shutdownCommunication: nil))
            self.silent = false
            for (_, t) in self.timers { t.cancel() }
            self.timers = [:]
            return EventLoopFuture.andAllComplete(self.closing, on: self.eventLoop)
        }
    }

    /// Tears the session down from outside, e.g. when BFD declares the path down (RFC 5882 §4.3): every connection
    /// gets Cease / BFD Down (RFC 9384) and counts as a failed TCP connection, so the FSM goes to Idle and restarts
    /// automatically (graceful-restart retention of the peer's routes applies as for any connection loss).
    public func pathDown(reason: String) {
        eventLoop.execute {
            self.emit(.pathDown(reason))
            for id in self.channels.keys.sorted(by: { $0.serial < $1.serial }) {
                let n = NotificationMessage.cease(.bfdDown)
                self.send(.notification(n), on: id)
                self.closeChannel(id)
                self.run(self.session.connectionFailed(id))
            }
            self.lastError = "path down: \(reason)"
        }
    }

    /// Replaces the routes advertised to this peer; the difference goes out at once when Established.
    public func setRoutes(_ routes: [AdvertisedRoute]) {
        eventLoop.execute {
            self.desired = routes
            if let id = self.establishedOn { self.syncRIBOut(on: id, initial: false) }
        }
    }

    public func status() -> EventLoopFuture<BGPPeerStatus> {
        eventLoop.submit { self.makeStatus() }
    }

    /// The Adj-RIB-In, sorted by prefix.
    public func receivedRoutes() -> EventLoopFuture<[ReceivedRoute]> {
        eventLoop.submit { self.ribIn.values.sorted { $0.prefix < $1.prefix } }
    }

    public func currentStatus() async throws -> BGPPeerStatus { try await status().get() }
    public func adjRIBIn() async throws -> [ReceivedRoute] { try await receivedRoutes().get() }
    public func shutdown(shutdownCommunication: String? = nil) async throws { try await stop(shutdownCommunication: shutdownCommunication).get() }

    // MARK: Inbound connections (called by `BGPSpeaker` on the event loop)

    func accept(_ channel: any Channel) {
        eventLoop.preconditionInEventLoop()
        let (id, acts) = session.inboundConnectionAccepted()
        channels[id] = channel
        splitters[id] = BGPFrameSplitter()
        let family = config.peerAddress.family
        _ = BGPSocketOptions.setTTL(channel, family: family, ttl: config.effectiveTTL)
        do {
            try channel.pipeline.syncOperations.addHandler(BGPConnectionHandler(peer: self, id: id))
        } catch {
            channel.close(promise: nil)
        }
        logger.debug("accepted connection \(id) from \(channel.remoteAddress.map { "\($0)" } ?? "?")")
        run(acts)
    }

    // MARK: Action execution

    private func run(_ actions: [PeerAction]) {
        pending.append(contentsOf: actions)
        guard !draining else { return }
        draining = true
        defer { draining = false }
        while !pending.isEmpty {
            let a = pending.removeFirst()
            logger.trace("\(a)")
            execute(a)
        }
    }

    private func execute(_ pa: PeerAction) {
        switch pa.action {
        case .connect(let id): connect(id)
        case .closeConnection(let id): closeChannel(id)
        case .sendOpen(let o): send(.open(o), on: pa.connection)
        case .sendKeepalive: send(.keepalive, on: pa.connection)
        case .sendNotification(let n): if !silent { send(.notification(n), on: pa.connection) }
        case .startTimer(let t, let d): startTimer(t, d, connection: pa.connection)
        case .stopTimer(let t):
            let key = TimerKey(timer: t, connection: t.isPerConnection ? pa.connection : nil)
            timers.removeValue(forKey: key)?.cancel()
        case .deliverUpdate(let u, let errors): applyUpdate(u, errors: errors)
        case .deliverRouteRefresh:
            // RFC 2918 §4: send the whole Adj-RIB-Out again.
            if let id = establishedOn { ribOut.sessionReset(); syncRIBOut(on: id, initial: false) }
        case .endOfRIB(let f): emit(.endOfRIBReceived(f))
        case .sessionEstablished(let n):
            establishedOn = pa.connection
            establishedAt = .now()
            establishedCount += 1
            announcedByPeer = 0
            withdrawnByPeer = 0
            notKept = 0
            emit(.established(n))
            if let id = pa.connection { syncRIBOut(on: id, initial: true) }
        case .sessionDown(let d):
            establishedOn = nil
            establishedAt = nil
            ribOut.sessionReset()
            lastDown = d
            switch d.routes {
            case .withdrawAll: ribIn = [:]
            case .retainStale(let families, _):
                let keep = Set(families)
                ribIn = ribIn.filter { keep.contains(.unicast($0.key.family)) }.mapValues { var r = $0; r.stale = true; return r }
            }
            emit(.down(d))
        case .purgeStaleRoutes(let fams):
            let f = Set(fams)
            ribIn = ribIn.filter { !($0.value.stale && f.contains(.unicast($0.key.family))) }
            emit(.staleRoutesPurged(fams))
        case .releaseResources: break
        case .stateChanged(let c):
            if c.to == .idle, let err = session.primary.lastError, !session.primary.administrativelyDown { lastError = err }
            emit(.stateChanged(c))
        }
    }

    private func emit(_ e: BGPPeerEvent) { onEvent(e) }

    // MARK: TCP

    private func connect(_ id: ConnectionID) {
        let cfg = config
        md5Before = TCPMD5Counters.read()
        splitters[id] = BGPFrameSplitter()   // bytes may arrive before the connect future's callback runs
        connecting[id] = .now()
        var bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(cfg.connectTimeout))
            .channelInitializer { [self] ch in
                var f = ch.eventLoop.makeSucceededVoidFuture()
                if let pw = cfg.password, !pw.isEmpty {
                    f = f.flatMap { BGPSocketOptions.setMD5(ch, peer: cfg.peerAddress, password: pw) }
                }
                f = f.flatMap { BGPSocketOptions.setTTL(ch, family: cfg.peerAddress.family, ttl: cfg.effectiveTTL) }
                return f.flatMapThrowing {
                    try ch.pipeline.syncOperations.addHandler(BGPConnectionHandler(peer: self, id: id))
                }
            }
        if let local = cfg.localAddress {
            do {
                bootstrap = bootstrap.bind(to: try SocketAddress(ipAddress: local.description, port: 0))
            } catch {
                connectFailed(id, TransportError.invalidAddress("source \(local): \(error)").description)
                return
            }
        }
        let target: SocketAddress
        do {
            target = try SocketAddress(ipAddress: cfg.peerAddress.description, port: cfg.peerPort)
        } catch {
            connectFailed(id, TransportError.invalidAddress("peer \(cfg.peerAddress): \(error)").description)
            return
        }
        bootstrap.connect(to: target).hop(to: eventLoop).whenComplete { result in
            guard self.connecting.removeValue(forKey: id) != nil else {
                // The FSM gave this attempt up meanwhile (ConnectRetry expired, or stopped); already reported.
                if case .success(let ch) = result { ch.close(promise: nil) }
                return
            }
            switch result {
            case .success(let ch):
                self.channels[id] = ch
                self.run(self.session.outboundConnected(id))
                self.process(id)
            case .failure(let e):
                let peer = "\(cfg.peerAddress) port \(cfg.peerPort)"
                var why: String
                if case ChannelError.connectTimeout = e {
                    let ms = Int(cfg.connectTimeout.components.seconds) * 1000
                        + Int(cfg.connectTimeout.components.attoseconds / 1_000_000_000_000_000)
                    why = TransportError.connectTimeout(peer: peer, milliseconds: ms, md5: cfg.password?.isEmpty == false).description
                } else {
                    why = TransportError.connectFailed(peer: peer, reason: "\(e)").description
                }
                if let before = self.md5Before, let now = TCPMD5Counters.read() {
                    let d = now - before
                    if d.total > 0 { why += "; \(d)" }
                }
                self.connectFailed(id, why)
            }
        }
    }

    private func connectFailed(_ id: ConnectionID, _ why: String) {
        lastError = why
        emit(.transportError(why))
        splitters[id] = nil
        run(session.connectionFailed(id))
    }

    private func closeChannel(_ id: ConnectionID) {
        splitters[id] = nil
        if let started = connecting.removeValue(forKey: id) {
            // An attempt still without an answer when the ConnectRetry timer fired: say so now, not at its timeout.
            if handlingConnectRetry {
                let ms = Int((NIODeadline.now() - started).nanoseconds / 1_000_000)
                let peer = "\(config.peerAddress) port \(config.peerPort)"
                let why = TransportError.connectTimeout(peer: peer, milliseconds: ms, md5: config.password?.isEmpty == false).description
                lastError = why
                emit(.transportError(why))
            }
            return
        }
        guard let ch = channels.removeValue(forKey: id) else { return }
        interfaceAddresses[id] = nil
        if establishedOn == id { establishedOn = nil }
        let flushed = lastWrite.removeValue(forKey: id) ?? eventLoop.makeSucceededVoidFuture()
        let p = eventLoop.makePromise(of: Void.self)
        // Let a queued NOTIFICATION reach the wire before the FIN.
        flushed.whenComplete { _ in ch.close(promise: nil); ch.closeFuture.whenComplete { _ in p.succeed(()) } }
        closing.append(p.futureResult)
    }

    /// Bytes from connection `id` (handler callback).
    func bytesReceived(_ id: ConnectionID, _ buffer: ByteBuffer) {
        guard splitters[id] != nil else { return }
        splitters[id]?.append(buffer.readableBytesView)
        process(id)
    }

    /// Connection `id` closed under us (handler callback).
    func channelClosed(_ id: ConnectionID) {
        guard channels.removeValue(forKey: id) != nil else { return }
        splitters[id] = nil
        lastWrite[id] = nil
        interfaceAddresses[id] = nil
        run(session.connectionFailed(id))
    }

    private func process(_ id: ConnectionID) {
        while channels[id] != nil, splitters[id] != nil {
            let frame: [UInt8]?
            do {
                frame = try splitters[id]?.next()
            } catch {
                run(session.decodeFailed(error, on: id))
                return
            }
            guard let frame else { return }
            do {
                let d = try BGPMessage.decode(frame, context: codecContext(for: id))
                received[d.message.type, default: 0] += 1
                if case .notification(let n) = d.message {
                    lastNotificationReceived = n
                    emit(.notificationReceived(n))
                }
                run(session.received(d.message, updateErrors: d.updateErrors, on: id))
            } catch {
                run(session.decodeFailed(error, on: id))
            }
        }
    }

    private func codecContext(for id: ConnectionID) -> CodecContext {
        if session.secondary?.connectionID == id, let s = session.secondary { return s.codecContext }
        return session.primary.codecContext
    }

    private func negotiated(for id: ConnectionID) -> NegotiatedSession? {
        if session.secondary?.connectionID == id, let s = session.secondary { return s.negotiated }
        return session.primary.negotiated
    }

    @discardableResult
    private func send(_ m: BGPMessage, on id: ConnectionID?, flush: Bool = true) -> Bool {
        guard let id, let ch = channels[id] else { return false }
        do {
            let bytes = try m.encode(context: codecContext(for: id))
            var buf = ch.allocator.buffer(capacity: bytes.count)
            buf.writeBytes(bytes)
            let f = flush ? ch.writeAndFlush(buf) : ch.write(buf)
            lastWrite[id] = f
            sent[m.type, default: 0] += 1
            if case .notification(let n) = m {
                lastNotificationSent = n
                emit(.notificationSent(n))
            }
            return true
        } catch {
            lastError = "could not encode \(m.type): \(error)"
            return false
        }
    }

    /// Writes UPDATEs as one buffer (one write, not one per message); the caller flushes.
    private func sendUpdates(_ msgs: [UpdateMessage], on id: ConnectionID) {
        guard !msgs.isEmpty, let ch = channels[id] else { return }
        let ctx = codecContext(for: id)
        var buf = ch.allocator.buffer(capacity: min(msgs.count, 1024) * ctx.maxMessageLength)
        var count = 0
        for m in msgs {
            do {
                buf.writeBytes(try BGPMessage.update(m).encode(context: ctx))
                count += 1
            } catch {
                lastError = "could not encode UPDATE: \(error)"
            }
        }
        lastWrite[id] = ch.write(buf)
        sent[.update, default: 0] += count
    }

    // MARK: Timers

    private func startTimer(_ t: BGPTimer, _ d: Duration, connection: ConnectionID?) {
        let key = TimerKey(timer: t, connection: t.isPerConnection ? connection : nil)
        timers.removeValue(forKey: key)?.cancel()
        let delay = t.appliesJitter ? BGPTimer.jittered(d, fraction: Double.random(in: 0...1)) : d
        if t == .connectRetry, session.state == .active, md5Before == nil { md5Before = TCPMD5Counters.read() }
        timers[key] = eventLoop.scheduleTask(in: TimeAmount(delay)) { [self] in
            guard timers.removeValue(forKey: key) != nil else { return }
            if t == .connectRetry, session.state == .active { reportMD5DropsWhileWaiting() }
            handlingConnectRetry = t == .connectRetry
            defer { handlingConnectRetry = false }
            run(session.timerExpired(t, connection: key.connection))
        }
    }

    /// Waiting for the peer to connect: a password mismatch never reaches us as a connection, only as the kernel's
    /// MD5 drop counters (of this network namespace), so look at them once per ConnectRetry interval.
    private func reportMD5DropsWhileWaiting() {
        guard let now = TCPMD5Counters.read() else { return }
        defer { md5Before = now }
        guard let before = md5Before else { return }
        let d = now - before
        guard d.total > 0 else { return }
        let why = "no session yet, and \(d) (a TCP MD5 password mismatch with \(config.peerAddress)?)"
        lastError = why
        emit(.transportError(why))
    }

    // MARK: RIB

    private func applyUpdate(_ u: UpdateMessage, errors: [UpdateErrorHandling]) {
        let withdraw = errors.contains { $0.action == .treatAsWithdraw }
        let announced = u.announcedPrefixes
        let withdrawn = u.withdrawnPrefixes
        withdrawnByPeer += withdrawn.count + (withdraw ? announced.count : 0)
        if !withdraw { announcedByPeer += announced.count }
        if case .keep(let maximum) = config.receivedRoutes {
            for p in withdrawn { ribIn[p] = nil }
            var attrs = u.attributes
            attrs.mpReach = nil
            attrs.mpUnreach = nil
            for p in announced {
                if withdraw {
                    ribIn[p] = nil
                } else if ribIn[p] != nil || ribIn.count < maximum {
                    ribIn[p] = ReceivedRoute(prefix: p, attributes: attrs, stale: false)
                } else {
                    notKept += 1
                }
            }
        }
        emit(.updateReceived(u, errors: errors))
    }

    /// Sends the difference between the desired routes and what the peer has; after the initial table, End-of-RIB
    /// for every negotiated family (RFC 4724 §2).
    private func syncRIBOut(on id: ConnectionID, initial: Bool) {
        guard let n = negotiated(for: id), let ch = channels[id] else { return }
        let local = ch.localAddress?.ipAddress.flatMap { IPAddress($0) }.map { a -> IPAddress in
            if case .v6(let v6) = a, let v4 = v6.ipv4Mapped { return .v4(v4) }
            return a
        }
        // Looked up once per connection, and only when the session carries a family its own address cannot serve.
        let siblings: [IPAddress]
        if let known = interfaceAddresses[id] {
            siblings = known
        } else if let local, n.families.contains(where: { $0 != .unicast(local.family) }) {
            siblings = Self.addressesOfInterface(holding: local)
            interfaceAddresses[id] = siblings
        } else {
            siblings = []
            interfaceAddresses[id] = []
        }
        let export = RouteExport(
            localAS: config.session.localAS, isInternal: n.isInternal, families: Set(n.families),
            ipv4OverIPv6NextHop: n.extendedNextHop.contains(.ipv4UnicastOverIPv6), localAddress: local,
            defaultNextHopIPv4: config.defaultNextHopIPv4, defaultNextHopIPv6: config.defaultNextHopIPv6,
            interfaceAddresses: siblings)
        // Routes that differ only in their prefix (the usual case: many Service IPs, one set of communities) share
        // one exported attribute set: export once per distinct rest, not once per prefix.
        struct ExportKey: Hashable {
            var family: IPFamily
            var nextHop: IPAddress?
            var localPref: UInt32?
            var multiExitDisc: UInt32?
            var communities: [Community]
            var largeCommunities: [LargeCommunity]
        }
        var setOf: [ExportKey: Int] = [:]
        var sets: [(nextHop: NextHop, attributes: PathAttributes)] = []
        var routes: [(prefix: IPPrefix, set: Int)] = []
        routes.reserveCapacity(desired.count)
        var lastKey: ExportKey?
        var lastSet = -1
        for r in desired {
            let key = ExportKey(family: r.prefix.family, nextHop: r.nextHop, localPref: r.localPref, multiExitDisc: r.multiExitDisc,
                                communities: r.communities, largeCommunities: r.largeCommunities)
            if lastSet >= 0, key == lastKey { routes.append((r.prefix, lastSet)); continue }
            if let i = setOf[key] {
                routes.append((r.prefix, i))
                lastKey = key
                lastSet = i
                continue
            }
            switch export.route(r) {
            case .success(let x):
                setOf[key] = sets.count
                lastKey = key
                lastSet = sets.count
                routes.append((r.prefix, sets.count))
                sets.append((x.nextHop, x.attributes))
            case .failure(let skip):
                // Not cached: skips are rare and each names its prefix.
                if initial { emit(.routeSkipped(skip)) }
            }
        }
        ribOut.setDesired(attributeSets: sets, routes: routes)
        let msgs: [UpdateMessage], announced: Int, withdrawn: Int
        do {
            (msgs, announced, withdrawn) = try ribOut.takeUpdatesCounting(packer: UpdatePacker(context: n.codecContext))
        } catch {
            lastError = "could not build UPDATEs: \(error)"
            return
        }
        sendUpdates(msgs, on: id)
        if !msgs.isEmpty { emit(.updatesSent(messages: msgs.count, announced: announced, withdrawn: withdrawn)) }
        var eor: [AFISAFI] = []
        if initial {
            for f in n.families {
                send(.update(UpdateMessage.endOfRIB(f)), on: id, flush: false)
                eor.append(f)
            }
        }
        ch.flush()
        for f in eor { emit(.endOfRIBSent(f)) }
        if !msgs.isEmpty || !eor.isEmpty { run(session.updateSent(on: id)) }
    }

    /// Every address of the interface that holds `local` (empty when none does or the interfaces cannot be read).
    static func addressesOfInterface(holding local: IPAddress) -> [IPAddress] {
        guard let devices = try? System.enumerateDevices() else { return [] }
        let address: (NIONetworkDevice) -> IPAddress? = { d in
            d.address?.ipAddress.flatMap { IPAddress($0) }
        }
        guard let name = devices.first(where: { address($0) == local })?.name else { return [] }
        return devices.filter { $0.name == name }.compactMap(address)
    }

    private func makeStatus() -> BGPPeerStatus {
        let neg = session.state == .established ? (establishedOn.flatMap { negotiated(for: $0) } ?? session.primary.negotiated) : session.primary.negotiated
        var up: Duration?
        if let t = establishedAt {
            up = .nanoseconds((NIODeadline.now() - t).nanoseconds)
        }
        return BGPPeerStatus(
            peer: config.peerAddress, state: session.state, negotiated: neg, uptime: up, messagesSent: sent,
            messagesReceived: received, prefixesSent: ribOut.advertisedCount, prefixesReceived: ribIn.count,
            receivedRoutesPolicy: config.receivedRoutes, prefixesAnnouncedByPeer: announcedByPeer,
            prefixesWithdrawnByPeer: withdrawnByPeer, receivedRoutesNotKept: notKept,
            lastError: lastError, lastNotificationSent: lastNotificationSent, lastNotificationReceived: lastNotificationReceived,
            establishedCount: establishedCount, lastDown: lastDown)
    }
}

extension TimeAmount {
    init(_ d: Duration) {
        let (s, atto) = d.components
        self = .nanoseconds(s * 1_000_000_000 + atto / 1_000_000_000)
    }
}

/// Feeds one TCP connection's bytes and closure to its `BGPPeer`.
final class BGPConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let peer: BGPPeer
    let id: ConnectionID

    init(peer: BGPPeer, id: ConnectionID) {
        self.peer = peer
        self.id = id
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        peer.bytesReceived(id, unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        peer.channelClosed(id)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
