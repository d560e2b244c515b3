import NetAddress
/// A received Ethernet frame decoded as far as the responder cares: ARP, NS/NA, other IPv6, or anything else.
public struct Layer2Frame: Hashable, Sendable {
    /// What the Ethernet payload turned out to be.
    public enum Content: Hashable, Sendable {
        /// EtherType 0x0806 (RFC 826).
        case arp(ARPPacket)
        /// IPv6 carrying a valid NS or NA (RFC 4861 §7.1).
        case ndp(NDPPacket)
        /// IPv6 that is not NS/NA (extension headers, MLD, RS/RA, …).
        case ipv6(IPv6Packet)
        /// Any other EtherType; the payload stays in `ethernet.payload`.
        case other
    }

    public var ethernet: EthernetFrame
    public var content: Content

    public init(ethernet: EthernetFrame, content: Content) {
        self.ethernet = ethernet
        self.content = content
    }

    /// Decodes a frame; malformed ARP, malformed IPv6 headers and invalid NS/NA throw, unrelated traffic decodes as `.ipv6`/`.other`.
    public init(decoding bytes: [UInt8]) throws(Layer2DecodeError) {
        let ethernet = try EthernetFrame(decoding: bytes)
        self.ethernet = ethernet
        switch ethernet.etherType {
        case .arp:
            content = .arp(try ARPPacket(decoding: ethernet.payload))
        case .ipv6:
            let packet = try IPv6Packet(decoding: ethernet.payload)
            if packet.header.nextHeader == IPProtocolNumber.icmpv6,
               let type = packet.payload.first,
               type == ICMPv6Type.neighborSolicitation || type == ICMPv6Type.neighborAdvertisement {
                content = .ndp(try NDPPacket(decoding: packet))
            } else {
                content = .ipv6(packet)
            }
        default:
            content = .other
        }
    }
}

extension EthernetFrame {
    /// Wraps an ARP packet (EtherType 0x0806, RFC 826).
    public init(arp: ARPPacket, destination: MACAddress, source: MACAddress, vlanTags: [VLANTag] = []) {
        self.init(destination: destination, source: source, vlanTags: vlanTags,
                  etherType: .arp, payload: arp.encoded())
    }

    /// Wraps an NS/NA in IPv6 (EtherType 0x86DD, RFC 2464 §3).
    public init(ndp: NDPPacket, destination: MACAddress, source: MACAddress, vlanTags: [VLANTag] = []) {
        self.init(destination: destination, source: source, vlanTags: vlanTags,
                  etherType: .ipv6, payload: ndp.encoded())
    }
}
