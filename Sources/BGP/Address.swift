import NetAddress

/// AFI values for the two families this codec carries (RFC 4760 §3, IANA "Address Family Numbers").
public enum AddressFamily: UInt16, Hashable, Sendable, CaseIterable {
    case ipv4 = 1
    case ipv6 = 2

    public init(_ family: IPFamily) { self = family == .ipv4 ? .ipv4 : .ipv6 }

    /// The address family this AFI carries.
    public var ipFamily: IPFamily { self == .ipv4 ? .ipv4 : .ipv6 }
    /// Maximum prefix length in bits.
    public var maxPrefixLength: Int { ipFamily.bitWidth }
    /// Address size in octets.
    public var addressSize: Int { ipFamily.addressSize }
}
