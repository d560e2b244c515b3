import NetAddress
/// IPv6 next-header values used here (IANA protocol numbers).
public enum IPProtocolNumber {
    /// Hop-by-hop options header (RFC 8200 §4.3).
    public static let hopByHop: UInt8 = 0
    /// ICMPv6 (RFC 4443).
    public static let icmpv6: UInt8 = 58
}

/// The fixed 40-byte IPv6 header (RFC 8200 §3); extension headers are not parsed.
public struct IPv6Header: Hashable, Sendable {
    public static let size = 40

    /// 8-bit traffic class (RFC 8200 §7).
    public var trafficClass: UInt8
    /// 20-bit flow label (RFC 8200 §6).
    public var flowLabel: UInt32
    /// Length of everything after this header, in bytes.
    public var payloadLength: UInt16
    /// Type of the header following this one (58 = ICMPv6).
    public var nextHeader: UInt8
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address

    public init(trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, payloadLength: UInt16,
                nextHeader: UInt8, hopLimit: UInt8, source: IPv6Address, destination: IPv6Address) {
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel & 0xF_FFFF
        self.payloadLength = payloadLength
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.source = source
        self.destination = destination
    }

    /// Decodes the fixed header from the first 40 bytes.
    public init(decoding bytes: [UInt8]) throws(Layer2DecodeError) {
        guard bytes.count >= IPv6Header.size else {
            throw .truncated(.ipv6, needed: IPv6Header.size, available: bytes.count)
        }
        var r = ByteReader(bytes)
        guard let first = r.u32(), let length = r.u16(), let next = r.u8(), let hops = r.u8(),
              let src = r.ipv6Address(), let dst = r.ipv6Address()
        else { throw .truncated(.ipv6, needed: IPv6Header.size, available: bytes.count) }
        let version = UInt8(first >> 28)
        guard version == 6 else { throw .ipVersion(version) }
        trafficClass = UInt8(truncatingIfNeeded: first >> 20)
        flowLabel = first & 0xF_FFFF
        payloadLength = length
        nextHeader = next
        hopLimit = hops
        source = src
        destination = dst
    }

    /// Appends the 40 header bytes.
    func write(to w: inout ByteWriter) {
        w.u32(UInt32(6) << 28 | UInt32(trafficClass) << 20 | (flowLabel & 0xF_FFFF))
        w.u16(payloadLength)
        w.u8(nextHeader)
        w.u8(hopLimit)
        w.ipv6Address(source)
        w.ipv6Address(destination)
    }
}

/// An IPv6 packet: fixed header plus exactly `payloadLength` bytes of payload.
public struct IPv6Packet: Hashable, Sendable {
    public var header: IPv6Header
    public var payload: [UInt8]

    /// Pairs a header and payload; `header.payloadLength` is set from `payload.count` (payloads over 65535 bytes are a programming error).
    public init(header: IPv6Header, payload: [UInt8]) {
        precondition(payload.count <= Int(UInt16.max), "IPv6 payload over 65535 bytes needs a jumbogram")
        var header = header
        header.payloadLength = UInt16(payload.count)
        self.header = header
        self.payload = payload
    }

    /// Decodes header and payload; bytes beyond the payload length (Ethernet padding) are ignored (RFC 8200 §3).
    public init(decoding bytes: [UInt8]) throws(Layer2DecodeError) {
        let header = try IPv6Header(decoding: bytes)
        var r = ByteReader(bytes)
        guard r.skip(IPv6Header.size), let payload = r.read(Int(header.payloadLength)) else {
            throw .truncated(.ipv6, needed: IPv6Header.size + Int(header.payloadLength), available: bytes.count)
        }
        self.header = header
        self.payload = Array(payload)
    }

    /// Header and payload bytes; the payload length field is written from `payload.count`.
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: IPv6Header.size + payload.count)
        var header = self.header
        header.payloadLength = UInt16(truncatingIfNeeded: payload.count)
        header.write(to: &w)
        w.append(payload)
        return w.bytes
    }
}

/// The Internet checksum (RFC 1071) and the IPv6 pseudo-header (RFC 8200 §8.1).
public enum InternetChecksum {
    /// 32-bit accumulation of big-endian 16-bit words (an odd trailing byte is padded with zero), not yet folded.
    static func accumulate(_ bytes: [UInt8], into sum: inout UInt64) {
        var i = 0
        let evenEnd = bytes.count & ~1
        while i < evenEnd {
            sum &+= UInt64(bytes[i]) << 8 | UInt64(bytes[i + 1])
            i += 2
        }
        if bytes.count & 1 == 1 {
            sum &+= UInt64(bytes[bytes.count - 1]) << 8
        }
    }

    /// Folds carries into 16 bits (RFC 1071 §4.1).
    static func fold(_ sum: UInt64) -> UInt16 {
        var s = sum
        while s >> 16 != 0 {
            s = (s & 0xFFFF) + (s >> 16)
        }
        return UInt16(s)
    }

    /// One's complement sum of the IPv6 pseudo-header (RFC 8200 §8.1) and `upperLayer`, folded but not complemented.
    static func pseudoHeaderSum(source: IPv6Address, destination: IPv6Address,
                                nextHeader: UInt8, upperLayer: [UInt8]) -> UInt16 {
        var sum: UInt64 = 0
        for half in [source.high, source.low, destination.high, destination.low] {
            sum &+= (half >> 48) & 0xFFFF
            sum &+= (half >> 32) & 0xFFFF
            sum &+= (half >> 16) & 0xFFFF
            sum &+= half & 0xFFFF
        }
        let length = UInt64(upperLayer.count)
        sum &+= length >> 16
        sum &+= length & 0xFFFF
        sum &+= UInt64(nextHeader)
        accumulate(upperLayer, into: &sum)
        return fold(sum)
    }

    /// The ICMPv6 checksum of `message` (its checksum field is treated as zero) over the pseudo-header (RFC 4443 §2.3).
    public static func icmpv6(source: IPv6Address, destination: IPv6Address, message: [UInt8]) -> UInt16 {
        var zeroed = message
        if zeroed.count >= 4 {
            zeroed[2] = 0
            zeroed[3] = 0
        }
        return ~pseudoHeaderSum(source: source, destination: destination,
                                nextHeader: IPProtocolNumber.icmpv6, upperLayer: zeroed)
    }

    /// True when `message`, checksum field included, sums to all ones over the pseudo-header (RFC 1071 §1, RFC 4443 §2.3).
    public static func verifyICMPv6(source: IPv6Address, destination: IPv6Address, message: [UInt8]) -> Bool {
        pseudoHeaderSum(source: source, destination: destination,
                        nextHeader: IPProtocolNumber.icmpv6, upperLayer: message) == 0xFFFF
    }
}

/// ICMPv6 message types used here (RFC 4443 §2.1, RFC 4861 §4).
public enum ICMPv6Type {
    public static let routerSolicitation: UInt8 = 133
    public static let routerAdvertisement: UInt8 = 134
    public static let neighborSolicitation: UInt8 = 135
    public static let neighborAdvertisement: UInt8 = 136
    public static let redirect: UInt8 = 137
}

/// A generic ICMPv6 message: type, code, checksum and body (RFC 4443 §2.1).
public struct ICMPv6Message: Hashable, Sendable {
    public static let headerSize = 4

    public var type: UInt8
    public var code: UInt8
    /// The checksum as received (decode) or as last computed; `encoded` always recomputes.
    public var checksum: UInt16
    /// Everything after the 4-byte header.
    public var body: [UInt8]

    public init(type: UInt8, code: UInt8 = 0, checksum: UInt16 = 0, body: [UInt8]) {
        self.type = type
        self.code = code
        self.checksum = checksum
        self.body = body
    }

    /// Decodes an ICMPv6 message; with `verifyingChecksumFrom` source/destination the checksum must verify (RFC 4443 §2.3).
    public init(decoding bytes: [UInt8],
                verifyingChecksumFrom source: IPv6Address? = nil, to destination: IPv6Address? = nil) throws(Layer2DecodeError) {
        var r = ByteReader(bytes)
        guard let type = r.u8(), let code = r.u8(), let checksum = r.u16() else {
            throw .truncated(.icmpv6, needed: ICMPv6Message.headerSize, available: bytes.count)
        }
        self.type = type
        self.code = code
        self.checksum = checksum
        body = Array(r.readAll())
        if let source, let destination,
           !InternetChecksum.verifyICMPv6(source: source, destination: destination, message: bytes) {
            throw .icmpv6Checksum(stored: checksum,
                                  computed: InternetChecksum.icmpv6(source: source, destination: destination, message: bytes))
        }
    }

    /// The message bytes with the checksum computed for `source` → `destination` (RFC 4443 §2.3).
    public func encoded(source: IPv6Address, destination: IPv6Address) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(ICMPv6Message.headerSize + body.count)
        out.append(type)
        out.append(code)
        out.append(0)
        out.append(0)
        out.append(contentsOf: body)
        let sum = InternetChecksum.icmpv6(source: source, destination: destination, message: out)
        out[2] = UInt8(sum >> 8)
        out[3] = UInt8(sum & 0xFF)
        return out
    }
}
