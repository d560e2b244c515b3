import API
import BFD
import BGP
import Foundation
import Kube
import NetAddress

/// A TCP MD5 password (RFC 2385). It never shows: not in a description, a debug description nor a mirror (`dump`),
/// so a session's description can go into any log line.
public struct BGPPassword: Hashable, Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The password itself, for the socket option only.
    public let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// The BFD session (RFC 5880, RFC 5881) that goes with a BGP session: the BFDProfile's name and its parameters.
public struct PlannedBFD: Hashable, Sendable {
    public var profile: String
    public var parameters: BFDParameters

    public init(profile: String, parameters: BFDParameters) {
        self.profile = profile
        self.parameters = parameters
    }
}

/// One BGP session this node opens, as our BGP library takes it: a BGPPeer with MetalLB's defaults applied and its
/// references (password Secret, BFDProfile) resolved.
///
/// `id` (the BGPPeer's name) follows the session from one plan to the next; `==` says whether anything changed.
/// `mustReestablish(comparedTo:)` says whether the change needs a new BGP session (anything but the BFD parameters,
/// which a BFD session changes in place).
public struct PlannedSession: Hashable, Sendable, Identifiable, CustomStringConvertible {
    /// The BGPPeer's name: what ServiceBGPStatus lists and BGPAdvertisement `peers` names.
    public var peerName: String
    /// The AS we present: `localASN` when set, else `myASN`.
    public var localAS: UInt32
    /// The BGPPeer's myASN (differs from `localAS` only with localASN).
    public var myASN: UInt32
    /// peerASN, or dynamicASN internal/external.
    public var peerAS: PeerASN
    public var peerAddress: IPAddress
    public var peerPort: UInt16
    /// The local address to connect from (nil: the kernel's choice).
    public var sourceAddress: IPAddress?
    /// routerID; else the IPv4 sourceAddress, the node's IPv4 InternalIP or ExternalIP, else a hash of the node name.
    public var routerID: IPv4Address
    /// Seconds; 90 when neither holdTime nor keepaliveTime is set (MetalLB's native default).
    public var holdTime: UInt16
    /// Seconds; nil: a third of the hold time.
    public var keepaliveTime: UInt16?
    /// Between connection attempts (connectTime); nil: the library's 120 s (FRR's default too).
    public var connectTime: Duration?
    /// eBGP multihop: packets leave with TTL 255 instead of 1.
    public var ebgpMultiHop: Bool
    public var password: BGPPassword?
    /// Graceful Restart (RFC 4724) with the forwarding state preserved, as MetalLB's FRR configuration says.
    public var gracefulRestart: Bool
    /// The peer's address family; both with dualStackAddressFamily. (disableMP has no effect: MetalLB deprecated it,
    /// one family per session is the default.)
    public var families: [AFISAFI]
    public var bfd: PlannedBFD?

    public init(peerName: String, localAS: UInt32, myASN: UInt32? = nil, peerAS: PeerASN, peerAddress: IPAddress, peerPort: UInt16 = 179,
                sourceAddress: IPAddress? = nil, routerID: IPv4Address, holdTime: UInt16 = BGPSessionPlan.defaultHoldTime,
                keepaliveTime: UInt16? = nil, connectTime: Duration? = nil, ebgpMultiHop: Bool = false, password: BGPPassword? = nil,
                gracefulRestart: Bool = false, families: [AFISAFI]? = nil, bfd: PlannedBFD? = nil) {
        self.peerName = peerName
        self.localAS = localAS
        self.myASN = myASN ?? localAS
        self.peerAS = peerAS
        self.peerAddress = peerAddress
        self.peerPort = peerPort
        self.sourceAddress = sourceAddress
        self.routerID = routerID
        self.holdTime = holdTime
        self.keepaliveTime = keepaliveTime
        self.connectTime = connectTime
        self.ebgpMultiHop = ebgpMultiHop
        self.password = password
        self.gracefulRestart = gracefulRestart
        self.families = families ?? [.unicast(peerAddress.family)]
        self.bfd = bfd
    }

    public var id: String { peerName }

    /// An iBGP session: the peer's AS is ours (or dynamicASN is internal). LOCAL_PREF goes to these only.
    public var isInternal: Bool {
        switch peerAS {
        case .fixed(let a): a == localAS
        case .internal: true
        case .external: false
        }
    }

    /// Whether the session must be torn down and opened again to go from `old` to this (a changed BGP setting); a
    /// change of the BFD parameters alone does not need it.
    public func mustReestablish(comparedTo old: PlannedSession) -> Bool {
        var a = self, b = old
        a.bfd = nil
        b.bfd = nil
        return a != b
    }

    /// What the BGP library takes for this session.
    public var peerConfig: BGPPeerConfig {
        let session = BGPSessionConfig(
            localAS: localAS, peerAS: peerAS, routerID: routerID, holdTime: holdTime, keepaliveTime: keepaliveTime,
            connectRetryTime: connectTime ?? .seconds(120), families: families,
            gracefulRestart: gracefulRestart ? GracefulRestartConfig(forwardingStatePreserved: true) : nil)
        return BGPPeerConfig(session: session, peerAddress: peerAddress, peerPort: Int(peerPort), localAddress: sourceAddress,
                             ttl: ebgpMultiHop ? 255 : nil, password: password?.value)
    }

    public var description: String {
        var s = "BGPPeer \(peerName): \(peerAddress) port \(peerPort), \(peerAS) from AS \(localAS)"
        if localAS != myASN { s += " (localASN; myASN \(myASN))" }
        s += isInternal ? " (iBGP)" : " (eBGP)"
        if let sourceAddress { s += ", source \(sourceAddress)" }
        s += ", router ID \(routerID), hold \(holdTime)s"
        if let keepaliveTime { s += ", keepalive \(keepaliveTime)s" }
        if let connectTime { s += ", connect \(connectTime.components.seconds)s" }
        if ebgpMultiHop { s += ", multihop" }
        if password != nil { s += ", password <redacted>" }
        if gracefulRestart { s += ", graceful restart" }
        s += ", families [\(families.map(\.description).joined(separator: ", "))]"
        if let bfd {
            let p = bfd.parameters
            s += ", BFD profile \(bfd.profile) (rx \(p.receiveInterval) ms, tx \(p.transmitInterval) ms, x\(p.detectMultiplier)\(p.passiveMode ? ", passive" : ""))"
        }
        return s
    }
}

/// A BGPPeer selected for this node whose session cannot be opened, and why (in words, never with the password).
public struct RefusedPeer: Hashable, Sendable, CustomStringConvertible {
    public var peerName: String
    public var reason: String

    public init(peerName: String, reason: String) {
        self.peerName = peerName
        self.reason = reason
    }

    public var description: String { "BGPPeer \(peerName): \(reason)" }
}

/// The BGP sessions of one node (pure): every BGPPeer whose `nodeSelectors` select the node (none: every node),
/// mapped to what our BGP library takes, or refused with a reason.
public struct BGPSessionPlan: Hashable, Sendable {
    /// Sorted by peer name.
    public var sessions: [PlannedSession]
    /// Sorted by peer name.
    public var refused: [RefusedPeer]

    public init(sessions: [PlannedSession] = [], refused: [RefusedPeer] = []) {
        self.sessions = sessions
        self.refused = refused
    }

    /// The hold time when neither holdTime nor keepaliveTime is set (MetalLB's native mode).
    public static let defaultHoldTime: UInt16 = 90

    /// The sessions `node` opens. `secrets` are the Secrets of MetalLB's namespace by name (for `passwordSecret`).
    public static func sessions(for node: Node, configuration: Configuration, secrets: [String: Secret]) -> BGPSessionPlan {
        let labels = node.metadata.labels ?? [:]
        let profiles = Dictionary(configuration.bfdProfiles.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var plan = BGPSessionPlan()
        // The BGP library keeps one session per peer address.
        var byAddress: [IPAddress: String] = [:]
        for peer in configuration.bgpPeers.sorted(by: { $0.name < $1.name }) {
            let selectors = peer.spec.nodeSelectors ?? []
            guard selectors.isEmpty || selectors.contains(where: { $0.matches(labels) }) else { continue }
            let s: PlannedSession
            do {
                s = try session(peer, node: node, namespace: configuration.operatorNamespace, profiles: profiles, secrets: secrets)
            } catch {
                plan.refused.append(RefusedPeer(peerName: peer.name, reason: error.reason))
                continue
            }
            if let first = byAddress[s.peerAddress] {
                plan.refused.append(RefusedPeer(
                    peerName: peer.name, reason: "BGPPeer \(first) already has a session to \(s.peerAddress) on this node; a node opens one session per peer address"))
                continue
            }
            byAddress[s.peerAddress] = s.peerName
            plan.sessions.append(s)
        }
        return plan
    }

    /// The sessions `node` opens, with the password Secrets taken from the configuration (those in MetalLB's
    /// namespace).
    public static func sessions(for node: Node, configuration: Configuration) -> BGPSessionPlan {
        let ns = configuration.operatorNamespace
        let secrets = (configuration.secrets ?? []).filter { ($0.metadata.namespace ?? ns).isEmpty || ($0.metadata.namespace ?? ns) == ns }
        return sessions(for: node, configuration: configuration,
                        secrets: Dictionary(secrets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    struct Refusal: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    static func session(_ peer: API.BGPPeer, node: Node, namespace: String, profiles: [String: BFDProfile],
                        secrets: [String: Secret]) throws(Refusal) -> PlannedSession {
        let s = peer.spec
        // What this speaker cannot do.
        if let vrf = s.vrf, !vrf.isEmpty {
            throw Refusal("spec.vrf \"\(vrf)\": sessions in a VRF are not supported; this speaker peers from the default VRF only")
        }
        if let iface = s.interface, !iface.isEmpty {
            throw Refusal("spec.interface \"\(iface)\": unnumbered BGP is not supported; give the router's address in peerAddress")
        }

        // AS numbers.
        guard s.myASN != 0 else { throw Refusal("spec.myASN is required: the local AS number") }
        let peerAS: PeerASN
        let fixed = s.peerASN ?? 0
        let dynamic = s.dynamicASN ?? ""
        switch (fixed != 0, dynamic.isEmpty) {
        case (true, true): peerAS = .fixed(fixed)
        case (true, false): throw Refusal("peerASN and dynamicASN are mutually exclusive")
        case (false, true): throw Refusal("neither peerASN nor dynamicASN is set")
        case (false, false):
            guard let mode = DynamicASNMode(rawValue: dynamic) else {
                throw Refusal("spec.dynamicASN is \"\(dynamic)\"; it must be internal or external")
            }
            peerAS = mode == .internal ? .internal : .external
        }
        let localAS = s.localASN.flatMap { $0 == 0 ? nil : $0 } ?? s.myASN
        let ebgpMultiHop = s.ebgpMultiHop ?? false
        if ebgpMultiHop && s.isInternal {
            throw Refusal("spec.ebgpMultiHop is for eBGP peers, but this peer is iBGP")
        }

        // Addresses.
        guard let addressText = s.peerAddress, !addressText.isEmpty else { throw Refusal("spec.peerAddress is required") }
        let peerAddress: IPAddress
        do { peerAddress = try IPAddress.parse(addressText) } catch { throw Refusal("spec.peerAddress \"\(addressText)\" is not an IP address: \(error.reason)") }
        if peerAddress.isUnspecified || peerAddress.isMulticast {
            throw Refusal("spec.peerAddress \(peerAddress) is not a router's address")
        }
        var sourceAddress: IPAddress?
        if let text = s.sourceAddress, !text.isEmpty {
            let source: IPAddress
            do { source = try IPAddress.parse(text) } catch { throw Refusal("spec.sourceAddress \"\(text)\" is not an IP address: \(error.reason)") }
            guard source.family == peerAddress.family else {
                throw Refusal("spec.sourceAddress \(source) is \(source.family) but peerAddress \(peerAddress) is \(peerAddress.family)")
            }
            sourceAddress = source
        }
        let routerID: IPv4Address
        if let text = s.routerID, !text.isEmpty {
            guard let ip = IPAddress(text), case .v4(let v4) = ip, !v4.isUnspecified else {
                throw Refusal("spec.routerID \"\(text)\" is not a non-zero IPv4 address (RFC 6286)")
            }
            routerID = v4
        } else {
            routerID = defaultRouterID(node: node, source: sourceAddress)
        }

        // Timers (MetalLB's derivation: hold = 3 × keepalive, keepalive = hold / 3; whole seconds).
        var timerSpec = s
        if peer.isV1beta1 {
            // v1beta1 cannot leave them out: "0s" there means not set.
            if let h = timerSpec.holdTime, (try? GoDuration.parse(h)) == .zero { timerSpec.holdTime = nil }
            if let k = timerSpec.keepaliveTime, (try? GoDuration.parse(k)) == .zero { timerSpec.keepaliveTime = nil }
        }
        let timers: BGPTimers?
        do { timers = try timerSpec.timers() } catch { throw Refusal("spec.holdTime/keepaliveTime: \(error)") }
        var holdTime = defaultHoldTime
        var keepaliveTime: UInt16?
        if let timers {
            let hold = timers.holdTime.wholeSeconds, keepalive = timers.keepaliveTime.wholeSeconds
            guard hold == 0 || (3...65535).contains(hold) else {
                throw Refusal("the hold time is \(timers.holdTime); it must be 0 or from 3s to 65535s (RFC 4271 section 4.2)")
            }
            guard keepalive >= 0, keepalive <= hold else {
                throw Refusal("the keepalive time \(timers.keepaliveTime) must be from 0 to the hold time \(timers.holdTime)")
            }
            holdTime = UInt16(hold)
            keepaliveTime = UInt16(keepalive)
        }
        var connectTime: Duration?
        if let text = s.connectTime {
            guard let d = try? GoDuration.parse(text), d.nanoseconds % 1_000_000_000 == 0, (1...65535).contains(d.wholeSeconds) else {
                throw Refusal("spec.connectTime \"\(text)\" is not a whole number of seconds from 1s to 65535s")
            }
            connectTime = .seconds(d.wholeSeconds)
        }

        // Authentication (the password itself never goes into a reason).
        var password: String?
        if let p = s.password, !p.isEmpty { password = p }
        if let secretName = s.passwordSecretName {
            guard password == nil else { throw Refusal("password and passwordSecret are mutually exclusive") }
            guard let secret = secrets[secretName] else {
                throw Refusal("the password Secret \"\(secretName)\" does not exist in namespace \(namespace)")
            }
            guard secret.type == MetalLBAPI.basicAuthSecretType else {
                throw Refusal("the password Secret \"\(secretName)\" has type \"\(secret.type ?? "Opaque")\"; it must be \(MetalLBAPI.basicAuthSecretType)")
            }
            guard let data = secret.decodedData(forKey: MetalLBAPI.passwordSecretKey) else {
                throw Refusal("the password Secret \"\(secretName)\" has no key \"\(MetalLBAPI.passwordSecretKey)\"")
            }
            guard !data.isEmpty else { throw Refusal("the password Secret \"\(secretName)\" holds an empty password") }
            password = String(decoding: data, as: UTF8.self)
        }
        if let password, password.utf8.count > 80 {
            throw Refusal("the password is \(password.utf8.count) bytes long; TCP MD5 keys (RFC 2385) are at most 80 bytes")
        }

        // BFD.
        var bfd: PlannedBFD?
        if let name = s.bfdProfile, !name.isEmpty {
            guard let profile = profiles[name] else { throw Refusal("no BFDProfile named \"\(name)\" exists") }
            let p = profile.spec ?? BFDProfileSpec()
            if p.effectiveEchoMode {
                throw Refusal("BFDProfile \(name) enables echoMode, which this speaker does not implement; use a profile without echoMode")
            }
            if ebgpMultiHop {
                throw Refusal("BFDProfile \(name) on an ebgpMultiHop peer needs multihop BFD (RFC 5883), which this speaker does not implement")
            }
            guard let multiplier = UInt8(exactly: p.effectiveDetectMultiplier), let ttl = UInt8(exactly: p.effectiveMinimumTtl) else {
                throw Refusal("BFDProfile \(name): detectMultiplier must be from 2 to 255 and minimumTtl from 1 to 254")
            }
            let parameters = BFDParameters(
                receiveInterval: p.effectiveReceiveInterval, transmitInterval: p.effectiveTransmitInterval, detectMultiplier: multiplier,
                echoMode: false, passiveMode: p.effectivePassiveMode, minimumTtl: ttl)
            do { try parameters.validate() } catch { throw Refusal("BFDProfile \(name): \(error)") }
            bfd = PlannedBFD(profile: name, parameters: parameters)
        }

        let families: [AFISAFI] = s.dualStackAddressFamily == true ? [.ipv4Unicast, .ipv6Unicast] : [.unicast(peerAddress.family)]
        return PlannedSession(
            peerName: peer.name, localAS: localAS, myASN: s.myASN, peerAS: peerAS, peerAddress: peerAddress, peerPort: s.effectivePort,
            sourceAddress: sourceAddress, routerID: routerID, holdTime: holdTime, keepaliveTime: keepaliveTime, connectTime: connectTime,
            ebgpMultiHop: ebgpMultiHop, password: password.map(BGPPassword.init), gracefulRestart: s.enableGracefulRestart == true,
            families: families, bfd: bfd)
    }

    /// The BGP identifier when routerID is not set: the IPv4 source address, else the node's first IPv4 InternalIP,
    /// else its first IPv4 ExternalIP, else MetalLB's fallback, the CRC-32 of the node name (little-endian bytes).
    public static func defaultRouterID(node: Node, source: IPAddress?) -> IPv4Address {
        if case .v4(let a)? = source, !a.isUnspecified { return a }
        let addresses = node.status?.addresses ?? []
        for type in ["InternalIP", "ExternalIP"] {
            for a in addresses where a.type == type {
                if case .v4(let v4)? = IPAddress(a.address), !v4.isUnspecified { return v4 }
            }
        }
        let c = crc32(Array((node.metadata.name ?? "").utf8))
        return IPv4Address(UInt8(c & 0xFF), UInt8(c >> 8 & 0xFF), UInt8(c >> 16 & 0xFF), UInt8(c >> 24))
    }

    /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as Go's crc32.ChecksumIEEE.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            crc ^= UInt32(b)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
