import Testing
import NetAddress
@testable import Layer2

/// Responders standing in for the capture stations, and a third station C.
private let stationB = Layer2Responder(hardwareAddress: Station.bMAC, addresses: [.v4(Station.bIPv4), .v6(Station.bIPv6)])
private let cMAC = MACAddress(0x02, 0, 0, 0, 0x0c, 0x03)
/// Layer2Responder as run live in the capture (station A's MAC, Service IPs .9/.10 and ::9/::a).
private let live = Layer2Responder(hardwareAddress: Station.aMAC,
                                   addresses: ["10.254.0.9", "10.254.0.10", "fd00:254::9", "fd00:254::a"].map { IPAddress($0)! })

@Suite("Responder: ARP")
struct ResponderARPTests {
    /// For the same request, our reply is byte-identical to the Linux kernel's (neither pads on veth).
    @Test func replyMatchesKernel() throws {
        let response = stationB.handle(try Vectors.load("arp-request-arping.hex"))
        #expect(response == .arpReply(frame: try Vectors.load("arp-reply-kernel.hex"), address: Station.bIPv4,
                                      destination: Station.aMAC))
    }

    @Test func probeFromAnotherHostIsAnswered() throws {
        let response = stationB.handle(try Vectors.load("arp-probe-arping.hex"))
        #expect(response.frames == [try Vectors.load("arp-probe-reply-kernel.hex")])
    }

    /// Frames the live responder sent, which arping accepted, are what the responder still produces.
    @Test(arguments: [("live-arp-request-arping.hex", "live-arp-reply-swift.hex"),
                      ("live-arp-probe-arping.hex", "live-arp-probe-reply-swift.hex")])
    func liveExchanges(request: String, reply: String) throws {
        #expect(live.respond(to: try Vectors.load(request)) == [try Vectors.load(reply)])
    }

    @Test func notOwnedIsIgnored() throws {
        #expect(live.handle(try Vectors.load("live-arp-request-not-owned-arping.hex")) == .ignored(.notOwned(.v4(ip4("10.254.0.77")))))
        #expect(Layer2Responder(hardwareAddress: Station.bMAC).respond(to: try Vectors.load("arp-request-arping.hex")).isEmpty)
    }

    @Test func ownProbesAndOwnFramesAreIgnored() throws {
        // Station A probing 10.254.0.2: if A itself owned that IP it must not answer its own probe.
        let a = Layer2Responder(hardwareAddress: Station.aMAC, addresses: [.v4(Station.bIPv4)])
        #expect(a.handle(try Vectors.load("arp-probe-arping.hex")) == .ignored(.fromSelf))
        // Our MAC as ARP sender behind another Ethernet source (e.g. a bridge echo) is still ours.
        var frame = try EthernetFrame(decoding: try Vectors.load("arp-probe-arping.hex"))
        frame.source = cMAC
        #expect(a.handle(frame.encoded()) == .ignored(.fromSelf))
        // Our own gratuitous ARPs looped back are not conflicts.
        let own = Layer2Responder(hardwareAddress: Station.aMAC, addresses: [.v4(Station.aIPv4)])
        #expect(own.handle(try Vectors.load("arp-announce-request-arping.hex")) == .ignored(.fromSelf))
    }

    /// RFC 5227 §2.4: any ARP packet whose sender IP is ours but sender MAC is not is a conflict.
    @Test(arguments: ["arp-announce-request-arping.hex", "arp-announce-reply-arping.hex", "arp-request-arping.hex"])
    func conflicts(_ name: String) throws {
        let c = Layer2Responder(hardwareAddress: cMAC, addresses: [.v4(Station.aIPv4), .v4(Station.bIPv4)])
        #expect(c.handle(try Vectors.load(name)) == .conflict(address: .v4(Station.aIPv4), claimedBy: Station.aMAC))
        #expect(c.respond(to: try Vectors.load(name)).isEmpty)
    }

    @Test func repliesAreNotAnswered() throws {
        let a = Layer2Responder(hardwareAddress: Station.aMAC, addresses: [.v4(Station.aIPv4)])
        #expect(a.handle(try Vectors.load("arp-reply-kernel.hex")) == .ignored(.notASolicitation))
    }

    @Test func unicastRequests() throws {
        var frame = try EthernetFrame(decoding: try Vectors.load("arp-request-arping.hex"))
        frame.destination = cMAC
        #expect(stationB.handle(frame.encoded()) == .ignored(.notForUs(destination: cMAC)))
        frame.destination = Station.bMAC // ARP refresh unicast to us
        #expect(stationB.respond(to: frame.encoded()) == [try Vectors.load("arp-reply-kernel.hex")])
    }

    @Test func vlanTagIsEchoed() throws {
        let plain = try Vectors.load("arp-request-arping.hex")
        let tag: [UInt8] = [0x81, 0x00, 0x00, 0x2a]
        let tagged = Array(plain[..<12]) + tag + Array(plain[12...])
        let reply = try Vectors.load("arp-reply-kernel.hex")
        #expect(stationB.respond(to: tagged) == [Array(reply[..<12]) + tag + Array(reply[12...])])
    }

    @Test func padding() throws {
        var padded = stationB
        padded.padsFrames = true
        let frames = padded.respond(to: try Vectors.load("arp-request-arping.hex"))
        let kernel = try Vectors.load("arp-reply-kernel.hex")
        #expect(frames.count == 1 && frames[0].count == 60)
        #expect(Array(frames[0][..<42]) == kernel && frames[0][42...].allSatisfy { $0 == 0 })
    }

    @Test func malformedAndUnrelated() throws {
        var bad = try Vectors.load("arp-request-arping.hex")
        bad[15] = 6 // hardware type 6
        #expect(stationB.handle(bad) == .ignored(.malformed(.arpHardwareType(6))))
        #expect(stationB.handle([1, 2, 3]) == .ignored(.malformed(.truncated(.ethernet, needed: 14, available: 3))))
        #expect(stationB.handle(try Vectors.load("ipv6-mldv2-report-kernel.hex")) == .ignored(.unrelated))
        #expect(stationB.handle(try Vectors.load("ndp-rs-kernel.hex")) == .ignored(.unrelated))
        var ipv4 = try Vectors.load("arp-request-arping.hex")
        ipv4[12] = 0x08; ipv4[13] = 0x00
        #expect(stationB.handle(ipv4) == .ignored(.unrelated))
    }
}

@Suite("Responder: NDP")
struct ResponderNDPTests {
    /// For ndisc6's NS the kernel's NA and ours are byte-identical: unicast, S and O set, TLLA, source = target.
    @Test func solicitedAdvertisementMatchesKernel() throws {
        let response = stationB.handle(try Vectors.load("ndp-ns-ndisc6.hex"))
        #expect(response == .neighborAdvertisement(frame: try Vectors.load("ndp-na-solicited-kernel.hex"),
                                                   address: Station.bIPv6, destination: Station.aMAC, solicited: true))
    }

    /// A DAD probe for an owned address is answered to all-nodes with S clear (RFC 4861 §7.2.4), exactly as the kernel does.
    @Test func dadProbeIsDefendedLikeKernel() throws {
        let response = stationB.handle(try Vectors.load("ndp-ns-dad-conflict-kernel.hex"))
        #expect(response == .neighborAdvertisement(frame: try Vectors.load("ndp-na-dad-defense-kernel.hex"),
                                                   address: Station.bIPv6, destination: .ipv6AllNodes, solicited: false))
    }

    @Test(arguments: [("live-ns-ndisc6.hex", "live-na-swift.hex"), ("live-ns-dad-kernel.hex", "live-na-dad-swift.hex")])
    func liveExchanges(request: String, reply: String) throws {
        #expect(live.respond(to: try Vectors.load(request)) == [try Vectors.load(reply)])
    }

    @Test func notOwned() throws {
        let c = Layer2Responder(hardwareAddress: cMAC, addresses: live.addresses)
        #expect(c.handle(try Vectors.load("ndp-ns-ndisc6.hex")) == .ignored(.notOwned(.v6(Station.bIPv6))))
        #expect(c.handle(try Vectors.load("ndp-ns-dad-kernel.hex")) == .ignored(.notOwned(.v6(ip6("fd00:254::3")))))
    }

    @Test func ownSolicitationsAreIgnored() throws {
        let a = Layer2Responder(hardwareAddress: Station.aMAC, addresses: [.v6(Station.bIPv6), .v6(ip6("fd00:254::3"))])
        #expect(a.handle(try Vectors.load("ndp-ns-ndisc6.hex")) == .ignored(.fromSelf))
        #expect(a.handle(try Vectors.load("ndp-ns-dad-kernel.hex")) == .ignored(.fromSelf))
        // Our MAC in the SLLA option behind a different Ethernet source.
        var frame = try EthernetFrame(decoding: try Vectors.load("ndp-ns-ndisc6.hex"))
        frame.source = cMAC
        #expect(a.handle(frame.encoded()) == .ignored(.fromSelf))
    }

    @Test func unicastToAnotherMACIsNotForUs() throws {
        var frame = try EthernetFrame(decoding: try Vectors.load("ndp-ns-ndisc6.hex"))
        frame.destination = cMAC
        #expect(stationB.handle(frame.encoded()) == .ignored(.notForUs(destination: cMAC)))
    }

    /// A unicast NS without SLLA (NUD, RFC 4861 §7.2.2) is answered to the frame's Ethernet source.
    @Test func solicitationWithoutSourceLinkLayerOption() throws {
        let ns = NDPPacket(source: Station.aIPv6, destination: Station.bIPv6,
                           message: .neighborSolicitation(NeighborSolicitation(target: Station.bIPv6)))
        let frame = EthernetFrame(ndp: ns, destination: Station.bMAC, source: Station.aMAC).encoded()
        let response = stationB.handle(frame)
        guard case .neighborAdvertisement(let bytes, _, let destination, let solicited) = response else {
            Issue.record("no NA: \(response)"); return
        }
        #expect(destination == Station.aMAC && solicited)
        guard case .ndp(let na) = try Layer2Frame(decoding: bytes).content else { Issue.record("not NDP"); return }
        #expect(na.destination == Station.aIPv6 && na.source == Station.bIPv6)
        #expect(na.message == .neighborAdvertisement(NeighborAdvertisement(isSolicited: true, isOverride: true, target: Station.bIPv6,
                                                                           options: [.targetLinkLayerAddress(Station.bMAC)])))
    }

    @Test func routerFlagAndVLAN() throws {
        var router = stationB
        router.isRouter = true
        let ns = try Vectors.load("ndp-ns-ndisc6.hex")
        let tagged = Array(ns[..<12]) + [0x81, 0x00, 0x00, 0x05] + Array(ns[12...])
        let frames = router.respond(to: tagged)
        #expect(frames.count == 1)
        let decoded = try Layer2Frame(decoding: frames[0])
        #expect(decoded.ethernet.vlanTags == [VLANTag(identifier: 5)])
        guard case .ndp(let packet) = decoded.content, case .neighborAdvertisement(let na) = packet.message else {
            Issue.record("not NA"); return
        }
        #expect(na.isRouter && na.isSolicited && na.isOverride)
    }

    /// RFC 4861 §7.2.5: an NA for an owned target carrying another MAC is a conflict; other NAs are ignored.
    @Test func advertisements() throws {
        let c = Layer2Responder(hardwareAddress: cMAC, addresses: [.v6(ip6("fd00:254::3"))])
        #expect(c.handle(try Vectors.load("ndp-na-unsolicited-kernel.hex"))
            == .conflict(address: .v6(ip6("fd00:254::3")), claimedBy: Station.aMAC))
        #expect(c.handle(try Vectors.load("ndp-na-solicited-kernel.hex")) == .ignored(.notASolicitation))
    }

    @Test func invalidSolicitationsAreMalformed() throws {
        var ns = try Vectors.load("ndp-ns-ndisc6.hex")
        ns[21] = 64 // hop limit
        #expect(stationB.handle(ns) == .ignored(.malformed(.ndpHopLimit(64))))
        var sum = try Vectors.load("ndp-ns-ndisc6.hex")
        sum[57] ^= 0xff
        #expect(stationB.respond(to: sum).isEmpty)
    }
}

@Suite("Responder: announcements and state")
struct ResponderAnnounceTests {
    /// Gratuitous ARP request then reply per round (RFC 5227 §2.3/§3); the bytes the Linux kernel accepted live.
    @Test func ipv4Burst() throws {
        let frames = live.announce(.v4(ip4("10.254.0.10")), count: 3)
        let request = try Vectors.load("live-garp-request-swift.hex")
        let reply = try Vectors.load("live-garp-reply-swift.hex")
        #expect(frames == [request, reply, request, reply, request, reply])
        guard case .arp(let arp) = try Layer2Frame(decoding: request).content else { Issue.record("not ARP"); return }
        #expect(arp.isAnnouncement && arp.targetHardwareAddress == .zero)
    }

    /// Unsolicited NA to all-nodes, O set, S clear (RFC 4861 §7.2.6).
    @Test func ipv6Burst() throws {
        let frames = live.announce(.v6(ip6("fd00:254::a")), count: 3)
        #expect(frames == Array(repeating: try Vectors.load("live-unsolicited-na-swift.hex"), count: 3))
    }

    @Test func burstOptions() throws {
        #expect(live.announce(.v4(ip4("10.254.0.10")), count: 0).isEmpty)
        #expect(live.announce(.v4(ip4("10.254.0.10")), count: -1).isEmpty)
        #expect(live.announce(.v4(ip4("10.254.0.11"))).isEmpty) // not owned
        #expect(live.announce(.v6(ip6("fd00:254::b"))).isEmpty)
        #expect(live.announce(.v6(ip6("fd00:254::a"))).count == 3) // default count
        // arping -U style: requests only, broadcast target MAC; equal to arping's frame minus its padding.
        var arpingStyle = Layer2Responder(hardwareAddress: Station.aMAC, addresses: [.v4(Station.aIPv4)],
                                          announcementTargetHardwareAddress: .broadcast, announcementOperations: [.request])
        let arping = try Vectors.load("arp-announce-request-arping.hex")
        #expect(arpingStyle.announce(.v4(Station.aIPv4), count: 2) == [Array(arping[..<42]), Array(arping[..<42])])
        arpingStyle.announcementOperations = [.reply]
        #expect(arpingStyle.announce(.v4(Station.aIPv4), count: 1) == [Array(try Vectors.load("arp-announce-reply-arping.hex")[..<42])])
        arpingStyle.padsFrames = true
        #expect(arpingStyle.announce(.v4(Station.aIPv4), count: 1)[0].count == 60)
    }

    @Test func announceAllCoversEveryAddressInOrder() throws {
        let frames = live.announceAll(count: 1)
        #expect(frames.count == 2 + 2 + 1 + 1)
        let targets: [String] = try frames.map { bytes in
            switch try Layer2Frame(decoding: bytes).content {
            case .arp(let arp): return arp.targetProtocolAddress.description
            case .ndp(let ndp): return ndp.message.target.description
            default: return "?"
            }
        }
        #expect(targets == ["10.254.0.9", "10.254.0.9", "10.254.0.10", "10.254.0.10", "fd00:254::9", "fd00:254::a"])
    }

    @Test func ownedSetManagement() {
        var r = Layer2Responder(hardwareAddress: Station.aMAC)
        #expect(r.addresses.isEmpty && r.solicitedNodeGroups.isEmpty)
        let firstAdd = r.add(.v6(Station.aIPv6))
        let secondAdd = r.add(.v6(Station.aIPv6))
        let addV4 = r.add(.v4(Station.aIPv4))
        #expect(firstAdd && !secondAdd && addV4)
        #expect(r.owns(.v4(Station.aIPv4)) && r.owns(.v6(Station.aIPv6)) && !r.owns(.v4(Station.bIPv4)))
        #expect(r.addresses == [.v4(Station.aIPv4), .v6(Station.aIPv6)])
        let removed = r.remove(.v4(Station.aIPv4))
        let removedAgain = r.remove(.v4(Station.aIPv4))
        let removedUnowned = r.remove(.v6(Station.bIPv6))
        #expect(removed && !removedAgain && !removedUnowned)
        #expect(r.ipv4Addresses.isEmpty && r.ipv6Addresses == [Station.aIPv6])
        r.remove(.v6(Station.aIPv6))
        #expect(r.respond(to: (try? Vectors.load("ndp-ns-ndisc6.hex")) ?? []).isEmpty)
    }

    /// Groups to join: one per distinct low-24-bit value, sorted (RFC 4291 §2.7.1), with their 33:33 MACs (RFC 2464 §7).
    @Test func solicitedNodeGroups() {
        let r = Layer2Responder(hardwareAddress: Station.aMAC,
                                addresses: ["fd00:254::1", "fd00:1::1", "4037::01:800:200E:8C6C", "10.0.0.1", "fe80::ff:fe00:a01"]
                                    .map { IPAddress($0)! })
        #expect(r.solicitedNodeGroups == [ip6("ff02::1:ff00:1"), ip6("ff02::1:ff00:a01"), ip6("ff02::1:ff0e:8c6c")])
        #expect(r.multicastHardwareAddresses == [mac("33:33:ff:00:00:01"), mac("33:33:ff:00:0a:01"), mac("33:33:ff:0e:8c:6c")])
    }

    @Test func rfcTimingConstants() {
        #expect(Layer2Responder.arpAnnounceCount == 2)
        #expect(Layer2Responder.arpAnnounceInterval == .seconds(2))
        #expect(Layer2Responder.maxNeighborAdvertisement == 3)
        #expect(Layer2Responder.neighborAdvertisementInterval == .seconds(1))
    }
}
