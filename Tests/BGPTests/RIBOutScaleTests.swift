import Testing
import NetAddress
@testable import BGP

/// The interned Adj-RIB-Out, the grouped packer entry point and the allocation-free NLRI encoder (the changes made
/// for tables of 100,000 prefixes): same UPDATEs as before, counted right, and no state lost across many changes.
@Suite struct RIBOutScaleTests {
    static let export = RouteExport(localAS: 64601, isInternal: false, families: [.ipv4Unicast, .ipv6Unicast],
                                    localAddress: .v4(v4("10.201.0.11")), defaultNextHopIPv6: v6("fd00:201::11"))

    static func hosts(_ n: Int, base: UInt32 = 0x0A64_0000) -> [IPPrefix] {
        (0..<n).map { IPPrefix(masking: .v4(IPv4Address(base + UInt32($0))), length: 32) }
    }

    func decode(_ msgs: [UpdateMessage]) throws -> [UpdateMessage] {
        try msgs.map { m in
            let bytes = try m.encode()
            #expect(bytes.count <= 4096)
            let d = try UpdateMessage.decode(message: bytes)
            #expect(d.errors.isEmpty)
            return d.message
        }
    }

    func routes(_ rs: [AdvertisedRoute]) -> [UpdatePacker.Route] { rs.compactMap { try? Self.export.route($0).get() } }

    /// A mixed table: two attribute sets over IPv4, one over IPv6, prefixes in no particular order.
    func mixed() -> [AdvertisedRoute] {
        let a = Self.hosts(3000).map { AdvertisedRoute(prefix: $0) }
        let b = Self.hosts(500, base: 0x0A65_0000).map { AdvertisedRoute(prefix: $0, communities: [Community(asn: 64601, value: 9)]) }
        let c = (0..<300).map { AdvertisedRoute(prefix: IPPrefix(masking: .v6(IPv6Address(high: 0xfd00_0210_0000_0000, low: UInt64($0))), length: 128)) }
        var all = a + b + c
        all.reverse()
        all.swapAt(0, 1700)
        return all
    }

    @Test func groupedAndPerRouteTablesGiveTheSameUpdates() throws {
        let rs = mixed()
        var perRoute = AdjRIBOut()
        perRoute.setDesired(routes(rs))
        var grouped = AdjRIBOut()
        var sets: [(nextHop: NextHop, attributes: PathAttributes)] = []
        var pairs: [(prefix: IPPrefix, set: Int)] = []
        for r in routes(rs) {
            if let i = sets.firstIndex(where: { $0.nextHop == r.nextHop && $0.attributes == r.attributes }) {
                pairs.append((r.prefix, i))
            } else {
                pairs.append((r.prefix, sets.count))
                sets.append((r.nextHop, r.attributes))
            }
        }
        grouped.setDesired(attributeSets: sets, routes: pairs)
        #expect(grouped.desired == perRoute.desired)
        let a = try perRoute.takeUpdates(packer: UpdatePacker())
        let b = try grouped.takeUpdatesCounting(packer: UpdatePacker())
        #expect(a == b.messages)
        #expect(b.announced == 3800)
        #expect(b.withdrawn == 0)
        let back = try decode(b.messages)
        #expect(Set(back.flatMap(\.announcedPrefixes)) == Set(rs.map(\.prefix)))
        #expect(back.flatMap(\.announcedPrefixes).count == 3800)   // each prefix once
        // Every message carries one family only, and all but the last of each group are (nearly) full.
        #expect(back.allSatisfy { m in Set(m.announcedPrefixes.map(\.family)).count == 1 })
        #expect(grouped.advertisedCount == 3800)
        #expect(!grouped.hasChanges)
    }

    @Test func sameOrderAsThePackerGivesForSortedRoutes() throws {
        // The Adj-RIB-Out's grouping must equal UpdatePacker.announce over the routes sorted by prefix (the order it
        // had before interning): groups by their smallest prefix, each family separately.
        let rs = routes(mixed())
        var rib = AdjRIBOut()
        rib.setDesired(rs)
        let expected = try UpdatePacker().announce(rs.sorted { $0.prefix < $1.prefix })
        #expect(try rib.takeUpdates(packer: UpdatePacker()) == expected)
    }

    @Test func countsOfAChange() throws {
        var rib = AdjRIBOut()
        rib.setDesired(routes(Self.hosts(100).map { AdvertisedRoute(prefix: $0) }))
        _ = try rib.takeUpdatesCounting(packer: UpdatePacker())
        // Withdraw 10, re-attribute 5, add 7.
        var next = Self.hosts(90, base: 0x0A64_000A).map { AdvertisedRoute(prefix: $0) }
        for i in 0..<5 { next[i].multiExitDisc = 5 }
        next += Self.hosts(7, base: 0x0A70_0000).map { AdvertisedRoute(prefix: $0) }
        rib.setDesired(routes(next))
        let (w, a) = rib.diff()
        #expect(w == Self.hosts(10))
        #expect(a.count == 12)
        let r = try rib.takeUpdatesCounting(packer: UpdatePacker())
        #expect(r.withdrawn == 10)
        #expect(r.announced == 12)
        let back = try decode(r.messages)
        #expect(back.flatMap(\.withdrawnPrefixes) == Self.hosts(10))
        #expect(Set(back.flatMap(\.announcedPrefixes)) == Set(a.map(\.prefix)))
        #expect(back.filter { $0.attributes.multiExitDisc == 5 }.flatMap(\.announcedPrefixes) == Self.hosts(5, base: 0x0A64_000A))
        #expect(rib.advertisedCount == 97)
    }

    @Test func manyAttributeChangesKeepTheTableRight() throws {
        // Every round gives the same prefixes a new community: the intern table is compacted on the way and the
        // peer's view must still follow exactly.
        var rib = AdjRIBOut()
        let prefixes = Self.hosts(20)
        for round in 0..<300 {
            let rs = prefixes.enumerated().map { i, p in
                AdvertisedRoute(prefix: p, communities: [Community(asn: 64601, value: UInt16(round * 7 + i % 3))])
            }
            rib.setDesired(routes(rs))
            let msgs = try decode(try rib.takeUpdates(packer: UpdatePacker()))
            #expect(Set(msgs.flatMap(\.announcedPrefixes)) == Set(prefixes), "round \(round)")
            let adv = rib.advertised
            for (i, p) in prefixes.enumerated() {
                #expect(adv[p]?.attributes.communities == [Community(asn: 64601, value: UInt16(round * 7 + i % 3))])
            }
            #expect(!rib.hasChanges)
        }
        // Nothing changes: nothing to send.
        #expect(try rib.takeUpdates(packer: UpdatePacker()).isEmpty)
    }

    @Test func lastEntryOfADuplicatedPrefixWins() throws {
        var rib = AdjRIBOut()
        let p = pfx("10.9.0.0/24")
        rib.setDesired(routes([AdvertisedRoute(prefix: p, multiExitDisc: 1), AdvertisedRoute(prefix: p, multiExitDisc: 2)]))
        let back = try decode(try rib.takeUpdates(packer: UpdatePacker()))
        #expect(back.count == 1)
        #expect(back[0].nlri == [p])
        #expect(back[0].attributes.multiExitDisc == 2)
    }

    @Test func lastEntryWinsAcrossAttributeSets() throws {
        // The prefix alternates between two attribute sets; the last listing decides, whichever set was seen first.
        let p = pfx("10.9.0.0/24"), q = pfx("10.9.1.0/24")
        let a = PathAttributes(origin: .igp, asPath: ASPath(sequence: [64601]), multiExitDisc: 1)
        let b = PathAttributes(origin: .igp, asPath: ASPath(sequence: [64601]), multiExitDisc: 2)
        let nh = NextHop.ipv4(v4("10.201.0.11"))
        var rib = AdjRIBOut()
        rib.setDesired(attributeSets: [(nh, a), (nh, b)], routes: [(p, 0), (q, 0), (p, 1), (p, 0), (q, 1), (q, 7)])
        #expect(rib.desired[p]?.attributes.multiExitDisc == 1)
        #expect(rib.desired[q]?.attributes.multiExitDisc == 2)   // the out-of-range index is dropped
        var perRoute = AdjRIBOut()
        perRoute.setDesired([.init(prefix: p, nextHop: nh, attributes: b), .init(prefix: p, nextHop: nh, attributes: a),
                             .init(prefix: q, nextHop: nh, attributes: b)])
        #expect(rib.desired == perRoute.desired)
    }

    @Test func groupedAnnounceSplitsFamiliesAndFillsMessages() throws {
        let v4s = Self.hosts(2000)
        let v6s = (0..<100).map { IPPrefix(masking: .v6(IPv6Address(high: 0x2001_0db8_0000_0000, low: UInt64($0))), length: 128) }
        let attrs = PathAttributes(origin: .igp, asPath: ASPath(sequence: [64601]))
        // An IPv4 next hop: IPv4 in the classic NLRI field, IPv6 in MP_REACH_NLRI (next hop IPv4-mapped, RFC 4798).
        let msgs = try UpdatePacker().announce(prefixes: v6s + v4s, nextHop: .ipv4(v4("192.0.2.1")), attributes: attrs)
        let back = try decode(msgs)
        #expect(back.flatMap(\.announcedPrefixes) == v4s + v6s)
        let classic = back.filter { !$0.nlri.isEmpty }
        let mp = back.filter { $0.attributes.mpReach != nil }
        #expect(classic.count + mp.count == back.count)
        #expect(classic.flatMap(\.nlri) == v4s)
        #expect(mp.flatMap(\.announcedPrefixes) == v6s)
        // 2000 × 5 octets need 3 messages of at most 4096 octets, the first two full.
        #expect(classic.count == 3)
        #expect(try msgs[0].encode().count > 4096 - 5)
    }

    @Test func nlriEncodingOfEveryLengthRoundTrips() throws {
        var prefixes: [IPPrefix] = []
        for len in 0...32 { prefixes.append(IPPrefix(masking: .v4(v4("203.0.113.255")), length: len)) }
        var v6s: [IPPrefix] = []
        for len in 0...128 {
            v6s.append(IPPrefix(masking: .v6(IPv6Address(high: 0x2001_0db8_89ab_cdef, low: 0xfedc_ba98_7654_3211)), length: len))
        }
        var w = ByteWriter()
        for p in prefixes { NLRICodec.encode(p, into: &w) }
        #expect(try NLRICodec.decode(w.bytes[...], family: .ipv4).get() == prefixes)
        // Octets: the length, then exactly ceil(len / 8) address octets, big-endian.
        var one = ByteWriter()
        NLRICodec.encode(pfx("203.0.112.0/20"), into: &one)
        #expect(one.bytes == [20, 203, 0, 112])
        var w6 = ByteWriter()
        for p in v6s { NLRICodec.encode(p, into: &w6) }
        #expect(try NLRICodec.decode(w6.bytes[...], family: .ipv6).get() == v6s)
        var one6 = ByteWriter()
        NLRICodec.encode(pfx("2001:db8:89ab:cdef:fe00::/71"), into: &one6)
        #expect(one6.bytes == [71, 0x20, 0x01, 0x0d, 0xb8, 0x89, 0xab, 0xcd, 0xef, 0xfe])
    }
}
