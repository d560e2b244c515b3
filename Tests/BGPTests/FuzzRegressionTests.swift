import Testing
@testable import BGP

/// Inputs found by the libFuzzer target (`hack/fuzz bgp`, Fuzz/BGP/Harness.swift), kept verbatim as they broke
/// an invariant of the harness, plus the hand-made cases that pin the fix down.
@Suite struct FuzzRegressionTests {
    /// Decode → encode → decode must give the same message and a byte-stable encoding (the harness's round trip).
    static func roundTrip(_ m: [UInt8], _ ctx: CodecContext) throws -> (first: DecodedMessage, second: DecodedMessage, wire: [UInt8]) {
        let d = try BGPMessage.decode(m, context: ctx)
        let wire = try d.message.encode(context: ctx)
        let d2 = try BGPMessage.decode(wire, context: ctx)
        #expect(try d2.message.encode(context: ctx) == wire)
        return (d, d2, wire)
    }

    /// Fuzzer artefact crash-e93ab5a8 (config octet 0x38: 2-octet AS session, eBGP, 4096 limit, whole input at
    /// once): an UPDATE whose unknown optional transitive attributes come in descending type order (234, then 0).
    /// The encoder writes them by ascending type (RFC 4271 §5), so the re-decoded message had them swapped and
    /// compared unequal. The decoder now keeps them in type order.
    static let unknownAttributeOrderInput = hex("""
        38ffffffffffffffffffffffffffffffff00670200000050900e002400020110fd0002550000000000000000000000010070fd0002\
        55000000000000000000c8400101025002000a0202fa56ea010000fdeac00804fffffffffdea0006c0200c0000fdea0000003c000000\
        3c
        """)

    @Test func fuzzerInputWithUnknownAttributesOutOfOrderRoundTrips() throws {
        let input = Self.unknownAttributeOrderInput
        #expect(input.first == 0x38)
        let ctx = CodecContext(fourOctetAS: false, isInternalPeer: false)
        // The harness feeds the stream to the frame splitter; the first frame is the 0x67-octet UPDATE.
        var splitter = BGPFrameSplitter()
        splitter.append(input.dropFirst())
        let frame = try #require(try splitter.next())
        #expect(frame.count == 0x67)
        let (d, d2, _) = try Self.roundTrip(frame, ctx)
        #expect(d2.message == d.message)
        guard case .update(let u) = d.message else {
            Issue.record("expected an UPDATE, got \(d.message.type)")
            return
        }
        #expect(u.attributes.unknown.map(\.typeCode) == [0, 234])
    }

    @Test func unknownAttributesCompareEqualWhateverTheirOrder() throws {
        let a = attr(0xC0, 0xEA, [1, 2, 3]), b = attr(0xC0, 0x63, [9]), c = attr(0xE0, 0xC8, [])
        let orders = [a + b + c, c + b + a, b + a + c]
        let decoded = try orders.map { try BGPMessage.decode(update(attrs: baseAttrs + $0, nlri: someNLRI)).message }
        #expect(Set(decoded).count == 1)
        for m in orders.map({ update(attrs: baseAttrs + $0, nlri: someNLRI) }) {
            let (d, d2, _) = try Self.roundTrip(m, CodecContext())
            #expect(d2.message == d.message)
            guard case .update(let u) = d.message else { Issue.record("not an UPDATE"); continue }
            #expect(u.attributes.unknown.map(\.typeCode) == [0x63, 0xC8, 0xEA])
        }
    }

    /// A ROUTE-REFRESH of the maximum size with a wrong body length: RFC 7313 §5 puts the whole message into the
    /// NOTIFICATION data, which then exceeded the limit and could not be encoded, so the error was never sent.
    /// The Data field is now cut to fit; code and subcode are intact.
    @Test(arguments: [BGPMessageHeader.maxLength, 65535])
    func oversizedRouteRefreshIsAnsweredWithANotificationThatFits(limit: Int) throws {
        let m = frame(5, [UInt8](repeating: 0, count: limit - 19))
        #expect(m.count == limit)
        let ctx = CodecContext(maxMessageLength: limit)
        let error = try #require(decodeError(m, context: ctx))
        #expect(error.code == .routeRefreshMessageError)
        #expect(error.subcode == RouteRefreshSubcode.invalidMessageLength.rawValue)
        #expect(error.data == m)
        let wire = try BGPMessage.notification(error.notification).encode(context: ctx)
        #expect(wire.count == limit)
        let back = try BGPMessage.decode(wire, context: ctx)
        guard case .notification(let n) = back.message else {
            Issue.record("expected a NOTIFICATION, got \(back.message.type)")
            return
        }
        #expect(n.code == NotificationCode.routeRefreshMessageError.rawValue)
        #expect(n.subcode == RouteRefreshSubcode.invalidMessageLength.rawValue)
        #expect(n.data == Array(m.prefix(limit - 21)))
    }

    @Test func notificationDataThatFitsIsSentWhole() throws {
        let data = [UInt8](repeating: 0xAB, count: BGPMessageHeader.maxLength - 21)
        let wire = try BGPMessage.notification(NotificationMessage(.cease, subcode: 2, data: data)).encode()
        #expect(wire.count == BGPMessageHeader.maxLength)
        #expect(Array(wire.suffix(data.count)) == data)
        let short = try BGPMessage.notification(NotificationMessage(.cease, subcode: 2, data: [1, 2, 3])).encode()
        #expect(short == marker + hex("0018 03 06 02 010203"))
    }
}
