/// A route we originate, as the caller states it: the session adds what depends on the peer (AS_PATH, NEXT_HOP
/// default, LOCAL_PREF only towards internal peers).
public struct AdvertisedRoute: Hashable, Sendable, CustomStringConvertible {
    public var prefix: IPPrefix
    /// Next hop; nil: the peer's configured default for the family, else the session's local address.
    public var nextHop: IPAddress?
    /// LOCAL_PREF (RFC 4271 §5.1.5): sent to internal peers only; internal peers get 100 when nil.
    public var localPref: UInt32?
    public var multiExitDisc: UInt32?
    public var communities: [Community]
    public var largeCommunities: [LargeCommunity]

    public init(prefix: IPPrefix, nextHop: IPAddress? = nil, localPref: UInt32? = nil, multiExitDisc: UInt32? = nil,
                communities: [Community] = [], largeCommunities: [LargeCommunity] = []) {
        self.prefix = prefix
        self.nextHop = nextHop
        self.localPref = localPref
        self.multiExitDisc = multiExitDisc
        self.communities = communities
        self.largeCommunities = largeCommunities
    }

    public var description: String {
        var s = prefix.description
        if let nextHop { s += " via \(nextHop)" }
        if let localPref { s += " local-pref \(localPref)" }
        if let multiExitDisc { s += " med \(multiExitDisc)" }
        if !communities.isEmpty { s += " communities \(communities.map(\.description).joined(separator: ","))" }
        if !largeCommunities.isEmpty { s += " large-communities \(largeCommunities.map(\.description).joined(separator: ","))" }
        return s
    }
}

/// Turns `AdvertisedRoute`s into the per-session UPDATE routes (RFC 4271 §5.1, §9.1.3).
public struct RouteExport: Sendable {
    public var localAS: UInt32
    public var isInternal: Bool
    /// Families negotiated on the session (RFC 4760 §8): other prefixes are not sent.
    public var families: Set<AFISAFI>
    /// Extended next hop for IPv4 NLRI over an IPv6 next hop was negotiated (RFC 8950).
    public var ipv4OverIPv6NextHop: Bool
    /// The local end of the TCP connection.
    public var localAddress: IPAddress?
    public var defaultNextHopIPv4: IPv4Address?
    public var defaultNextHopIPv6: IPv6Address?

    public init(localAS: UInt32, isInternal: Bool, families: Set<AFISAFI>, ipv4OverIPv6NextHop: Bool = false,
                localAddress: IPAddress?, defaultNextHopIPv4: IPv4Address? = nil, defaultNextHopIPv6: IPv6Address? = nil) {
        self.localAS = localAS
        self.isInternal = isInternal
        self.families = families
        self.ipv4OverIPv6NextHop = ipv4OverIPv6NextHop
        self.localAddress = localAddress
        self.defaultNextHopIPv4 = defaultNextHopIPv4
        self.defaultNextHopIPv6 = defaultNextHopIPv6
    }

    /// Why a route cannot be sent on this session.
    public enum Skip: Error, Hashable, Sendable, CustomStringConvertible {
        case familyNotNegotiated(IPPrefix)
        case noUsableNextHop(IPPrefix)
        public var description: String {
            switch self {
            case .familyNotNegotiated(let p): "\(p): the peer did not negotiate \(AFISAFI.unicast(p.family))"
            case .noUsableNextHop(let p): "\(p): no next hop of a family the session can carry"
            }
        }
    }

    /// The next hop for `r` (RFC 4271 §5.1.3 for IPv4; RFC 2545 §3 for IPv6; RFC 4798 §2 IPv4-mapped when an IPv6
    /// prefix rides an IPv4 session without an IPv6 next hop; RFC 8950 for IPv4 over an IPv6 next hop).
    func nextHop(for r: AdvertisedRoute) -> NextHop? {
        let want = r.prefix.family
        var candidates: [IPAddress] = []
        if let n = r.nextHop { candidates.append(n) }
        switch want {
        case .ipv4: if let d = defaultNextHopIPv4 { candidates.append(.v4(d)) }
        case .ipv6: if let d = defaultNextHopIPv6 { candidates.append(.v6(d)) }
        }
        if let l = localAddress { candidates.append(l) }
        // Same family first.
        if let same = candidates.first(where: { $0.family == want }) {
            switch same {
            case .v4(let a): return .ipv4(a)
            case .v6(let a): return .ipv6(a)
            }
        }
        guard let other = candidates.first else { return nil }
        switch (want, other) {
        case (.ipv6, .v4(let a)): return .ipv4(a)   // encoded as ::ffff:a.b.c.d
        case (.ipv4, .v6(let a)) where ipv4OverIPv6NextHop: return .ipv6(a)
        default: return nil
        }
    }

    /// The packer's view of `r` on this session, or why it cannot be sent.
    public func route(_ r: AdvertisedRoute) -> Result<UpdatePacker.Route, Skip> {
        guard families.contains(.unicast(r.prefix.family)) else { return .failure(.familyNotNegotiated(r.prefix)) }
        guard let nh = nextHop(for: r) else { return .failure(.noUsableNextHop(r.prefix)) }
        // RFC 4271 §5.1.2: towards an external peer we prepend our AS; internal peers get an empty path for our own
        // routes. §5.1.5: LOCAL_PREF only to internal peers.
        let attrs = PathAttributes(
            origin: .igp, asPath: isInternal ? ASPath() : ASPath(sequence: [localAS]), multiExitDisc: r.multiExitDisc,
            localPref: isInternal ? (r.localPref ?? 100) : nil, communities: r.communities,
            largeCommunities: r.largeCommunities)
        return .success(UpdatePacker.Route(prefix: r.prefix, nextHop: nh, attributes: attrs))
    }
}

/// The Adj-RIB-Out of one session (RFC 4271 §3.2, §9.2): what the caller wants advertised versus what the peer was
/// last told. `takeUpdates` turns the difference into few UPDATEs (withdrawals batched, routes with equal attributes
/// packed together by `UpdatePacker`).
public struct AdjRIBOut: Sendable {
    public private(set) var desired: [IPPrefix: UpdatePacker.Route] = [:]
    public private(set) var advertised: [IPPrefix: UpdatePacker.Route] = [:]

    public init() {}

    /// Replaces the desired table.
    public mutating func setDesired(_ routes: [UpdatePacker.Route]) {
        var d: [IPPrefix: UpdatePacker.Route] = [:]
        for r in routes { d[r.prefix] = r }
        desired = d
    }

    /// Forgets what the peer knows (a new session starts from an empty Adj-RIB-In on the peer's side).
    public mutating func sessionReset() { advertised = [:] }

    /// Whether `takeUpdates` would produce anything.
    public var hasChanges: Bool { desired != advertised }

    /// The prefixes to withdraw and the routes to (re)announce, sorted for determinism.
    public func diff() -> (withdraw: [IPPrefix], announce: [UpdatePacker.Route]) {
        let withdraw = advertised.keys.filter { desired[$0] == nil }.sorted()
        let announce = desired.filter { advertised[$0.key] != $0.value }.sorted { $0.key < $1.key }.map(\.value)
        return (withdraw, announce)
    }

    /// The UPDATEs that bring the peer from `advertised` to `desired`; afterwards both are equal.
    public mutating func takeUpdates(packer: UpdatePacker) throws(EncodingError) -> [UpdateMessage] {
        let (w, a) = diff()
        guard !w.isEmpty || !a.isEmpty else { return [] }
        let msgs = try packer.pack(announce: a, withdraw: w)
        advertised = desired
        return msgs
    }
}
