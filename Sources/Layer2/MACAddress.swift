/// A 48-bit IEEE 802 MAC address (EUI-48), stored in the low 48 bits of `rawValue`.
public struct MACAddress: Hashable, Comparable, Sendable, LosslessStringConvertible {
    /// The address as a 48-bit integer, first octet most significant.
    public let rawValue: UInt64

    /// Creates an address from the low 48 bits of `rawValue`.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue & 0xFFFF_FFFF_FFFF
    }

    /// Creates an address from its six octets in transmission order.
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        self.rawValue = UInt64(b0) << 40 | UInt64(b1) << 32 | UInt64(b2) << 24
            | UInt64(b3) << 16 | UInt64(b4) << 8 | UInt64(b5)
    }

    /// Creates an address from exactly six octets; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        var value: UInt64 = 0
        for byte in bytes { value = value << 8 | UInt64(byte) }
        self.rawValue = value
    }

    /// Reads six octets at `offset`; caller guarantees bounds.
    init(reading bytes: [UInt8], at offset: Int) {
        self.init(bytes[offset], bytes[offset + 1], bytes[offset + 2],
                  bytes[offset + 3], bytes[offset + 4], bytes[offset + 5])
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated), two hex digits per octet, any case.
    public init?(_ description: String) {
        let chars = Array(description.utf8)
        guard chars.count == 17 else { return nil }
        let separator = chars[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { return nil }
        var value: UInt64 = 0
        for i in 0 ..< 6 {
            let at = i * 3
            if i > 0 && chars[at - 1] != separator { return nil }
            guard let hi = hexDigitValue(chars[at]), let lo = hexDigitValue(chars[at + 1]) else { return nil }
            value = value << 8 | UInt64(hi << 4 | lo)
        }
        self.rawValue = value
    }

    /// The six octets in transmission order.
    public var bytes: [UInt8] {
        (0 ..< 6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) }
    }

    /// Lowercase colon-separated form, e.g. `02:00:00:00:0a:01`.
    public var description: String {
        bytes.map { byte in
            let s = String(byte, radix: 16)
            return byte < 0x10 ? "0" + s : s
        }.joined(separator: ":")
    }

    /// Appends the six octets to `buffer`.
    func write(to buffer: inout [UInt8]) {
        buffer.append(contentsOf: bytes)
    }

    /// ff:ff:ff:ff:ff:ff, the Ethernet broadcast address.
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)

    /// 00:00:00:00:00:00, used as the unknown target in ARP requests (RFC 5227 §2.1.1).
    public static let zero = MACAddress(rawValue: 0)

    /// 33:33:00:00:00:01, the Ethernet group for the IPv6 all-nodes address ff02::1 (RFC 2464 §7).
    public static let ipv6AllNodes = MACAddress(ipv6Multicast: .allNodes)

    /// True for ff:ff:ff:ff:ff:ff.
    public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }

    /// True for all-zero.
    public var isZero: Bool { rawValue == 0 }

    /// True when the individual/group bit (least significant bit of the first octet) is set (IEEE 802 §8.2); includes broadcast.
    public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }

    /// True when the universal/local bit (second bit of the first octet) is set (IEEE 802 §8.2).
    public var isLocallyAdministered: Bool { rawValue & 0x0200_0000_0000 != 0 }

    /// The Ethernet group address 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464 §7).
    public init(ipv6Multicast group: IPv6Address) {
        self.init(rawValue: 0x3333_0000_0000 | (group.low & 0xFFFF_FFFF))
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool { lhs.rawValue < rhs.rawValue }
}
