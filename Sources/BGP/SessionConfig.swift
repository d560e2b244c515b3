import NetAddress
/// Which peer AS an OPEN must carry (RFC 4271 §6.2 Bad Peer AS); `internal`/`external` are MetalLB's
/// "dynamicASN" modes.
public enum PeerASN: Hashable, Sendable, CustomStringConvertible {
    /// Exactly this AS.
    case fixed(UInt32)
    /// Any AS equal to ours (iBGP).
    case `internal`
    /// Any AS different from ours (eBGP).
    case external

    /// Whether `asn` is acceptable when our own AS is `localAS`.
    public func accepts(_ asn: UInt32, localAS: UInt32) -> Bool {
        switch self {
        case .fixed(let a): asn == a
        case .internal: asn == localAS
        case .external: asn != localAS
        }
    }

    public var description: String {
        switch self {
        case .fixed(let a): "AS \(a)"
        case .internal: "any AS equal to ours (internal)"
        case .external: "any AS other than ours (external)"
        }
    }
}

/// Our side of Graceful Restart (RFC 4724 §3): what we advertise, and how long we keep a restarting peer's routes.
public struct GracefulRestartConfig: Hashable, Sendable {
    /// Restart Time advertised to the peer, seconds (12 bits, RFC 4724 §3).
    public var restartTime: UInt16
    /// Restart State (R) bit: set in the first OPEN after we restarted (RFC 4724 §3, §4.1).
    public var restarting: Bool
    /// Forwarding State (F) bit for every configured family: our forwarding survived the restart (RFC 4724 §3).
    public var forwardingStatePreserved: Bool
    /// Graceful Notification (N) bit (RFC 8538 §2): NOTIFICATIONs other than Hard Reset also keep routes.
    public var notification: Bool
    /// Local limit on how long stale routes survive after the peer came back without sending End-of-RIB
    /// (RFC 4724 §4.2 "MAY use a (configurable) timer").
    public var stalePathTime: Duration

    public init(restartTime: UInt16 = 120, restarting: Bool = false, forwardingStatePreserved: Bool = false,
                notification: Bool = false, stalePathTime: Duration = .seconds(360)) {
        self.restartTime = min(restartTime, 0x0FFF)
        self.restarting = restarting
        self.forwardingStatePreserved = forwardingStatePreserved
        self.notification = notification
        self.stalePathTime = stalePathTime
    }
}

/// Exponential backoff between automatic restarts after an error (RFC 4271 §8.1.1 DampPeerOscillations / IdleHoldTimer).
/// The delay after `n` consecutive failures is `initial · 2^(n-1)`, capped at `maximum`. Jitter is the caller's
/// (see `BGPTimer.jittered(_:fraction:)`), so the machine stays deterministic.
public struct BackoffPolicy: Hashable, Sendable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration = .seconds(1), maximum: Duration = .seconds(120)) {
        self.initial = initial
        self.maximum = max(initial, maximum)
    }

    /// Base delay before the next automatic start after `failures` (≥ 1) consecutive failures.
    public func delay(afterFailures failures: Int) -> Duration {
        var d = initial
        var n = max(failures, 1) - 1
        while n > 0, d < maximum { d = d * 2; n -= 1 }
        return min(d, maximum)
    }
}

/// Everything the FSM needs to know about one configured peer (RFC 4271 §8 session attributes).
public struct BGPSessionConfig: Hashable, Sendable {
    public var localAS: UInt32
    public var peerAS: PeerASN
    /// Our BGP Identifier (RFC 6286).
    public var routerID: IPv4Address
    /// Proposed Hold Time, seconds; 0 disables keepalives, 1 and 2 are raised to 3 (RFC 4271 §4.2).
    public var holdTime: UInt16
    /// Keepalive interval; nil (or 0) means Hold Time / 3. Always capped at negotiated Hold Time / 3 (RFC 4271 §10).
    public var keepaliveTime: UInt16?
    /// Hold timer used in OpenSent while waiting for the peer's OPEN (RFC 4271 §8.2.2: "suggested 4 minutes").
    public var largeHoldTime: UInt16
    /// ConnectRetryTime (RFC 4271 §10 suggests 120 s).
    public var connectRetryTime: Duration
    /// Delay before AutomaticStart after an error.
    public var backoff: BackoffPolicy
    /// Never initiate TCP; only accept (RFC 4271 §8.1.1 PassiveTcpEstablishment).
    public var passive: Bool
    /// After an error, schedule AutomaticStart via the IdleHold timer (with backoff). ManualStop disables it.
    public var autoRestart: Bool
    /// Multiprotocol AFI/SAFIs to advertise (RFC 4760 §8).
    public var families: [AFISAFI]
    /// Advertise Route Refresh (RFC 2918).
    public var routeRefresh: Bool
    /// Advertise Enhanced Route Refresh (RFC 7313).
    public var enhancedRouteRefresh: Bool
    /// Extended Next Hop entries to advertise (RFC 8950); empty: none.
    public var extendedNextHop: [ExtendedNextHopEntry]
    /// Send the 4-octet AS capability (RFC 6793); off reproduces an old 2-octet speaker (AS_TRANS if needed).
    public var fourOctetAS: Bool
    /// Graceful Restart (RFC 4724); nil: not advertised, so no peer retention either.
    public var gracefulRestart: GracefulRestartConfig?
    /// RFC 6286 §2.2 allows an external peer to use our own BGP Identifier; by default we refuse it anyway
    /// (Bad BGP Identifier), as RFC 4271 implementations do. Internal peers with our identifier are always refused.
    public var acceptOwnIdentifierFromExternalPeer: Bool
    /// Capabilities appended verbatim (e.g. FQDN).
    public var extraCapabilities: [Capability]

    public init(localAS: UInt32, peerAS: PeerASN, routerID: IPv4Address, holdTime: UInt16 = 90, keepaliveTime: UInt16? = nil,
                largeHoldTime: UInt16 = 240, connectRetryTime: Duration = .seconds(120), backoff: BackoffPolicy = BackoffPolicy(),
                passive: Bool = false, autoRestart: Bool = true, families: [AFISAFI] = [.ipv4Unicast], routeRefresh: Bool = true,
                enhancedRouteRefresh: Bool = false, extendedNextHop: [ExtendedNextHopEntry] = [], fourOctetAS: Bool = true,
                gracefulRestart: GracefulRestartConfig? = nil, acceptOwnIdentifierFromExternalPeer: Bool = false,
                extraCapabilities: [Capability] = []) {
        self.localAS = localAS
        self.peerAS = peerAS
        self.routerID = routerID
        self.holdTime = holdTime == 1 || holdTime == 2 ? 3 : holdTime
        self.keepaliveTime = keepaliveTime
        self.largeHoldTime = largeHoldTime
        self.connectRetryTime = connectRetryTime
        self.backoff = backoff
        self.passive = passive
        self.autoRestart = autoRestart
        self.families = families
        self.routeRefresh = routeRefresh
        self.enhancedRouteRefresh = enhancedRouteRefresh
        self.extendedNextHop = extendedNextHop
        self.fourOctetAS = fourOctetAS
        self.gracefulRestart = gracefulRestart
        self.acceptOwnIdentifierFromExternalPeer = acceptOwnIdentifierFromExternalPeer
        self.extraCapabilities = extraCapabilities
    }

    /// The OPEN we send (RFC 4271 §4.2, RFC 5492): multiprotocol per family, route refresh, enhanced route refresh,
    /// extended next hop, graceful restart, extras, then 4-octet AS (My AS = AS_TRANS when it does not fit, RFC 6793 §4.1).
    public func openMessage() -> OpenMessage {
        let hold = holdTime == 1 || holdTime == 2 ? 3 : holdTime
        var caps: [Capability] = families.map { .multiprotocol($0) }
        if routeRefresh { caps.append(.routeRefresh) }
        if enhancedRouteRefresh { caps.append(.enhancedRouteRefresh) }
        if !extendedNextHop.isEmpty { caps.append(.extendedNextHop(extendedNextHop)) }
        if let gr = gracefulRestart {
            caps.append(.gracefulRestart(GracefulRestartCapability(
                restarting: gr.restarting, notification: gr.notification, restartTime: gr.restartTime,
                families: families.map { .init(afiSafi: $0, forwardingStatePreserved: gr.forwardingStatePreserved) })))
        }
        caps += extraCapabilities
        if fourOctetAS {
            return OpenMessage(asNumber: localAS, holdTime: hold, bgpIdentifier: routerID, capabilities: caps)
        }
        return OpenMessage(myAS: localAS > 0xFFFF ? OpenMessage.asTrans : UInt16(localAS), holdTime: hold,
                           bgpIdentifier: routerID, capabilities: caps)
    }
}

/// What both OPENs agreed on (RFC 4271 §4.2, RFC 5492, RFC 4760, RFC 6793, RFC 2918, RFC 8950, RFC 4724, RFC 8538).
public struct NegotiatedSession: Hashable, Sendable, CustomStringConvertible {
    public var localOpen: OpenMessage
    public var peerOpen: OpenMessage
    /// The peer's real AS (4-octet capability if sent, else My AS).
    public var peerAS: UInt32
    public var peerIdentifier: IPv4Address
    /// min(ours, peer's); 0: no hold timer and no keepalives (RFC 4271 §4.2).
    public var holdTime: UInt16
    /// Interval between our KEEPALIVEs; 0 when `holdTime` is 0.
    public var keepaliveTime: UInt16
    /// AFI/SAFIs both sides offered (no Multiprotocol capability at all means IPv4 unicast, RFC 4760 §8).
    public var families: [AFISAFI]
    /// Both sent the 4-octet AS capability (RFC 6793 §4).
    public var fourOctetAS: Bool
    /// Both sent Route Refresh (RFC 2918).
    public var routeRefresh: Bool
    /// Both sent Enhanced Route Refresh (RFC 7313).
    public var enhancedRouteRefresh: Bool
    /// Extended Next Hop tuples both sides sent (RFC 8950 §3).
    public var extendedNextHop: [ExtendedNextHopEntry]
    public var isInternal: Bool
    /// The peer's Graceful Restart capability, when both sides sent one (RFC 4724 §3); the peer's restart time,
    /// R bit and per-family F bits are in it.
    public var peerGracefulRestart: GracefulRestartCapability?
    /// Both sides set the N bit (RFC 8538 §2).
    public var gracefulNotification: Bool

    /// Codec settings for this session's UPDATEs.
    public var codecContext: CodecContext {
        CodecContext(fourOctetAS: fourOctetAS, isInternalPeer: isInternal)
    }

    /// Families the peer will keep forwarding for while it restarts (F bit, RFC 4724 §3), among negotiated ones.
    public var peerForwardingPreserved: [AFISAFI] {
        guard let gr = peerGracefulRestart else { return [] }
        return gr.families.filter { $0.forwardingStatePreserved && families.contains($0.afiSafi) }.map(\.afiSafi)
    }

    /// Families for which the peer advertised Graceful Restart, among negotiated ones (routes kept when it restarts).
    public var peerGracefulRestartFamilies: [AFISAFI] {
        guard let gr = peerGracefulRestart else { return [] }
        return families.filter { f in gr.families.contains { $0.afiSafi == f } }
    }

    public var description: String {
        var s = "peer AS \(peerAS) id \(peerIdentifier) (\(isInternal ? "iBGP" : "eBGP")), hold \(holdTime)s"
        s += holdTime == 0 ? " (no keepalives)" : ", keepalive \(keepaliveTime)s"
        s += ", families [\(families.map(\.description).joined(separator: ", "))]"
        var caps: [String] = []
        if fourOctetAS { caps.append("4-octet AS") }
        if routeRefresh { caps.append("route refresh") }
        if enhancedRouteRefresh { caps.append("enhanced route refresh") }
        if !extendedNextHop.isEmpty { caps.append("extended next hop \(extendedNextHop.map(\.description).joined(separator: ","))") }
        if let gr = peerGracefulRestart {
            caps.append("graceful restart (peer restart time \(gr.restartTime)s\(gr.restartState ? ", peer restarted" : "")\(gracefulNotification ? ", N" : ""))")
        }
        if !caps.isEmpty { s += ", " + caps.joined(separator: ", ") }
        return s
    }

    /// Checks the peer's OPEN (RFC 4271 §6.2, in its order: version, peer AS, hold time, identifier) and negotiates.
    public static func negotiate(config: BGPSessionConfig, localOpen: OpenMessage, peerOpen: OpenMessage) throws(BGPError) -> NegotiatedSession {
        // RFC 4271 §6.2: data is the largest locally supported version (2 octets).
        guard peerOpen.version == 4 else {
            throw .open(.unsupportedVersionNumber, data: [0, 4], "peer speaks BGP version \(peerOpen.version), we speak 4")
        }
        let peerAS = peerOpen.asNumber
        guard peerAS != 0, config.peerAS.accepts(peerAS, localAS: config.localAS) else {
            throw .open(.badPeerAS, data: [UInt8(peerOpen.myAS >> 8), UInt8(peerOpen.myAS & 0xff)],
                        "peer says AS \(peerAS)\(peerOpen.fourOctetASCapability == nil && peerOpen.myAS == OpenMessage.asTrans ? " (AS_TRANS without 4-octet capability)" : ""), expected \(config.peerAS)")
        }
        guard peerOpen.holdTime == 0 || peerOpen.holdTime >= 3 else {
            throw .open(.unacceptableHoldTime, "peer proposed hold time \(peerOpen.holdTime)s (must be 0 or at least 3)")
        }
        let isInternal = peerAS == config.localAS
        let id = peerOpen.bgpIdentifier
        if id.rawValue == 0 {
            throw .open(.badBGPIdentifier, data: [0, 0, 0, 0], "peer BGP identifier is 0")
        }
        if id == config.routerID, isInternal || !config.acceptOwnIdentifierFromExternalPeer {
            throw .open(.badBGPIdentifier, data: withUnsafeBytes(of: id.rawValue.bigEndian, Array.init),
                        "peer BGP identifier \(id) is our own")
        }
        let hold = min(localOpen.holdTime, peerOpen.holdTime)
        var keepalive: UInt16 = 0
        if hold > 0 {
            let cap = hold / 3
            keepalive = config.keepaliveTime.map { $0 == 0 ? cap : min($0, cap) } ?? cap
        }
        func families(_ o: OpenMessage) -> Set<AFISAFI> {
            let mp = o.multiprotocol
            return mp.isEmpty ? [.ipv4Unicast] : Set(mp)
        }
        let fams = families(localOpen).intersection(families(peerOpen)).sorted()
        let localENH = localOpen.extendedNextHop
        let enh = peerOpen.extendedNextHop.filter { localENH.contains($0) }
        let peerGR = localOpen.gracefulRestart != nil ? peerOpen.gracefulRestart : nil
        return NegotiatedSession(
            localOpen: localOpen, peerOpen: peerOpen, peerAS: peerAS, peerIdentifier: id, holdTime: hold, keepaliveTime: keepalive,
            families: fams,
            fourOctetAS: localOpen.fourOctetASCapability != nil && peerOpen.fourOctetASCapability != nil,
            routeRefresh: localOpen.supportsRouteRefresh && peerOpen.supportsRouteRefresh,
            enhancedRouteRefresh: localOpen.capabilities.contains(.enhancedRouteRefresh) && peerOpen.capabilities.contains(.enhancedRouteRefresh),
            extendedNextHop: enh, isInternal: isInternal, peerGracefulRestart: peerGR,
            gracefulNotification: peerGR?.notification == true && localOpen.gracefulRestart?.notification == true)
    }
}
