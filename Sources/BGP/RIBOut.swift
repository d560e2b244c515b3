import NetAddress
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
    /// The addresses of the interface that holds `localAddress`. A prefix of the other family than the session's
    /// (an IPv6 Service IP over an IPv4 session: MetalLB's `dualStackAddressFamily`) gets that interface's address of
    /// its own family as next hop, as FRR does, when no default is configured: an IPv4-mapped IPv6 next hop is valid
    /// on the wire (RFC 4798) but a router has no route to install through it.
    public var interfaceAddresses: [IPAddress]

    public init(localAS: UInt32, isInternal: Bool, families: Set<AFISAFI>, ipv4OverIPv6NextHop: Bool = false,
                localAddress: IPAddress?, defaultNextHopIPv4: IPv4Address? = nil, defaultNextHopIPv6: IPv6Address? = nil,
                interfaceAddresses: [IPAddress] = []) {
        self.localAS = localAS
        self.isInternal = isInternal
        self.families = families
        self.ipv4OverIPv6NextHop = ipv4OverIPv6NextHop
        self.localAddress = localAddress
        self.defaultNextHopIPv4 = defaultNextHopIPv4
        self.defaultNextHopIPv6 = defaultNextHopIPv6
        self.interfaceAddresses = interfaceAddresses
    }

    /// Whether `a` can be a next hop that a peer installs: not unspecified, loopback, multicast, link-local or
    /// IPv4-mapped (an IPv6 global or unique local address, or an IPv4 unicast address).
    static func usableNextHop(_ a: IPAddress) -> Bool {
        switch a {
        case .v4(let v): return !(v.isUnspecified || v.isThisNetwork || v.isLoopback || v.isMulticast || v.isLimitedBroadcast
                                  || v.rawValue >> 16 == 0xA9FE)  // 169.254/16, link-local
        case .v6(let v): return !(v.isUnspecified || v.isLoopback || v.isMulticast || v.isLinkLocal || v.ipv4Mapped != nil)
        }
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
    /// prefix rides an IPv4 session without an IPv6 next hop; RFC 8950 for IPv4 over an IPv6 next hop): the route's
    /// own, the configured default, the session's local address, an address of the local interface, each only if
    /// of the prefix's family; then another family where the encoding allows it.
    func nextHop(for r: AdvertisedRoute) -> NextHop? {
        let want = r.prefix.family
        var candidates: [IPAddress] = []
        if let n = r.nextHop { candidates.append(n) }
        switch want {
        case .ipv4: if let d = defaultNextHopIPv4 { candidates.append(.v4(d)) }
        case .ipv6: if let d = defaultNextHopIPv6 { candidates.append(.v6(d)) }
        }
        if let l = localAddress { candidates.append(l) }
        candidates += interfaceAddresses.filter { $0.family == want && Self.usableNextHop($0) }
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
///
/// Attribute sets are interned: each prefix maps to a small number naming its (next hop, attributes), so that a
/// table of 100,000 prefixes sharing one attribute set costs a dictionary of integers, comparing "desired" with
/// "advertised" compares integers, and grouping for the packer needs no hashing of attributes per prefix.
public struct AdjRIBOut: Sendable {
    /// One distinct (next hop, attributes) of the table.
    struct AttributeSet: Hashable, Sendable {
        var nextHop: NextHop
        var attributes: PathAttributes
    }

    private var sets: [AttributeSet] = []
    private var setIDs: [AttributeSet: Int32] = [:]
    private var desiredIDs: [IPPrefix: Int32] = [:]
    private var advertisedIDs: [IPPrefix: Int32] = [:]

    public init() {}

    /// The table the caller wants advertised (built on demand: for inspection and tests).
    public var desired: [IPPrefix: UpdatePacker.Route] { routes(desiredIDs) }
    /// What the peer was last told (built on demand).
    public var advertised: [IPPrefix: UpdatePacker.Route] { routes(advertisedIDs) }
    /// How many prefixes the peer has from us.
    public var advertisedCount: Int { advertisedIDs.count }

    private func routes(_ ids: [IPPrefix: Int32]) -> [IPPrefix: UpdatePacker.Route] {
        ids.reduce(into: [:]) { d, e in
            let s = sets[Int(e.value)]
            d[e.key] = UpdatePacker.Route(prefix: e.key, nextHop: s.nextHop, attributes: s.attributes)
        }
    }

    private mutating func intern(_ s: AttributeSet) -> Int32 {
        if let id = setIDs[s] { return id }
        let id = Int32(sets.count)
        sets.append(s)
        setIDs[s] = id
        return id
    }

    /// Drops attribute sets neither table uses any more (keeps the intern table from growing with every change).
    private mutating func compact() {
        guard sets.count > 64 else { return }
        var used = Set(desiredIDs.values)
        used.formUnion(advertisedIDs.values)
        guard used.count * 2 < sets.count else { return }
        var remap: [Int32: Int32] = [:]
        var newSets: [AttributeSet] = []
        for old in used.sorted() {
            remap[old] = Int32(newSets.count)
            newSets.append(sets[Int(old)])
        }
        sets = newSets
        setIDs = Dictionary(uniqueKeysWithValues: newSets.enumerated().map { ($0.element, Int32($0.offset)) })
        desiredIDs = desiredIDs.mapValues { remap[$0] ?? 0 }
        advertisedIDs = advertisedIDs.mapValues { remap[$0] ?? 0 }
    }

    /// Replaces the desired table (a prefix listed twice keeps its last entry).
    public mutating func setDesired(_ routes: [UpdatePacker.Route]) {
        var d: [IPPrefix: Int32] = [:]
        d.reserveCapacity(routes.count)
        // Consecutive routes usually share their attributes: compare with the previous one before hashing.
        var last: (AttributeSet, Int32)?
        for r in routes {
            let s = AttributeSet(nextHop: r.nextHop, attributes: Self.stripped(r.attributes))
            let id: Int32
            if let last, last.0 == s { id = last.1 } else { id = intern(s); last = (s, id) }
            d[r.prefix] = id
        }
        desiredIDs = d
        compact()
    }

    /// Replaces the desired table from attribute sets and (prefix, index into `attributeSets`) pairs: each set is
    /// interned once, not once per prefix. Pairs are taken in order, so a prefix listed twice keeps its last entry;
    /// an index out of range drops its pair.
    public mutating func setDesired(attributeSets: [(nextHop: NextHop, attributes: PathAttributes)],
                                    routes: [(prefix: IPPrefix, set: Int)]) {
        let ids = attributeSets.map { intern(AttributeSet(nextHop: $0.nextHop, attributes: Self.stripped($0.attributes))) }
        var d: [IPPrefix: Int32] = [:]
        d.reserveCapacity(routes.count)
        for r in routes where ids.indices.contains(r.set) { d[r.prefix] = ids[r.set] }
        desiredIDs = d
        compact()
    }

    /// The packer sets NEXT_HOP / MP_REACH / MP_UNREACH itself: they are not part of the route's identity.
    private static func stripped(_ a: PathAttributes) -> PathAttributes {
        guard a.nextHop != nil || a.mpReach != nil || a.mpUnreach != nil else { return a }
        var a = a
        a.nextHop = nil
        a.mpReach = nil
        a.mpUnreach = nil
        return a
    }

    /// Forgets what the peer knows (a new session starts from an empty Adj-RIB-In on the peer's side).
    public mutating func sessionReset() { advertisedIDs = [:] }

    /// Whether `takeUpdates` would produce anything.
    public var hasChanges: Bool { desiredIDs != advertisedIDs }

    /// The prefixes to withdraw and the routes to (re)announce, sorted for determinism.
    public func diff() -> (withdraw: [IPPrefix], announce: [UpdatePacker.Route]) {
        let (w, groups) = diffGroups()
        var a: [UpdatePacker.Route] = []
        for g in groups {
            let s = sets[Int(g.id)]
            for p in g.prefixes { a.append(UpdatePacker.Route(prefix: p, nextHop: s.nextHop, attributes: s.attributes)) }
        }
        a.sort { $0.prefix < $1.prefix }
        return (w, a)
    }

    /// Withdrawals sorted; announcements grouped by attribute set and family, each group sorted, groups in the order
    /// of their smallest prefix (the order `UpdatePacker.announce` gives the same routes sorted by prefix).
    private func diffGroups() -> (withdraw: [IPPrefix], groups: [(id: Int32, prefixes: [IPPrefix])]) {
        var withdraw: [IPPrefix] = []
        if !advertisedIDs.isEmpty {
            withdraw = advertisedIDs.keys.filter { desiredIDs[$0] == nil }
            withdraw.sort()
        }
        // Keyed by attribute set and family: each family gets its own messages (RFC 7606 §5.1).
        struct Key: Hashable { var id: Int32; var v6: Bool }
        var byKey: [Key: [IPPrefix]] = [:]
        if advertisedIDs.isEmpty {
            // A new session: everything goes (no lookups in the empty table).
            for (p, id) in desiredIDs { byKey[Key(id: id, v6: p.family == .ipv6), default: []].append(p) }
        } else {
            for (p, id) in desiredIDs where advertisedIDs[p] != id { byKey[Key(id: id, v6: p.family == .ipv6), default: []].append(p) }
        }
        var groups: [(id: Int32, prefixes: [IPPrefix])] = byKey.map { ($0.key.id, $0.value.sorted()) }
        groups.sort { $0.prefixes[0] < $1.prefixes[0] }
        return (withdraw, groups)
    }

    /// The UPDATEs that bring the peer from `advertised` to `desired`; afterwards both are equal.
    public mutating func takeUpdates(packer: UpdatePacker) throws(EncodingError) -> [UpdateMessage] {
        try takeUpdatesCounting(packer: packer).messages
    }

    /// `takeUpdates`, also telling how many prefixes were announced and withdrawn.
    public mutating func takeUpdatesCounting(packer: UpdatePacker) throws(EncodingError)
        -> (messages: [UpdateMessage], announced: Int, withdrawn: Int) {
        let (w, groups) = diffGroups()
        guard !w.isEmpty || !groups.isEmpty else { return ([], 0, 0) }
        var msgs = packer.withdraw(w)
        var announced = 0
        for g in groups {
            let s = sets[Int(g.id)]
            msgs += try packer.announce(prefixes: g.prefixes, nextHop: s.nextHop, attributes: s.attributes)
            announced += g.prefixes.count
        }
        advertisedIDs = desiredIDs
        compact()
        return (msgs, announced, w.count)
    }
}
