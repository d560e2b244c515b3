import NetAddress
/// Why the responder sent nothing for a frame.
public enum IgnoreReason: Hashable, Sendable {
    /// The frame failed to decode or failed RFC validation.
    case malformed(Layer2DecodeError)
    /// The frame came from this interface's own MAC (looped back, or our own probe).
    case fromSelf
    /// Unicast to a MAC other than ours (seen only in promiscuous mode).
    case notForUs(destination: MACAddress)
    /// The requested address is not one this node owns here.
    case notOwned(IPAddress)
    /// ARP reply or NA that does not conflict with us: nothing to answer.
    case notASolicitation
    /// IPv6 that is not NS/NA, or a non-ARP, non-IPv6 EtherType.
    case unrelated
}

/// What the responder decided for one received frame.
public enum Layer2Response: Hashable, Sendable {
    /// Send `frame`: an ARP reply for an owned IPv4 address.
    case arpReply(frame: [UInt8], address: IPv4Address, destination: MACAddress)
    /// Send `frame`: an NA for an owned IPv6 address (`solicited` false for answers to DAD probes).
    case neighborAdvertisement(frame: [UInt8], address: IPv6Address, destination: MACAddress, solicited: Bool)
    /// Another station claims an owned address (RFC 5227 §2.4, RFC 4861 §7.2.5); nothing is sent, the caller decides (log, re-announce).
    case conflict(address: IPAddress, claimedBy: MACAddress)
    /// Nothing to send.
    case ignored(IgnoreReason)

    /// The frames to transmit (empty unless a reply was built).
    public var frames: [[UInt8]] {
        switch self {
        case .arpReply(let frame, _, _), .neighborAdvertisement(let frame, _, _, _): return [frame]
        case .conflict, .ignored: return []
        }
    }
}

/// Pure ARP/NDP responder for one interface: the owned Service IPs, the interface MAC, and the reply/announce rules.
public struct Layer2Responder: Hashable, Sendable {
    /// RFC 5227 §1.1 ANNOUNCE_NUM: gratuitous ARPs per takeover.
    public static let arpAnnounceCount = 2
    /// RFC 5227 §1.1 ANNOUNCE_INTERVAL between gratuitous ARPs.
    public static let arpAnnounceInterval: Duration = .seconds(2)
    /// RFC 4861 §10 MAX_NEIGHBOR_ADVERTISEMENT: unsolicited NAs per takeover.
    public static let maxNeighborAdvertisement = 3
    /// RFC 4861 §10 RETRANS_TIMER, a reasonable spacing for unsolicited NAs (§7.2.6).
    public static let neighborAdvertisementInterval: Duration = .seconds(1)

    /// The interface MAC replies and announcements carry.
    public var hardwareAddress: MACAddress
    public private(set) var ipv4Addresses: Set<IPv4Address>
    public private(set) var ipv6Addresses: Set<IPv6Address>
    /// Sets the NA Router flag (RFC 4861 §4.4); a speaker is normally not a router.
    public var isRouter: Bool
    /// Zero-pad outgoing frames to 60 bytes (the kernel leaves this to the NIC, so the default is off).
    public var padsFrames: Bool
    /// Target MAC in gratuitous ARPs: zero per RFC 5227 §2.3 (arping -U and MetalLB use broadcast).
    public var announcementTargetHardwareAddress: MACAddress
    /// Which gratuitous ARP forms `announce` sends per round, in order (RFC 5227 §2.3 request, §3 reply).
    public var announcementOperations: [ARPOperation]

    public init(hardwareAddress: MACAddress, addresses: some Sequence<IPAddress> = [IPAddress](),
                isRouter: Bool = false, padsFrames: Bool = false,
                announcementTargetHardwareAddress: MACAddress = .zero,
                announcementOperations: [ARPOperation] = [.request, .reply]) {
        self.hardwareAddress = hardwareAddress
        self.ipv4Addresses = []
        self.ipv6Addresses = []
        self.isRouter = isRouter
        self.padsFrames = padsFrames
        self.announcementTargetHardwareAddress = announcementTargetHardwareAddress
        self.announcementOperations = announcementOperations
        for address in addresses { add(address) }
    }

    /// Every owned address, IPv4 first, sorted.
    public var addresses: [IPAddress] {
        ipv4Addresses.sorted().map(IPAddress.v4) + ipv6Addresses.sorted().map(IPAddress.v6)
    }

    /// Starts answering for `address`; returns false if it was already owned.
    @discardableResult
    public mutating func add(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): return ipv4Addresses.insert(a).inserted
        case .v6(let a): return ipv6Addresses.insert(a).inserted
        }
    }

    /// Stops answering for `address`; returns false if it was not owned.
    @discardableResult
    public mutating func remove(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): return ipv4Addresses.remove(a) != nil
        case .v6(let a): return ipv6Addresses.remove(a) != nil
        }
    }

    /// True if this responder answers for `address`.
    public func owns(_ address: IPAddress) -> Bool {
        switch address {
        case .v4(let a): return ipv4Addresses.contains(a)
        case .v6(let a): return ipv6Addresses.contains(a)
        }
    }

    /// Solicited-node groups to join for the owned IPv6 addresses, sorted and deduplicated (RFC 4291 §2.7.1, RFC 4861 §7.2.1).
    public var solicitedNodeGroups: [IPv6Address] {
        Set(ipv6Addresses.map(\.solicitedNodeMulticast)).sorted()
    }

    /// The Ethernet multicast MACs of `solicitedNodeGroups` (RFC 2464 §7), for PACKET_ADD_MEMBERSHIP.
    public var multicastHardwareAddresses: [MACAddress] {
        solicitedNodeGroups.map(MACAddress.init(ipv6Multicast:))
    }

    /// The frames to send in answer to `frame` (empty for anything not answered).
    public func respond(to frame: [UInt8]) -> [[UInt8]] {
        handle(frame).frames
    }

    /// Decides what to do with one received frame (Ethernet header onwards, no FCS).
    public func handle(_ frame: [UInt8]) -> Layer2Response {
        let decoded: Layer2Frame
        do {
            decoded = try Layer2Frame(decoding: frame)
        } catch {
            return .ignored(.malformed(error))
        }
        switch decoded.content {
        case .arp(let arp):
            return handleARP(arp, in: decoded.ethernet)
        case .ndp(let ndp):
            return handleNDP(ndp, in: decoded.ethernet)
        case .ipv6, .other:
            return .ignored(.unrelated)
        }
    }

    /// True if a unicast destination names another station (multicast and broadcast are for everyone).
    private func isForSomeoneElse(_ destination: MACAddress) -> Bool {
        !destination.isMulticast && destination != hardwareAddress
    }

    private func finish(_ frame: EthernetFrame) -> [UInt8] {
        frame.encoded(padToMinimum: padsFrames)
    }

    /// RFC 826 reception rules for owned targets, RFC 5227 §2.4 conflict detection, probes (sender IP 0) answered unless our own.
    private func handleARP(_ arp: ARPPacket, in ethernet: EthernetFrame) -> Layer2Response {
        if ethernet.source == hardwareAddress || arp.senderHardwareAddress == hardwareAddress {
            return .ignored(.fromSelf)
        }
        if !arp.senderProtocolAddress.isUnspecified, ipv4Addresses.contains(arp.senderProtocolAddress) {
            return .conflict(address: .v4(arp.senderProtocolAddress), claimedBy: arp.senderHardwareAddress)
        }
        guard arp.operation == .request else { return .ignored(.notASolicitation) }
        if isForSomeoneElse(ethernet.destination) {
            return .ignored(.notForUs(destination: ethernet.destination))
        }
        guard ipv4Addresses.contains(arp.targetProtocolAddress) else {
            return .ignored(.notOwned(.v4(arp.targetProtocolAddress)))
        }
        let reply = arp.reply(hardwareAddress: hardwareAddress)
        let destination = arp.senderHardwareAddress
        let frame = EthernetFrame(arp: reply, destination: destination, source: hardwareAddress,
                                  vlanTags: ethernet.vlanTags)
        return .arpReply(frame: finish(frame), address: arp.targetProtocolAddress, destination: destination)
    }

    /// RFC 4861 §7.2.3/§7.2.4: answer NS for owned targets, unicast to the soliciter or to all-nodes for DAD; NA claiming an owned target is a conflict.
    private func handleNDP(_ ndp: NDPPacket, in ethernet: EthernetFrame) -> Layer2Response {
        if ethernet.source == hardwareAddress {
            return .ignored(.fromSelf)
        }
        switch ndp.message {
        case .neighborAdvertisement(let na):
            let claimant = na.targetLinkLayerAddress ?? ethernet.source
            if ipv6Addresses.contains(na.target), claimant != hardwareAddress {
                return .conflict(address: .v6(na.target), claimedBy: claimant)
            }
            return .ignored(.notASolicitation)
        case .neighborSolicitation(let ns):
            if ns.sourceLinkLayerAddress == hardwareAddress {
                return .ignored(.fromSelf)
            }
            if isForSomeoneElse(ethernet.destination) {
                return .ignored(.notForUs(destination: ethernet.destination))
            }
            guard ipv6Addresses.contains(ns.target) else {
                return .ignored(.notOwned(.v6(ns.target)))
            }
            let dad = ndp.source.isUnspecified
            // §7.2.4: to all-nodes with S=0 for DAD, else unicast to the soliciter with S=1. O=1: we own the address and include the TLLA.
            let destinationIP = dad ? IPv6Address.allNodes : ndp.source
            let destinationMAC = dad ? MACAddress.ipv6AllNodes : (ns.sourceLinkLayerAddress ?? ethernet.source)
            let na = NeighborAdvertisement(isRouter: isRouter, isSolicited: !dad, isOverride: true, target: ns.target,
                                           options: [.targetLinkLayerAddress(hardwareAddress)])
            let packet = NDPPacket(source: ns.target, destination: destinationIP, message: .neighborAdvertisement(na))
            let frame = EthernetFrame(ndp: packet, destination: destinationMAC, source: hardwareAddress,
                                      vlanTags: ethernet.vlanTags)
            return .neighborAdvertisement(frame: finish(frame), address: ns.target,
                                          destination: destinationMAC, solicited: !dad)
        }
    }

    /// Takeover burst for an owned `address`: `count` rounds of gratuitous ARP (RFC 5227 §2.3/§3, forms per `announcementOperations`) or unsolicited NA (RFC 4861 §7.2.6); empty if not owned. The caller spaces the rounds.
    public func announce(_ address: IPAddress, count: Int = 3) -> [[UInt8]] {
        guard count > 0, owns(address) else { return [] }
        let round: [[UInt8]]
        switch address {
        case .v4(let ip):
            round = announcementOperations.map { operation in
                let arp = ARPPacket.announcement(hardwareAddress: hardwareAddress, address: ip, operation: operation,
                                                 targetHardwareAddress: announcementTargetHardwareAddress)
                return finish(EthernetFrame(arp: arp, destination: .broadcast, source: hardwareAddress))
            }
        case .v6(let ip):
            let packet = NDPPacket.unsolicitedAdvertisement(for: ip, hardwareAddress: hardwareAddress, isRouter: isRouter)
            round = [finish(EthernetFrame(ndp: packet, destination: .ipv6AllNodes, source: hardwareAddress))]
        }
        return Array(repeating: round, count: count).flatMap { $0 }
    }

    /// `announce` for every owned address, address by address.
    public func announceAll(count: Int = 3) -> [[UInt8]] {
        addresses.flatMap { announce($0, count: count) }
    }
}
