import Testing
import NetAddress
@testable import BGP

@Suite struct UpdateEncodingTests {
    static let ibgp = CodecContext(fourOctetAS: true, isInternalPeer: true)

    @Test func classicUpdateMatchesHandComputedHex() throws {
        let u = UpdateMessage(
            attributes: PathAttributes(
                origin: .igp, asPath: ASPath(sequence: [65001, 65002]), nextHop: v4("198.51.100.1"), multiExitDisc: 100,
                localPref: 200, communities: [Community(asn: 65001, value: 1), .noExport], largeCommunities: [LargeCommunity(65001, 2, 3)]),
            nlri: [pfx("192.0.2.0/24")])
        let expected = marker + hex("005b 02 0000 0040")
            + hex("40 01 01 00")
            + hex("40 02 0a 02 02 0000fde9 0000fdea")
            + hex("40 03 04 c6336401")
            + hex("80 04 04 00000064")
            + hex("40 05 04 000000c8")
            + hex("c0 08 08 fde90001 ffffff01")
            + hex("c0 20 0c 0000fde9 00000002 00000003")
            + hex("18 c00002")
        #expect(try u.encode(context: Self.ibgp) == expected)
        let back = try UpdateMessage.decode(message: expected, context: Self.ibgp)
        #expect(back == .clean(u))
        #expect(back.effectiveAnnounced == [pfx("192.0.2.0/24")])
    }

    @Test func twoOctetSessionUsesASTransAndAS4Path() throws {
        // RFC 6793 §4.2.2: 4-octet ASNs become AS_TRANS in AS_PATH and the real path goes in AS4_PATH.
        let ctx = CodecContext(fourOctetAS: false)
        let u = UpdateMessage(attributes: PathAttributes(
            origin: .igp, asPath: ASPath(sequence: [4_200_000_001, 65002]), nextHop: v4("10.0.0.1"),
            aggregator: Aggregator(asn: 4_200_000_001, address: v4("10.0.0.1"))), nlri: [pfx("10.1.0.0/16")])
        let bytes = try u.encode(context: ctx)
        let attrs = hex("40 01 01 00") + hex("40 02 06 02 02 5ba0 fdea") + hex("40 03 04 0a000001")
            + hex("c0 07 06 5ba0 0a000001") + hex("c0 11 0a 02 02 fa56ea01 0000fdea") + hex("c0 12 08 fa56ea01 0a000001")
        #expect(bytes == update(attrs: attrs, nlri: hex("10 0a01")))
        let d = try UpdateMessage.decode(message: bytes, context: ctx)
        #expect(d.errors.isEmpty)
        #expect(d.message.attributes.asPath == ASPath(sequence: [23456, 65002]))
        #expect(d.message.attributes.effectiveASPath == ASPath(sequence: [4_200_000_001, 65002]))
        #expect(d.message.attributes.effectiveAggregator == Aggregator(asn: 4_200_000_001, address: v4("10.0.0.1")))
        // Re-encoding what was decoded gives the same bytes.
        #expect(try d.message.encode(context: ctx) == bytes)
        // On a 4-octet session AS4_* are never sent.
        let four = try u.encode(context: CodecContext(fourOctetAS: true))
        let fourBack = try UpdateMessage.decode(message: four)
        #expect(fourBack.message.attributes.as4Path == nil)
        #expect(fourBack.message.attributes.as4Aggregator == nil)
        #expect(fourBack.errors.isEmpty)
        #expect(fourBack.message.attributes.asPath == ASPath(sequence: [4_200_000_001, 65002]))
    }

    @Test func mpReachIPv6MatchesHandComputedHex() throws {
        let u = UpdateMessage(attributes: PathAttributes(
            origin: .igp, asPath: ASPath(sequence: [65001]),
            mpReach: MPReachNLRI(afiSafi: .ipv6Unicast, nextHop: .ipv6(v6("2001:db8::1")), nlri: [pfx("2001:db8:1::/48")])))
        let expected = update(attrs: hex("80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001")
                              + hex("40 01 01 00 40 02 06 02 01 0000fde9"))
        #expect(try u.encode() == expected)   // RFC 7606 §5.1: MP_REACH_NLRI first
        #expect(try UpdateMessage.decode(message: expected) == .clean(u))
    }

    @Test func mpReachWithLinkLocalNextHop() throws {
        // RFC 2545 §3: 32-octet next hop = global + link-local.
        let nh = NextHop.ipv6(v6("2001:db8::1"), linkLocal: v6("fe80::1"))
        let u = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: .empty,
            mpReach: MPReachNLRI(afiSafi: .ipv6Unicast, nextHop: nh, nlri: [pfx("2001:db8:2::/48"), pfx("::/0")])))
        let bytes = try u.encode()
        #expect(Array(bytes[28...29]) == [0x01, 0x20])   // SAFI, next hop length 32
        #expect(try UpdateMessage.decode(message: bytes) == .clean(u))
    }

    @Test func ipv4WithIPv6NextHop() throws {
        // RFC 8950 §3: AFI 1 with a 16-octet next hop.
        let u = UpdateMessage(attributes: PathAttributes(origin: .incomplete, asPath: ASPath(sequence: [65001]),
            mpReach: MPReachNLRI(afiSafi: .ipv4Unicast, nextHop: .ipv6(v6("2001:db8::1")), nlri: [pfx("192.0.2.0/24")])))
        let bytes = try u.encode()
        #expect(Array(bytes[23...50]) == hex("80 0e 19 0001 01 10 20010db8000000000000000000000001 00 18 c00002"))
        #expect(try UpdateMessage.decode(message: bytes) == .clean(u))
    }

    @Test func ipv6PrefixWithIPv4NextHopIsMapped() throws {
        // RFC 4798 §2: IPv4-mapped IPv6 next hop.
        let u = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: .empty,
            mpReach: MPReachNLRI(afiSafi: .ipv6Unicast, nextHop: .ipv4(v4("192.0.2.1")), nlri: [pfx("2001:db8::/32")])))
        let d = try UpdateMessage.decode(message: try u.encode())
        #expect(d.message.attributes.mpReach?.nextHop == .ipv6(v6("::ffff:192.0.2.1")))
    }

    @Test func mpUnreachAndEndOfRIB() throws {
        let w = UpdateMessage(attributes: PathAttributes(mpUnreach: MPUnreachNLRI(afiSafi: .ipv6Unicast, withdrawn: [pfx("2001:db8:1::/48")])))
        #expect(try w.encode() == update(attrs: hex("80 0f 0a 0002 01 30 20010db80001")))
        #expect(try UpdateMessage.decode(message: try w.encode()).message.withdrawnPrefixes == [pfx("2001:db8:1::/48")])
        // RFC 4724 §2 End-of-RIB.
        #expect(try UpdateMessage.endOfRIB(.ipv4Unicast).encode() == marker + hex("0017 02 0000 0000"))
        #expect(try UpdateMessage.endOfRIB(.ipv6Unicast).encode() == marker + hex("001d 02 0000 0006 800f03 000201"))
        #expect(UpdateMessage.endOfRIB(.ipv6Unicast).endOfRIB == .ipv6Unicast)
        #expect(UpdateMessage().endOfRIB == .ipv4Unicast)
        #expect(w.endOfRIB == nil)
        #expect(UpdateMessage(withdrawnRoutes: [pfx("10.0.0.0/8")]).endOfRIB == nil)
    }

    @Test func classicWithdrawAndDefaultRoute() throws {
        let u = UpdateMessage(withdrawnRoutes: [pfx("10.0.0.0/8"), pfx("0.0.0.0/0"), pfx("192.0.2.1/32")])
        let bytes = try u.encode()
        #expect(bytes == update(withdrawn: hex("08 0a 00 20 c0000201")))
        #expect(try UpdateMessage.decode(message: bytes) == .clean(u))
    }

    @Test func extendedLengthOnlyAbove255() throws {
        let many = (0..<64).map { Community(asn: 65000, value: UInt16($0)) }   // 256 octets
        let u = UpdateMessage(attributes: PathAttributes(communities: many))
        let bytes = try u.encode()
        #expect(Array(bytes[23...26]) == [0xD0, 0x08, 0x01, 0x00])   // optional transitive + extended length, 256
        let fits = UpdateMessage(attributes: PathAttributes(communities: Array(many.prefix(63))))
        #expect(Array(try fits.encode()[23...25]) == [0xC0, 0x08, 252])
        #expect(try UpdateMessage.decode(message: bytes).message == u)
    }

    @Test func longASPathSegmentsAreSplit() throws {
        let path = ASPath(sequence: (1...300).map { UInt32($0) })
        let u = UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: path))
        let d = try UpdateMessage.decode(message: try u.encode())
        #expect(d.message.attributes.asPath?.segments.map(\.asns.count) == [255, 45])
        #expect(d.message.attributes.asPath?.allASNs == path.allASNs)
        #expect(d.message.attributes.asPath?.pathLength == 300)
    }

    @Test func allAttributesRoundTrip() throws {
        let ctx = Self.ibgp
        let attrs = PathAttributes(
            origin: .egp, asPath: ASPath([ASPathSegment(.confedSequence, [64512]), ASPathSegment(.asSequence, [65001, 65002]),
                                          ASPathSegment(.asSet, [65003, 65004]), ASPathSegment(.confedSet, [64513])]),
            nextHop: v4("192.0.2.1"), multiExitDisc: 0, localPref: 4_294_967_295, atomicAggregate: true,
            aggregator: Aggregator(asn: 65001, address: v4("192.0.2.2")),
            communities: [.noAdvertise, .noExportSubconfed, .noPeer, .blackhole, .gracefulShutdown],
            largeCommunities: [LargeCommunity(1, 2, 3), LargeCommunity(.max, .max, .max)],
            unknown: [UnknownAttribute(flags: [.optional, .transitive, .partial], typeCode: 99, value: [1, 2, 3])])
        let u = UpdateMessage(withdrawnRoutes: [pfx("10.9.0.0/16")], attributes: attrs, nlri: [pfx("192.0.2.0/25"), pfx("192.0.2.128/25")])
        let d = try UpdateMessage.decode(message: try u.encode(context: ctx), context: ctx)
        #expect(d == .clean(u))
        #expect(attrs.asPath?.description == "(64512) 65001 65002 {65003,65004} [64513]")
        #expect(attrs.asPath?.pathLength == 3)
    }

    @Test func encodeRejectsInvalidValues() {
        #expect(throws: EncodingError.self) { try UpdateMessage(nlri: [pfx("2001:db8::/32")]).encode() }
        #expect(throws: EncodingError.self) {
            try UpdateMessage(attributes: PathAttributes(mpReach: MPReachNLRI(afiSafi: .ipv6Unicast, nextHop: .ipv6(.any), nlri: [pfx("10.0.0.0/8")]))).encode()
        }
        #expect(throws: EncodingError.self) {
            try UpdateMessage(attributes: PathAttributes(origin: .igp, unknown: [UnknownAttribute(flags: [.optional], typeCode: 1, value: [0])])).encode()
        }
        let huge = UpdateMessage(nlri: (0..<1100).map { IPPrefix(masking: .v4(IPv4Address(UInt32($0) << 8)), length: 24) })
        #expect(throws: EncodingError.self) { try huge.encode() }
    }

    @Test func communityText() {
        #expect(Community("NO_EXPORT") == .noExport)
        #expect(Community("no-export") == .noExport)
        #expect(Community("noadvertise") == .noAdvertise)
        #expect(Community("65000:100") == Community(asn: 65000, value: 100))
        #expect(Community("65536:1") == nil)
        #expect(Community.noPeer.description == "NOPEER")
        #expect(Community(rawValue: 0xFFFF_FF05).description == "65535:65285")
        #expect(LargeCommunity("4200000001:1:2") == LargeCommunity(4_200_000_001, 1, 2))
        #expect(LargeCommunity("1:2") == nil)
        #expect(LargeCommunity(1, 2, 3).description == "1:2:3")
    }

    @Test func propagationSetsPartialOnUnknownTransitive() throws {
        let a = PathAttributes(unknown: [UnknownAttribute(flags: [.optional, .transitive], typeCode: 99, value: [7])])
        #expect(a.forPropagation().unknown.first?.flags == [.optional, .transitive, .partial])
        let bytes = try UpdateMessage(attributes: a.forPropagation()).encode()
        #expect(Array(bytes[23...]) == hex("e0 63 01 07"))
    }

    @Test func asPathMergeRFC6793() {
        let p2 = ASPath(sequence: [65001, 23456, 23456, 65005])
        let p4 = ASPath(sequence: [4_200_000_001, 4_200_000_002, 65005])
        #expect(ASPath.merge(asPath: p2, as4Path: p4) == ASPath(sequence: [65001, 4_200_000_001, 4_200_000_002, 65005]))
        // AS4_PATH longer than AS_PATH is ignored.
        #expect(ASPath.merge(asPath: ASPath(sequence: [23456]), as4Path: p4) == ASPath(sequence: [23456]))
        // An AS_SET counts as one.
        let withSet = ASPath([ASPathSegment(.asSequence, [65001]), ASPathSegment(.asSet, [1, 2, 3]), ASPathSegment(.asSequence, [23456])])
        #expect(ASPath.merge(asPath: withSet, as4Path: ASPath(sequence: [4_200_000_009]))
                == ASPath([ASPathSegment(.asSequence, [65001]), ASPathSegment(.asSet, [1, 2, 3]), ASPathSegment(.asSequence, [4_200_000_009])]))
        // AGGREGATOR with a real 2-octet AS: AS4_PATH ignored.
        let a = PathAttributes(asPath: p2, aggregator: Aggregator(asn: 65001, address: v4("10.0.0.1")), as4Path: p4)
        #expect(a.effectiveASPath == p2)
        #expect(ASPath.empty.prepending(65001, count: 2) == ASPath(sequence: [65001, 65001]))
        #expect(ASPath([ASPathSegment(.asSet, [1])]).prepending(7).description == "7 {1}")
        #expect(ASPath(sequence: [5, 6]).firstAS == 5)
    }
}

/// Every malformed-input path of RFC 4271 §6.3 as revised by RFC 7606.
@Suite struct UpdateErrorTests {
    func sessionReset(_ bytes: [UInt8], context: CodecContext = CodecContext()) -> BGPError? {
        decodeUpdate(bytes, context: context).failure
    }

    /// The single handling applied, if the UPDATE decoded.
    func handling(_ bytes: [UInt8], context: CodecContext = CodecContext()) -> UpdateErrorHandling? {
        let r = decodeUpdate(bytes, context: context)
        if let e = r.failure { Issue.record("unexpected session reset: \(e)") }
        let errs = r.value?.errors ?? []
        if errs.count != 1 { Issue.record("expected exactly one handling, got \(errs)") }
        return errs.first
    }

    // MARK: lengths and NLRI (session reset)

    @Test func withdrawnLengthOverrun() {
        let e = sessionReset(frame(2, hex("0005 0a 00 00")))
        #expect(e?.code == .updateMessageError)
        #expect(e?.subcode == UpdateSubcode.malformedAttributeList.rawValue)
    }

    @Test func totalAttributeLengthOverrun() {
        let e = sessionReset(frame(2, hex("0000 0010 40010100")))
        #expect(e?.subcode == UpdateSubcode.malformedAttributeList.rawValue)
        #expect(sessionReset(frame(2, hex("0000 00")))?.code == .messageHeaderError)   // 22 octets: header check
    }

    @Test(arguments: ["21 0a000000 00", "18 0a00", "20 0a0000", "08"])
    func badWithdrawnPrefix(field: String) {
        let w = hex(field)
        let e = sessionReset(update(withdrawn: w))
        #expect(e?.subcode == UpdateSubcode.invalidNetworkField.rawValue)
    }

    @Test(arguments: ["21 c0000201 00", "20 c00002", "18 c000", "ff"])
    func badNLRIPrefix(field: String) {
        // Prefix length > 32, or fewer octets than the length needs (e.g. a /32 with 3 octets).
        let e = sessionReset(update(attrs: baseAttrs, nlri: hex(field)))
        #expect(e?.code == .updateMessageError)
        #expect(e?.subcode == UpdateSubcode.invalidNetworkField.rawValue)
    }

    @Test func zeroLengthPrefixIsDefaultRoute() throws {
        let d = try UpdateMessage.decode(message: update(attrs: baseAttrs, nlri: hex("00 20 c0000201")))
        #expect(d.message.nlri == [pfx("0.0.0.0/0"), pfx("192.0.2.1/32")])
    }

    // MARK: attribute framing (RFC 7606 §4)

    @Test func attributeHeaderUnderrun() {
        let h = handling(update(attrs: baseAttrs + hex("40 01"), nlri: someNLRI))
        #expect(h?.action == .treatAsWithdraw)
        #expect(h?.error.subcode == UpdateSubcode.malformedAttributeList.rawValue)
    }

    @Test func attributeValueOverrun() {
        let h = handling(update(attrs: baseAttrs + hex("c0 08 08 00000001"), nlri: someNLRI))
        #expect(h?.action == .treatAsWithdraw)
        #expect(h?.attributeType == 8)
        #expect(h?.error.subcode == UpdateSubcode.attributeLengthError.rawValue)
        // Extended length with a missing second length octet.
        #expect(handling(update(attrs: baseAttrs + hex("d0 08 01"), nlri: someNLRI))?.action == .treatAsWithdraw)
    }

    @Test func mpAttributeOverrunIsSessionReset() {
        #expect(sessionReset(update(attrs: baseAttrs + hex("80 0e 20 0002 01 10")))?.subcode == UpdateSubcode.attributeLengthError.rawValue)
        #expect(sessionReset(update(attrs: hex("80 0f 09 0002 01")))?.subcode == UpdateSubcode.attributeLengthError.rawValue)
    }

    // MARK: flags (RFC 7606 §3 c)

    @Test(arguments: [
        ("c0 01 01 00", UInt8(1)),          // ORIGIN marked optional
        ("00 01 01 00", 1),                 // ORIGIN not transitive
        ("60 01 01 00", 1),                 // well-known with Partial
        ("c0 04 04 00000001", 4),           // MED marked transitive
        ("a0 04 04 00000001", 4),           // optional non-transitive with Partial
        ("40 08 04 00000001", 8),           // COMMUNITIES marked well-known
        ("80 20 0c 000000010000000200000003", 32),
    ])
    func flagsConflictIsTreatAsWithdraw(attribute: String, type: UInt8) {
        let bad = hex(attribute)
        let rest = baseAttrs.count > 0 && type == 1 ? Array(baseAttrs.dropFirst(4)) : baseAttrs
        let h = handling(update(attrs: rest + bad, nlri: someNLRI))
        #expect(h?.action == .treatAsWithdraw)
        #expect(h?.attributeType == type)
        #expect(h?.error.subcode == UpdateSubcode.attributeFlagsError.rawValue)
        #expect(h?.error.data == bad)   // RFC 4271 §6.3: the erroneous attribute
    }

    @Test func partialAllowedOnOptionalTransitive() {
        #expect(decodeUpdate(update(attrs: baseAttrs + hex("e0 08 04 fde90001"), nlri: someNLRI)).value == .clean(
            UpdateMessage(attributes: PathAttributes(origin: .igp, asPath: ASPath(sequence: [65001]), nextHop: v4("192.0.2.1"),
                                                     communities: [Community(asn: 65001, value: 1)]), nlri: [pfx("198.51.100.0/24")])))
    }

    @Test func mpFlagsConflictIsSessionReset() {
        let e = sessionReset(update(attrs: hex("40 0f 03 000201")))
        #expect(e?.subcode == UpdateSubcode.attributeFlagsError.rawValue)
        #expect(e?.data == hex("40 0f 03 000201"))
    }

    // MARK: per attribute (RFC 7606 §7)

    @Test func originErrors() {
        let attrsWithout = Array(baseAttrs.dropFirst(4))
        let badValue = handling(update(attrs: hex("40 01 01 03") + attrsWithout, nlri: someNLRI))
        #expect(badValue?.action == .treatAsWithdraw)
        #expect(badValue?.error.subcode == UpdateSubcode.invalidOriginAttribute.rawValue)
        #expect(badValue?.error.data == hex("40 01 01 03"))
        let badLength = handling(update(attrs: hex("40 01 02 0000") + attrsWithout, nlri: someNLRI))
        #expect(badLength?.action == .treatAsWithdraw)
        #expect(badLength?.error.subcode == UpdateSubcode.attributeLengthError.rawValue)
    }

    @Test(arguments: [
        "02 02 0000fde9",               // segment overrun
        "02 00",                        // zero-length segment
        "05 01 0000fde9",               // unknown segment type
        "00 01 0000fde9",               // segment type 0
        "02 01 0000fde9 02",            // one trailing octet
        "02 01 00000000",               // AS 0 (RFC 7607)
    ])
    func malformedASPathIsTreatAsWithdraw(path: String) {
        let v = hex(path)
        let attrs = hex("40 01 01 00") + attr(0x40, 2, v) + hex("40 03 04 c0000201")
        let h = handling(update(attrs: attrs, nlri: someNLRI))
        #expect(h?.action == .treatAsWithdraw)
        #expect(h?.attributeType == 2)
        #expect(h?.error.subcode == UpdateSubcode.malformedASPath.rawValue)
    }

    @Test func twoOctetPathOnFourOctetSessionIsMalformed() {
        // 2-octet encoding read with 4-octet ASNs overruns.
        let attrs = hex("40 01 01 00") + attr(0x40, 2, hex("02 03 fde9 fdea fdeb")) + hex("40 03 04 c0000201")
        #expect(handling(update(attrs: attrs, nlri: someNLRI))?.error.subcode == UpdateSubcode.malformedASPath.rawValue)
        let ok = decodeUpdate(update(attrs: attrs, nlri: someNLRI), context: CodecContext(fourOctetAS: false))
        #expect(ok.value?.message.attributes.asPath == ASPath(sequence: [65001, 65002, 65003]))
    }

    @Test func nextHopErrors() {
        let noNH = Array(baseAttrs.prefix(baseAttrs.count - 7))
        let len = handling(update(attrs: noNH + hex("40 03 05 c000020100"), nlri: someNLRI))
        #expect(len?.action == .treatAsWithdraw)
        #expect(len?.error.subcode == UpdateSubcode.attributeLengthError.rawValue)
        for bad in ["00000000", "7f000001", "e0000001", "ffffffff"] {
            let h = handling(update(attrs: noNH + hex("40 03 04 " + bad), nlri: someNLRI))
            #expect(h?.action == .treatAsWithdraw, "\(bad)")
            #expect(h?.error.subcode == UpdateSubcode.invalidNextHopAttribute.rawValue, "\(bad)")
            #expect(h?.error.data == hex("40 03 04 " + bad))
        }
        // Without classic NLRI the NEXT_HOP is not checked (RFC 4760 §3).
        #expect(decodeUpdate(update(attrs: noNH + hex("40 03 04 00000000"))).value?.errors == [])
    }

    @Test func medAndLocalPref() {
        #expect(handling(update(attrs: baseAttrs + hex("80 04 03 000001"), nlri: someNLRI))?.action == .treatAsWithdraw)
        // RFC 7606 §7.5: LOCAL_PREF from an external peer is discarded (whatever its length).
        let ext = handling(update(attrs: baseAttrs + hex("40 05 04 00000064"), nlri: someNLRI))
        #expect(ext?.action == .attributeDiscard)
        #expect(ext?.attributeType == 5)
        let ibgp = CodecContext(isInternalPeer: true)
        #expect(decodeUpdate(update(attrs: baseAttrs + hex("40 05 04 00000064"), nlri: someNLRI), context: ibgp).value?.message.attributes.localPref == 100)
        let bad = handling(update(attrs: baseAttrs + hex("40 05 03 000064"), nlri: someNLRI), context: ibgp)
        #expect(bad?.action == .treatAsWithdraw)
        #expect(bad?.error.subcode == UpdateSubcode.attributeLengthError.rawValue)
    }

    @Test func attributeDiscardCases() {
        // RFC 7606 §7.6 ATOMIC_AGGREGATE length ≠ 0; §7.7 AGGREGATOR length; RFC 7607 AGGREGATOR AS 0.
        for (a, sub) in [("40 06 01 00", UpdateSubcode.attributeLengthError), ("c0 07 06 fde9 c0000201", .attributeLengthError),
                         ("c0 07 08 00000000 c0000201", .optionalAttributeError)] {
            let r = decodeUpdate(update(attrs: baseAttrs + hex(a), nlri: someNLRI))
            #expect(r.value?.errors.map(\.action) == [.attributeDiscard], "\(a)")
            #expect(r.value?.errors.first?.error.subcode == sub.rawValue, "\(a)")
            #expect(r.value?.treatAsWithdraw == false)
            #expect(r.value?.effectiveAnnounced == [pfx("198.51.100.0/24")])
            #expect(r.value?.message.attributes.aggregator == nil)
            #expect(r.value?.message.attributes.atomicAggregate == false)
        }
        // 2-octet session: AGGREGATOR is 6 octets.
        let two = decodeUpdate(update(attrs: hex("40 01 01 00 40 02 04 02 01 fde9 40 03 04 c0000201 c0 07 06 fde9 c0000201"), nlri: someNLRI),
                               context: CodecContext(fourOctetAS: false))
        #expect(two.value?.message.attributes.aggregator == Aggregator(asn: 65001, address: v4("192.0.2.1")))
    }

    @Test(arguments: ["c0 08 05 0000000100", "c0 08 00", "c0 20 0d 00000001000000020000000300", "c0 20 00", "c0 20 0c 000000010000000200"])
    func communityLengthErrorsAreTreatAsWithdraw(a: String) {
        // RFC 7606 §7.8, RFC 8092 §6. (The last one overruns: still treat-as-withdraw.)
        let h = handling(update(attrs: baseAttrs + hex(a), nlri: someNLRI))
        #expect(h?.action == .treatAsWithdraw)
    }

    @Test func as4AttributesHandling() {
        // RFC 6793: AS4_PATH / AS4_AGGREGATOR from a 4-octet speaker are discarded.
        let four = handling(update(attrs: baseAttrs + hex("c0 11 06 02 01 fa56ea01"), nlri: someNLRI))
        #expect(four?.action == .attributeDiscard)
        let two = CodecContext(fourOctetAS: false)
        let base2 = hex("40 01 01 00 40 02 04 02 01 5ba0 40 03 04 c0000201")
        for bad in ["c0 11 05 02 01 fa56ea", "c0 11 06 03 01 fa56ea01", "c0 11 06 02 01 00000000", "c0 12 06 fa56 c0000201", "c0 12 08 00000000 c0000201"] {
            let r = decodeUpdate(update(attrs: base2 + hex(bad), nlri: someNLRI), context: two)
            #expect(r.value?.errors.map(\.action) == [.attributeDiscard], "\(bad)")
            #expect(r.value?.message.attributes.as4Path == nil)
            #expect(r.value?.message.attributes.as4Aggregator == nil)
        }
        let good = decodeUpdate(update(attrs: base2 + hex("c0 11 06 02 01 fa56ea01"), nlri: someNLRI), context: two)
        #expect(good.value?.message.attributes.effectiveASPath == ASPath(sequence: [4_200_000_001]))
    }

    @Test func duplicateAttributesKeepTheFirst() {
        let r = decodeUpdate(update(attrs: baseAttrs + hex("40 01 01 01"), nlri: someNLRI))
        #expect(r.value?.message.attributes.origin == .igp)
        #expect(r.value?.errors.map(\.action) == [.attributeDiscard])
        #expect(r.value?.treatAsWithdraw == false)
        let mp = hex("80 0f 03 000201")
        #expect(sessionReset(update(attrs: mp + mp))?.subcode == UpdateSubcode.malformedAttributeList.rawValue)
        let reach = hex("80 0e 16 0002 01 10 20010db8000000000000000000000001 00 00")
        #expect(sessionReset(update(attrs: baseAttrs + reach + reach))?.subcode == UpdateSubcode.malformedAttributeList.rawValue)
    }

    @Test func missingWellKnownAttributes() {
        let origin = hex("40 01 01 00"), path = hex("40 02 06 02 01 0000fde9"), nh = hex("40 03 04 c0000201")
        for (attrs, missing) in [(path + nh, UInt8(1)), (origin + nh, 2), (origin + path, 3)] {
            let h = handling(update(attrs: attrs, nlri: someNLRI))
            #expect(h?.action == .treatAsWithdraw)
            #expect(h?.error.subcode == UpdateSubcode.missingWellKnownAttribute.rawValue)
            #expect(h?.error.data == [missing])   // RFC 4271 §6.3: the missing type code
        }
        // MP_REACH_NLRI without AS_PATH; NEXT_HOP not needed.
        let reach = hex("80 0e 1c 0002 01 10 20010db8000000000000000000000001 00 30 20010db80001")
        let h = handling(update(attrs: reach + origin))
        #expect(h?.error.data == [2])
        #expect(decodeUpdate(update(attrs: reach + origin + path)).value?.errors == [])
        // Nothing is mandatory without NLRI.
        #expect(decodeUpdate(update(withdrawn: someNLRI)).value?.errors == [])
        #expect(decodeUpdate(update(attrs: hex("80 0f 03 000201"))).value?.errors == [])
    }

    @Test func unknownAttributes() {
        let wk = hex("40 63 02 abcd")
        let e = sessionReset(update(attrs: baseAttrs + wk, nlri: someNLRI))
        #expect(e?.subcode == UpdateSubcode.unrecognizedWellKnownAttribute.rawValue)
        #expect(e?.data == wk)
        let kept = decodeUpdate(update(attrs: baseAttrs + hex("c0 63 02 abcd") + hex("80 64 01 01"), nlri: someNLRI))
        #expect(kept.value?.errors == [])
        #expect(kept.value?.message.attributes.unknown == [UnknownAttribute(flags: [.optional, .transitive], typeCode: 99, value: [0xab, 0xcd])])
    }

    @Test(arguments: [
        ("80 0e 03 0002 01", AFISAFI?.none),                                            // shorter than 5 octets
        ("80 0e 0a 0002 01 04 c0000201 00 00", .ipv6Unicast),                           // 4-octet next hop for IPv6
        ("80 0e 09 0001 01 03 c00002 00 00", .ipv4Unicast),                             // 3-octet next hop
        ("80 0e 09 0019 46 04 c0000201 00", AFISAFI(afi: 25, safi: 70)),                // unsupported AFI/SAFI
        ("80 0e 15 0002 01 10 20010db8000000000000000000000001 00 81", .ipv6Unicast),   // prefix length 129
        ("80 0e 15 0001 01 04 c0000201 00 21 c0000201 00 00 00 00 00 00 00 00", .ipv4Unicast),  // /33
        ("80 0e 15 0002 01 10 20010db8000000000000000000000001 00 30", .ipv6Unicast),   // truncated prefix
        ("80 0e 15 0002 01 10 20010db8000000000000000000000001", .ipv6Unicast),         // no Reserved octet
        ("80 0e 06 0002 01 10 2001", .ipv6Unicast),                                     // next hop overruns
        ("80 0f 02 0002", AFISAFI?.none),                                               // MP_UNREACH too short
        ("80 0f 04 0002 01 81", .ipv6Unicast),                                          // MP_UNREACH /129
    ])
    func malformedMPAttributesAreSessionReset(a: String, afiSafi: AFISAFI?) {
        var bytes = hex(a)
        bytes[2] = UInt8(bytes.count - 3)   // keep the attribute's own length consistent
        let e = sessionReset(update(attrs: baseAttrs + bytes))
        #expect(e?.code == .updateMessageError)
        #expect(e?.subcode == UpdateSubcode.optionalAttributeError.rawValue)   // RFC 4760 §7
        #expect(e?.data == bytes)
        #expect(e?.afiSafi == afiSafi)   // lets the caller choose "AFI/SAFI disable"
    }

    @Test func strongestActionWinsAndAllAreReported() {
        // Discard (ATOMIC_AGGREGATE) + treat-as-withdraw (ORIGIN) in one UPDATE.
        let attrs = hex("40 01 01 07") + Array(baseAttrs.dropFirst(4)) + hex("40 06 01 00")
        let r = decodeUpdate(update(withdrawn: hex("08 0b"), attrs: attrs, nlri: someNLRI))
        #expect(r.value?.errors.map(\.action) == [.treatAsWithdraw, .attributeDiscard])
        #expect(r.value?.treatAsWithdraw == true)
        #expect(r.value?.effectiveAnnounced == [])
        #expect(r.value?.effectiveWithdrawn == [pfx("11.0.0.0/8"), pfx("198.51.100.0/24")])
        // A later session-reset error still wins over an earlier treat-as-withdraw.
        let worse = hex("40 01 01 07") + Array(baseAttrs.dropFirst(4)) + hex("40 63 00")
        #expect(sessionReset(update(attrs: worse, nlri: someNLRI))?.subcode == UpdateSubcode.unrecognizedWellKnownAttribute.rawValue)
        // The whole message wrapper reports the same handlings.
        let d = try? BGPMessage.decode(update(attrs: attrs, nlri: someNLRI))
        #expect(d?.treatAsWithdraw == true)
        #expect(d?.updateErrors.count == 2)
    }

    @Test func updateDecodeRejectsOtherTypes() {
        #expect(decodeUpdate(frame(4, [])).failure?.subcode == MessageHeaderSubcode.badMessageType.rawValue)
    }
}
