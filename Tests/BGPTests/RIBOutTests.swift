import Testing
import NetAddress
@testable import BGP

@Suite struct RIBOutTests {
    static let ebgp = RouteExport(localAS: 64601, isInternal: false, families: [.ipv4Unicast, .ipv6Unicast],
                                  localAddress: .v4(v4("10.201.0.11")))
    static let ibgp = RouteExport(localAS: 64601, isInternal: true, families: [.ipv4Unicast, .ipv6Unicast],
                                  localAddress: .v4(v4("10.201.0.11")), defaultNextHopIPv6: v6("fd00:201::11"))

    func routes(_ export: RouteExport, _ rs: [AdvertisedRoute]) -> [UpdatePacker.Route] {
        rs.compactMap { try? export.route($0).get() }
    }

    func decode(_ msgs: [UpdateMessage], context: CodecContext = CodecContext()) throws -> [UpdateMessage] {
        try msgs.map { try UpdateMessage.decode(message: try $0.encode(context: context), context: context).message }
    }

    @Test func externalExportPrependsOurASAndDropsLocalPref() throws {
        let r = try Self.ebgp.route(AdvertisedRoute(prefix: pfx("10.210.1.0/24"), localPref: 250,
                                                    communities: [Community(asn: 64601, value: 100)])).get()
        #expect(r.attributes.asPath == ASPath(sequence: [64601]))
        #expect(r.attributes.localPref == nil)
        #expect(r.attributes.origin == .igp)
        #expect(r.nextHop == .ipv4(v4("10.201.0.11")))
        #expect(r.attributes.communities == [Community(asn: 64601, value: 100)])
    }

    @Test func internalExportHasEmptyPathAndLocalPref() throws {
        let a = try Self.ibgp.route(AdvertisedRoute(prefix: pfx("10.210.2.0/24"))).get()
        #expect(a.attributes.asPath == ASPath())
        #expect(a.attributes.localPref == 100)
        let b = try Self.ibgp.route(AdvertisedRoute(prefix: pfx("10.210.2.0/24"), localPref: 250)).get()
        #expect(b.attributes.localPref == 250)
    }

    @Test func nextHopChoice() throws {
        // IPv6 prefix: configured IPv6 default beats the IPv4 session address.
        #expect(try Self.ibgp.route(AdvertisedRoute(prefix: pfx("fd00:210::/64"))).get().nextHop == .ipv6(v6("fd00:201::11")))
        // Without one, an IPv6 prefix over an IPv4 session gets the IPv4 address (sent IPv4-mapped, RFC 4798 §2).
        let mapped = try Self.ebgp.route(AdvertisedRoute(prefix: pfx("fd00:210::/64"))).get()
        #expect(mapped.nextHop == .ipv4(v4("10.201.0.11")))
        let enc = try decode(try UpdatePacker().announce([mapped]))
        #expect(enc[0].attributes.mpReach?.nextHop == .ipv6(IPv6Address(ipv4Mapped: v4("10.201.0.11"))))
        // The route's own next hop wins.
        #expect(try Self.ebgp.route(AdvertisedRoute(prefix: pfx("10.1.0.0/16"), nextHop: .v4(v4("10.201.0.99")))).get().nextHop
                == .ipv4(v4("10.201.0.99")))
        // IPv4 prefix over an IPv6-only session without extended next hop: not sendable.
        let v6only = RouteExport(localAS: 1, isInternal: false, families: [.ipv4Unicast, .ipv6Unicast], localAddress: .v6(v6("fd00::1")))
        #expect(v6only.route(AdvertisedRoute(prefix: pfx("10.1.0.0/16"))).failure == .noUsableNextHop(pfx("10.1.0.0/16")))
        var enh = v6only
        enh.ipv4OverIPv6NextHop = true
        #expect(try enh.route(AdvertisedRoute(prefix: pfx("10.1.0.0/16"))).get().nextHop == .ipv6(v6("fd00::1")))
    }

    @Test func otherFamilyNextHopFromTheLocalInterface() throws {
        // An IPv6 prefix over an IPv4 session (dualStackAddressFamily): the interface's IPv6 address, not a link-local,
        // IPv4-mapped or loopback one, and not the IPv4-mapped fallback a router cannot install.
        var e = Self.ebgp
        e.interfaceAddresses = [.v6(v6("fe80::1")), .v6(IPv6Address(ipv4Mapped: v4("10.201.0.11"))), .v4(v4("10.201.0.11")),
                                .v6(v6("::1")), .v6(v6("fd00:201::11")), .v6(v6("fd00:201::12"))]
        #expect(try e.route(AdvertisedRoute(prefix: pfx("fd00:210::/64"))).get().nextHop == .ipv6(v6("fd00:201::11")))
        // The IPv4 prefix keeps the session's address; a configured default still wins over the interface.
        #expect(try e.route(AdvertisedRoute(prefix: pfx("10.1.0.0/16"))).get().nextHop == .ipv4(v4("10.201.0.11")))
        e.defaultNextHopIPv6 = v6("fd00:201::99")
        #expect(try e.route(AdvertisedRoute(prefix: pfx("fd00:210::/64"))).get().nextHop == .ipv6(v6("fd00:201::99")))
        // Only link-local IPv6 on the interface: the IPv4-mapped encoding, as before.
        var linkLocal = Self.ebgp
        linkLocal.interfaceAddresses = [.v6(v6("fe80::1"))]
        #expect(try linkLocal.route(AdvertisedRoute(prefix: pfx("fd00:210::/64"))).get().nextHop == .ipv4(v4("10.201.0.11")))
        // An IPv4 prefix over an IPv6 session without extended next hop: the interface's IPv4 address makes it sendable;
        // a link-local IPv4 address does not.
        var v6session = RouteExport(localAS: 1, isInternal: false, families: [.ipv4Unicast, .ipv6Unicast], localAddress: .v6(v6("fd00::1")),
                                    interfaceAddresses: [.v4(v4("169.254.3.4")), .v6(v6("fd00::1"))])
        #expect(v6session.route(AdvertisedRoute(prefix: pfx("10.1.0.0/16"))).failure == .noUsableNextHop(pfx("10.1.0.0/16")))
        v6session.interfaceAddresses.append(.v4(v4("10.0.0.7")))
        #expect(try v6session.route(AdvertisedRoute(prefix: pfx("10.1.0.0/16"))).get().nextHop == .ipv4(v4("10.0.0.7")))
    }

    @Test func interfaceAddressesOfLoopback() {
        // The lookup the peer makes once per connection: the interface holding 127.0.0.1 (lo) has it.
        let lo = BGPPeer.addressesOfInterface(holding: .v4(v4("127.0.0.1")))
        #expect(lo.contains(.v4(v4("127.0.0.1"))))
        #expect(BGPPeer.addressesOfInterface(holding: .v4(v4("192.0.2.77"))).isEmpty)
    }

    @Test func familyNotNegotiatedIsSkipped() {
        let v4only = RouteExport(localAS: 1, isInternal: false, families: [.ipv4Unicast], localAddress: .v4(v4("10.0.0.1")))
        #expect(v4only.route(AdvertisedRoute(prefix: pfx("fd00::/64"))).failure == .familyNotNegotiated(pfx("fd00::/64")))
    }

    @Test func initialTablePacksSharedAttributesAndThenNothing() throws {
        var rib = AdjRIBOut()
        let comm = [Community(asn: 64601, value: 1)]
        let rs = (0..<50).map { AdvertisedRoute(prefix: IPPrefix(masking: .v4(IPv4Address(0x0AD2_0000 + UInt32($0))), length: 32), communities: comm) }
            + [AdvertisedRoute(prefix: pfx("10.99.0.0/24"), communities: [Community(asn: 64601, value: 2)])]
            + [AdvertisedRoute(prefix: pfx("fd00:210:1::/64")), AdvertisedRoute(prefix: pfx("fd00:210:2::/64"))]
        rib.setDesired(routes(Self.ibgp, rs))
        let msgs = try decode(try rib.takeUpdates(packer: UpdatePacker()))
        // 50 /32s with one attribute set → 1 message; the /24 with other communities → 1; both IPv6 → 1 MP_REACH.
        #expect(msgs.count == 3)
        #expect(msgs.map { $0.announcedPrefixes.count }.sorted() == [1, 2, 50])
        #expect(msgs.allSatisfy { $0.withdrawnPrefixes.isEmpty })
        #expect(!rib.hasChanges)
        #expect(try rib.takeUpdates(packer: UpdatePacker()).isEmpty)
        #expect(rib.advertised.count == 53)
    }

    @Test func changesBecomeBatchedWithdrawalsAndChangedRoutesOnly() throws {
        var rib = AdjRIBOut()
        let base = (1...10).map { AdvertisedRoute(prefix: pfx("10.210.\($0).0/24")) } + [AdvertisedRoute(prefix: pfx("fd00:210:1::/64"))]
        rib.setDesired(routes(Self.ebgp, base))
        _ = try rib.takeUpdates(packer: UpdatePacker())
        // Drop 3 IPv4 and the IPv6 route, change the community of one, keep the rest.
        var next = Array(base[3..<10])
        next[0].communities = [Community(asn: 1, value: 1)]
        rib.setDesired(routes(Self.ebgp, next))
        let (w, a) = rib.diff()
        #expect(w == [pfx("10.210.1.0/24"), pfx("10.210.2.0/24"), pfx("10.210.3.0/24"), pfx("fd00:210:1::/64")])
        #expect(a.map(\.prefix) == [pfx("10.210.4.0/24")])
        let msgs = try decode(try rib.takeUpdates(packer: UpdatePacker()))
        // One classic withdrawal for the three IPv4, one MP_UNREACH for IPv6, one announcement.
        #expect(msgs.count == 3)
        #expect(msgs[0].withdrawnRoutes == [pfx("10.210.1.0/24"), pfx("10.210.2.0/24"), pfx("10.210.3.0/24")])
        #expect(msgs[1].attributes.mpUnreach?.withdrawn == [pfx("fd00:210:1::/64")])
        #expect(msgs[2].nlri == [pfx("10.210.4.0/24")])
        #expect(msgs[2].attributes.communities == [Community(asn: 1, value: 1)])
        #expect(rib.advertised.count == 7)
    }

    @Test func sessionResetResendsEverything() throws {
        var rib = AdjRIBOut()
        rib.setDesired(routes(Self.ebgp, [AdvertisedRoute(prefix: pfx("10.210.1.0/24"))]))
        _ = try rib.takeUpdates(packer: UpdatePacker())
        #expect(!rib.hasChanges)
        rib.sessionReset()
        #expect(rib.hasChanges)
        let msgs = try rib.takeUpdates(packer: UpdatePacker())
        #expect(msgs.flatMap(\.announcedPrefixes) == [pfx("10.210.1.0/24")])
    }

    @Test func endOfRIBMarkersAreRecognized() throws {
        for f in [AFISAFI.ipv4Unicast, .ipv6Unicast] {
            let m = try decode([UpdatePacker().endOfRIB(f)])[0]
            #expect(m.endOfRIB == f)
        }
        // A withdrawal is not an End-of-RIB.
        #expect(UpdateMessage(withdrawnRoutes: [pfx("10.0.0.0/8")]).endOfRIB == nil)
    }

    @Test func gracefulRestartCapabilityCarriesRestartTimeAndForwardingBit() throws {
        var cfg = BGPSessionConfig(localAS: 64601, peerAS: .fixed(64512), routerID: v4("10.0.0.1"), families: [.ipv4Unicast, .ipv6Unicast])
        cfg.gracefulRestart = GracefulRestartConfig(restartTime: 60, forwardingStatePreserved: true)
        let open = cfg.openMessage()
        let bytes = try BGPMessage.open(open).encode()
        guard case .open(let back) = try BGPMessage.decode(bytes).message, let gr = back.gracefulRestart else {
            Issue.record("no graceful restart capability after a round trip")
            return
        }
        #expect(gr.restartTime == 60)
        #expect(!gr.restartState)
        #expect(gr.families.map(\.afiSafi) == [.ipv4Unicast, .ipv6Unicast])
        #expect(gr.families.allSatisfy { $0.forwardingStatePreserved })
    }

    @Test func md5CountersParse() {
        let text = """
            TcpExt: SyncookiesSent TCPMD5NotFound TCPMD5Unexpected TCPMD5Failure
            TcpExt: 0 2 3 4
            IpExt: InNoRoutes
            IpExt: 0
            """
        let c = TCPMD5Counters.parse(text)
        #expect(c == TCPMD5Counters(notFound: 2, unexpected: 3, failure: 4))
        #expect(TCPMD5Counters.parse("nothing") == nil)
        #expect((TCPMD5Counters(notFound: 2, unexpected: 3, failure: 4) - TCPMD5Counters(notFound: 2, unexpected: 1, failure: 0)).total == 6)
    }

    @Test func md5SigLayout() {
        var sig = BGPSocketOptions.MD5Sig(peer: .v4(v4("10.201.0.2")), key: Array("abc".utf8))
        let bytes = withUnsafeBytes(of: &sig.words) { Array($0) }
        #expect(bytes.count == 216)
        #expect(bytes[0] == 2 && bytes[1] == 0)             // AF_INET, host order
        #expect(Array(bytes[4..<8]) == [10, 201, 0, 2])
        #expect(bytes[130] == 3 && bytes[131] == 0)         // key length
        #expect(Array(bytes[136..<139]) == Array("abc".utf8))
        var sig6 = BGPSocketOptions.MD5Sig(peer: .v6(v6("fd00:201::2")), key: [])
        let b6 = withUnsafeBytes(of: &sig6.words) { Array($0) }
        #expect(b6[0] == 10)                                  // AF_INET6
        #expect(Array(b6[8..<24]) == v6("fd00:201::2").bytes)
    }
}
