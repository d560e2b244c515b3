import NetAddress
import Foundation

/// The path attribute flags octet (RFC 4271 §4.3).
public struct AttributeFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let optional = AttributeFlags(rawValue: 0x80)
    public static let transitive = AttributeFlags(rawValue: 0x40)
    public static let partial = AttributeFlags(rawValue: 0x20)
    public static let extendedLength = AttributeFlags(rawValue: 0x10)

    /// Well-known attributes: Optional 0, Transitive 1 (RFC 4271 §4.3).
    public static let wellKnown: AttributeFlags = [.transitive]
    /// Optional transitive (e.g. COMMUNITIES, AGGREGATOR).
    public static let optionalTransitive: AttributeFlags = [.optional, .transitive]
    /// Optional non-transitive (e.g. MULTI_EXIT_DISC, MP_REACH_NLRI).
    public static let optionalNonTransitive: AttributeFlags = [.optional]
}

/// Path attribute type codes this codec understands (RFC 4271 §5, RFC 1997, RFC 4760, RFC 6793, RFC 8092).
public enum AttributeTypeCode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case origin = 1
    case asPath = 2
    case nextHop = 3
    case multiExitDisc = 4
    case localPref = 5
    case atomicAggregate = 6
    case aggregator = 7
    case communities = 8
    case mpReachNLRI = 14
    case mpUnreachNLRI = 15
    case as4Path = 17
    case as4Aggregator = 18
    case largeCommunity = 32

    /// The Optional/Transitive bits the attribute must carry.
    public var requiredFlags: AttributeFlags {
        switch self {
        case .origin, .asPath, .nextHop, .localPref, .atomicAggregate: .wellKnown
        case .multiExitDisc, .mpReachNLRI, .mpUnreachNLRI: .optionalNonTransitive
        case .aggregator, .communities, .as4Path, .as4Aggregator, .largeCommunity: .optionalTransitive
        }
    }

    public var description: String {
        switch self {
        case .origin: "ORIGIN"
        case .asPath: "AS_PATH"
        case .nextHop: "NEXT_HOP"
        case .multiExitDisc: "MULTI_EXIT_DISC"
        case .localPref: "LOCAL_PREF"
        case .atomicAggregate: "ATOMIC_AGGREGATE"
        case .aggregator: "AGGREGATOR"
        case .communities: "COMMUNITIES"
        case .mpReachNLRI: "MP_REACH_NLRI"
        case .mpUnreachNLRI: "MP_UNREACH_NLRI"
        case .as4Path: "AS4_PATH"
        case .as4Aggregator: "AS4_AGGREGATOR"
        case .largeCommunity: "LARGE_COMMUNITY"
        }
    }
}

/// ORIGIN values (RFC 4271 §4.3 a).
public enum Origin: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case igp = 0
    case egp = 1
    case incomplete = 2

    public var description: String {
        switch self {
        case .igp: "IGP"
        case .egp: "EGP"
        case .incomplete: "INCOMPLETE"
        }
    }
}

/// One AS_PATH segment (RFC 4271 §4.3 b; confederation types from RFC 5065 §3).
public struct ASPathSegment: Hashable, Sendable {
    public enum Kind: UInt8, Hashable, Sendable {
        case asSet = 1
        case asSequence = 2
        case confedSequence = 3
        case confedSet = 4

        public var isConfederation: Bool { self == .confedSequence || self == .confedSet }
    }

    public var kind: Kind
    public var asns: [UInt32]

    public init(_ kind: Kind, _ asns: [UInt32]) {
        self.kind = kind
        self.asns = asns
    }
}

/// AS_PATH / AS4_PATH value (RFC 4271 §4.3 b, RFC 6793 §3).
public struct ASPath: Hashable, Sendable, CustomStringConvertible {
    public var segments: [ASPathSegment]

    public init(_ segments: [ASPathSegment] = []) { self.segments = segments }
    /// A single AS_SEQUENCE (empty path when `asns` is empty).
    public init(sequence asns: [UInt32]) { self.segments = asns.isEmpty ? [] : [ASPathSegment(.asSequence, asns)] }

    public static let empty = ASPath()

    /// Path length for route selection (RFC 4271 §9.1.2.2 a; RFC 5065 §5.3): an AS_SET counts 1, confederation
    /// segments count 0.
    public var pathLength: Int {
        segments.reduce(0) { n, s in
            switch s.kind {
            case .asSequence: n + s.asns.count
            case .asSet: n + 1
            case .confedSequence, .confedSet: n
            }
        }
    }

    /// All ASNs in order, for loop detection.
    public var allASNs: [UInt32] { segments.flatMap(\.asns) }

    /// The leftmost AS of a leading AS_SEQUENCE (RFC 4271 §6.3 eBGP first-AS check).
    public var firstAS: UInt32? {
        guard let s = segments.first, s.kind == .asSequence else { return nil }
        return s.asns.first
    }

    /// Prepends `asn` as RFC 4271 §5.1.2 b prescribes for advertising to an external peer.
    public func prepending(_ asn: UInt32, count: Int = 1) -> ASPath {
        var p = self
        let add = Array(repeating: asn, count: count)
        if let first = p.segments.first, first.kind == .asSequence {
            p.segments[0].asns = add + first.asns
        } else {
            p.segments.insert(ASPathSegment(.asSequence, add), at: 0)
        }
        return p
    }

    /// "65001 65002 {1,2} (3 4) [5,6]" — sets in braces, confed sequences in parentheses, confed sets in brackets.
    public var description: String {
        segments.map { s in
            switch s.kind {
            case .asSequence: s.asns.map(String.init).joined(separator: " ")
            case .asSet: "{" + s.asns.map(String.init).joined(separator: ",") + "}"
            case .confedSequence: "(" + s.asns.map(String.init).joined(separator: " ") + ")"
            case .confedSet: "[" + s.asns.map(String.init).joined(separator: ",") + "]"
            }
        }.joined(separator: " ")
    }

    var hasFourOctetASN: Bool { segments.contains { $0.asns.contains { $0 > 0xFFFF } } }

    /// Decodes segments of `asSize`-octet ASNs. Malformed per RFC 7606 §7.2: unknown segment type, zero segment
    /// length, overrun, or a single trailing octet.
    static func decode(_ value: ArraySlice<UInt8>, asSize: Int) -> Result<ASPath, NLRISyntaxError> {
        var r = ByteReader(value)
        var segs: [ASPathSegment] = []
        while !r.isAtEnd {
            guard let t = r.u8(), let n = r.u8() else { return .failure(.init(reason: "AS_PATH underrun: 1 octet left")) }
            guard let kind = ASPathSegment.Kind(rawValue: t) else { return .failure(.init(reason: "segment type \(t)")) }
            guard n > 0 else { return .failure(.init(reason: "zero-length segment")) }
            var asns: [UInt32] = []
            asns.reserveCapacity(Int(n))
            for _ in 0..<n {
                let v: UInt32?
                if asSize == 4 { v = r.u32() } else { v = r.u16().map(UInt32.init) }
                guard let v else { return .failure(.init(reason: "segment of \(n) ASNs overruns the attribute")) }
                asns.append(v)
            }
            segs.append(ASPathSegment(kind, asns))
        }
        return .success(ASPath(segs))
    }

    /// Encodes with `asSize`-octet ASNs, splitting segments longer than 255 (RFC 4271 §4.3 b) and writing AS_TRANS
    /// for ASNs that do not fit in 2 octets (RFC 6793 §4.2.2).
    func encode(asSize: Int, into w: inout ByteWriter) {
        for s in segments {
            var rest = s.asns[...]
            while !rest.isEmpty {
                let chunk = rest.prefix(255)
                rest = rest.dropFirst(chunk.count)
                w.u8(s.kind.rawValue)
                w.u8(UInt8(chunk.count))
                for a in chunk {
                    if asSize == 4 { w.u32(a) } else { w.u16(a > 0xFFFF ? OpenMessage.asTrans : UInt16(a)) }
                }
            }
        }
    }

    /// RFC 6793 §4.2.3: rebuilds the real path from a 2-octet AS_PATH and an AS4_PATH. The AS4_PATH is ignored if
    /// it is longer than the AS_PATH; otherwise the leading AS_PATH part fills the difference.
    public static func merge(asPath: ASPath, as4Path: ASPath) -> ASPath {
        let n = asPath.pathLength, m = as4Path.pathLength
        guard n >= m else { return asPath }
        var need = n - m
        var lead: [ASPathSegment] = []
        for s in asPath.segments {
            switch s.kind {
            case .confedSequence, .confedSet:
                if need > 0 || lead.isEmpty { lead.append(s) }
            case .asSet:
                if need > 0 { lead.append(s); need -= 1 }
            case .asSequence:
                if need > 0 {
                    let take = min(need, s.asns.count)
                    lead.append(ASPathSegment(.asSequence, Array(s.asns.prefix(take))))
                    need -= take
                }
            }
            if need == 0, !(lead.last?.kind.isConfederation ?? false) { break }
        }
        var out = lead
        for s in as4Path.segments {
            if s.kind == .asSequence, let last = out.last, last.kind == .asSequence {
                out[out.count - 1].asns += s.asns
            } else {
                out.append(s)
            }
        }
        return ASPath(out)
    }
}

/// AGGREGATOR / AS4_AGGREGATOR value (RFC 4271 §4.3 g, RFC 6793 §3).
public struct Aggregator: Hashable, Sendable, CustomStringConvertible {
    public var asn: UInt32
    public var address: IPv4Address
    public init(asn: UInt32, address: IPv4Address) { self.asn = asn; self.address = address }
    public var description: String { "\(asn) \(address)" }
}

/// A COMMUNITIES value (RFC 1997): high 16 bits AS, low 16 bits local value; well-known values from RFC 1997,
/// RFC 3765, RFC 7999, RFC 8326 and RFC 9494 ("BGP Well-known Communities" registry).
public struct Community: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(asn: UInt16, value: UInt16) { rawValue = UInt32(asn) << 16 | UInt32(value) }

    public var asn: UInt16 { UInt16(rawValue >> 16) }
    public var value: UInt16 { UInt16(rawValue & 0xFFFF) }

    public static let gracefulShutdown = Community(rawValue: 0xFFFF_0000)
    public static let acceptOwn = Community(rawValue: 0xFFFF_0001)
    public static let llgrStale = Community(rawValue: 0xFFFF_0006)
    public static let noLLGR = Community(rawValue: 0xFFFF_0007)
    public static let blackhole = Community(rawValue: 0xFFFF_029A)
    public static let noExport = Community(rawValue: 0xFFFF_FF01)
    public static let noAdvertise = Community(rawValue: 0xFFFF_FF02)
    public static let noExportSubconfed = Community(rawValue: 0xFFFF_FF03)
    public static let noPeer = Community(rawValue: 0xFFFF_FF04)

    static let names: [(Community, String)] = [
        (.gracefulShutdown, "GRACEFUL_SHUTDOWN"), (.acceptOwn, "ACCEPT_OWN"), (.llgrStale, "LLGR_STALE"),
        (.noLLGR, "NO_LLGR"), (.blackhole, "BLACKHOLE"), (.noExport, "NO_EXPORT"), (.noAdvertise, "NO_ADVERTISE"),
        (.noExportSubconfed, "NO_EXPORT_SUBCONFED"), (.noPeer, "NOPEER"),
    ]

    /// The registered name of a well-known community, if any.
    public var wellKnownName: String? { Community.names.first { $0.0 == self }?.1 }

    /// Parses "65000:100" or a well-known name ("NO_EXPORT", "no-export", case-insensitive).
    public init?(_ text: some StringProtocol) {
        let norm = text.uppercased().replacingOccurrences(of: "-", with: "_")
        if let hit = Community.names.first(where: { $0.1 == norm || $0.1.replacingOccurrences(of: "_", with: "") == norm }) {
            self = hit.0
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = UInt16(parts[0]), let v = UInt16(parts[1]) else { return nil }
        self.init(asn: a, value: v)
    }

    public var description: String { wellKnownName ?? "\(asn):\(value)" }
    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
}

/// A LARGE_COMMUNITY value (RFC 8092 §3): Global Administrator, Local Data Part 1, Local Data Part 2.
public struct LargeCommunity: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var globalAdministrator: UInt32
    public var localData1: UInt32
    public var localData2: UInt32

    public init(_ global: UInt32, _ local1: UInt32, _ local2: UInt32) {
        globalAdministrator = global
        localData1 = local1
        localData2 = local2
    }

    /// Parses "a:b:c" (RFC 8195 §2 canonical text).
    public init?(_ text: some StringProtocol) {
        let p = text.split(separator: ":", omittingEmptySubsequences: false)
        guard p.count == 3, let a = UInt32(p[0]), let b = UInt32(p[1]), let c = UInt32(p[2]) else { return nil }
        self.init(a, b, c)
    }

    public var description: String { "\(globalAdministrator):\(localData1):\(localData2)" }
    public static func < (l: Self, r: Self) -> Bool {
        (l.globalAdministrator, l.localData1, l.localData2) < (r.globalAdministrator, r.localData1, r.localData2)
    }
}

/// A route's next hop: IPv4, or IPv6 global with optional link-local (RFC 2545 §3, RFC 8950 §3).
public enum NextHop: Hashable, Sendable, CustomStringConvertible {
    case ipv4(IPv4Address)
    case ipv6(IPv6Address, linkLocal: IPv6Address? = nil)

    public var description: String {
        switch self {
        case .ipv4(let a): a.description
        case .ipv6(let g, let ll): ll.map { "\(g) (\($0))" } ?? g.description
        }
    }

    /// Octets in an MP_REACH_NLRI Next Hop field for `afi` (IPv4 next hops for AFI 2 become IPv4-mapped,
    /// RFC 4798 §2).
    func encoded(forAFI afi: UInt16) -> [UInt8] {
        switch self {
        case .ipv4(let a): afi == 2 ? IPv6Address(ipv4Mapped: a).bytes : a.bytes
        case .ipv6(let g, let ll): g.bytes + (ll?.bytes ?? [])
        }
    }
}

/// MP_REACH_NLRI (RFC 4760 §3) for IPv4/IPv6 unicast.
public struct MPReachNLRI: Hashable, Sendable {
    public var afiSafi: AFISAFI
    public var nextHop: NextHop
    public var nlri: [IPPrefix]

    public init(afiSafi: AFISAFI, nextHop: NextHop, nlri: [IPPrefix]) {
        self.afiSafi = afiSafi
        self.nextHop = nextHop
        self.nlri = nlri
    }
}

/// MP_UNREACH_NLRI (RFC 4760 §4) for IPv4/IPv6 unicast.
public struct MPUnreachNLRI: Hashable, Sendable {
    public var afiSafi: AFISAFI
    public var withdrawn: [IPPrefix]

    public init(afiSafi: AFISAFI, withdrawn: [IPPrefix]) {
        self.afiSafi = afiSafi
        self.withdrawn = withdrawn
    }
}

/// An attribute this codec does not interpret: kept verbatim when optional transitive (RFC 4271 §5, §9.1.3).
public struct UnknownAttribute: Hashable, Sendable {
    public var flags: AttributeFlags
    public var typeCode: UInt8
    public var value: [UInt8]

    public init(flags: AttributeFlags, typeCode: UInt8, value: [UInt8]) {
        self.flags = flags
        self.typeCode = typeCode
        self.value = value
    }
}

/// The path attributes of an UPDATE (RFC 4271 §4.3, §5). At most one of each; unknown optional transitive
/// attributes kept in `unknown`.
public struct PathAttributes: Hashable, Sendable {
    public var origin: Origin?
    public var asPath: ASPath?
    public var nextHop: IPv4Address?
    public var multiExitDisc: UInt32?
    public var localPref: UInt32?
    public var atomicAggregate: Bool
    public var aggregator: Aggregator?
    /// Empty means absent (an empty COMMUNITIES attribute is malformed, RFC 7606 §7.8).
    public var communities: [Community]
    public var mpReach: MPReachNLRI?
    public var mpUnreach: MPUnreachNLRI?
    public var as4Path: ASPath?
    public var as4Aggregator: Aggregator?
    /// Empty means absent (RFC 8092 §5).
    public var largeCommunities: [LargeCommunity]
    public var unknown: [UnknownAttribute]

    public init(origin: Origin? = nil, asPath: ASPath? = nil, nextHop: IPv4Address? = nil, multiExitDisc: UInt32? = nil,
                localPref: UInt32? = nil, atomicAggregate: Bool = false, aggregator: Aggregator? = nil,
                communities: [Community] = [], mpReach: MPReachNLRI? = nil, mpUnreach: MPUnreachNLRI? = nil,
                as4Path: ASPath? = nil, as4Aggregator: Aggregator? = nil, largeCommunities: [LargeCommunity] = [],
                unknown: [UnknownAttribute] = []) {
        self.origin = origin
        self.asPath = asPath
        self.nextHop = nextHop
        self.multiExitDisc = multiExitDisc
        self.localPref = localPref
        self.atomicAggregate = atomicAggregate
        self.aggregator = aggregator
        self.communities = communities
        self.mpReach = mpReach
        self.mpUnreach = mpUnreach
        self.as4Path = as4Path
        self.as4Aggregator = as4Aggregator
        self.largeCommunities = largeCommunities
        self.unknown = unknown
    }

    /// True when no attribute at all is present.
    public var isEmpty: Bool { self == PathAttributes() }

    /// The real AS path (RFC 6793 §4.2.3): AS_PATH merged with AS4_PATH, unless AGGREGATOR carries an AS other
    /// than AS_TRANS (then AS4_PATH is ignored).
    public var effectiveASPath: ASPath? {
        guard let p = asPath else { return nil }
        guard let p4 = as4Path else { return p }
        if let agg = aggregator, agg.asn != UInt32(OpenMessage.asTrans) { return p }
        return ASPath.merge(asPath: p, as4Path: p4)
    }

    /// The real aggregator (RFC 6793 §4.2.3): AS4_AGGREGATOR when AGGREGATOR carries AS_TRANS.
    public var effectiveAggregator: Aggregator? {
        guard let agg = aggregator else { return nil }
        if agg.asn == UInt32(OpenMessage.asTrans), let a4 = as4Aggregator { return a4 }
        return agg
    }

    /// This set as passed on to another peer: unknown optional transitive attributes get the Partial bit
    /// (RFC 4271 §5 / §9.1.3).
    public func forPropagation() -> PathAttributes {
        var c = self
        c.unknown = unknown.map { var u = $0; u.flags.insert(.partial); return u }
        return c
    }

    /// Encodes all attributes: MP_REACH_NLRI / MP_UNREACH_NLRI first (RFC 7606 §5.1), the rest by ascending type
    /// code; extended length only when the value exceeds 255 octets. Without 4-octet AS support on the session,
    /// ASNs above 65535 become AS_TRANS and AS4_PATH / AS4_AGGREGATOR are added (RFC 6793 §4.2.2); with it,
    /// AS4_PATH / AS4_AGGREGATOR are never sent (RFC 6793 §4.1).
    func encode(into w: inout ByteWriter, context: CodecContext) throws(EncodingError) {
        let asSize = context.fourOctetAS ? 4 : 2
        var items: [(UInt8, AttributeFlags, [UInt8])] = []
        func add(_ t: AttributeTypeCode, _ v: [UInt8]) { items.append((t.rawValue, t.requiredFlags, v)) }

        if let o = origin { add(.origin, [o.rawValue]) }
        if let p = asPath {
            var v = ByteWriter()
            p.encode(asSize: asSize, into: &v)
            add(.asPath, v.bytes)
        }
        if let nh = nextHop { add(.nextHop, nh.bytes) }
        if let m = multiExitDisc { var v = ByteWriter(); v.u32(m); add(.multiExitDisc, v.bytes) }
        if let l = localPref { var v = ByteWriter(); v.u32(l); add(.localPref, v.bytes) }
        if atomicAggregate { add(.atomicAggregate, []) }
        if let a = aggregator {
            var v = ByteWriter()
            if asSize == 4 { v.u32(a.asn) } else { v.u16(a.asn > 0xFFFF ? OpenMessage.asTrans : UInt16(a.asn)) }
            v.u32(a.address.rawValue)
            add(.aggregator, v.bytes)
        }
        if !communities.isEmpty {
            var v = ByteWriter(capacity: communities.count * 4)
            for c in communities { v.u32(c.rawValue) }
            add(.communities, v.bytes)
        }
        if let r = mpReach {
            guard r.nlri.allSatisfy({ AddressFamily($0.family).rawValue == r.afiSafi.afi }) else {
                throw EncodingError("MP_REACH_NLRI \(r.afiSafi) holds prefixes of another family")
            }
            var v = ByteWriter()
            v.u16(r.afiSafi.afi); v.u8(r.afiSafi.safi)
            let nh = r.nextHop.encoded(forAFI: r.afiSafi.afi)
            v.u8(UInt8(nh.count)); v.append(nh)
            v.u8(0)
            for p in r.nlri { NLRICodec.encode(p, into: &v) }
            add(.mpReachNLRI, v.bytes)
        }
        if let u = mpUnreach {
            guard u.withdrawn.allSatisfy({ AddressFamily($0.family).rawValue == u.afiSafi.afi }) else {
                throw EncodingError("MP_UNREACH_NLRI \(u.afiSafi) holds prefixes of another family")
            }
            var v = ByteWriter()
            v.u16(u.afiSafi.afi); v.u8(u.afiSafi.safi)
            for p in u.withdrawn { NLRICodec.encode(p, into: &v) }
            add(.mpUnreachNLRI, v.bytes)
        }
        if !context.fourOctetAS {
            let path4 = as4Path ?? asPath.flatMap { p in
                p.hasFourOctetASN ? ASPath(p.segments.filter { !$0.kind.isConfederation }) : nil
            }
            if let p4 = path4 {
                var v = ByteWriter()
                p4.encode(asSize: 4, into: &v)
                add(.as4Path, v.bytes)
            }
            if let a4 = as4Aggregator ?? aggregator.flatMap({ $0.asn > 0xFFFF ? $0 : nil }) {
                var v = ByteWriter(); v.u32(a4.asn); v.u32(a4.address.rawValue)
                add(.as4Aggregator, v.bytes)
            }
        }
        if !largeCommunities.isEmpty {
            var v = ByteWriter(capacity: largeCommunities.count * 12)
            for c in largeCommunities { v.u32(c.globalAdministrator); v.u32(c.localData1); v.u32(c.localData2) }
            add(.largeCommunity, v.bytes)
        }
        for u in unknown { items.append((u.typeCode, u.flags, u.value)) }

        func rank(_ t: UInt8) -> Int {
            t == AttributeTypeCode.mpReachNLRI.rawValue ? -2 : t == AttributeTypeCode.mpUnreachNLRI.rawValue ? -1 : Int(t)
        }
        var seen = Set<UInt8>()
        for (t, flags, value) in items.sorted(by: { rank($0.0) < rank($1.0) }) {
            guard seen.insert(t).inserted else { throw EncodingError("attribute type \(t) appears twice") }
            try PathAttributes.writeAttribute(type: t, flags: flags, value: value, into: &w)
        }
    }

    /// Writes <flags, type, length, value>; Extended Length only when the value exceeds 255 octets (RFC 4271 §4.3).
    static func writeAttribute(type: UInt8, flags: AttributeFlags, value: [UInt8], into w: inout ByteWriter) throws(EncodingError) {
        guard value.count <= 0xFFFF else { throw EncodingError("attribute \(type) value of \(value.count) octets") }
        var f = AttributeFlags(rawValue: flags.rawValue & 0xF0)   // low four bits MUST be zero when sent
        if value.count > 255 { f.insert(.extendedLength) } else { f.remove(.extendedLength) }
        w.u8(f.rawValue)
        w.u8(type)
        if value.count > 255 { w.u16(UInt16(value.count)) } else { w.u8(UInt8(value.count)) }
        w.append(value)
    }
}
