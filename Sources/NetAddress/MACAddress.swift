/// A 48-bit IEEE 802 MAC address (EUI-48), in the low 48 bits of `rawValue`, first octet most significant.
public struct MACAddress: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public let rawValue: UInt64

    /// From the low 48 bits of `rawValue`.
    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    /// From its six octets in transmission order.
    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        rawValue = UInt64(b0) << 40 | UInt64(b1) << 32 | UInt64(b2) << 24 | UInt64(b3) << 16 | UInt64(b4) << 8 | UInt64(b5)
    }

    /// From exactly six octets; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 6 else { return nil }
        var v: UInt64 = 0
        for b in bytes { v = v << 8 | UInt64(b) }
        rawValue = v
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated), two hex digits per octet, any case.
    public init?(_ text: some StringProtocol) {
        guard let m = try? MACAddress.parse(text) else { return nil }
        self = m
    }

    /// Parses `aa:bb:cc:dd:ee:ff` (or `-` separated), saying what is wrong when it fails.
    public static func parse(_ text: some StringProtocol) throws(IPParseError) -> MACAddress {
        let chars = Array(text.utf8)
        let fail = IPParseError(String(text), "expected a MAC address of six two-digit hexadecimal octets, like 02:00:00:00:0a:01", kind: .macAddress)
        guard chars.count == 17 else { throw fail }
        let separator = chars[2]
        guard separator == UInt8(ascii: ":") || separator == UInt8(ascii: "-") else { throw fail }
        var v: UInt64 = 0
        for i in 0..<6 {
            let at = i * 3
            if i > 0 && chars[at - 1] != separator { throw fail }
            guard let hi = Hex.digitValue(chars[at]), let lo = Hex.digitValue(chars[at + 1]) else { throw fail }
            v = v << 8 | UInt64(hi << 4 | lo)
        }
        return MACAddress(rawValue: v)
    }

    /// The six octets in transmission order.
    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * UInt64($0))) } }

    /// Lower-case colon-separated, e.g. `02:00:00:00:0a:01`.
    public var description: String {
        bytes.map { $0 < 0x10 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined(separator: ":")
    }

    public static func < (a: MACAddress, b: MACAddress) -> Bool { a.rawValue < b.rawValue }

    /// ff:ff:ff:ff:ff:ff, the Ethernet broadcast address.
    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    /// 00:00:00:00:00:00, the unknown target of ARP requests (RFC 5227 §2.1.1).
    public static let zero = MACAddress(rawValue: 0)
    /// 33:33:00:00:00:01, the Ethernet group of the IPv6 all-nodes address ff02::1 (RFC 2464 §7).
    public static let ipv6AllNodes = MACAddress(ipv6Multicast: .allNodes)

    /// The Ethernet group address 33:33 followed by the low 32 bits of an IPv6 multicast address (RFC 2464 §7).
    public init(ipv6Multicast group: IPv6Address) {
        self.init(rawValue: 0x3333_0000_0000 | (group.low & 0xFFFF_FFFF))
    }

    public var isBroadcast: Bool { rawValue == 0xFFFF_FFFF_FFFF }
    public var isZero: Bool { rawValue == 0 }
    /// The individual/group bit (least significant bit of the first octet, IEEE 802 §8.2); includes broadcast.
    public var isMulticast: Bool { rawValue & 0x0100_0000_0000 != 0 }
    /// The universal/local bit (second bit of the first octet, IEEE 802 §8.2).
    public var isLocallyAdministered: Bool { rawValue & 0x0200_0000_0000 != 0 }
}
