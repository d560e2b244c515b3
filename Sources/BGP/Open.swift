import NetAddress
/// The OPEN message (RFC 4271 §4.2) with capabilities (RFC 5492) and extended optional parameters (RFC 9072).
public struct OpenMessage: Hashable, Sendable {
    /// Always 4 when sending.
    public var version: UInt8
    /// "My Autonomous System": 2 octets; AS_TRANS when the real AS needs 4 (RFC 6793 §4.1).
    public var myAS: UInt16
    /// 0 or ≥ 3 seconds (RFC 4271 §4.2).
    public var holdTime: UInt16
    public var bgpIdentifier: IPv4Address
    /// All capabilities, from every Capabilities parameter, in wire order (RFC 5492 §4 allows several).
    public var capabilities: [Capability]

    public static let asTrans: UInt16 = 23456

    public init(version: UInt8 = 4, myAS: UInt16, holdTime: UInt16, bgpIdentifier: IPv4Address, capabilities: [Capability]) {
        self.version = version
        self.myAS = myAS
        self.holdTime = holdTime
        self.bgpIdentifier = bgpIdentifier
        self.capabilities = capabilities
    }

    /// Builds an OPEN for a (possibly 4-octet) AS: My AS is AS_TRANS when it does not fit and the 4-octet AS
    /// capability is always included (RFC 6793 §4.1).
    public init(asNumber: UInt32, holdTime: UInt16, bgpIdentifier: IPv4Address, capabilities: [Capability]) {
        var caps = capabilities.filter { if case .fourOctetAS = $0 { false } else { true } }
        caps.append(.fourOctetAS(asNumber))
        self.init(myAS: asNumber > 0xFFFF ? OpenMessage.asTrans : UInt16(asNumber), holdTime: holdTime,
                  bgpIdentifier: bgpIdentifier, capabilities: caps)
    }

    /// The value of the 4-octet AS capability, if sent.
    public var fourOctetASCapability: UInt32? {
        for c in capabilities { if case .fourOctetAS(let a) = c { return a } }
        return nil
    }

    /// The speaker's real AS: the 4-octet AS capability if present, else My AS (RFC 6793 §4.1).
    public var asNumber: UInt32 { fourOctetASCapability ?? UInt32(myAS) }

    public var multiprotocol: [AFISAFI] {
        capabilities.compactMap { if case .multiprotocol(let a) = $0 { a } else { nil } }
    }

    public var gracefulRestart: GracefulRestartCapability? {
        for c in capabilities { if case .gracefulRestart(let g) = c { return g } }
        return nil
    }

    public var extendedNextHop: [ExtendedNextHopEntry] {
        var out: [ExtendedNextHopEntry] = []
        for c in capabilities { if case .extendedNextHop(let e) = c { out += e } }
        return out
    }

    public var supportsRouteRefresh: Bool { capabilities.contains(.routeRefresh) }

    /// Decodes the OPEN body (after the 19-octet header), RFC 4271 §6.2 checks included.
    public static func decode(body: ArraySlice<UInt8>) throws(BGPError) -> OpenMessage {
        var r = ByteReader(body)
        guard let version = r.u8(), let myAS = r.u16(), let hold = r.u16(), let id = r.u32(), let optLen8 = r.u8() else {
            throw .header(.badMessageLength, data: lengthData(body.count + 19), "OPEN shorter than 29 octets")
        }
        // RFC 4271 §6.2: data is the largest locally supported version number.
        guard version == 4 else { throw .open(.unsupportedVersionNumber, data: [0, 4], "version \(version)") }
        // RFC 7607 §2: AS 0 in OPEN is Bad Peer AS.
        guard myAS != 0 else { throw .open(.badPeerAS, data: [0, 0], "My AS is 0") }
        guard hold == 0 || hold >= 3 else { throw .open(.unacceptableHoldTime, "hold time \(hold)") }
        // RFC 6286 §2.2: the identifier is any non-zero 32-bit value.
        guard id != 0 else { throw .open(.badBGPIdentifier, data: [0, 0, 0, 0], "BGP identifier 0") }

        var extended = false
        var optLen = Int(optLen8)
        // RFC 9072 §2: Non-Ext OP Len 255 followed by Non-Ext OP Type 255 introduces a 2-octet length.
        if optLen8 == 255, r.bytes.first == 255 {
            _ = r.u8()
            guard let l = r.u16() else { throw .open(.unspecific, "truncated extended optional parameters length") }
            optLen = Int(l)
            extended = true
        }
        guard optLen == r.remaining else {
            throw .open(.unspecific, "optional parameters length \(optLen) but \(r.remaining) octets follow")
        }
        var caps: [Capability] = []
        while !r.isAtEnd {
            guard let type = r.u8() else { break }
            let plen: Int?
            if extended { plen = r.u16().map(Int.init) } else { plen = r.u8().map(Int.init) }
            guard let plen, let pval = r.read(plen) else { throw .open(.unspecific, "optional parameter overruns") }
            // RFC 5492 §4 (Capabilities, type 2); any other type (incl. deprecated 1, authentication) is unsupported.
            guard type == 2 else {
                throw .open(.unsupportedOptionalParameter, data: [type], "optional parameter type \(type)")
            }
            var cr = ByteReader(pval)
            while !cr.isAtEnd {
                guard let code = cr.u8(), let clen = cr.u8(), let cval = cr.read(Int(clen)) else {
                    throw .open(.unspecific, "capability overruns its optional parameter")
                }
                caps.append(try Capability.decode(code: code, value: cval))
            }
        }
        if let four = caps.compactMap({ if case .fourOctetAS(let a) = $0 { a } else { nil } }).first, four == 0 {
            throw .open(.badPeerAS, data: [0, 0], "4-octet AS capability carries AS 0")   // RFC 7607 §2
        }
        return OpenMessage(version: version, myAS: myAS, holdTime: hold, bgpIdentifier: IPv4Address(id), capabilities: caps)
    }

    /// Checks My AS / 4-octet AS against the configured peer AS (RFC 4271 §6.2, RFC 6793 §4.1): Bad Peer AS.
    public func validatePeerAS(_ expected: UInt32) throws(BGPError) {
        guard asNumber == expected else {
            throw .open(.badPeerAS, data: [UInt8(myAS >> 8), UInt8(myAS & 0xff)], "peer AS \(asNumber), expected \(expected)")
        }
    }

    /// Encodes the body: all capabilities in one Capabilities parameter (RFC 5492 §4); the RFC 9072 extended
    /// format only when the parameters exceed 255 octets.
    func encodeBody(into w: inout ByteWriter) throws(EncodingError) {
        guard holdTime == 0 || holdTime >= 3 else { throw EncodingError("hold time \(holdTime) is neither 0 nor ≥ 3") }
        w.u8(version)
        w.u16(myAS)
        w.u16(holdTime)
        w.u32(bgpIdentifier.rawValue)
        var caps = ByteWriter()
        for c in capabilities { try c.encode(into: &caps) }
        if caps.bytes.isEmpty {
            w.u8(0)
        } else if caps.bytes.count + 2 <= 255 {
            w.u8(UInt8(caps.bytes.count + 2))
            w.u8(2)
            w.u8(UInt8(caps.bytes.count))
            w.append(caps.bytes)
        } else {
            guard caps.bytes.count + 3 <= 0xFFFF else { throw EncodingError("capabilities too long") }
            w.u8(255); w.u8(255)
            w.u16(UInt16(caps.bytes.count + 3))
            w.u8(2)
            w.u16(UInt16(caps.bytes.count))
            w.append(caps.bytes)
        }
    }
}

/// The 2-octet Length field used as Bad Message Length data (RFC 4271 §6.1).
func lengthData(_ length: Int) -> [UInt8] {
    let l = UInt16(clamping: length)
    return [UInt8(l >> 8), UInt8(l & 0xff)]
}
