// libFuzzer target for the Layer 2 frame codecs and the ARP/NDP responder (Sources/Layer2 without the
// AF_PACKET shell), built by `hack/fuzz layer2`. Compiled together with the pure Layer2 files (and
// Fuzz/Common/Support.swift) as one module, so it may use internal API.
//
// Input layout: octet 0 configures the run (see `Config`), the rest is one received Ethernet frame (header
// onwards, no FCS), as AF_PACKET hands it to the announcer. Decode errors are expected; a trap, a hang, a leak
// or a broken invariant below is a bug, reported by `require` aborting so libFuzzer saves the input.

#if canImport(NetAddress)
import NetAddress
#endif

let fuzzTargetName = "Layer2"

/// Octet 0 of an input.
struct Config {
    /// bit 0: before decoding, write the correct ICMPv6 checksum into an IPv6/ICMPv6 frame (computed by the
    /// harness's own RFC 1071 code), so mutations get past the checksum check to the NDP validation and options.
    let fixChecksum: Bool
    /// bit 1: the responder zero-pads its frames to 60 octets.
    let padsFrames: Bool
    /// bit 2: the responder sets the NA Router flag.
    let isRouter: Bool
    /// bit 3: we are station B of the captures (02:00:00:00:0b:02) instead of A (02:00:00:00:0a:01).
    let stationB: Bool

    init(_ octet: UInt8) {
        fixChecksum = octet & 1 != 0
        padsFrames = octet & 2 != 0
        isRouter = octet & 4 != 0
        stationB = octet & 8 != 0
    }
}

/// The two stations of Tests/Layer2Tests/Vectors (namespaces swl2a and swl2b) and the Service IPs the live
/// captures announce: both own every one of them, so the peer sees our answers as conflicts.
enum Stations {
    static let macA = MACAddress("02:00:00:00:0a:01")!
    static let macB = MACAddress("02:00:00:00:0b:02")!
    static let owned: [IPAddress] = ["10.254.0.1", "10.254.0.2", "10.254.0.9", "10.254.0.10",
                                     "fd00:254::1", "fd00:254::2", "fd00:254::9", "fd00:254::a"].map { IPAddress($0)! }
}

// MARK: - An independent Internet checksum (RFC 1071 over the RFC 8200 §8.1 pseudo-header)

/// One's complement sum of 16-bit big-endian words, folded; an odd trailing octet is padded with zero.
func onesComplementSum(_ chunks: [[UInt8]]) -> UInt16 {
    var sum: UInt32 = 0
    for chunk in chunks {
        var i = 0
        while i + 1 < chunk.count {
            sum += UInt32(chunk[i]) << 8 | UInt32(chunk[i + 1])
            sum = (sum & 0xFFFF) + (sum >> 16)
            i += 2
        }
        if i < chunk.count {
            sum += UInt32(chunk[i]) << 8
            sum = (sum & 0xFFFF) + (sum >> 16)
        }
    }
    return UInt16(sum)
}

/// The pseudo-header of RFC 8200 §8.1 for ICMPv6 (next header 58) and a message of `length` octets.
func pseudoHeader(source: [UInt8], destination: [UInt8], length: Int) -> [UInt8] {
    source + destination + [UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                            UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length), 0, 0, 0, 58]
}

/// Where the IPv6 packet starts in `frame` (after the Ethernet header and any 802.1Q/802.1ad tags), or nil if
/// the frame is not IPv6. Parsed here independently of `EthernetFrame`.
func ipv6Offset(_ frame: [UInt8]) -> Int? {
    var at = 12
    while at + 2 <= frame.count {
        let type = UInt16(frame[at]) << 8 | UInt16(frame[at + 1])
        if type == 0x8100 || type == 0x88A8 { at += 4; continue }
        return type == 0x86DD ? at + 2 : nil
    }
    return nil
}

/// If `frame` carries IPv6 with next header ICMPv6 and the whole payload, writes the correct checksum into it.
func fixICMPv6Checksum(_ frame: inout [UInt8]) {
    guard let ip = ipv6Offset(frame), frame.count >= ip + 40, frame[ip + 6] == 58 else { return }
    let length = Int(frame[ip + 4]) << 8 | Int(frame[ip + 5])
    let start = ip + 40
    guard length >= 4, frame.count >= start + length else { return }
    frame[start + 2] = 0
    frame[start + 3] = 0
    let sum = ~onesComplementSum([pseudoHeader(source: Array(frame[ip + 8 ..< ip + 24]), destination: Array(frame[ip + 24 ..< ip + 40]), length: length),
                                  Array(frame[start ..< start + length])])
    frame[start + 2] = UInt8(sum >> 8)
    frame[start + 3] = UInt8(sum & 0xFF)
}

// MARK: - Codec checks

/// Ethernet: decoding keeps every octet (tags, type, payload with padding), so encoding gives the input back.
func checkEthernet(_ frame: [UInt8]) {
    guard let e = try? EthernetFrame(decoding: frame) else { return }
    require(e.encoded() == frame, "Ethernet re-encodes as \(fuzzHex(e.encoded()))", frame)
    let padded = e.encoded(padToMinimum: true)
    require(padded.count == max(frame.count, EthernetFrame.minimumSize) && padded.starts(with: frame)
            && padded.dropFirst(frame.count).allSatisfy { $0 == 0 }, "padding changed the frame", frame)
    require(e.vlanTags.allSatisfy(\.protocolIdentifier.isVLANTag) && !e.etherType.isVLANTag, "VLAN tags misparsed: \(e)", frame)
    require(frame.count == EthernetFrame.headerSize + 4 * e.vlanTags.count + e.payload.count, "octets lost in \(e)", frame)
}

/// ARP: the 28 octets re-encode byte for byte (RFC 826 fields have no slack) and decode to the same packet.
func checkARP(_ bytes: [UInt8]) {
    guard let a = try? ARPPacket(decoding: bytes) else { return }
    let wire = a.encoded()
    require(wire == Array(bytes.prefix(ARPPacket.size)), "ARP re-encodes as \(fuzzHex(wire))", bytes)
    require((try? ARPPacket(decoding: wire)) == a, "ARP round trip changed \(a)", bytes)
    _ = a.isProbe
    _ = a.isAnnouncement
    _ = "\(a.senderProtocolAddress) \(a.targetProtocolAddress) \(a.senderHardwareAddress) \(a.targetHardwareAddress)"
}

/// IPv6: header and exactly `payloadLength` octets; the rest (Ethernet padding) is dropped.
func checkIPv6(_ bytes: [UInt8]) {
    guard let p = try? IPv6Packet(decoding: bytes) else { return }
    let wire = p.encoded()
    require(wire == Array(bytes.prefix(IPv6Header.size + Int(p.header.payloadLength))), "IPv6 re-encodes as \(fuzzHex(wire))", bytes)
    require((try? IPv6Packet(decoding: wire)) == p, "IPv6 round trip changed the packet", bytes)
    _ = "\(p.header.source) \(p.header.destination)"
}

/// ICMPv6: the decoder's checksum verdict equals the harness's own RFC 1071 computation; our encoding verifies.
func checkICMPv6(_ message: [UInt8], source: IPv6Address, destination: IPv6Address, input: [UInt8]) {
    guard let m = try? ICMPv6Message(decoding: message) else {
        require(message.count < ICMPv6Message.headerSize, "ICMPv6 of \(message.count) octets rejected", input)
        return
    }
    let ours = onesComplementSum([pseudoHeader(source: source.bytes, destination: destination.bytes, length: message.count), message]) == 0xFFFF
    let theirs = InternetChecksum.verifyICMPv6(source: source, destination: destination, message: message)
    require(ours == theirs, "checksum verdict \(theirs), RFC 1071 says \(ours)", input)
    let verified = try? ICMPv6Message(decoding: message, verifyingChecksumFrom: source, to: destination)
    require((verified != nil) == ours, "checked decode disagrees with the checksum (\(ours))", input)
    let wire = m.encoded(source: source, destination: destination)
    require(wire.count == message.count && wire[0] == message[0] && wire[1] == message[1] && wire.dropFirst(4).elementsEqual(message.dropFirst(4)),
            "ICMPv6 re-encodes as \(fuzzHex(wire))", input)
    require(InternetChecksum.verifyICMPv6(source: source, destination: destination, message: wire), "our ICMPv6 checksum does not verify", input)
    if ours {
        // A verified message re-encodes to itself, except that one's complement has two zeros: when the rest sums
        // to 0xFFFF, both 0x0000 (what we compute) and 0xFFFF verify (RFC 1071 §1), so either may arrive.
        let theirSum = UInt16(message[2]) << 8 | UInt16(message[3]), ourSum = UInt16(wire[2]) << 8 | UInt16(wire[3])
        require(theirSum == ourSum || (theirSum ^ ourSum) == 0xFFFF && (ourSum == 0 || ourSum == 0xFFFF),
                "a verified message (checksum \(theirSum)) re-encodes with checksum \(ourSum)", input)
    }
}

/// NDP: a validated NS/NA re-encodes (checksum recomputed) to a packet that passes the same validation and
/// decodes to the same value; RFC 4861 §7.1 rules hold for whatever was accepted.
func checkNDP(_ packet: IPv6Packet, input: [UInt8]) -> NDPPacket? {
    guard let n = try? NDPPacket(decoding: packet) else { return nil }
    require(n.hopLimit == 255, "NDP accepted with hop limit \(n.hopLimit)", input)
    require(!n.source.isMulticast, "NDP accepted from multicast \(n.source)", input)
    switch n.message {
    case .neighborSolicitation(let ns):
        require(!ns.target.isMulticast, "NS for multicast target", input)
        if n.isDuplicateAddressDetection {
            require(n.destination.isSolicitedNodeMulticast && ns.sourceLinkLayerAddress == nil, "DAD NS accepted against §7.1.1", input)
        }
        _ = ns.nonce
    case .neighborAdvertisement(let na):
        require(!na.target.isMulticast, "NA for multicast target", input)
        require(!(n.destination.isMulticast && na.isSolicited), "solicited NA to multicast accepted", input)
        _ = na.targetLinkLayerAddress
    }
    let wire = n.encoded()
    let back: NDPPacket
    do {
        back = try NDPPacket(decoding: wire)
    } catch {
        require(false, "our NDP encoding \(fuzzHex(wire)) does not decode: \(error)", input)
        return n
    }
    require(back == n, "NDP round trip changed\n  first  \(n)\n  second \(back)", input)
    require(back.encoded() == wire, "NDP encoding not stable", input)
    for option in n.message.icmpv6Message.body.isEmpty ? [] : optionsOf(n) {
        require(option.encoded().count % 8 == 0, "option \(option) not a multiple of 8 octets", input)
    }
    return n
}

func optionsOf(_ n: NDPPacket) -> [NDPOption] {
    switch n.message {
    case .neighborSolicitation(let ns): return ns.options
    case .neighborAdvertisement(let na): return na.options
    }
}

/// NDP option lists on their own (RFC 4861 §4.6): each option re-encodes to exactly the octets it came from.
func checkOptions(_ bytes: [UInt8], input: [UInt8]) {
    guard let options = try? NDPOption.decodeList(bytes, from: 0) else { return }
    var wire: [UInt8] = []
    for o in options { wire += o.encoded() }
    require(wire == bytes, "NDP options re-encode as \(fuzzHex(wire))", input)
}

// MARK: - Responder checks

func responder(_ config: Config, mac: MACAddress) -> Layer2Responder {
    Layer2Responder(hardwareAddress: mac, addresses: Stations.owned, isRouter: config.isRouter, padsFrames: config.padsFrames)
}

/// What the responder decides for a frame, checked against the frame itself and against a second speaker that owns
/// the same addresses (the peer of a MetalLB failover): every reply is one our own decoder accepts (a peer would),
/// answers an owned address to the asker, is ignored by ourselves (no reply loops), and is a conflict to the peer.
func checkResponder(_ frame: [UInt8], _ config: Config) {
    let ourMAC = config.stationB ? Stations.macB : Stations.macA
    let peerMAC = config.stationB ? Stations.macA : Stations.macB
    let us = responder(config, mac: ourMAC)
    let peer = responder(config, mac: peerMAC)
    let decision = us.handle(frame)
    require(us.handle(frame) == decision, "responder not deterministic", frame)
    require(us.respond(to: frame) == decision.frames, "respond(to:) differs from handle(_:)", frame)
    let decoded = try? Layer2Frame(decoding: frame)
    if case .ignored(.malformed) = decision {
        require(decoded == nil, "decodable frame reported malformed", frame)
        return
    }
    guard let decoded else {
        require(false, "undecodable frame answered with \(decision)", frame)
        return
    }
    switch decision {
    case .arpReply(let reply, let address, let destination):
        guard case .arp(let request) = decoded.content else { return require(false, "ARP reply to a non-ARP frame", frame) }
        require(request.operation == .request && us.owns(.v4(address)) && request.targetProtocolAddress == address,
                "ARP reply for \(address) to \(request)", frame)
        require(decoded.ethernet.source != ourMAC && request.senderHardwareAddress != ourMAC, "answered our own ARP", frame)
        guard let r = try? Layer2Frame(decoding: reply), case .arp(let arp) = r.content else {
            return require(false, "our ARP reply \(fuzzHex(reply)) does not decode", frame)
        }
        require(arp.operation == .reply && arp.senderHardwareAddress == ourMAC && arp.senderProtocolAddress == address
                && arp.targetHardwareAddress == request.senderHardwareAddress && arp.targetProtocolAddress == request.senderProtocolAddress,
                "ARP reply fields wrong: \(arp)", frame)
        checkReplyFrame(r, reply, destination: destination, request: decoded, config: config, ourMAC: ourMAC, frame: frame)
        require(us.handle(reply) == .ignored(.fromSelf), "our own ARP reply is not ignored by us: \(us.handle(reply))", frame)
        if !address.isUnspecified {
            require(peer.handle(reply) == .conflict(address: .v4(address), claimedBy: ourMAC), "the peer does not see our ARP reply as a conflict: \(peer.handle(reply))", frame)
        }
    case .neighborAdvertisement(let reply, let address, let destination, let solicited):
        guard case .ndp(let ndp) = decoded.content, case .neighborSolicitation(let ns) = ndp.message else {
            return require(false, "NA answering something other than an NS", frame)
        }
        require(ns.target == address && us.owns(.v6(address)), "NA for \(address) answering NS for \(ns.target)", frame)
        require(solicited == !ndp.isDuplicateAddressDetection, "solicited flag \(solicited) for DAD=\(ndp.isDuplicateAddressDetection)", frame)
        guard let r = try? Layer2Frame(decoding: reply), case .ndp(let na) = r.content, case .neighborAdvertisement(let adv) = na.message else {
            return require(false, "our NA \(fuzzHex(reply)) does not decode (a peer would drop it)", frame)
        }
        require(adv.target == address && adv.isSolicited == solicited && adv.isOverride && adv.isRouter == config.isRouter
                && adv.targetLinkLayerAddress == ourMAC && na.source == address
                && na.destination == (solicited ? ndp.source : IPv6Address("ff02::1")!), "NA fields wrong: \(na)", frame)
        checkReplyFrame(r, reply, destination: destination, request: decoded, config: config, ourMAC: ourMAC, frame: frame)
        require(us.handle(reply) == .ignored(.fromSelf), "our own NA is not ignored by us: \(us.handle(reply))", frame)
        require(peer.handle(reply) == .conflict(address: .v6(address), claimedBy: ourMAC), "the peer does not see our NA as a conflict: \(peer.handle(reply))", frame)
    case .conflict(let address, let claimant):
        require(us.owns(address) && claimant != ourMAC, "conflict for \(address) claimed by \(claimant)", frame)
    case .ignored(let reason):
        switch (reason, decoded.content) {
        case (.unrelated, .ipv6), (.unrelated, .other): break
        case (.unrelated, _): require(false, "ARP/NDP frame ignored as unrelated", frame)
        case (.notOwned(let a), _): require(!us.owns(a), "owned \(a) reported as not owned", frame)
        default: break
        }
    }
}

/// The Ethernet side of a reply: from our MAC to the asker, the request's VLAN tags, padded as configured.
func checkReplyFrame(_ r: Layer2Frame, _ wire: [UInt8], destination: MACAddress, request: Layer2Frame, config: Config, ourMAC: MACAddress, frame: [UInt8]) {
    require(r.ethernet.source == ourMAC && r.ethernet.destination == destination, "reply frame \(r.ethernet.source) → \(r.ethernet.destination), expected → \(destination)", frame)
    require(r.ethernet.vlanTags == request.ethernet.vlanTags, "reply lost the VLAN tags \(request.ethernet.vlanTags)", frame)
    require(!config.padsFrames || wire.count >= EthernetFrame.minimumSize, "unpadded reply of \(wire.count) octets", frame)
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func layer2FuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let config = Config(data[0])
    var frame = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if config.fixChecksum { fixICMPv6Checksum(&frame) }

    // Every decoder on its own, as if the input started at its layer.
    checkEthernet(frame)
    checkARP(frame)
    checkIPv6(frame)
    checkOptions(frame, input: frame)
    if let p = try? IPv6Packet(decoding: frame) {
        checkICMPv6(p.payload, source: p.header.source, destination: p.header.destination, input: frame)
        _ = checkNDP(p, input: frame)
    }

    // The frame as the announcer receives it.
    if let f = try? Layer2Frame(decoding: frame) {
        switch f.content {
        case .arp(let a):
            require((try? ARPPacket(decoding: f.ethernet.payload)) == a && f.ethernet.etherType == .arp, "frame ARP differs", frame)
            checkARP(f.ethernet.payload)
            let again = EthernetFrame(arp: a, destination: f.ethernet.destination, source: f.ethernet.source, vlanTags: f.ethernet.vlanTags)
            require((try? Layer2Frame(decoding: again.encoded()))?.content == .arp(a), "rebuilt ARP frame decodes differently", frame)
        case .ndp(let n):
            guard let p = try? IPv6Packet(decoding: f.ethernet.payload) else { require(false, "NDP frame without IPv6", frame); return 0 }
            checkICMPv6(p.payload, source: p.header.source, destination: p.header.destination, input: frame)
            require(checkNDP(p, input: frame) == n, "frame NDP differs from the packet's", frame)
            if let options = try? NDPOption.decodeList(p.payload, from: NDPMessage.optionsOffset) {
                require(options == optionsOf(n), "options differ", frame)
            }
            let again = EthernetFrame(ndp: n, destination: f.ethernet.destination, source: f.ethernet.source, vlanTags: f.ethernet.vlanTags)
            require((try? Layer2Frame(decoding: again.encoded()))?.content == .ndp(n), "rebuilt NDP frame decodes differently", frame)
        case .ipv6(let p):
            require(f.ethernet.etherType == .ipv6, "IPv6 content with EtherType \(f.ethernet.etherType)", frame)
            let ndpType = p.payload.first.map { $0 == 135 || $0 == 136 } ?? false
            require(!(p.header.nextHeader == 58 && ndpType), "an NS/NA passed through as plain IPv6", frame)
            checkIPv6(f.ethernet.payload)
        case .other:
            require(f.ethernet.etherType != .arp && f.ethernet.etherType != .ipv6, "ARP/IPv6 frame decoded as other", frame)
        }
        _ = "\(f)"
    }
    checkResponder(frame, config)
    return 0
}
