import Testing
@testable import Layer2

@Suite("Ethernet")
struct EthernetTests {
    @Test func decodesCapturedHeader() throws {
        let frame = try EthernetFrame(decoding: try Vectors.load("arp-reply-kernel.hex"))
        #expect(frame.destination == Station.aMAC)
        #expect(frame.source == Station.bMAC)
        #expect(frame.vlanTags.isEmpty)
        #expect(frame.etherType == .arp)
        #expect(frame.payload.count == 28)
    }

    @Test func roundTripsAndPads() throws {
        let bytes = try Vectors.load("arp-reply-kernel.hex")
        let frame = try EthernetFrame(decoding: bytes)
        #expect(frame.encoded() == bytes)
        let padded = frame.encoded(padToMinimum: true)
        #expect(padded.count == EthernetFrame.minimumSize)
        #expect(Array(padded[..<42]) == bytes)
        #expect(padded[42...].allSatisfy { $0 == 0 })
        // Padding never shortens or touches frames that are already long enough.
        let na = try Vectors.load("ndp-na-solicited-kernel.hex")
        #expect(try EthernetFrame(decoding: na).encoded(padToMinimum: true) == na)
    }

    @Test func toleratesVLANTags() throws {
        let plain = try Vectors.load("arp-request-arping.hex")
        // Insert an 802.1Q tag (PCP 5, DEI, VID 100) and an outer 802.1ad tag (VID 7).
        let tagged = Array(plain[..<12]) + [0x88, 0xa8, 0x00, 0x07, 0x81, 0x00, 0xb0, 0x64] + Array(plain[12...])
        let frame = try EthernetFrame(decoding: tagged)
        #expect(frame.vlanTags == [VLANTag(protocolIdentifier: .serviceVLAN, identifier: 7),
                                   VLANTag(protocolIdentifier: .vlan, priority: 5, dropEligible: true, identifier: 100)])
        #expect(frame.vlanTags[1].tagControlInformation == 0xb064)
        #expect(frame.etherType == .arp)
        #expect(frame.payload == Array(plain[14...]))
        #expect(frame.encoded() == tagged)
        let content = try Layer2Frame(decoding: tagged).content
        #expect(content == .arp(try ARPPacket(decoding: Array(plain[14...]))))
    }

    @Test func truncation() throws {
        for n in 0 ..< 14 {
            #expect(throws: Layer2DecodeError.truncated(.ethernet, needed: 14, available: n)) {
                try EthernetFrame(decoding: [UInt8](repeating: 0xff, count: n))
            }
        }
        var tagged = [UInt8](repeating: 0, count: 12) + [0x81, 0x00, 0x00]
        #expect(throws: Layer2DecodeError.truncated(.vlanTag, needed: 18, available: 15)) {
            try EthernetFrame(decoding: tagged)
        }
        tagged += [0x01, 0x08]
        #expect(throws: Layer2DecodeError.truncated(.vlanTag, needed: 18, available: 17)) {
            try EthernetFrame(decoding: tagged)
        }
        tagged += [0x06]
        #expect(try EthernetFrame(decoding: tagged).payload.isEmpty)
        #expect(throws: Layer2DecodeError.truncated(.arp, needed: 28, available: 0)) {
            try Layer2Frame(decoding: tagged)
        }
    }

    @Test func etherTypeText() {
        #expect(EtherType.arp.description == "0x0806")
        #expect(EtherType.ipv6.description == "0x86dd")
        #expect(EtherType(rawValue: 0x42).description == "0x0042")
        #expect(EtherType.vlan.isVLANTag && EtherType.serviceVLAN.isVLANTag && !EtherType.ipv4.isVLANTag)
    }

    @Test func otherEtherTypesDecodeAsOther() throws {
        var bytes = try Vectors.load("arp-reply-kernel.hex")
        bytes[12] = 0x08; bytes[13] = 0x00 // IPv4
        #expect(try Layer2Frame(decoding: bytes).content == .other)
    }
}

@Suite("ARP")
struct ARPTests {
    @Test func decodesArpingRequestWithPadding() throws {
        let bytes = try Vectors.load("arp-request-arping.hex")
        #expect(bytes.count == 58)
        let frame = try Layer2Frame(decoding: bytes)
        #expect(frame.ethernet.destination == .broadcast)
        guard case .arp(let arp) = frame.content else { Issue.record("not ARP"); return }
        #expect(arp == ARPPacket.request(senderHardwareAddress: Station.aMAC, senderProtocolAddress: Station.aIPv4,
                                         targetProtocolAddress: Station.bIPv4))
        #expect(!arp.isProbe && !arp.isAnnouncement)
        // Our request encoder reproduces arping's bytes up to its 16 bytes of trailing zeros.
        let ours = EthernetFrame(arp: arp, destination: .broadcast, source: Station.aMAC).encoded()
        #expect(ours == Array(bytes[..<42]))
        #expect(bytes[42...].allSatisfy { $0 == 0 })
    }

    @Test func encoderMatchesKernelReplyByteForByte() throws {
        let request = try Vectors.load("arp-request-arping.hex")
        let kernel = try Vectors.load("arp-reply-kernel.hex")
        guard case .arp(let arp) = try Layer2Frame(decoding: request).content else { Issue.record("not ARP"); return }
        let reply = arp.reply(hardwareAddress: Station.bMAC)
        #expect(reply.operation == .reply)
        #expect(reply.senderProtocolAddress == Station.bIPv4 && reply.targetProtocolAddress == Station.aIPv4)
        let ours = EthernetFrame(arp: reply, destination: arp.senderHardwareAddress, source: Station.bMAC).encoded()
        #expect(ours == kernel)
        #expect(try Layer2Frame(decoding: kernel).content == .arp(reply))
    }

    @Test func probeAndKernelProbeReply() throws {
        let probe = try Vectors.load("arp-probe-arping.hex")
        guard case .arp(let arp) = try Layer2Frame(decoding: probe).content else { Issue.record("not ARP"); return }
        #expect(arp.isProbe && !arp.isAnnouncement)
        #expect(arp.senderProtocolAddress == .any && arp.targetProtocolAddress == Station.bIPv4)
        // The kernel answers a probe with target IP 0.0.0.0, unicast to the prober: exactly our reply().
        let kernel = try Vectors.load("arp-probe-reply-kernel.hex")
        let ours = EthernetFrame(arp: arp.reply(hardwareAddress: Station.bMAC), destination: Station.aMAC,
                                 source: Station.bMAC).encoded()
        #expect(ours == kernel)
    }

    @Test func gratuitousFormsFromArping() throws {
        let request = try Vectors.load("arp-announce-request-arping.hex")
        let reply = try Vectors.load("arp-announce-reply-arping.hex")
        for (bytes, op) in [(request, ARPOperation.request), (reply, .reply)] {
            guard case .arp(let arp) = try Layer2Frame(decoding: bytes).content else { Issue.record("not ARP"); continue }
            #expect(arp.operation == op)
            #expect(arp.isAnnouncement && !arp.isProbe)
            #expect(arp.senderProtocolAddress == Station.aIPv4 && arp.targetHardwareAddress == .broadcast)
            // arping puts ff:ff:ff:ff:ff:ff in the target MAC; with that choice we match it byte for byte (minus padding).
            let ours = EthernetFrame(arp: .announcement(hardwareAddress: Station.aMAC, address: Station.aIPv4, operation: op,
                                                        targetHardwareAddress: .broadcast),
                                     destination: .broadcast, source: Station.aMAC).encoded()
            #expect(ours == Array(bytes[..<42]))
        }
        // The RFC 5227 §2.3 default zeroes the target MAC.
        #expect(ARPPacket.announcement(hardwareAddress: Station.aMAC, address: Station.aIPv4).targetHardwareAddress == .zero)
    }

    @Test func roundTrip() throws {
        let packet = ARPPacket(operation: .reply, senderHardwareAddress: mac("00:11:22:33:44:55"),
                               senderProtocolAddress: ip4("192.0.2.1"), targetHardwareAddress: mac("66:77:88:99:aa:bb"),
                               targetProtocolAddress: ip4("192.0.2.200"))
        let bytes = packet.encoded()
        #expect(bytes.count == ARPPacket.size)
        #expect(try ARPPacket(decoding: bytes) == packet)
        #expect(try ARPPacket(decoding: bytes + [1, 2, 3]) == packet)
    }

    @Test func truncationAtEveryLength() throws {
        let payload = Array(try Vectors.load("arp-reply-kernel.hex")[14...])
        for n in 0 ..< 28 {
            #expect(throws: Layer2DecodeError.truncated(.arp, needed: 28, available: n)) {
                try ARPPacket(decoding: Array(payload[..<n]))
            }
        }
    }

    @Test func rejectsWrongTypesLengthsAndOperations() throws {
        let good = Array(try Vectors.load("arp-reply-kernel.hex")[14...])
        func mutated(_ index: Int, _ value: UInt8) -> [UInt8] { var b = good; b[index] = value; return b }
        #expect(throws: Layer2DecodeError.arpHardwareType(6)) { try ARPPacket(decoding: mutated(1, 6)) }
        #expect(throws: Layer2DecodeError.arpProtocolType(0x86dd)) {
            var b = good; b[2] = 0x86; b[3] = 0xdd; _ = try ARPPacket(decoding: b)
        }
        #expect(throws: Layer2DecodeError.arpAddressLengths(hardware: 8, protocol: 4)) { try ARPPacket(decoding: mutated(4, 8)) }
        #expect(throws: Layer2DecodeError.arpAddressLengths(hardware: 6, protocol: 16)) { try ARPPacket(decoding: mutated(5, 16)) }
        #expect(throws: Layer2DecodeError.arpOperation(3)) { try ARPPacket(decoding: mutated(7, 3)) }
        #expect(throws: Layer2DecodeError.arpOperation(0x0102)) {
            var b = good; b[6] = 1; b[7] = 2; _ = try ARPPacket(decoding: b)
        }
    }
}
