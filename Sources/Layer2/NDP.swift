import NetAddress
/// An NDP option (RFC 4861 §4.6): type, length in units of 8 octets, data.
public enum NDPOption: Hashable, Sendable {
    /// Source link-layer address, type 1, length 1 on Ethernet (RFC 4861 §4.6.1, RFC 2464 §8).
    case sourceLinkLayerAddress(MACAddress)
    /// Target link-layer address, type 2, length 1 on Ethernet (RFC 4861 §4.6.1, RFC 2464 §8).
    case targetLinkLayerAddress(MACAddress)
    /// Nonce, type 14 (RFC 3971 §5.3.2), used by enhanced DAD (RFC 7527); `data` is everything after type and length.
    case nonce([UInt8])
    /// Any other option (or a link-layer option of non-Ethernet size); `data` is everything after type and length.
    case other(type: UInt8, data: [UInt8])

    /// Option type codes (RFC 4861 §4.6, RFC 3971 §5.3.2).
    public static let sourceLinkLayerAddressType: UInt8 = 1
    public static let targetLinkLayerAddressType: UInt8 = 2
    public static let nonceType: UInt8 = 14

    /// The option type code.
    public var type: UInt8 {
        switch self {
        case .sourceLinkLayerAddress: return NDPOption.sourceLinkLayerAddressType
        case .targetLinkLayerAddress: return NDPOption.targetLinkLayerAddressType
        case .nonce: return NDPOption.nonceType
        case .other(let type, _): return type
        }
    }

    /// Type, length and data zero-padded to a multiple of 8 octets (RFC 4861 §4.6).
    public func encoded() -> [UInt8] {
        let data: [UInt8]
        switch self {
        case .sourceLinkLayerAddress(let mac), .targetLinkLayerAddress(let mac): data = mac.bytes
        case .nonce(let bytes): data = bytes
        case .other(_, let bytes): data = bytes
        }
        let units = (2 + data.count + 7) / 8
        precondition(units <= 255, "NDP option longer than 2040 bytes")
        var out: [UInt8] = [type, UInt8(units)]
        out.append(contentsOf: data)
        out.append(contentsOf: repeatElement(0, count: units * 8 - out.count))
        return out
    }

    /// Decodes the options in `bytes[start...]`; offsets in errors are indices into `bytes` (RFC 4861 §4.6: length 0 is invalid).
    public static func decodeList(_ bytes: [UInt8], from start: Int) throws(Layer2DecodeError) -> [NDPOption] {
        var options: [NDPOption] = []
        var r = ByteReader(bytes.dropFirst(max(0, start)))
        while !r.isAtEnd {
            let offset = bytes.count - r.remaining
            let remaining = r.remaining
            guard let type = r.u8(), let units = r.u8() else {
                throw .truncated(.ndpOption, needed: 2, available: remaining)
            }
            let length = Int(units) * 8
            guard length > 0 else { throw .ndpOptionLengthZero(offset: offset) }
            guard let slice = r.read(length - 2) else {
                throw .ndpOptionOverrun(offset: offset, length: length, remaining: remaining)
            }
            let data = Array(slice)
            switch type {
            case sourceLinkLayerAddressType where length == 8:
                options.append(MACAddress(bytes: data).map(NDPOption.sourceLinkLayerAddress) ?? .other(type: type, data: data))
            case targetLinkLayerAddressType where length == 8:
                options.append(MACAddress(bytes: data).map(NDPOption.targetLinkLayerAddress) ?? .other(type: type, data: data))
            case nonceType:
                options.append(.nonce(data))
            default:
                options.append(.other(type: type, data: data))
            }
        }
        return options
    }
}

/// Neighbor Solicitation (RFC 4861 §4.3), ICMPv6 type 135.
public struct NeighborSolicitation: Hashable, Sendable {
    /// The address whose link-layer address is sought.
    public var target: IPv6Address
    public var options: [NDPOption]

    public init(target: IPv6Address, options: [NDPOption] = []) {
        self.target = target
        self.options = options
    }

    /// The first source link-layer address option, if any (RFC 4861 §4.3).
    public var sourceLinkLayerAddress: MACAddress? {
        for case .sourceLinkLayerAddress(let mac) in options { return mac }
        return nil
    }

    /// The first nonce option's data, if any (RFC 7527 §4.2).
    public var nonce: [UInt8]? {
        for case .nonce(let data) in options { return data }
        return nil
    }
}

/// Neighbor Advertisement (RFC 4861 §4.4), ICMPv6 type 136.
public struct NeighborAdvertisement: Hashable, Sendable {
    /// R: the sender is a router.
    public var isRouter: Bool
    /// S: sent in response to a solicitation from the destination.
    public var isSolicited: Bool
    /// O: the advertisement should override an existing cache entry.
    public var isOverride: Bool
    /// The address being advertised.
    public var target: IPv6Address
    public var options: [NDPOption]

    public init(isRouter: Bool = false, isSolicited: Bool, isOverride: Bool,
                target: IPv6Address, options: [NDPOption] = []) {
        self.isRouter = isRouter
        self.isSolicited = isSolicited
        self.isOverride = isOverride
        self.target = target
        self.options = options
    }

    /// The first target link-layer address option, if any (RFC 4861 §4.4).
    public var targetLinkLayerAddress: MACAddress? {
        for case .targetLinkLayerAddress(let mac) in options { return mac }
        return nil
    }
}

/// The NDP messages this codec handles.
public enum NDPMessage: Hashable, Sendable {
    case neighborSolicitation(NeighborSolicitation)
    case neighborAdvertisement(NeighborAdvertisement)

    /// Where the options start within the ICMPv6 message: 4-byte header, 4 bytes flags/reserved, 16-byte target.
    static let optionsOffset = 24

    /// The ICMPv6 type (135 or 136).
    public var icmpType: UInt8 {
        switch self {
        case .neighborSolicitation: return ICMPv6Type.neighborSolicitation
        case .neighborAdvertisement: return ICMPv6Type.neighborAdvertisement
        }
    }

    /// The target address of either message.
    public var target: IPv6Address {
        switch self {
        case .neighborSolicitation(let ns): return ns.target
        case .neighborAdvertisement(let na): return na.target
        }
    }

    /// The generic ICMPv6 form (checksum left zero; `ICMPv6Message.encoded` computes it).
    public var icmpv6Message: ICMPv6Message {
        var body = [UInt8]()
        body.reserveCapacity(20 + 8)
        let options: [NDPOption]
        switch self {
        case .neighborSolicitation(let ns):
            body.append(contentsOf: [0, 0, 0, 0])
            body.append(contentsOf: ns.target.bytes)
            options = ns.options
        case .neighborAdvertisement(let na):
            var flags: UInt8 = 0
            if na.isRouter { flags |= 0x80 }
            if na.isSolicited { flags |= 0x40 }
            if na.isOverride { flags |= 0x20 }
            body.append(contentsOf: [flags, 0, 0, 0])
            body.append(contentsOf: na.target.bytes)
            options = na.options
        }
        for option in options { body.append(contentsOf: option.encoded()) }
        return ICMPv6Message(type: icmpType, code: 0, body: body)
    }
}

/// An NS or NA together with the IPv6 header fields NDP validation depends on.
public struct NDPPacket: Hashable, Sendable {
    /// Hop limit every NDP message is sent with and must arrive with (RFC 4861 §7.1).
    public static let hopLimit: UInt8 = 255

    public var source: IPv6Address
    public var destination: IPv6Address
    public var hopLimit: UInt8
    public var trafficClass: UInt8
    public var flowLabel: UInt32
    public var message: NDPMessage

    public init(source: IPv6Address, destination: IPv6Address, hopLimit: UInt8 = NDPPacket.hopLimit,
                trafficClass: UInt8 = 0, flowLabel: UInt32 = 0, message: NDPMessage) {
        self.source = source
        self.destination = destination
        self.hopLimit = hopLimit
        self.trafficClass = trafficClass
        self.flowLabel = flowLabel & 0xF_FFFF
        self.message = message
    }

    /// Decodes IPv6 packet bytes (trailing Ethernet padding ignored) as a validated NS or NA.
    public init(decoding bytes: [UInt8]) throws(Layer2DecodeError) {
        try self.init(decoding: try IPv6Packet(decoding: bytes))
    }

    /// Decodes and validates an NS or NA (RFC 4861 §7.1.1, §7.1.2); invalid messages throw instead of being silently discarded.
    public init(decoding packet: IPv6Packet) throws(Layer2DecodeError) {
        let header = packet.header
        let bytes = packet.payload
        guard header.nextHeader == IPProtocolNumber.icmpv6 else {
            throw .notICMPv6(nextHeader: header.nextHeader)
        }
        guard bytes.count >= ICMPv6Message.headerSize else {
            throw .truncated(.icmpv6, needed: ICMPv6Message.headerSize, available: bytes.count)
        }
        let type = bytes[0]
        guard type == ICMPv6Type.neighborSolicitation || type == ICMPv6Type.neighborAdvertisement else {
            throw .notNeighborDiscovery(icmpType: type)
        }
        guard header.hopLimit == NDPPacket.hopLimit else { throw .ndpHopLimit(header.hopLimit) }
        let icmp = try ICMPv6Message(decoding: bytes, verifyingChecksumFrom: header.source, to: header.destination)
        guard icmp.code == 0 else { throw .ndpCode(icmp.code) }
        var r = ByteReader(bytes)
        guard r.skip(8), let target = r.ipv6Address() else {
            throw .truncated(.ndp, needed: NDPMessage.optionsOffset, available: bytes.count)
        }
        guard !target.isMulticast else { throw .ndpMulticastTarget(target) }
        guard !header.source.isMulticast else { throw .ndpMulticastSource(header.source) }
        let options = try NDPOption.decodeList(bytes, from: NDPMessage.optionsOffset)

        if type == ICMPv6Type.neighborSolicitation {
            if header.source.isUnspecified {
                guard header.destination.isSolicitedNodeMulticast else {
                    throw .ndpDADDestination(header.destination)
                }
                guard !options.contains(where: { $0.type == NDPOption.sourceLinkLayerAddressType }) else {
                    throw .ndpDADSourceLinkLayerOption
                }
            }
            message = .neighborSolicitation(NeighborSolicitation(target: target, options: options))
        } else {
            let flags = bytes[4]
            let na = NeighborAdvertisement(isRouter: flags & 0x80 != 0, isSolicited: flags & 0x40 != 0,
                                           isOverride: flags & 0x20 != 0, target: target, options: options)
            if header.destination.isMulticast && na.isSolicited { throw .ndpSolicitedFlagOnMulticast }
            message = .neighborAdvertisement(na)
        }
        source = header.source
        destination = header.destination
        hopLimit = header.hopLimit
        trafficClass = header.trafficClass
        flowLabel = header.flowLabel
    }

    /// A DAD probe: an NS from the unspecified address (RFC 4862 §5.4.2).
    public var isDuplicateAddressDetection: Bool {
        if case .neighborSolicitation = message { return source.isUnspecified }
        return false
    }

    /// The IPv6 packet with the ICMPv6 checksum filled in.
    public var ipv6Packet: IPv6Packet {
        let icmp = message.icmpv6Message.encoded(source: source, destination: destination)
        let header = IPv6Header(trafficClass: trafficClass, flowLabel: flowLabel,
                                payloadLength: UInt16(truncatingIfNeeded: icmp.count),
                                nextHeader: IPProtocolNumber.icmpv6, hopLimit: hopLimit,
                                source: source, destination: destination)
        return IPv6Packet(header: header, payload: icmp)
    }

    /// IPv6 header + ICMPv6 bytes.
    public func encoded() -> [UInt8] {
        ipv6Packet.encoded()
    }

    /// A Neighbor Solicitation for `target` sent to its solicited-node group (RFC 4861 §7.2.2); `source` `::` makes it a DAD probe without SLLA (RFC 4862 §5.4.2).
    public static func solicitation(for target: IPv6Address, from source: IPv6Address,
                                    sourceLinkLayerAddress: MACAddress?) -> NDPPacket {
        var options: [NDPOption] = []
        if let mac = sourceLinkLayerAddress, !source.isUnspecified {
            options.append(.sourceLinkLayerAddress(mac))
        }
        return NDPPacket(source: source, destination: target.solicitedNodeMulticast,
                         message: .neighborSolicitation(NeighborSolicitation(target: target, options: options)))
    }

    /// An unsolicited NA for `address` at `hardwareAddress` to all-nodes, Override set, Solicited clear (RFC 4861 §7.2.6).
    public static func unsolicitedAdvertisement(for address: IPv6Address, hardwareAddress: MACAddress,
                                                isRouter: Bool = false) -> NDPPacket {
        let na = NeighborAdvertisement(isRouter: isRouter, isSolicited: false, isOverride: true, target: address,
                                       options: [.targetLinkLayerAddress(hardwareAddress)])
        return NDPPacket(source: address, destination: .allNodes, message: .neighborAdvertisement(na))
    }
}
