import NetAddress
/// The UPDATE message (RFC 4271 §4.3). `withdrawnRoutes` and `nlri` are the IPv4-only classic fields; other
/// families travel in `attributes.mpReach` / `attributes.mpUnreach` (RFC 4760).
public struct UpdateMessage: Hashable, Sendable {
    public var withdrawnRoutes: [IPPrefix]
    public var attributes: PathAttributes
    public var nlri: [IPPrefix]

    public init(withdrawnRoutes: [IPPrefix] = [], attributes: PathAttributes = PathAttributes(), nlri: [IPPrefix] = []) {
        self.withdrawnRoutes = withdrawnRoutes
        self.attributes = attributes
        self.nlri = nlri
    }

    /// Every reachable prefix: classic NLRI plus MP_REACH_NLRI.
    public var announcedPrefixes: [IPPrefix] { nlri + (attributes.mpReach?.nlri ?? []) }
    /// Every withdrawn prefix: classic Withdrawn Routes plus MP_UNREACH_NLRI.
    public var withdrawnPrefixes: [IPPrefix] { withdrawnRoutes + (attributes.mpUnreach?.withdrawn ?? []) }

    /// The End-of-RIB marker (RFC 4724 §2): an empty UPDATE for IPv4 unicast, else an UPDATE holding only an
    /// empty MP_UNREACH_NLRI for the AFI/SAFI.
    public static func endOfRIB(_ afiSafi: AFISAFI) -> UpdateMessage {
        if afiSafi == .ipv4Unicast { return UpdateMessage() }
        return UpdateMessage(attributes: PathAttributes(mpUnreach: MPUnreachNLRI(afiSafi: afiSafi, withdrawn: [])))
    }

    /// The AFI/SAFI this UPDATE marks End-of-RIB for, if it is such a marker (RFC 4724 §2).
    public var endOfRIB: AFISAFI? {
        guard withdrawnRoutes.isEmpty, nlri.isEmpty else { return nil }
        if attributes.isEmpty { return .ipv4Unicast }
        if let u = attributes.mpUnreach, u.withdrawn.isEmpty {
            var rest = attributes
            rest.mpUnreach = nil
            if rest.isEmpty { return u.afiSafi }
        }
        return nil
    }

    /// Decodes an UPDATE body (after the header) with RFC 4271 §6.3 checks as revised by RFC 7606.
    /// Returns the message, plus the error handlings applied when some attribute was malformed but no session
    /// reset is required. Throws `BGPError` for errors that need a NOTIFICATION.
    public static func decode(body: ArraySlice<UInt8>, context: CodecContext = CodecContext()) throws(BGPError) -> UpdateDecodeOutcome {
        var r = ByteReader(body)
        // RFC 4271 §6.3: lengths that do not fit the message → Malformed Attribute List.
        guard let wlen = r.u16(), let wbytes = r.read(Int(wlen)) else {
            throw .update(.malformedAttributeList, "Withdrawn Routes Length exceeds the message")
        }
        guard let alen = r.u16(), let abytes = r.read(Int(alen)) else {
            throw .update(.malformedAttributeList, "Total Path Attribute Length exceeds the message")
        }
        let nbytes = r.readAll()
        // RFC 4271 §6.3 / RFC 7606 §5.3: NLRI syntax errors → Invalid Network Field (session reset).
        let withdrawn: [IPPrefix]
        switch NLRICodec.decode(wbytes, family: .ipv4) {
        case .success(let p): withdrawn = p
        case .failure(let e): throw .update(.invalidNetworkField, "Withdrawn Routes: \(e.reason)")
        }
        let nlri: [IPPrefix]
        switch NLRICodec.decode(nbytes, family: .ipv4) {
        case .success(let p): nlri = p
        case .failure(let e): throw .update(.invalidNetworkField, "NLRI: \(e.reason)")
        }
        var parser = AttributeParser(context: context)
        try parser.parse(abytes)
        parser.finish(hasClassicNLRI: !nlri.isEmpty)
        // Unknown attributes in ascending type order, the order `encode` writes (RFC 4271 §5 SHOULD): the same
        // attribute set must compare equal however the peer ordered it.
        var attributes = parser.attributes
        attributes.unknown.sort { $0.typeCode < $1.typeCode }
        let msg = UpdateMessage(withdrawnRoutes: withdrawn, attributes: attributes, nlri: nlri)
        return parser.handlings.isEmpty ? .clean(msg) : .withErrors(msg, parser.handlings)
    }

    /// Convenience: decode a complete UPDATE message, header included.
    public static func decode(message: [UInt8], context: CodecContext = CodecContext()) throws(BGPError) -> UpdateDecodeOutcome {
        let h = try BGPMessageHeader.validate(message[...], maxLength: context.maxMessageLength)
        guard h.type == .update else { throw .header(.badMessageType, data: [h.type.rawValue], "not an UPDATE") }
        guard h.length == message.count else {
            throw .header(.badMessageLength, data: lengthData(h.length), "length field \(h.length) but \(message.count) octets given")
        }
        return try decode(body: message[BGPMessageHeader.size...], context: context)
    }

    /// Encodes the body: Withdrawn Routes, Path Attributes, NLRI, each with its length (RFC 4271 §4.3).
    func encodeBody(into w: inout ByteWriter, context: CodecContext) throws(EncodingError) {
        guard withdrawnRoutes.allSatisfy({ $0.family == .ipv4 }), nlri.allSatisfy({ $0.family == .ipv4 }) else {
            throw EncodingError("classic Withdrawn Routes / NLRI carry IPv4 only (RFC 4271 §4.3); use MP_(UN)REACH_NLRI")
        }
        let wStart = w.bytes.count
        w.u16(0)
        for p in withdrawnRoutes { NLRICodec.encode(p, into: &w) }
        let wl = w.bytes.count - wStart - 2
        guard wl <= 0xFFFF else { throw EncodingError("withdrawn routes too long") }
        w.patchU16(at: wStart, UInt16(wl))
        let aStart = w.bytes.count
        w.u16(0)
        try attributes.encode(into: &w, context: context)
        let al = w.bytes.count - aStart - 2
        guard al <= 0xFFFF else { throw EncodingError("path attributes too long") }
        w.patchU16(at: aStart, UInt16(al))
        for p in nlri { NLRICodec.encode(p, into: &w) }
    }

    /// Encodes the complete message (header included).
    public func encode(context: CodecContext = CodecContext()) throws(EncodingError) -> [UInt8] {
        try BGPMessage.update(self).encode(context: context)
    }
}

/// The result of decoding an UPDATE: either clean, or with RFC 7606 error handlings applied.
public enum UpdateDecodeOutcome: Hashable, Sendable {
    case clean(UpdateMessage)
    /// Malformed attributes were removed from the message; `treatAsWithdraw` tells whether its NLRI must be
    /// handled as withdrawn.
    case withErrors(UpdateMessage, [UpdateErrorHandling])

    public var message: UpdateMessage {
        switch self {
        case .clean(let m), .withErrors(let m, _): m
        }
    }

    public var errors: [UpdateErrorHandling] {
        switch self {
        case .clean: []
        case .withErrors(_, let e): e
        }
    }

    /// RFC 7606 §2 "treat-as-withdraw".
    public var treatAsWithdraw: Bool { errors.contains { $0.action == .treatAsWithdraw } }

    /// Prefixes to install (none under treat-as-withdraw).
    public var effectiveAnnounced: [IPPrefix] { treatAsWithdraw ? [] : message.announcedPrefixes }

    /// Prefixes to remove: the withdrawn ones, plus every announced one under treat-as-withdraw.
    public var effectiveWithdrawn: [IPPrefix] {
        treatAsWithdraw ? message.withdrawnPrefixes + message.announcedPrefixes : message.withdrawnPrefixes
    }
}

/// One RFC 7606 error handling applied to a received UPDATE.
public struct UpdateErrorHandling: Hashable, Sendable, CustomStringConvertible {
    /// RFC 7606 §2 approaches short of a session reset, weakest first.
    public enum Action: Int, Hashable, Sendable, Comparable {
        /// The attribute was dropped; the routes stay.
        case attributeDiscard = 1
        /// All NLRI in the UPDATE are to be treated as withdrawn.
        case treatAsWithdraw = 2

        public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }
    }

    public var action: Action
    /// The attribute type concerned, if any.
    public var attributeType: UInt8?
    /// What RFC 4271 would have sent as NOTIFICATION (for logging; not sent under RFC 7606).
    public var error: BGPError

    public init(action: Action, attributeType: UInt8?, error: BGPError) {
        self.action = action
        self.attributeType = attributeType
        self.error = error
    }

    public var description: String {
        let name = attributeType.map { AttributeTypeCode(rawValue: $0)?.description ?? "attribute \($0)" } ?? "UPDATE"
        return "\(action == .treatAsWithdraw ? "treat-as-withdraw" : "attribute-discard") (\(name)): \(error)"
    }
}

/// Path attribute parsing with RFC 7606 error handling (RFC 7606 §3, §4, §7).
struct AttributeParser {
    let context: CodecContext
    var attributes = PathAttributes()
    var handlings: [UpdateErrorHandling] = []
    private var seen = Set<UInt8>()
    private var malformed = Set<UInt8>()

    /// A parser for one UPDATE of a session described by `context` (RFC 6793 §4, RFC 7606 §7.5).
    init(context: CodecContext) { self.context = context }

    private mutating func withdraw(_ type: UInt8?, _ s: UpdateSubcode, data: [UInt8] = [], _ detail: String) {
        if let type { malformed.insert(type) }
        handlings.append(.init(action: .treatAsWithdraw, attributeType: type, error: .update(s, data: data, detail)))
    }

    private mutating func discard(_ type: UInt8, _ s: UpdateSubcode, data: [UInt8] = [], _ detail: String) {
        handlings.append(.init(action: .attributeDiscard, attributeType: type, error: .update(s, data: data, detail)))
    }

    /// Walks the Path Attributes field (RFC 4271 §4.3), applying RFC 7606 §4 to framing errors.
    mutating func parse(_ bytes: ArraySlice<UInt8>) throws(BGPError) {
        var r = ByteReader(bytes)
        while !r.isAtEnd {
            let start = r.bytes
            // RFC 7606 §4: too few octets for an attribute header, or a value overrunning the Total Path
            // Attribute Length → treat-as-withdraw; the NLRI field is still located via the total length.
            guard r.remaining >= 3, let flagsByte = r.u8(), let type = r.u8() else {
                withdraw(nil, .malformedAttributeList, "\(start.count) trailing octets cannot hold an attribute header")
                return
            }
            let flags = AttributeFlags(rawValue: flagsByte)
            let lenField: Int?
            if flags.contains(.extendedLength) { lenField = r.u16().map(Int.init) } else { lenField = r.u8().map(Int.init) }
            guard let length = lenField, let value = r.read(length) else {
                if type == AttributeTypeCode.mpReachNLRI.rawValue || type == AttributeTypeCode.mpUnreachNLRI.rawValue {
                    // The MP NLRI cannot be located, so treat-as-withdraw is impossible (RFC 7606 §5.3 / §7.11).
                    throw .update(.attributeLengthError, data: Array(start), "MP attribute \(type) overruns the attribute list")
                }
                withdraw(type, .attributeLengthError, data: Array(start), "attribute \(type) overruns the attribute list")
                return
            }
            let whole = Array(start.prefix(start.count - r.remaining))
            try handle(flags: flags, type: type, value: value, whole: whole)
        }
    }

    /// Checks and stores one attribute (RFC 4271 §5, §6.3 as revised by RFC 7606 §3 and §7).
    private mutating func handle(flags: AttributeFlags, type: UInt8, value: ArraySlice<UInt8>, whole: [UInt8]) throws(BGPError) {
        let isMP = type == AttributeTypeCode.mpReachNLRI.rawValue || type == AttributeTypeCode.mpUnreachNLRI.rawValue
        // RFC 7606 §3 g: repeated MP_REACH/MP_UNREACH → Malformed Attribute List; other repeats: keep the first.
        guard seen.insert(type).inserted else {
            if isMP { throw .update(.malformedAttributeList, "attribute \(type) appears twice") }
            discard(type, .malformedAttributeList, data: whole, "duplicate attribute \(type): first occurrence kept")
            return
        }
        guard let known = AttributeTypeCode(rawValue: type) else {
            // RFC 4271 §6.3: unrecognized well-known → Unrecognized Well-known Attribute (session reset).
            guard flags.contains(.optional) else {
                throw .update(.unrecognizedWellKnownAttribute, data: whole, "unrecognized well-known attribute \(type)")
            }
            // RFC 4271 §5: unknown optional transitive kept, unknown optional non-transitive quietly ignored.
            if flags.contains(.transitive) {
                attributes.unknown.append(UnknownAttribute(flags: AttributeFlags(rawValue: flags.rawValue & 0xE0), typeCode: type, value: Array(value)))
            }
            return
        }
        // RFC 4271 §6.3 / RFC 7606 §3 c: Optional/Transitive bits must match; Partial only on optional transitive.
        let ot = AttributeFlags(rawValue: flags.rawValue & 0xC0)
        let partialOK = known.requiredFlags == .optionalTransitive
        if ot != known.requiredFlags || (!partialOK && flags.contains(.partial)) {
            if isMP { throw .update(.attributeFlagsError, data: whole, "\(known) flags 0x\(String(flagsByteHex(flags)))") }
            withdraw(type, .attributeFlagsError, data: whole, "\(known) flags 0x\(flagsByteHex(flags))")
            return
        }
        var r = ByteReader(value)
        let n = value.count
        switch known {
        case .origin:   // RFC 7606 §7.1
            guard n == 1, let v = r.u8() else { return withdraw(type, .attributeLengthError, data: whole, "ORIGIN length \(n)") }
            guard let o = Origin(rawValue: v) else { return withdraw(type, .invalidOriginAttribute, data: whole, "ORIGIN value \(v)") }
            attributes.origin = o
        case .asPath:   // RFC 7606 §7.2, RFC 7607 §2
            switch ASPath.decode(value, asSize: context.fourOctetAS ? 4 : 2) {
            case .failure(let e): withdraw(type, .malformedASPath, "AS_PATH: \(e.reason)")
            case .success(let p):
                if p.allASNs.contains(0) { return withdraw(type, .malformedASPath, "AS_PATH contains AS 0") }
                attributes.asPath = p
            }
        case .nextHop:  // RFC 7606 §7.3
            guard n == 4, let v = r.u32() else { return withdraw(type, .attributeLengthError, data: whole, "NEXT_HOP length \(n)") }
            attributes.nextHop = IPv4Address(v)
        case .multiExitDisc:    // RFC 7606 §7.4
            guard n == 4, let v = r.u32() else { return withdraw(type, .attributeLengthError, data: whole, "MULTI_EXIT_DISC length \(n)") }
            attributes.multiExitDisc = v
        case .localPref:    // RFC 7606 §7.5
            guard context.isInternalPeer else { return discard(type, .unspecific, data: whole, "LOCAL_PREF from an external peer") }
            guard n == 4, let v = r.u32() else { return withdraw(type, .attributeLengthError, data: whole, "LOCAL_PREF length \(n)") }
            attributes.localPref = v
        case .atomicAggregate:  // RFC 7606 §7.6
            guard n == 0 else { return discard(type, .attributeLengthError, data: whole, "ATOMIC_AGGREGATE length \(n)") }
            attributes.atomicAggregate = true
        case .aggregator:   // RFC 7606 §7.7, RFC 6793 §4, RFC 7607 §2
            let want = context.fourOctetAS ? 8 : 6
            guard n == want else { return discard(type, .attributeLengthError, data: whole, "AGGREGATOR length \(n), expected \(want)") }
            let asn = context.fourOctetAS ? r.u32() : r.u16().map(UInt32.init)
            guard let asn, let addr = r.u32() else { return discard(type, .attributeLengthError, data: whole, "AGGREGATOR truncated") }
            guard asn != 0 else { return discard(type, .optionalAttributeError, data: whole, "AGGREGATOR AS 0") }
            attributes.aggregator = Aggregator(asn: asn, address: IPv4Address(addr))
        case .communities:  // RFC 7606 §7.8
            guard n > 0, n % 4 == 0 else { return withdraw(type, .optionalAttributeError, data: whole, "COMMUNITIES length \(n)") }
            var cs: [Community] = []
            while let v = r.u32() { cs.append(Community(rawValue: v)) }
            attributes.communities = cs
        case .largeCommunity:   // RFC 8092 §6
            guard n > 0, n % 12 == 0 else { return withdraw(type, .optionalAttributeError, data: whole, "LARGE_COMMUNITY length \(n)") }
            var cs: [LargeCommunity] = []
            while let a = r.u32(), let b = r.u32(), let c = r.u32() { cs.append(LargeCommunity(a, b, c)) }
            attributes.largeCommunities = cs
        case .as4Path:  // RFC 6793 §6, RFC 7607 §2
            guard !context.fourOctetAS else { return discard(type, .optionalAttributeError, data: whole, "AS4_PATH from a 4-octet-AS speaker") }
            switch ASPath.decode(value, asSize: 4) {
            case .failure(let e): discard(type, .optionalAttributeError, data: whole, "AS4_PATH: \(e.reason)")
            case .success(let p):
                if p.segments.contains(where: { $0.kind.isConfederation }) {
                    return discard(type, .optionalAttributeError, data: whole, "AS4_PATH with confederation segments")
                }
                if p.allASNs.contains(0) { return discard(type, .optionalAttributeError, data: whole, "AS4_PATH contains AS 0") }
                attributes.as4Path = p
            }
        case .as4Aggregator:    // RFC 6793 §6, RFC 7607 §2
            guard !context.fourOctetAS else { return discard(type, .optionalAttributeError, data: whole, "AS4_AGGREGATOR from a 4-octet-AS speaker") }
            guard n == 8, let asn = r.u32(), let addr = r.u32() else {
                return discard(type, .attributeLengthError, data: whole, "AS4_AGGREGATOR length \(n)")
            }
            guard asn != 0 else { return discard(type, .optionalAttributeError, data: whole, "AS4_AGGREGATOR AS 0") }
            attributes.as4Aggregator = Aggregator(asn: asn, address: IPv4Address(addr))
        case .mpReachNLRI:  // RFC 4760 §3, §7; RFC 7606 §7.11; RFC 8950 §3
            attributes.mpReach = try Self.decodeMPReach(value, whole: whole)
        case .mpUnreachNLRI:    // RFC 4760 §4, §7; RFC 7606 §7.11
            attributes.mpUnreach = try Self.decodeMPUnreach(value, whole: whole)
        }
    }

    /// MP_REACH_NLRI value (RFC 4760 §3); any error is a session reset or AFI/SAFI disable (RFC 7606 §7.11).
    static func decodeMPReach(_ value: ArraySlice<UInt8>, whole: [UInt8]) throws(BGPError) -> MPReachNLRI {
        var r = ByteReader(value)
        guard let afi = r.u16(), let safi = r.u8(), let nhLen = r.u8() else {
            throw .update(.optionalAttributeError, data: whole, "MP_REACH_NLRI shorter than 5 octets")
        }
        let afiSafi = AFISAFI(afi: afi, safi: safi)
        func fail(_ d: String) -> BGPError {
            .update(.optionalAttributeError, data: whole, "MP_REACH_NLRI \(afiSafi): \(d)", afiSafi: afiSafi)
        }
        guard let family = afiSafi.family, safi == 1 else { throw fail("unsupported AFI/SAFI") }
        guard let nh = r.read(Int(nhLen)) else { throw fail("next hop length \(nhLen) overruns") }
        guard r.u8() != nil else { throw fail("missing Reserved octet") }
        let nextHop: NextHop
        switch (family, nh.count) {
        case (.ipv4, 4): nextHop = .ipv4(IPv4Address(bytes: nh) ?? .any)
        case (_, 16): nextHop = .ipv6(IPv6Address(bytes: nh) ?? .any)   // RFC 2545 §3; RFC 8950 §3 for AFI 1
        case (_, 32):
            nextHop = .ipv6(IPv6Address(bytes: nh.prefix(16)) ?? .any, linkLocal: IPv6Address(bytes: nh.suffix(16)))
        default: throw fail("next hop length \(nh.count) invalid for \(family)")
        }
        switch NLRICodec.decode(r.readAll(), family: family) {
        case .success(let p): return MPReachNLRI(afiSafi: afiSafi, nextHop: nextHop, nlri: p)
        case .failure(let e): throw fail("NLRI: \(e.reason)")
        }
    }

    /// MP_UNREACH_NLRI value (RFC 4760 §4); any error is a session reset or AFI/SAFI disable (RFC 7606 §7.11).
    static func decodeMPUnreach(_ value: ArraySlice<UInt8>, whole: [UInt8]) throws(BGPError) -> MPUnreachNLRI {
        var r = ByteReader(value)
        guard let afi = r.u16(), let safi = r.u8() else {
            throw .update(.optionalAttributeError, data: whole, "MP_UNREACH_NLRI shorter than 3 octets")
        }
        let afiSafi = AFISAFI(afi: afi, safi: safi)
        guard let family = afiSafi.family, safi == 1 else {
            throw .update(.optionalAttributeError, data: whole, "MP_UNREACH_NLRI: unsupported \(afiSafi)", afiSafi: afiSafi)
        }
        switch NLRICodec.decode(r.readAll(), family: family) {
        case .success(let p): return MPUnreachNLRI(afiSafi: afiSafi, withdrawn: p)
        case .failure(let e):
            throw .update(.optionalAttributeError, data: whole, "MP_UNREACH_NLRI \(afiSafi): \(e.reason)", afiSafi: afiSafi)
        }
    }

    /// Post-parse checks: missing well-known mandatory attributes (RFC 7606 §3 d; NEXT_HOP only with classic
    /// NLRI, RFC 4760 §3) and a semantically invalid NEXT_HOP (RFC 7606 §7.3).
    mutating func finish(hasClassicNLRI: Bool) {
        let hasNLRI = hasClassicNLRI || !(attributes.mpReach?.nlri.isEmpty ?? true)
        guard hasNLRI else { return }
        let o = AttributeTypeCode.origin.rawValue, p = AttributeTypeCode.asPath.rawValue, nh = AttributeTypeCode.nextHop.rawValue
        if attributes.origin == nil, !malformed.contains(o) { withdraw(o, .missingWellKnownAttribute, data: [o], "ORIGIN missing") }
        if attributes.asPath == nil, !malformed.contains(p) { withdraw(p, .missingWellKnownAttribute, data: [p], "AS_PATH missing") }
        guard hasClassicNLRI else { return }
        if let hop = attributes.nextHop {
            if hop.isUnspecified || hop.isLoopback || hop.isMulticast || hop.isLimitedBroadcast {
                var w = ByteWriter()
                try? PathAttributes.writeAttribute(type: nh, flags: .wellKnown, value: hop.bytes, into: &w)
                withdraw(nh, .invalidNextHopAttribute, data: w.bytes, "NEXT_HOP \(hop) is not a valid host address")
            }
        } else if !malformed.contains(nh) {
            withdraw(nh, .missingWellKnownAttribute, data: [nh], "NEXT_HOP missing with IPv4 NLRI")
        }
    }
}

private func flagsByteHex(_ f: AttributeFlags) -> String { Hex.encode([f.rawValue]) }
