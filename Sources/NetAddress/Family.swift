/// An address family: IPv4 (RFC 791) or IPv6 (RFC 4291).
public enum IPFamily: String, Hashable, Comparable, Sendable, CaseIterable, Codable, CustomStringConvertible {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"

    public var description: String { rawValue }

    /// IPv4 sorts before IPv6 (the order MetalLB reports dual-stack addresses in).
    public static func < (a: IPFamily, b: IPFamily) -> Bool { a == .ipv4 && b == .ipv6 }

    /// The other family.
    public var other: IPFamily { self == .ipv4 ? .ipv6 : .ipv4 }

    /// Address width in bits, which is also the longest prefix length.
    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }

    /// Address size in octets.
    public var addressSize: Int { self == .ipv4 ? 4 : 16 }
}
