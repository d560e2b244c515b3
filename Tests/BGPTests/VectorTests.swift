import Foundation
import Testing
import NetAddress
@testable import BGP

/// Messages captured from real FRR / BIRD / GoBGP sessions (see Vectors/*.hex headers and Vectors/capture/).
enum Vectors {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    /// The messages of `name`.hex, one per non-comment line.
    static func load(_ name: String) -> [[UInt8]] {
        let url = directory.appendingPathComponent(name + ".hex")
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            Issue.record("cannot read \(url.path)")
            return []
        }
        return text.split(separator: "\n").filter { !$0.hasPrefix("#") && !$0.isEmpty }.map { hex(String($0)) }
    }

    /// Session facts for each capture: 4-octet AS negotiated? internal peer?
    static let files: [(name: String, context: CodecContext)] = [
        ("frr-to-gobgp-ipv4", CodecContext(fourOctetAS: true)),
        ("frr-to-gobgp-ipv6", CodecContext(fourOctetAS: true)),
        ("gobgp-to-frr-ipv4", CodecContext(fourOctetAS: true)),
        ("gobgp-to-frr-ipv6", CodecContext(fourOctetAS: true)),
        ("bird-to-frr-ibgp-extnh", CodecContext(fourOctetAS: true, isInternalPeer: true)),
        ("frr-to-bird-ibgp-extnh", CodecContext(fourOctetAS: true, isInternalPeer: true)),
        ("bird-to-frr-ebgp6", CodecContext(fourOctetAS: true)),
        ("frr-to-bird-ebgp6", CodecContext(fourOctetAS: true)),
        ("bird-to-frr-as2", CodecContext(fourOctetAS: false)),
        ("frr-to-bird-as2", CodecContext(fourOctetAS: false)),
        ("bird-to-frr-badpeeras", CodecContext(fourOctetAS: true)),
    ]

    /// Lines whose re-encoding is byte-identical. The others differ only in encoding choices our encoder makes
    /// differently (FRR: one capability per optional parameter, Extended Length on short AS_PATH / MP_* / AS4_PATH;
    /// BIRD: Extended Length on MP_*; GoBGP: NEXT_HOP after LARGE_COMMUNITY, MP_REACH_NLRI not first).
    static let canonical: [String: Set<Int>] = [
        "frr-to-gobgp-ipv4": [1, 5, 6, 7, 8, 9],
        "frr-to-gobgp-ipv6": [1, 5],
        "gobgp-to-frr-ipv4": [0, 1, 2, 4, 5],
        "gobgp-to-frr-ipv6": [0, 1, 3, 4, 5],
        "bird-to-frr-ibgp-extnh": [0, 1, 4, 6],
        "frr-to-bird-ibgp-extnh": [1, 6, 7, 8],
        "bird-to-frr-ebgp6": [0, 1, 3, 4, 6],
        "frr-to-bird-ebgp6": [1, 4, 5, 6],
        "bird-to-frr-as2": [0, 1, 2, 3, 4],
        "frr-to-bird-as2": [0, 1, 4, 6, 7],
        "bird-to-frr-badpeeras": [0, 1],
    ]

    static func decode(_ name: String, _ context: CodecContext) -> [BGPMessage] {
        load(name).compactMap { m in
            do {
                let d = try BGPMessage.decode(m, context: context)
                #expect(d.updateErrors.isEmpty, "\(name): \(d.updateErrors)")
                return d.message
            } catch {
                Issue.record("\(name): \(error) for \(Hex.encode(m))")
                return nil
            }
        }
    }

    static func update(_ m: BGPMessage?) -> UpdateMessage? { if case .update(let u) = m { u } else { nil } }
    static func open(_ m: BGPMessage?) -> OpenMessage? { if case .open(let o) = m { o } else { nil } }
}

@Suite struct VectorTests {
    @Test(arguments: Vectors.files.map(\.name))
    func decodesAndReencodes(name: String) throws {
        let context = try #require(Vectors.files.first { $0.name == name }?.context)
        let lines = Vectors.load(name)
        #expect(!lines.isEmpty)
        var exact = Set<Int>()
        for (i, bytes) in lines.enumerated() {
            let decoded = try BGPMessage.decode(bytes, context: context)
            #expect(decoded.updateErrors.isEmpty, "\(name)[\(i)]")
            let again = try decoded.message.encode(context: context)
            if again == bytes { exact.insert(i) }
            // Semantic round trip always holds.
            #expect(try BGPMessage.decode(again, context: context).message == decoded.message, "\(name)[\(i)]")
        }
        #expect(exact == Vectors.canonical[name], "\(name)")
    }

    @Test(arguments: Vectors.files.map(\.name))
    func frameSplitterRecoversEveryMessage(name: String) throws {
        let lines = Vectors.load(name)
        let stream = lines.flatMap { $0 }
        var s = BGPFrameSplitter()
        var out: [[UInt8]] = []
        var i = 0, k = 0
        let chunks = [1, 7, 19, 3, 100, 41]
        while i < stream.count {
            let n = chunks[k % chunks.count]
            s.append(stream[i..<min(stream.count, i + n)])
            i += n
            k += 1
            out += try s.drain()
        }
        #expect(out == lines)
    }

    @Test func gobgpIPv4() throws {
        let m = Vectors.decode("gobgp-to-frr-ipv4", CodecContext())
        let o = try #require(Vectors.open(m.first))
        #expect(o.myAS == 65002 && o.asNumber == 65002)
        #expect(o.holdTime == 90)
        #expect(o.bgpIdentifier == v4("10.255.1.2"))
        #expect(o.capabilities == [
            .routeRefresh, .unknown(code: 73, value: hex("02766d00")), .multiprotocol(.ipv4Unicast), .fourOctetAS(65002),
            .gracefulRestart(GracefulRestartCapability(restartFlags: 0, restartTime: 120, families: [.init(afiSafi: .ipv4Unicast, flags: 0)])),
            .extendedNextHop([.ipv4UnicastOverIPv6]),
        ])
        let u = try #require(Vectors.update(m[2]))
        #expect(u.nlri == [pfx("10.255.200.0/24")])
        #expect(u.attributes == PathAttributes(
            origin: .igp, asPath: ASPath(sequence: [65002]), nextHop: v4("10.255.1.2"), multiExitDisc: 10,
            aggregator: Aggregator(asn: 65002, address: v4("10.255.1.2")), communities: [Community(asn: 65002, value: 1), .noExport],
            largeCommunities: [LargeCommunity(65002, 10, 20), LargeCommunity(65002, 11, 21)]))
        let u2 = try #require(Vectors.update(m[3]))
        #expect(u2.attributes.origin == .egp)
        #expect(u2.attributes.asPath == ASPath(sequence: [65002, 65010, 4_200_000_099]))
        #expect(Vectors.update(m[4])?.endOfRIB == .ipv4Unicast)
        #expect(Vectors.update(m[5])?.withdrawnRoutes == [pfx("10.255.201.0/24")])
    }

    @Test func gobgpIPv6() throws {
        let m = Vectors.decode("gobgp-to-frr-ipv6", CodecContext())
        #expect(Vectors.open(m.first)?.multiprotocol == [.ipv6Unicast])
        let u = try #require(Vectors.update(m[2]))
        #expect(u.attributes.mpReach == MPReachNLRI(afiSafi: .ipv6Unicast, nextHop: .ipv6(v6("fd00:255::2")), nlri: [pfx("fd00:255::c8:0/112")]))
        #expect(u.attributes.origin == .incomplete)
        #expect(u.attributes.communities == [Community(asn: 65002, value: 6)])
        #expect(u.attributes.largeCommunities == [LargeCommunity(65002, 60, 60)])
        #expect(Vectors.update(m[3])?.endOfRIB == .ipv6Unicast)
        #expect(Vectors.update(m[4])?.withdrawnPrefixes == [pfx("fd00:255::c8:0/112")])
        #expect(m[5] == .notification(NotificationMessage(.cease, subcode: CeaseSubcode.administrativeShutdown.rawValue)))
    }

    @Test func frrIPv4() throws {
        let m = Vectors.decode("frr-to-gobgp-ipv4", CodecContext())
        let o = try #require(Vectors.open(m.first))
        #expect(o.myAS == 23456)   // AS_TRANS: 4200000001 does not fit (RFC 6793 §4.1)
        #expect(o.asNumber == 4_200_000_001)
        #expect(o.holdTime == 180)
        let gr = try #require(o.gracefulRestart)
        #expect(gr.restartState && gr.notification && gr.restartTime == 120)
        #expect(o.capabilities.contains(.enhancedRouteRefresh))
        #expect(o.capabilities.contains(.unknown(code: 128, value: [])))          // pre-standard route refresh
        #expect(o.capabilities.contains(.unknown(code: 69, value: hex("000101 01"))))   // ADD-PATH
        let u = try #require(Vectors.update(m[2]))
        #expect(u.nlri == [pfx("10.255.100.0/24"), pfx("10.255.101.0/25")])
        #expect(u.attributes.asPath == ASPath(sequence: [4_200_000_001]))
        #expect(u.attributes.nextHop == v4("10.255.1.1"))
        #expect(u.attributes.multiExitDisc == 50)
        #expect(u.attributes.communities == [Community(asn: 4200, value: 7), Community(asn: 65000, value: 100)])
        #expect(u.attributes.largeCommunities == [LargeCommunity(4_200_000_001, 1, 2), LargeCommunity(4_200_000_001, 3, 4)])
        #expect(Vectors.update(m[3])?.nlri == [pfx("10.255.102.128/25"), pfx("10.255.103.7/32")])
        #expect(m[6] == .routeRefresh(RouteRefreshMessage(.ipv4Unicast)))
        #expect(Vectors.update(m[8])?.withdrawnRoutes == [pfx("10.255.103.7/32")])
        guard case .notification(let n) = m[9] else { Issue.record("no NOTIFICATION"); return }
        #expect(n.shutdownCommunication == "bye-from-frr")   // RFC 9003
        #expect(n.description == "Cease / Administrative Shutdown \"bye-from-frr\"")
    }

    @Test func frrIPv6() throws {
        let m = Vectors.decode("frr-to-gobgp-ipv6", CodecContext())
        let u = try #require(Vectors.update(m[3]))
        #expect(u.attributes.mpReach?.nextHop == .ipv6(v6("fd00:255::1")))
        #expect(u.attributes.mpReach?.nlri == [pfx("fd00:255::100:0/120")])
        #expect(Vectors.update(m[6])?.attributes.mpUnreach == MPUnreachNLRI(afiSafi: .ipv6Unicast, withdrawn: [pfx("fd00:255::c8:0/112")]))
    }

    @Test func twoOctetASSession() throws {
        // FRR (AS 4200000003) towards a peer without the 4-octet AS capability.
        let ctx = CodecContext(fourOctetAS: false)
        let m = Vectors.decode("frr-to-bird-as2", ctx)
        let o = try #require(Vectors.open(m.first))
        #expect(o.myAS == 23456 && o.capabilities.isEmpty && o.fourOctetASCapability == nil)
        let u = try #require(Vectors.update(m[2]))
        #expect(u.attributes.asPath == ASPath(sequence: [23456]))
        #expect(u.attributes.as4Path == ASPath(sequence: [4_200_000_003]))
        #expect(u.attributes.effectiveASPath == ASPath(sequence: [4_200_000_003]))
        let u5 = try #require(Vectors.update(m[5]))
        #expect(u5.attributes.effectiveASPath == ASPath(sequence: [4_200_000_003, 65005]))
        #expect(m[7] == .notification(NotificationMessage(.cease, subcode: 2)))
        // Decoding the same bytes as if 4-octet ASNs were negotiated is an AS_PATH error, as it should be.
        let wrong = try UpdateMessage.decode(message: Vectors.load("frr-to-bird-as2")[2], context: CodecContext(fourOctetAS: true))
        #expect(wrong.treatAsWithdraw)

        let b = Vectors.decode("bird-to-frr-as2", ctx)
        let bo = try #require(Vectors.open(b.first))
        #expect(bo.myAS == 65005 && bo.holdTime == 240 && bo.fourOctetASCapability == nil)
        #expect(bo.gracefulRestart == GracefulRestartCapability(restartFlags: 0, restartTime: 120, families: []))
        let bu = try #require(Vectors.update(b[2]))
        #expect(bu.attributes == PathAttributes(origin: .igp, asPath: ASPath(sequence: [65005]), nextHop: v4("10.255.2.1"), multiExitDisc: 30,
                                                communities: [Community(asn: 65005, value: 9)], largeCommunities: [LargeCommunity(65005, 3, 4)]))
        #expect(bu.nlri == [pfx("10.255.152.0/23"), pfx("10.255.150.0/24"), pfx("10.255.151.0/24")])
        #expect(Vectors.update(b[4])?.withdrawnRoutes == bu.nlri)
    }

    @Test func birdIBGPExtendedNextHop() throws {
        let ctx = CodecContext(fourOctetAS: true, isInternalPeer: true)
        let m = Vectors.decode("bird-to-frr-ibgp-extnh", ctx)
        let o = try #require(Vectors.open(m.first))
        #expect(o.asNumber == 4_200_000_003)
        #expect(o.extendedNextHop == [.ipv4UnicastOverIPv6])
        #expect(o.multiprotocol == [.ipv4Unicast, .ipv6Unicast])
        #expect(Vectors.update(m[2])?.attributes.mpUnreach?.withdrawn == [pfx("10.255.130.0/24"), pfx("10.255.131.0/24"), pfx("10.255.132.0/22")])
        let u = try #require(Vectors.update(m[3]))
        // RFC 8950: IPv4 NLRI with a 32-octet IPv6 next hop (global + link-local).
        let reach = try #require(u.attributes.mpReach)
        #expect(reach.afiSafi == .ipv4Unicast)
        guard case .ipv6(let global, let ll) = reach.nextHop else { Issue.record("not IPv6 next hop"); return }
        #expect(global == v6("fd00:255::3"))
        #expect(ll?.isLinkLocal == true)
        #expect(reach.nlri == [pfx("10.255.152.0/23"), pfx("10.255.150.0/24"), pfx("10.255.151.0/24")])
        #expect(u.attributes.asPath == .empty)
        #expect(u.attributes.localPref == 300)
        #expect(u.attributes.multiExitDisc == 20)
        #expect(u.attributes.communities == [Community(asn: 65003, value: 7), .noExport])
        #expect(u.attributes.largeCommunities == [LargeCommunity(4_200_000_003, 1, 2)])
        // The same LOCAL_PREF from an external peer would be discarded (RFC 7606 §7.5).
        let asExternal = try UpdateMessage.decode(message: Vectors.load("bird-to-frr-ibgp-extnh")[3], context: CodecContext())
        #expect(asExternal.errors.map(\.action) == [.attributeDiscard])
        #expect(asExternal.message.attributes.localPref == nil)
    }

    @Test func frrIBGPExtendedNextHop() throws {
        let m = Vectors.decode("frr-to-bird-ibgp-extnh", CodecContext(fourOctetAS: true, isInternalPeer: true))
        let u = try #require(Vectors.update(m[2]))
        #expect(u.attributes.mpReach == MPReachNLRI(afiSafi: .ipv4Unicast, nextHop: .ipv6(v6("fd00:255::4")),
                                                    nlri: [pfx("10.255.130.0/24"), pfx("10.255.131.0/24")]))
        #expect(u.attributes.localPref == 250)
        #expect(u.attributes.communities == [Community(asn: 4200, value: 7), Community(asn: 65000, value: 100), .noExport])
        // FRR 8.4 rejected BIRD's 32-octet next hop for IPv4 NLRI with UPDATE Message Error / Invalid Network Field.
        guard case .notification(let n) = m[8] else { Issue.record("no NOTIFICATION"); return }
        #expect(n.description == "UPDATE Message Error / Invalid Network Field")
    }

    @Test func birdEBGPIPv6() throws {
        let m = Vectors.decode("bird-to-frr-ebgp6", CodecContext())
        let u = try #require(Vectors.update(m[2]))
        #expect(u.attributes.mpReach?.nlri == [pfx("fd00:255::97:0/112"), pfx("fd00:255::96:0/112")])
        if case .ipv6(let g, let ll)? = u.attributes.mpReach?.nextHop {
            #expect(g == v6("fd00:255::5"))
            #expect(ll?.isLinkLocal == true)
        } else {
            Issue.record("expected an IPv6 next hop with link-local")
        }
        #expect(u.attributes.asPath == ASPath(sequence: [65007]))
        #expect(m[4] == .routeRefresh(RouteRefreshMessage(.ipv6Unicast)))
        guard case .notification(let n) = m[6] else { Issue.record("no NOTIFICATION"); return }
        #expect(n.shutdownCommunication == "going down for test")

        let f = Vectors.decode("frr-to-bird-ebgp6", CodecContext())
        // Enhanced Route Refresh (RFC 7313): BoRR and EoRR around the re-advertisement.
        #expect(f[5] == .routeRefresh(RouteRefreshMessage(.ipv6Unicast, subtype: RouteRefreshMessage.beginningOfRouteRefresh)))
        #expect(f[6] == .routeRefresh(RouteRefreshMessage(.ipv6Unicast, subtype: RouteRefreshMessage.endOfRouteRefresh)))
    }

    @Test func birdRejectsPeerAS() throws {
        let m = Vectors.decode("bird-to-frr-badpeeras", CodecContext())
        guard case .notification(let n) = m.last else { Issue.record("no NOTIFICATION"); return }
        #expect(n.knownCode == .openMessageError)
        #expect(n.subcode == OpenSubcode.badPeerAS.rawValue)
    }
}
