import NetAddress
/// An Ethernet II type field value (IEEE 802.3 §3.2.6; values ≥ 0x0600).
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    /// IPv4 (RFC 894).
    public static let ipv4 = EtherType(rawValue: 0x0800)
    /// ARP (RFC 826).
    public static let arp = EtherType(rawValue: 0x0806)
    /// IPv6 (RFC 2464 §3).
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    /// IEEE 802.1Q customer VLAN tag.
    public static let vlan = EtherType(rawValue: 0x8100)
    /// IEEE 802.1ad service VLAN tag (QinQ outer tag).
    public static let serviceVLAN = EtherType(rawValue: 0x88A8)

    /// True for the TPIDs that introduce a VLAN tag.
    public var isVLANTag: Bool { self == .vlan || self == .serviceVLAN }

    public var description: String {
        let hex = String(rawValue, radix: 16)
        return "0x" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

/// One IEEE 802.1Q tag: TPID plus the tag control information (PCP, DEI, VID).
public struct VLANTag: Hashable, Sendable {
    /// Tag protocol identifier, 0x8100 (802.1Q) or 0x88A8 (802.1ad).
    public var protocolIdentifier: EtherType
    /// Priority code point, 3 bits.
    public var priority: UInt8
    /// Drop eligible indicator.
    public var dropEligible: Bool
    /// VLAN identifier, 12 bits.
    public var identifier: UInt16

    /// Creates a tag; priority and identifier are masked to 3 and 12 bits.
    public init(protocolIdentifier: EtherType = .vlan, priority: UInt8 = 0, dropEligible: Bool = false, identifier: UInt16) {
        self.protocolIdentifier = protocolIdentifier
        self.priority = priority & 0x7
        self.dropEligible = dropEligible
        self.identifier = identifier & 0x0FFF
    }

    /// Decodes the 16-bit tag control information.
    public init(protocolIdentifier: EtherType, tagControlInformation tci: UInt16) {
        self.init(protocolIdentifier: protocolIdentifier, priority: UInt8(tci >> 13),
                  dropEligible: tci & 0x1000 != 0, identifier: tci & 0x0FFF)
    }

    /// The 16-bit tag control information.
    public var tagControlInformation: UInt16 {
        UInt16(priority & 0x7) << 13 | (dropEligible ? 0x1000 : 0) | (identifier & 0x0FFF)
    }
}

/// An Ethernet II frame without preamble or FCS; 802.1Q/802.1ad tags are kept in `vlanTags`.
public struct EthernetFrame: Hashable, Sendable {
    /// Destination, source and type: 14 bytes.
    public static let headerSize = 14
    /// Minimum frame size without the 4-byte FCS (IEEE 802.3 §3.2.8: 64 with FCS).
    public static let minimumSize = 60

    public var destination: MACAddress
    public var source: MACAddress
    /// VLAN tags in wire order (outermost first); empty for untagged frames.
    public var vlanTags: [VLANTag]
    /// The type of the payload (after any VLAN tags).
    public var etherType: EtherType
    /// Everything after the header, including any padding the sender added.
    public var payload: [UInt8]

    public init(destination: MACAddress, source: MACAddress, vlanTags: [VLANTag] = [],
                etherType: EtherType, payload: [UInt8]) {
        self.destination = destination
        self.source = source
        self.vlanTags = vlanTags
        self.etherType = etherType
        self.payload = payload
    }

    /// Decodes an Ethernet II frame (FCS already stripped, as from AF_PACKET); any number of stacked VLAN tags is tolerated.
    public init(decoding bytes: [UInt8]) throws(Layer2DecodeError) {
        guard bytes.count >= EthernetFrame.headerSize else {
            throw .truncated(.ethernet, needed: EthernetFrame.headerSize, available: bytes.count)
        }
        var r = ByteReader(bytes)
        guard let dst = r.macAddress(), let src = r.macAddress(), let first = r.u16() else {
            throw .truncated(.ethernet, needed: EthernetFrame.headerSize, available: bytes.count)
        }
        destination = dst
        source = src
        var type = EtherType(rawValue: first)
        var offset = EthernetFrame.headerSize
        var tags: [VLANTag] = []
        while type.isVLANTag {
            // A tag is TCI (2) then the next type (2).
            guard let tci = r.u16(), let next = r.u16() else {
                throw .truncated(.vlanTag, needed: offset + 4, available: bytes.count)
            }
            tags.append(VLANTag(protocolIdentifier: type, tagControlInformation: tci))
            type = EtherType(rawValue: next)
            offset += 4
        }
        vlanTags = tags
        etherType = type
        payload = Array(r.readAll())
    }

    /// The wire bytes; with `padToMinimum`, zero-padded to 60 bytes (IEEE 802.3 §3.2.8) as a NIC would.
    public func encoded(padToMinimum: Bool = false) -> [UInt8] {
        var w = ByteWriter(capacity: max(EthernetFrame.minimumSize, EthernetFrame.headerSize + 4 * vlanTags.count + payload.count))
        w.macAddress(destination)
        w.macAddress(source)
        for tag in vlanTags {
            w.u16(tag.protocolIdentifier.rawValue)
            w.u16(tag.tagControlInformation)
        }
        w.u16(etherType.rawValue)
        w.append(payload)
        if padToMinimum && w.bytes.count < EthernetFrame.minimumSize {
            w.append(repeatElement(0, count: EthernetFrame.minimumSize - w.bytes.count))
        }
        return w.bytes
    }
}
