import Testing
import NetAddress
@testable import Layer2

/// Builds an IPv6 packet around a raw ICMPv6 body with a correct checksum, so validation rules other than the checksum can be exercised.
func icmpv6Packet(type: UInt8 = ICMPv6Type.neighborSolicitation, code: UInt8 = 0, body: [UInt8],
                  source: IPv6Address = Station.aLinkLocal, destination: IPv6Address = Station.bIPv6.solicitedNodeMulticast,
                  hopLimit: UInt8 = 255) -> IPv6Packet {
    let message = ICMPv6Message(type: type, code: code, body: body).encoded(source: source, destination: destination)
    let header = IPv6Header(payloadLength: 0, nextHeader: IPProtocolNumber.icmpv6, hopLimit: hopLimit,
                            source: source, destination: destination)
    return IPv6Packet(header: header, payload: message)
}

/// NS/NA body: 4 bytes flags/reserved, target, then raw option bytes.
func ndpBody(flags: UInt8 = 0, target: IPv6Address = Station.bIPv6, options: [UInt8] = []) -> [UInt8] {
    [flags, 0, 0, 0] + target.bytes + options
}

@Suite("IPv6 and ICMPv6")
struct IPv6Tests {
    @Test func headerRoundTrip() throws {
        let header = IPv6Header(trafficClass: 0xb8, flowLabel: 0xd9dd2, payloadLength: 3, nextHeader: 17, hopLimit: 64,
                                source: Station.aIPv6, destination: Station.bIPv6)
        let packet = IPv6Packet(header: header, payload: [1, 2, 3])
        let bytes = packet.encoded()
        #expect(bytes.count == 43)
        #expect(Array(bytes[..<4]) == [0x6b, 0x8d, 0x9d, 0xd2])
        #expect(try IPv6Packet(decoding: bytes) == packet)
        #expect(try IPv6Packet(decoding: bytes + [0, 0, 0]) == packet) // Ethernet padding ignored
        // The payload length written is always payload.count.
        var lying = packet
        lying.header.payloadLength = 99
        #expect(try IPv6Packet(decoding: lying.encoded()) == packet)
        #expect(IPv6Header(flowLabel: 0xFFF_FFFF, payloadLength: 0, nextHeader: 0, hopLimit: 1, source: .unspecified,
                           destination: .allNodes).flowLabel == 0xF_FFFF) // masked to 20 bits
    }

    @Test func truncationAndVersion() throws {
        let ipv6 = Array(try Vectors.load("ndp-ns-ndisc6.hex")[14...])
        for n in 0 ..< 40 {
            #expect(throws: Layer2DecodeError.truncated(.ipv6, needed: 40, available: n)) {
                try IPv6Packet(decoding: Array(ipv6[..<n]))
            }
        }
        for n in 40 ..< 72 {
            #expect(throws: Layer2DecodeError.truncated(.ipv6, needed: 72, available: n)) {
                try IPv6Packet(decoding: Array(ipv6[..<n]))
            }
        }
        var v4 = ipv6
        v4[0] = 0x40
        #expect(throws: Layer2DecodeError.ipVersion(4)) { try IPv6Packet(decoding: v4) }
    }

    /// Every ICMPv6 frame captured (NDP, RS, MLDv2 behind a hop-by-hop header) carries the checksum RFC 4443 §2.3 predicts.
    @Test(arguments: ["ndp-ns-ndisc6.hex", "ndp-na-solicited-kernel.hex", "ndp-ns-dad-kernel.hex",
                      "ndp-na-unsolicited-kernel.hex", "ndp-ns-dad-conflict-kernel.hex", "ndp-na-dad-defense-kernel.hex",
                      "ndp-rs-kernel.hex", "live-ns-ndisc6.hex", "live-na-swift.hex", "live-ns-dad-kernel.hex",
                      "live-na-dad-swift.hex", "live-unsolicited-na-swift.hex"])
    func checksumsOfCapturedMessages(_ name: String) throws {
        let frame = try EthernetFrame(decoding: try Vectors.load(name))
        let packet = try IPv6Packet(decoding: frame.payload)
        let stored = UInt16(packet.payload[2]) << 8 | UInt16(packet.payload[3])
        let (s, d) = (packet.header.source, packet.header.destination)
        #expect(InternetChecksum.icmpv6(source: s, destination: d, message: packet.payload) == stored)
        #expect(InternetChecksum.verifyICMPv6(source: s, destination: d, message: packet.payload))
        let icmp = try ICMPv6Message(decoding: packet.payload, verifyingChecksumFrom: s, to: d)
        #expect(icmp.checksum == stored)
        #expect(icmp.encoded(source: s, destination: d) == packet.payload)
    }

    @Test func mldBehindHopByHopIsNotNDP() throws {
        let frame = try Layer2Frame(decoding: try Vectors.load("ipv6-mldv2-report-kernel.hex"))
        guard case .ipv6(let packet) = frame.content else { Issue.record("expected .ipv6"); return }
        #expect(packet.header.nextHeader == IPProtocolNumber.hopByHop)
        #expect(packet.header.hopLimit == 1 && packet.header.destination == ip6("ff02::16"))
        #expect(throws: Layer2DecodeError.notICMPv6(nextHeader: 0)) { try NDPPacket(decoding: packet) }
    }

    @Test func routerSolicitationIsNotNSOrNA() throws {
        let frame = try Layer2Frame(decoding: try Vectors.load("ndp-rs-kernel.hex"))
        guard case .ipv6(let packet) = frame.content else { Issue.record("expected .ipv6"); return }
        #expect(packet.payload.first == ICMPv6Type.routerSolicitation)
        #expect(throws: Layer2DecodeError.notNeighborDiscovery(icmpType: 133)) { try NDPPacket(decoding: packet) }
    }

    @Test func checksumEdgeCases() {
        // RFC 1071: an odd trailing byte is padded with zero; both encodings of zero verify.
        let s = Station.aIPv6, d = Station.bIPv6
        let odd: [UInt8] = [128, 0, 0, 0, 0xab]
        let sum = InternetChecksum.icmpv6(source: s, destination: d, message: odd)
        #expect(InternetChecksum.verifyICMPv6(source: s, destination: d, message: [128, 0, UInt8(sum >> 8), UInt8(sum & 0xff), 0xab]))
        #expect(InternetChecksum.fold(0x1_FFFF) == 0x0001)
        #expect(InternetChecksum.fold(0x2_0001) == 0x0003)
        #expect(InternetChecksum.fold(0xFFFF_FFFF) == 0xFFFF)
    }
}

@Suite("NDP codec")
struct NDPCodecTests {
    @Test func decodesNdisc6Solicitation() throws {
        let bytes = try Vectors.load("ndp-ns-ndisc6.hex")
        let frame = try Layer2Frame(decoding: bytes)
        #expect(frame.ethernet.destination == mac("33:33:ff:00:00:02"))
        guard case .ndp(let ndp) = frame.content, case .neighborSolicitation(let ns) = ndp.message else {
            Issue.record("not an NS"); return
        }
        #expect(ndp.source == Station.aLinkLocal)
        #expect(ndp.destination == Station.bIPv6.solicitedNodeMulticast)
        #expect(ndp.hopLimit == 255 && ndp.flowLabel == 0xd9dd2 && ndp.trafficClass == 0)
        #expect(!ndp.isDuplicateAddressDetection)
        #expect(ns.target == Station.bIPv6)
        #expect(ns.sourceLinkLayerAddress == Station.aMAC && ns.nonce == nil)
        #expect(ns.options == [.sourceLinkLayerAddress(Station.aMAC)])
        // Re-encoding reproduces the frame exactly, flow label and checksum included.
        #expect(EthernetFrame(ndp: ndp, destination: frame.ethernet.destination, source: Station.aMAC).encoded() == bytes)
        // And the builder produces the same message (ndisc6's random flow label aside).
        var built = NDPPacket.solicitation(for: Station.bIPv6, from: Station.aLinkLocal, sourceLinkLayerAddress: Station.aMAC)
        built.flowLabel = 0xd9dd2
        #expect(built == ndp)
    }

    @Test func decodesKernelSolicitedAdvertisement() throws {
        let bytes = try Vectors.load("ndp-na-solicited-kernel.hex")
        guard case .ndp(let ndp) = try Layer2Frame(decoding: bytes).content,
              case .neighborAdvertisement(let na) = ndp.message else { Issue.record("not an NA"); return }
        #expect(ndp.source == Station.bIPv6 && ndp.destination == Station.aLinkLocal)
        #expect(na.isSolicited && na.isOverride && !na.isRouter)
        #expect(na.target == Station.bIPv6 && na.targetLinkLayerAddress == Station.bMAC)
        #expect(ndp.message.target == Station.bIPv6 && ndp.message.icmpType == 136)
        #expect(EthernetFrame(ndp: ndp, destination: Station.aMAC, source: Station.bMAC).encoded() == bytes)
    }

    @Test func decodesKernelDADSolicitationWithNonce() throws {
        let bytes = try Vectors.load("ndp-ns-dad-kernel.hex")
        guard case .ndp(let ndp) = try Layer2Frame(decoding: bytes).content,
              case .neighborSolicitation(let ns) = ndp.message else { Issue.record("not an NS"); return }
        #expect(ndp.isDuplicateAddressDetection)
        #expect(ndp.source == .unspecified && ndp.destination == ip6("ff02::1:ff00:3"))
        #expect(ns.target == ip6("fd00:254::3") && ns.sourceLinkLayerAddress == nil)
        #expect(ns.nonce?.count == 6)
        #expect(EthernetFrame(ndp: ndp, destination: mac("33:33:ff:00:00:03"), source: Station.aMAC).encoded() == bytes)
        // Our DAD builder yields the same packet once the kernel's nonce is added.
        var built = NDPPacket.solicitation(for: ip6("fd00:254::3"), from: .unspecified, sourceLinkLayerAddress: Station.aMAC)
        #expect(built.message == .neighborSolicitation(NeighborSolicitation(target: ip6("fd00:254::3"))))
        built.message = .neighborSolicitation(NeighborSolicitation(target: ip6("fd00:254::3"), options: [.nonce(ns.nonce!)]))
        #expect(built == ndp)
    }

    /// The kernel's unsolicited NA after DAD (ndisc_notify=1) is byte-identical to ours (RFC 4861 §7.2.6).
    @Test(arguments: [("ndp-na-unsolicited-kernel.hex", "fd00:254::3"), ("live-unsolicited-na-swift.hex", "fd00:254::a")])
    func unsolicitedAdvertisementMatches(name: String, address: String) throws {
        let bytes = try Vectors.load(name)
        let ours = NDPPacket.unsolicitedAdvertisement(for: ip6(address), hardwareAddress: Station.aMAC)
        #expect(EthernetFrame(ndp: ours, destination: .ipv6AllNodes, source: Station.aMAC).encoded() == bytes)
        guard case .ndp(let ndp) = try Layer2Frame(decoding: bytes).content,
              case .neighborAdvertisement(let na) = ndp.message else { Issue.record("not an NA"); return }
        #expect(!na.isSolicited && na.isOverride && !na.isRouter && ndp.destination == .allNodes)
    }

    @Test func routerFlagEncoding() throws {
        let na = NDPPacket.unsolicitedAdvertisement(for: Station.aIPv6, hardwareAddress: Station.aMAC, isRouter: true)
        let bytes = na.encoded()
        #expect(bytes[44] == 0xa0) // R | O
        #expect(try NDPPacket(decoding: bytes) == na)
    }

    @Test func hopLimitMustBe255() throws {
        for hop: UInt8 in [0, 1, 64, 254] {
            for name in ["ndp-ns-ndisc6.hex", "ndp-na-solicited-kernel.hex"] {
                var ipv6 = Array(try Vectors.load(name)[14...])
                ipv6[7] = hop // not covered by the checksum
                #expect(throws: Layer2DecodeError.ndpHopLimit(hop)) { try NDPPacket(decoding: ipv6) }
            }
        }
    }

    @Test func badChecksum() throws {
        var ipv6 = Array(try Vectors.load("ndp-na-solicited-kernel.hex")[14...])
        let stored = UInt16(ipv6[42]) << 8 | UInt16(ipv6[43])
        ipv6[42] ^= 0x01
        #expect(throws: Layer2DecodeError.icmpv6Checksum(stored: stored ^ 0x0100, computed: stored)) {
            try NDPPacket(decoding: ipv6)
        }
        // Corrupting a covered byte (the target) is caught, and so is a changed pseudo-header source.
        var target = Array(try Vectors.load("ndp-ns-ndisc6.hex")[14...])
        target[63] ^= 0x40
        expectChecksumError(target)
        var source = Array(try Vectors.load("ndp-ns-ndisc6.hex")[14...])
        source[23] ^= 0x01
        expectChecksumError(source)
    }

    private func expectChecksumError(_ ipv6: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try NDPPacket(decoding: ipv6)
            Issue.record("accepted a corrupted message", sourceLocation: sourceLocation)
        } catch {
            guard case .icmpv6Checksum = error else {
                Issue.record("wrong error \(error)", sourceLocation: sourceLocation)
                return
            }
        }
    }

    @Test func codeMustBeZero() {
        #expect(throws: Layer2DecodeError.ndpCode(1)) {
            try NDPPacket(decoding: icmpv6Packet(code: 1, body: ndpBody()))
        }
    }

    @Test func truncatedMessages() {
        // Fewer than 4 ICMPv6 bytes.
        for n in 0 ..< 4 {
            let header = IPv6Header(payloadLength: 0, nextHeader: 58, hopLimit: 255, source: Station.aLinkLocal,
                                    destination: .allNodes)
            let payload = Array([UInt8(136), 0, 0, 0][..<n])
            #expect(throws: Layer2DecodeError.truncated(.icmpv6, needed: 4, available: n)) {
                try NDPPacket(decoding: IPv6Packet(header: header, payload: payload))
            }
        }
        // A complete ICMPv6 header but a short NS body (checksum correct, so length is the failing rule).
        for bodyCount in [0, 4, 19] {
            #expect(throws: Layer2DecodeError.truncated(.ndp, needed: 24, available: 4 + bodyCount)) {
                try NDPPacket(decoding: icmpv6Packet(body: Array(ndpBody()[..<bodyCount])))
            }
        }
    }

    @Test func frameTruncatedAtEveryLength() throws {
        let bytes = try Vectors.load("ndp-ns-ndisc6.hex")
        for n in 0 ..< bytes.count {
            let expected: Layer2DecodeError = switch n {
            case ..<14: .truncated(.ethernet, needed: 14, available: n)
            case ..<54: .truncated(.ipv6, needed: 40, available: n - 14)
            default: .truncated(.ipv6, needed: 72, available: n - 14)
            }
            #expect(throws: expected) { try Layer2Frame(decoding: Array(bytes[..<n])) }
        }
    }

    @Test func optionLengthZeroIsInvalid() {
        let options: [UInt8] = [1, 0, 2, 0, 0, 0, 0xa, 1]
        #expect(throws: Layer2DecodeError.ndpOptionLengthZero(offset: 24)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: options)))
        }
        // Also when a valid option precedes it.
        let second: [UInt8] = [1, 1, 2, 0, 0, 0, 0xa, 1, 99, 0, 0, 0, 0, 0, 0, 0]
        #expect(throws: Layer2DecodeError.ndpOptionLengthZero(offset: 32)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: second)))
        }
    }

    @Test func optionOverrunsAndStubs() {
        let overrun: [UInt8] = [1, 2, 2, 0, 0, 0, 0xa, 1]
        #expect(throws: Layer2DecodeError.ndpOptionOverrun(offset: 24, length: 16, remaining: 8)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: overrun)))
        }
        #expect(throws: Layer2DecodeError.truncated(.ndpOption, needed: 2, available: 1)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: [1])))
        }
        #expect(throws: Layer2DecodeError.ndpOptionOverrun(offset: 24, length: 8, remaining: 7)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: [1, 1, 2, 0, 0, 0, 0xa])))
        }
    }

    @Test func multicastTargetAndSource() {
        #expect(throws: Layer2DecodeError.ndpMulticastTarget(.allNodes)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(target: .allNodes)))
        }
        #expect(throws: Layer2DecodeError.ndpMulticastTarget(ip6("ff05::2"))) {
            try NDPPacket(decoding: icmpv6Packet(type: 136, body: ndpBody(target: ip6("ff05::2")),
                                                 source: Station.bIPv6, destination: .allNodes))
        }
        #expect(throws: Layer2DecodeError.ndpMulticastSource(.allRouters)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(), source: .allRouters))
        }
    }

    /// RFC 4861 §7.1.1: an unspecified source requires a solicited-node destination and forbids the SLLA option.
    @Test func dadSolicitationRules() throws {
        let sll: [UInt8] = [1, 1, 2, 0, 0, 0, 0xa, 1]
        #expect(throws: Layer2DecodeError.ndpDADDestination(Station.bIPv6)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(), source: .unspecified, destination: Station.bIPv6))
        }
        #expect(throws: Layer2DecodeError.ndpDADDestination(.allNodes)) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(), source: .unspecified, destination: .allNodes))
        }
        #expect(throws: Layer2DecodeError.ndpDADSourceLinkLayerOption) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: sll), source: .unspecified))
        }
        // An oversized (non-Ethernet) SLLA still counts.
        let longSLL: [UInt8] = [1, 2] + [UInt8](repeating: 7, count: 14)
        #expect(throws: Layer2DecodeError.ndpDADSourceLinkLayerOption) {
            try NDPPacket(decoding: icmpv6Packet(body: ndpBody(options: longSLL), source: .unspecified))
        }
        // The valid form decodes; a unicast NS (NUD) without SLLA to the target itself is fine too.
        #expect(try NDPPacket(decoding: icmpv6Packet(body: ndpBody(), source: .unspecified)).isDuplicateAddressDetection)
        #expect(try !NDPPacket(decoding: icmpv6Packet(body: ndpBody(), destination: Station.bIPv6)).isDuplicateAddressDetection)
    }

    /// RFC 4861 §7.1.2: an NA to a multicast destination must have S = 0.
    @Test func solicitedFlagOnMulticastAdvertisement() throws {
        #expect(throws: Layer2DecodeError.ndpSolicitedFlagOnMulticast) {
            try NDPPacket(decoding: icmpv6Packet(type: 136, body: ndpBody(flags: 0x60), source: Station.bIPv6,
                                                 destination: .allNodes))
        }
        let unicast = try NDPPacket(decoding: icmpv6Packet(type: 136, body: ndpBody(flags: 0x60), source: Station.bIPv6,
                                                           destination: Station.aLinkLocal))
        guard case .neighborAdvertisement(let na) = unicast.message else { Issue.record("not NA"); return }
        #expect(na.isSolicited && na.isOverride && !na.isRouter && na.options.isEmpty)
    }

    @Test func nextHeaderAndType() {
        let header = IPv6Header(payloadLength: 0, nextHeader: 17, hopLimit: 255, source: Station.aIPv6, destination: Station.bIPv6)
        #expect(throws: Layer2DecodeError.notICMPv6(nextHeader: 17)) {
            try NDPPacket(decoding: IPv6Packet(header: header, payload: ndpBody()))
        }
        #expect(throws: Layer2DecodeError.notNeighborDiscovery(icmpType: 128)) {
            try NDPPacket(decoding: icmpv6Packet(type: 128, body: [0, 1, 0, 1]))
        }
    }

    @Test func reservedBitsAndUnknownOptionsAreIgnored() throws {
        // Reserved bytes set, an unknown option (type 99) and an odd-sized link-layer option kept as .other.
        var body = ndpBody(options: [99, 1, 1, 2, 3, 4, 5, 6] + [2, 2] + [UInt8](repeating: 9, count: 14) + [1, 1, 2, 0, 0, 0, 0xa, 1])
        body[1] = 0xff; body[3] = 0x01
        let packet = try NDPPacket(decoding: icmpv6Packet(body: body))
        guard case .neighborSolicitation(let ns) = packet.message else { Issue.record("not NS"); return }
        #expect(ns.options == [.other(type: 99, data: [1, 2, 3, 4, 5, 6]),
                               .other(type: 2, data: [UInt8](repeating: 9, count: 14)),
                               .sourceLinkLayerAddress(Station.aMAC)])
        #expect(ns.sourceLinkLayerAddress == Station.aMAC)
        // NA: bits below O are reserved.
        let na = try NDPPacket(decoding: icmpv6Packet(type: 136, body: ndpBody(flags: 0x1f), source: Station.bIPv6,
                                                      destination: .allNodes))
        #expect(na.message == .neighborAdvertisement(NeighborAdvertisement(isSolicited: false, isOverride: false,
                                                                           target: Station.bIPv6)))
    }

    @Test func optionEncodingPadsToEightOctets() throws {
        #expect(NDPOption.sourceLinkLayerAddress(Station.aMAC).encoded() == [1, 1, 2, 0, 0, 0, 0xa, 1])
        #expect(NDPOption.targetLinkLayerAddress(Station.bMAC).encoded() == [2, 1, 2, 0, 0, 0, 0xb, 2])
        #expect(NDPOption.nonce([1, 2, 3, 4, 5, 6]).encoded() == [14, 1, 1, 2, 3, 4, 5, 6])
        #expect(NDPOption.other(type: 5, data: [1, 2, 3]).encoded() == [5, 1, 1, 2, 3, 0, 0, 0])
        #expect(NDPOption.other(type: 5, data: [UInt8](repeating: 1, count: 7)).encoded().count == 16)
        #expect(NDPOption.other(type: 5, data: []).encoded() == [5, 1, 0, 0, 0, 0, 0, 0])
        let options: [NDPOption] = [.nonce([9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4]), .other(type: 42, data: [1, 2, 3, 4, 5, 6]),
                                    .targetLinkLayerAddress(Station.aMAC)]
        let bytes = options.flatMap { $0.encoded() }
        #expect(try NDPOption.decodeList(bytes, from: 0) == options)
        #expect(try NDPOption.decodeList(bytes, from: bytes.count).isEmpty)
    }

    @Test func roundTripsBuiltMessages() throws {
        let messages: [NDPPacket] = [
            NDPPacket(source: Station.aIPv6, destination: Station.bIPv6, trafficClass: 0x20, flowLabel: 0x12345,
                      message: .neighborSolicitation(NeighborSolicitation(target: Station.bIPv6, options: [.sourceLinkLayerAddress(Station.aMAC)]))),
            NDPPacket(source: Station.bIPv6, destination: Station.aIPv6,
                      message: .neighborAdvertisement(NeighborAdvertisement(isRouter: true, isSolicited: true, isOverride: false,
                                                                            target: Station.bIPv6, options: []))),
            NDPPacket.solicitation(for: ip6("2001:db8::1"), from: .unspecified, sourceLinkLayerAddress: nil),
        ]
        for m in messages {
            #expect(try NDPPacket(decoding: m.encoded()) == m)
            #expect(try NDPPacket(decoding: m.encoded() + [0, 0, 0, 0]) == m)
        }
    }

    @Test func errorDescriptionsAreReadable() {
        let errors: [Layer2DecodeError] = [
            .truncated(.arp, needed: 28, available: 3), .arpHardwareType(6), .arpProtocolType(0x86dd),
            .arpAddressLengths(hardware: 8, protocol: 4), .arpOperation(3), .ipVersion(4), .notICMPv6(nextHeader: 0),
            .notNeighborDiscovery(icmpType: 133), .icmpv6Checksum(stored: 1, computed: 2), .ndpHopLimit(64), .ndpCode(1),
            .ndpMulticastTarget(.allNodes), .ndpMulticastSource(.allNodes), .ndpOptionLengthZero(offset: 24),
            .ndpOptionOverrun(offset: 24, length: 16, remaining: 8), .ndpDADDestination(.allNodes),
            .ndpDADSourceLinkLayerOption, .ndpSolicitedFlagOnMulticast,
        ]
        #expect(Set(errors.map(\.description)).count == errors.count)
        #expect(Layer2DecodeError.ndpHopLimit(64).description == "ndp: hop limit 64, must be 255")
    }
}
