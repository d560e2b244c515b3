/// An IPv6 address (RFC 4291): RFC 4291 §2.2 text in, RFC 5952 canonical text out.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The 128 bits as a number, first octet most significant.
    public var rawValue: UInt128

    public init(_ rawValue: UInt128) { self.rawValue = rawValue }

    public init(high: UInt64, low: UInt64) { rawValue = UInt128(high) << 64 | UInt128(low) }

    /// Most significant 64 bits.
    public var high: UInt64 { UInt64(truncatingIfNeeded: rawValue >> 64) }
    /// Least significant 64 bits.
    public var low: UInt64 { UInt64(truncatingIfNeeded: rawValue) }

    /// From exactly sixteen octets in network order; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var v: UInt128 = 0
        for b in bytes { v = v << 8 | UInt128(b) }
        rawValue = v
    }

    /// From eight 16-bit groups, most significant first (missing groups are zero, extra ones ignored).
    public init(groups: [UInt16]) {
        var v: UInt128 = 0
        for i in 0..<8 { v = v << 16 | UInt128(i < groups.count ? groups[i] : 0) }
        rawValue = v
    }

    /// From eight 16-bit groups, e.g. `IPv6Address(0xfe80, 0, 0, 0, 0, 0, 0, 1)`.
    public init(_ g0: UInt16, _ g1: UInt16, _ g2: UInt16, _ g3: UInt16,
                _ g4: UInt16, _ g5: UInt16, _ g6: UInt16, _ g7: UInt16) {
        self.init(groups: [g0, g1, g2, g3, g4, g5, g6, g7])
    }

    /// The IPv4-mapped address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
    public init(ipv4Mapped v4: IPv4Address) { rawValue = 0xFFFF_0000_0000 | UInt128(v4.rawValue) }

    /// Parses any RFC 4291 §2.2 text form; zone identifiers and brackets are refused.
    public init?(_ text: some StringProtocol) {
        guard case .v6(let a)? = try? IPAddress.parse(text) else { return nil }
        self = a
    }

    /// The eight 16-bit groups, most significant first.
    public var groups: [UInt16] {
        (0..<8).map { UInt16(truncatingIfNeeded: rawValue >> UInt128(112 - 16 * $0)) }
    }

    /// The sixteen octets in network order.
    public var bytes: [UInt8] {
        (0..<16).map { UInt8(truncatingIfNeeded: rawValue >> UInt128(120 - 8 * $0)) }
    }

    /// RFC 5952 §4: lower case, no leading zeros, the longest (first on a tie) run of two or more zero groups as
    /// "::"; §5: IPv4-mapped addresses end in a dotted quad.
    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:\(v4)" }
        let g = groups
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8, g[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        if bestLen < 2 { return g.map { String($0, radix: 16) }.joined(separator: ":") }
        let head = g[0..<bestStart].map { String($0, radix: 16) }.joined(separator: ":")
        let tail = g[(bestStart + bestLen)...].map { String($0, radix: 16) }.joined(separator: ":")
        return head + "::" + tail
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool { a.rawValue < b.rawValue }

    /// `::`, the unspecified address (RFC 4291 §2.5.2), the source of DAD solicitations.
    public static let unspecified = IPv6Address(0)
    public static let any = unspecified
    /// `::1` (RFC 4291 §2.5.3).
    public static let loopback = IPv6Address(1)
    /// `ff02::1`, link-local all-nodes (RFC 4291 §2.7.1).
    public static let allNodes = IPv6Address(high: 0xFF02_0000_0000_0000, low: 1)
    /// `ff02::2`, link-local all-routers (RFC 4291 §2.7.1).
    public static let allRouters = IPv6Address(high: 0xFF02_0000_0000_0000, low: 2)

    public var isUnspecified: Bool { rawValue == 0 }
    public var isLoopback: Bool { rawValue == 1 }
    /// ff00::/8 (RFC 4291 §2.7).
    public var isMulticast: Bool { high >> 56 == 0xFF }
    /// fe80::/10 (RFC 4291 §2.5.6).
    public var isLinkLocal: Bool { high >> 54 == 0xFE80 >> 6 }
    /// ::ffff:0:0/96 (RFC 4291 §2.5.5.2).
    public var isIPv4Mapped: Bool { rawValue >> 32 == 0xFFFF }

    /// The IPv4 address of an IPv4-mapped address, else nil.
    public var ipv4Mapped: IPv4Address? {
        isIPv4Mapped ? IPv4Address(UInt32(truncatingIfNeeded: rawValue)) : nil
    }

    /// The solicited-node multicast address ff02::1:ffXX:XXXX carrying the low 24 bits (RFC 4291 §2.7.1).
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | (low & 0xFF_FFFF))
    }

    /// ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
    public var isSolicitedNodeMulticast: Bool {
        high == 0xFF02_0000_0000_0000 && low & 0xFFFF_FFFF_FF00_0000 == 0x0000_0001_FF00_0000
    }
}
