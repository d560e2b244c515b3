import Testing
import NetAddress
@testable import BGP

@Suite struct PackerTests {
    static let attrs = PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001]), multiExitDisc: 10,
                                      communities: [Community(asn: 65001, value: 7)], largeCommunities: [LargeCommunity(65001, 1, 1)])

    static func hosts(_ n: Int, base: UInt32 = 0x0A00_0000) -> [IPPrefix] {
        (0..<n).map { IPPrefix(masking: .v4(IPv4Address(base + UInt32($0))), length: 32) }
    }

    static func v6hosts(_ n: Int) -> [IPPrefix] {
        (0..<n).map { IPPrefix(masking: .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64($0))), length: 128) }
    }

    /// Encodes, checks the size limit, decodes cleanly.
    func roundTrip(_ msgs: [UpdateMessage], context: CodecContext = CodecContext()) throws -> [UpdateMessage] {
        try msgs.map { m in
            let bytes = try m.encode(context: context)
            #expect(bytes.count <= 4096)
            let d = try UpdateMessage.decode(message: bytes, context: context)
            #expect(d.errors.isEmpty)
            return d.message
        }
    }

    @Test func classicIPv4FillsMessages() throws {
        let prefixes = Self.hosts(1000)
        let p = UpdatePacker()
        let msgs = try p.announce(prefixes.map { .init(prefix: $0, nextHop: .ipv4(v4("192.0.2.1")), attributes: Self.attrs) })
        // 5 octets per /32; attributes ~60 octets: 1000 × 5 = 5000 → 2 messages.
        #expect(msgs.count == 2)
        let back = try roundTrip(msgs)
        #expect(back.flatMap(\.nlri) == prefixes)
        #expect(back.allSatisfy { $0.attributes.nextHop == v4("192.0.2.1") && $0.attributes.mpReach == nil })
        let first = try msgs[0].encode()
        #expect(first.count > 4096 - 5)   // full
    }

    @Test func groupsByAttributesAndNextHop() throws {
        var other = Self.attrs
        other.multiExitDisc = 20
        let routes: [UpdatePacker.Route] = [
            .init(prefix: pfx("10.0.0.0/24"), nextHop: .ipv4(v4("192.0.2.1")), attributes: Self.attrs),
            .init(prefix: pfx("10.0.1.0/24"), nextHop: .ipv4(v4("192.0.2.1")), attributes: other),
            .init(prefix: pfx("10.0.2.0/24"), nextHop: .ipv4(v4("192.0.2.2")), attributes: Self.attrs),
            .init(prefix: pfx("10.0.3.0/24"), nextHop: .ipv4(v4("192.0.2.1")), attributes: Self.attrs),
            .init(prefix: pfx("2001:db8::/48"), nextHop: .ipv6(v6("2001:db8::1"), linkLocal: v6("fe80::1")), attributes: Self.attrs),
            .init(prefix: pfx("2001:db8:1::/48"), nextHop: .ipv6(v6("2001:db8::1"), linkLocal: v6("fe80::1")), attributes: Self.attrs),
            .init(prefix: pfx("10.0.4.0/24"), nextHop: .ipv6(v6("2001:db8::1")), attributes: Self.attrs),   // RFC 8950
            .init(prefix: pfx("10.0.1.0/24"), nextHop: .ipv4(v4("192.0.2.1")), attributes: Self.attrs),     // re-listed: last wins
        ]
        let msgs = try UpdatePacker().announce(routes)
        let back = try roundTrip(msgs)
        #expect(back.count == 4)
        #expect(back[0].nlri == [pfx("10.0.0.0/24"), pfx("10.0.3.0/24"), pfx("10.0.1.0/24")])
        #expect(back[1].nlri == [pfx("10.0.2.0/24")])
        #expect(back[1].attributes.nextHop == v4("192.0.2.2"))
        #expect(back[2].attributes.mpReach == MPReachNLRI(afiSafi: .ipv6Unicast, nextHop: .ipv6(v6("2001:db8::1"), linkLocal: v6("fe80::1")),
                                                            nlri: [pfx("2001:db8::/48"), pfx("2001:db8:1::/48")]))
        #expect(back[2].attributes.nextHop == nil)
        #expect(back[3].attributes.mpReach?.afiSafi == .ipv4Unicast)
        #expect(back[3].attributes.mpReach?.nlri == [pfx("10.0.4.0/24")])
        #expect(back.allSatisfy { $0.attributes.multiExitDisc == 10 })
    }

    @Test func ipv6FillsMessagesAcrossExtendedLength() throws {
        let prefixes = Self.v6hosts(600)   // 17 octets each
        let msgs = try UpdatePacker().announce(prefixes.map { .init(prefix: $0, nextHop: .ipv6(v6("2001:db8::1")), attributes: Self.attrs) })
        let sizes = try msgs.map { try $0.encode().count }
        #expect(msgs.count == 3)
        #expect(sizes.dropLast().allSatisfy { $0 > 4096 - 17 && $0 <= 4096 })
        #expect(try roundTrip(msgs).compactMap(\.attributes.mpReach).flatMap(\.nlri) == prefixes)
        // Just across the 255-octet boundary of the MP_REACH_NLRI value.
        for n in 13...16 {
            let m = try UpdatePacker().announce(Self.v6hosts(n).map { .init(prefix: $0, nextHop: .ipv6(v6("2001:db8::1")), attributes: Self.attrs) })
            #expect(m.count == 1)
            #expect(try roundTrip(m).first?.attributes.mpReach?.nlri.count == n)
        }
    }

    @Test func ipv4InMultiprotocolWhenAsked() throws {
        let p = UpdatePacker(ipv4InMultiprotocol: true)
        let msgs = try p.announce([.init(prefix: pfx("10.0.0.0/8"), nextHop: .ipv4(v4("192.0.2.1")), attributes: Self.attrs)])
        let back = try roundTrip(msgs)
        #expect(back.first?.nlri == [])
        #expect(back.first?.attributes.mpReach == MPReachNLRI(afiSafi: .ipv4Unicast, nextHop: .ipv4(v4("192.0.2.1")), nlri: [pfx("10.0.0.0/8")]))
        let w = try roundTrip(p.withdraw([pfx("10.0.0.0/8")]))
        #expect(w.first?.attributes.mpUnreach == MPUnreachNLRI(afiSafi: .ipv4Unicast, withdrawn: [pfx("10.0.0.0/8")]))
    }

    @Test func twoOctetSessionAccountsForAS4Path() throws {
        var a = Self.attrs
        a.asPath = ASPath(sequence: [4_200_000_001])
        let ctx = CodecContext(fourOctetAS: false)
        let msgs = try UpdatePacker(context: ctx).announce(Self.hosts(2000).map { .init(prefix: $0, nextHop: .ipv4(v4("192.0.2.1")), attributes: a) })
        let back = try roundTrip(msgs, context: ctx)
        #expect(back.flatMap(\.nlri).count == 2000)
        #expect(back.allSatisfy { $0.attributes.effectiveASPath == ASPath(sequence: [4_200_000_001]) })
    }

    @Test func withdrawalsAreBatched() throws {
        let v4s = Self.hosts(1500), v6s = Self.v6hosts(300)
        let msgs = UpdatePacker().withdraw(v4s + v6s + v4s.prefix(10))
        let back = try roundTrip(msgs)
        #expect(back.flatMap(\.withdrawnRoutes) == v4s)
        #expect(back.compactMap(\.attributes.mpUnreach).flatMap(\.withdrawn) == v6s)
        // 4073 octets of withdrawn routes per message → 815 /32s.
        #expect(back.filter { !$0.withdrawnRoutes.isEmpty }.count == 2)
        #expect(back.filter { $0.attributes.mpUnreach != nil }.count == 2)
        #expect(back.allSatisfy { $0.nlri.isEmpty && $0.attributes.mpReach == nil })   // RFC 7606 §5.1
    }

    @Test func packDropsWithdrawalsOfReannouncedPrefixes() throws {
        let msgs = try UpdatePacker().pack(
            announce: [.init(prefix: pfx("10.0.0.0/24"), nextHop: .ipv4(v4("192.0.2.1")), attributes: Self.attrs)],
            withdraw: [pfx("10.0.0.0/24"), pfx("10.0.1.0/24")])
        #expect(msgs.count == 2)
        #expect(msgs[0].withdrawnRoutes == [pfx("10.0.1.0/24")])
        #expect(msgs[1].nlri == [pfx("10.0.0.0/24")])
    }

    @Test func endOfRIBMarkers() throws {
        let p = UpdatePacker()
        #expect(try p.endOfRIB(.ipv4Unicast).encode() == marker + hex("0017 02 0000 0000"))
        #expect(try p.endOfRIB(.ipv6Unicast).encode() == marker + hex("001d 02 0000 0006 800f03 000201"))
        #expect(try p.announce([]).isEmpty)
        #expect(p.withdraw([]).isEmpty)
    }

    @Test func oversizedAttributesAreAnEncodingError() {
        var a = Self.attrs
        a.unknown = [UnknownAttribute(flags: [.optional, .transitive], typeCode: 200, value: [UInt8](repeating: 0, count: 4070))]
        #expect(throws: EncodingError.self) {
            try UpdatePacker().announce([.init(prefix: pfx("10.0.0.0/8"), nextHop: .ipv4(v4("192.0.2.1")), attributes: a)])
        }
    }
}
