import NetAddress
/// The protocol layer a decode error refers to.
public enum ProtocolLayer: String, Hashable, Sendable {
    case ethernet
    case vlanTag
    case arp
    case ipv6
    case icmpv6
    case ndp
    case ndpOption
}

/// Why bytes could not be decoded (or failed RFC validation); decoders throw only this.
public enum Layer2DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Fewer bytes than the layer needs.
    case truncated(ProtocolLayer, needed: Int, available: Int)
    /// ARP hardware type is not Ethernet (1) (RFC 826).
    case arpHardwareType(UInt16)
    /// ARP protocol type is not IPv4 (0x0800) (RFC 826).
    case arpProtocolType(UInt16)
    /// ARP address lengths are not 6 and 4 (RFC 826).
    case arpAddressLengths(hardware: UInt8, protocol: UInt8)
    /// ARP opcode is neither request (1) nor reply (2) (RFC 826, RFC 5494).
    case arpOperation(UInt16)
    /// The IP version nibble is not 6 (RFC 8200 §3).
    case ipVersion(UInt8)
    /// An NDP message must directly follow the IPv6 header as ICMPv6, next header 58 (RFC 4861 §4).
    case notICMPv6(nextHeader: UInt8)
    /// The ICMPv6 type is not one this decoder handles (RFC 4861 §4.3/§4.4 are 135/136).
    case notNeighborDiscovery(icmpType: UInt8)
    /// The ICMPv6 checksum does not verify (RFC 4443 §2.3).
    case icmpv6Checksum(stored: UInt16, computed: UInt16)
    /// NDP messages must arrive with IP hop limit 255 (RFC 4861 §7.1.1, §7.1.2).
    case ndpHopLimit(UInt8)
    /// NS/NA ICMP code must be 0 (RFC 4861 §7.1.1, §7.1.2).
    case ndpCode(UInt8)
    /// NS/NA target must not be multicast (RFC 4861 §7.1.1, §7.1.2).
    case ndpMulticastTarget(IPv6Address)
    /// Multicast addresses must not be IPv6 sources (RFC 4291 §2.7).
    case ndpMulticastSource(IPv6Address)
    /// An option with length 0 (RFC 4861 §4.6, §7.1.1).
    case ndpOptionLengthZero(offset: Int)
    /// An option whose length runs past the end of the message (RFC 4861 §4.6).
    case ndpOptionOverrun(offset: Int, length: Int, remaining: Int)
    /// A DAD solicitation (unspecified source) must go to a solicited-node multicast address (RFC 4861 §7.1.1).
    case ndpDADDestination(IPv6Address)
    /// A DAD solicitation (unspecified source) must not carry a source link-layer address option (RFC 4861 §7.1.1).
    case ndpDADSourceLinkLayerOption
    /// An NA sent to a multicast destination must have the Solicited flag clear (RFC 4861 §7.1.2).
    case ndpSolicitedFlagOnMulticast

    public var description: String {
        switch self {
        case let .truncated(layer, needed, available):
            return "\(layer.rawValue): truncated, need \(needed) bytes, have \(available)"
        case let .arpHardwareType(t): return "arp: hardware type \(t) is not Ethernet (1)"
        case let .arpProtocolType(t): return "arp: protocol type 0x\(String(t, radix: 16)) is not IPv4 (0x800)"
        case let .arpAddressLengths(h, p): return "arp: address lengths \(h)/\(p), expected 6/4"
        case let .arpOperation(op): return "arp: unsupported operation \(op)"
        case let .ipVersion(v): return "ipv6: version \(v), expected 6"
        case let .notICMPv6(nh): return "ipv6: next header \(nh) is not ICMPv6 (58)"
        case let .notNeighborDiscovery(t): return "icmpv6: type \(t) is not a neighbor solicitation/advertisement"
        case let .icmpv6Checksum(stored, computed):
            return "icmpv6: checksum 0x\(String(stored, radix: 16)) does not verify (expected 0x\(String(computed, radix: 16)))"
        case let .ndpHopLimit(h): return "ndp: hop limit \(h), must be 255"
        case let .ndpCode(c): return "ndp: ICMP code \(c), must be 0"
        case let .ndpMulticastTarget(a): return "ndp: multicast target \(a)"
        case let .ndpMulticastSource(a): return "ndp: multicast source \(a)"
        case let .ndpOptionLengthZero(offset): return "ndp: option at offset \(offset) has length 0"
        case let .ndpOptionOverrun(offset, length, remaining):
            return "ndp: option at offset \(offset) is \(length) bytes but only \(remaining) remain"
        case let .ndpDADDestination(a): return "ndp: DAD solicitation to \(a), not a solicited-node address"
        case .ndpDADSourceLinkLayerOption: return "ndp: DAD solicitation carries a source link-layer address option"
        case .ndpSolicitedFlagOnMulticast: return "ndp: advertisement to a multicast address has the Solicited flag set"
        }
    }
}
