import Testing
import NetAddress
@testable import BGP

@Suite struct HeaderTests {
    @Test func keepaliveEncodesToRFCBytes() throws {
        // RFC 4271 §4.4: header only, length 19.
        #expect(try BGPMessage.keepalive.encode() == marker + hex("0013 04"))
        #expect(try BGPMessage.decode(marker + hex("0013 04")).message == .keepalive)
    }

    @Test func badMarkerIsConnectionNotSynchronized() {
        var m = frame(4, [])
        m[3] = 0xFE
        let e = decodeError(m)
        #expect(e?.code == .messageHeaderError)
        #expect(e?.subcode == MessageHeaderSubcode.connectionNotSynchronized.rawValue)
        #expect(e?.data == [])
    }

    @Test(arguments: [(UInt16(18), UInt8(4)), (4097, 4), (0, 2), (0xFFFF, 1)])
    func lengthOutsideRangeIsBadMessageLength(length: UInt16, type: UInt8) {
        let m = marker + [UInt8(length >> 8), UInt8(length & 0xff), type] + [UInt8](repeating: 0, count: 10)
        let e = decodeError(m)
        #expect(e?.code == .messageHeaderError)
        #expect(e?.subcode == MessageHeaderSubcode.badMessageLength.rawValue)
        #expect(e?.data == [UInt8(length >> 8), UInt8(length & 0xff)])   // RFC 4271 §6.1: the erroneous Length field
    }

    @Test(arguments: [(UInt8(1), 28), (2, 22), (3, 20), (4, 20), (5, 22)])
    func lengthTooShortForTypeIsBadMessageLength(type: UInt8, length: Int) {
        let m = frame(type, [UInt8](repeating: 0, count: length - 19))
        let e = decodeError(m)
        #expect(e?.code == .messageHeaderError)
        #expect(e?.subcode == 2)
        #expect(e?.data == [0, UInt8(length)])
    }

    @Test(arguments: [UInt8(0), 6, 7, 255])
    func unknownTypeIsBadMessageType(type: UInt8) {
        let e = decodeError(frame(type, [0, 0, 0, 0]))
        #expect(e?.code == .messageHeaderError)
        #expect(e?.subcode == MessageHeaderSubcode.badMessageType.rawValue)
        #expect(e?.data == [type])   // RFC 4271 §6.1: the erroneous Type field
    }

    @Test func lengthFieldMustMatchBuffer() {
        let e = decodeError(frame(4, []) + [0])
        #expect(e?.subcode == 2)
        #expect(decodeError(Array(frame(2, updateBody()).dropLast()))?.subcode == 2)
        #expect(decodeError([0xFF, 0xFF])?.subcode == 2)
    }
}

@Suite struct OpenTests {
    // Hand-assembled per RFC 4271 §4.2 + RFC 5492 §4 + each capability's RFC.
    static let openHex = "004d 01 04 fde9 00b4 c0000201 30 02 2e"
        + " 01 04 0001 00 01"            // MP IPv4 unicast (RFC 4760 §8)
        + " 01 04 0002 00 01"            // MP IPv6 unicast
        + " 02 00"                       // route refresh (RFC 2918)
        + " 41 04 0000fde9"              // 4-octet AS 65001 (RFC 6793)
        + " 40 0a 8078 0001 01 80 0002 01 00"   // GR: R=1, 120 s, v4 F=1, v6 F=0 (RFC 4724)
        + " 05 06 0001 0001 0002"        // extended next hop v4 over v6 (RFC 8950)
        + " 46 00"                       // enhanced route refresh (RFC 7313)
        + " 49 02 0000"                  // unknown (73) kept raw

    static let open = OpenMessage(
        myAS: 65001, holdTime: 180, bgpIdentifier: IPv4Address(192, 0, 2, 1),
        capabilities: [
            .multiprotocol(.ipv4Unicast), .multiprotocol(.ipv6Unicast), .routeRefresh, .fourOctetAS(65001),
            .gracefulRestart(GracefulRestartCapability(restarting: true, restartTime: 120, families: [
                .init(afiSafi: .ipv4Unicast, forwardingStatePreserved: true),
                .init(afiSafi: .ipv6Unicast, forwardingStatePreserved: false),
            ])),
            .extendedNextHop([.ipv4UnicastOverIPv6]), .enhancedRouteRefresh, .unknown(code: 73, value: [0, 0]),
        ])

    @Test func encodesToHandComputedHex() throws {
        #expect(try BGPMessage.open(Self.open).encode() == marker + hex(Self.openHex))
    }

    @Test func decodesHandComputedHex() throws {
        let d = try BGPMessage.decode(marker + hex(Self.openHex))
        #expect(d.message == .open(Self.open))
        guard case .open(let o) = d.message else { return }
        #expect(o.asNumber == 65001)
        #expect(o.multiprotocol == [.ipv4Unicast, .ipv6Unicast])
        #expect(o.gracefulRestart?.restartState == true)
        #expect(o.gracefulRestart?.notification == false)
        #expect(o.gracefulRestart?.families.map(\.forwardingStatePreserved) == [true, false])
        #expect(o.extendedNextHop == [.ipv4UnicastOverIPv6])
        #expect(o.supportsRouteRefresh)
    }

    @Test func fourOctetASUsesASTrans() throws {
        let o = OpenMessage(asNumber: 4_200_000_001, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: [.routeRefresh, .fourOctetAS(1)])
        #expect(o.myAS == 23456)
        #expect(o.fourOctetASCapability == 4_200_000_001)
        #expect(o.capabilities == [.routeRefresh, .fourOctetAS(4_200_000_001)])
        let bytes = try BGPMessage.open(o).encode()
        #expect(Array(bytes[20...21]) == [0x5b, 0xa0])
        #expect(try BGPMessage.decode(bytes).message == .open(o))
        let small = OpenMessage(asNumber: 64512, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: [])
        #expect(small.myAS == 64512)
        #expect(throws: Never.self) { try small.validatePeerAS(64512) }
    }

    @Test func negotiatedContext() {
        let a = OpenMessage(asNumber: 65001, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: [])
        var b = OpenMessage(myAS: 65001, holdTime: 90, bgpIdentifier: v4("10.0.0.2"), capabilities: [])
        #expect(CodecContext.negotiated(local: a, remote: b) == CodecContext(fourOctetAS: false, isInternalPeer: true))
        b.capabilities = [.fourOctetAS(65002)]
        #expect(CodecContext.negotiated(local: a, remote: b) == CodecContext(fourOctetAS: true, isInternalPeer: false))
    }

    @Test func noOptionalParametersAndRoundTrips() throws {
        let o = OpenMessage(myAS: 1, holdTime: 0, bgpIdentifier: v4("1.1.1.1"), capabilities: [])
        let bytes = try BGPMessage.open(o).encode()
        #expect(bytes == marker + hex("001d 01 04 0001 0000 01010101 00"))
        #expect(try BGPMessage.decode(bytes).message == .open(o))
    }

    @Test func extendedOptionalParameters() throws {
        // RFC 9072: more than 255 octets of parameters switch to the 2-octet length format.
        let caps = (0..<30).map { Capability.unknown(code: UInt8(200 + $0 % 50), value: [UInt8](repeating: UInt8($0), count: 8)) }
        let o = OpenMessage(myAS: 65001, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: caps)
        let bytes = try BGPMessage.open(o).encode()
        #expect(Array(bytes[28...31]) == [255, 255, 0x01, 0x2f])   // 300 octets of caps + 3
        #expect(bytes[32] == 2)
        #expect(try BGPMessage.decode(bytes).message == .open(o))
    }

    func openError(_ body: String) -> BGPError? { decodeError(frame(1, hex(body))) }

    @Test func unsupportedVersion() {
        let e = openError("03 fde9 00b4 c0000201 00")
        #expect(e?.code == .openMessageError)
        #expect(e?.subcode == OpenSubcode.unsupportedVersionNumber.rawValue)
        #expect(e?.data == [0, 4])   // RFC 4271 §6.2: largest supported version
    }

    @Test(arguments: [1, 2])
    func unacceptableHoldTime(hold: Int) {
        let e = openError("04 fde9 000\(hold) c0000201 00")
        #expect(e?.code == .openMessageError)
        #expect(e?.subcode == OpenSubcode.unacceptableHoldTime.rawValue)
    }

    @Test func holdTimeZeroAndThreeAreFine() {
        #expect(openError("04 fde9 0000 c0000201 00") == nil)
        #expect(openError("04 fde9 0003 c0000201 00") == nil)
    }

    @Test func badIdentifierAndAS0() {
        #expect(openError("04 fde9 00b4 00000000 00")?.subcode == OpenSubcode.badBGPIdentifier.rawValue)
        #expect(openError("04 0000 00b4 c0000201 00")?.subcode == OpenSubcode.badPeerAS.rawValue)
        // RFC 7607: AS 0 in the 4-octet AS capability.
        #expect(openError("04 5ba0 00b4 c0000201 08 02 06 41 04 00000000")?.subcode == OpenSubcode.badPeerAS.rawValue)
    }

    @Test func unsupportedOptionalParameter() {
        let e = openError("04 fde9 00b4 c0000201 04 01 02 abcd")   // type 1 (authentication, deprecated)
        #expect(e?.code == .openMessageError)
        #expect(e?.subcode == OpenSubcode.unsupportedOptionalParameter.rawValue)
        #expect(e?.data == [1])
    }

    @Test func malformedParameters() {
        // Optional Parameters Length disagrees with the message.
        #expect(openError("04 fde9 00b4 c0000201 05 02 02 0200")?.subcode == 0)
        #expect(openError("04 fde9 00b4 c0000201 03 02 02 0200 00")?.subcode == 0)
        // Parameter length overruns.
        #expect(openError("04 fde9 00b4 c0000201 03 02 05 02")?.subcode == 0)
        // Capability length overruns its parameter.
        #expect(openError("04 fde9 00b4 c0000201 04 02 02 41 04")?.subcode == 0)
        // Known capabilities with a wrong length (RFC 4271 §6.2: recognized but malformed → Unspecific).
        for cap in ["41 02 fde9", "01 03 000101", "02 01 00", "40 03 007800", "05 04 00010001", "46 01 00"] {
            let capBytes = hex(cap)
            let body = hex("04 fde9 00b4 c0000201") + [UInt8(capBytes.count + 2), 2, UInt8(capBytes.count)] + capBytes
            let e = decodeError(frame(1, body))
            #expect(e?.code == .openMessageError, "\(cap)")
            #expect(e?.subcode == OpenSubcode.unspecific.rawValue, "\(cap)")
            #expect(e?.data == capBytes, "\(cap)")
        }
        // RFC 9072 marker with a truncated length.
        #expect(openError("04 fde9 00b4 c0000201 ff ff 00")?.subcode == 0)
    }

    @Test func badPeerAS() {
        let o = OpenMessage(myAS: 23456, holdTime: 90, bgpIdentifier: v4("10.0.0.1"), capabilities: [.fourOctetAS(4_200_000_003)])
        #expect(throws: BGPError.self) { try o.validatePeerAS(23456) }
        do {
            try o.validatePeerAS(65000)
        } catch {
            #expect(error.code == .openMessageError && error.subcode == OpenSubcode.badPeerAS.rawValue)
        }
        #expect(throws: Never.self) { try o.validatePeerAS(4_200_000_003) }
    }

    @Test func severalCapabilityParametersMerge() throws {
        // FRR style: one capability per optional parameter.
        let bytes = frame(1, hex("04 fde9 00b4 c0000201 0c 02 02 0200 02 06 41 04 0000fde9"))
        guard case .open(let o) = try BGPMessage.decode(bytes).message else { Issue.record("not OPEN"); return }
        #expect(o.capabilities == [.routeRefresh, .fourOctetAS(65001)])
    }

    @Test func encodeRejectsBadHoldTime() {
        let o = OpenMessage(myAS: 1, holdTime: 2, bgpIdentifier: v4("1.1.1.1"), capabilities: [])
        #expect(throws: EncodingError.self) { try BGPMessage.open(o).encode() }
    }
}

@Suite struct NotificationTests {
    @Test func encodesAndDecodes() throws {
        let n = NotificationMessage(.updateMessageError, subcode: UpdateSubcode.malformedASPath.rawValue)
        let bytes = try BGPMessage.notification(n).encode()
        #expect(bytes == marker + hex("0015 03 03 0b"))
        #expect(try BGPMessage.decode(bytes).message == .notification(n))
        #expect(n.description == "UPDATE Message Error / Malformed AS_PATH")
    }

    @Test func shutdownCommunication() throws {
        // RFC 9003 §2: length octet + UTF-8.
        let n = NotificationMessage.cease(.administrativeShutdown, shutdownCommunication: "maintenance ✈")
        #expect(n.data.first == 15)
        #expect(n.shutdownCommunication == "maintenance ✈")
        #expect(n.description == "Cease / Administrative Shutdown \"maintenance ✈\"")
        let long = NotificationMessage.cease(.administrativeReset, shutdownCommunication: String(repeating: "é", count: 200))
        #expect(long.data.count == 255)   // 254 octets of whole characters + length
        #expect(long.shutdownCommunication?.count == 127)
        #expect(NotificationMessage.cease(.peerDeconfigured, shutdownCommunication: "x").data == [])
        #expect(NotificationMessage(.cease, subcode: 2, data: [5, 0x41]).shutdownCommunication == nil)
    }

    @Test func everyCodeAndSubcodeHasAName() {
        for code in NotificationCode.allCases { #expect(!code.description.isEmpty) }
        for s in MessageHeaderSubcode.allCases { #expect(NotificationCode.messageHeaderError.subcodeName(s.rawValue) == s.description) }
        for s in OpenSubcode.allCases { #expect(NotificationCode.openMessageError.subcodeName(s.rawValue) == s.description) }
        for s in UpdateSubcode.allCases { #expect(NotificationCode.updateMessageError.subcodeName(s.rawValue) == s.description) }
        for s in FSMSubcode.allCases { #expect(NotificationCode.finiteStateMachineError.subcodeName(s.rawValue) == s.description) }
        for s in CeaseSubcode.allCases { #expect(NotificationCode.cease.subcodeName(s.rawValue) == s.description) }
        for s in RouteRefreshSubcode.allCases { #expect(NotificationCode.routeRefreshMessageError.subcodeName(s.rawValue) == s.description) }
        #expect(NotificationCode.holdTimerExpired.subcodeName(0) == "Unspecific")
        #expect(NotificationMessage(code: 6, subcode: 2).description == "Cease / Administrative Shutdown")
        #expect(NotificationMessage(code: 1, subcode: 1).description == "Message Header Error / Connection Not Synchronized")
        #expect(NotificationMessage(code: 5, subcode: 3).description == "Finite State Machine Error / Receive Unexpected Message in Established State")
        #expect(NotificationMessage(code: 9, subcode: 1, data: [1]).description == "Unknown error code 9 / subcode 1 data=01")
        #expect(NotificationMessage(code: 3, subcode: 99).subcodeName == "subcode 99")
    }

    @Test func bgpErrorBuildsItsNotification() throws {
        let e = BGPError(code: .updateMessageError, subcode: 4, data: [0xC0, 1, 1, 0])
        #expect(e.notification == NotificationMessage(code: 3, subcode: 4, data: [0xC0, 1, 1, 0]))
        #expect(try BGPMessage.notification(e.notification).encode() == marker + hex("0019 03 03 04 c0010100"))
    }
}

@Suite struct RouteRefreshTests {
    @Test func encodesAndDecodes() throws {
        let rr = RouteRefreshMessage(.ipv6Unicast)
        let bytes = try BGPMessage.routeRefresh(rr).encode()
        #expect(bytes == marker + hex("0017 05 0002 00 01"))   // RFC 2918 §3: AFI, Res., SAFI
        #expect(try BGPMessage.decode(bytes).message == .routeRefresh(rr))
        let borr = RouteRefreshMessage(.ipv4Unicast, subtype: RouteRefreshMessage.beginningOfRouteRefresh)
        #expect(try BGPMessage.routeRefresh(borr).encode() == marker + hex("0017 05 0001 01 01"))   // RFC 7313 §3.2
    }

    @Test func wrongLengthIsRouteRefreshError() {
        // RFC 7313 §5: Invalid Message Length, data = the complete message.
        let m = frame(5, hex("0001 00 01 00"))
        let e = decodeError(m)
        #expect(e?.code == .routeRefreshMessageError)
        #expect(e?.subcode == RouteRefreshSubcode.invalidMessageLength.rawValue)
        #expect(e?.data == m)
    }
}

@Suite struct CapabilityTests {
    @Test func gracefulRestartFields() throws {
        // RFC 4724 §3: flags nibble + 12-bit time; RFC 8538 N bit.
        let c = try Capability.decode(code: 64, value: hex("c0b4 0002 01 80")[...])
        guard case .gracefulRestart(let g) = c else { Issue.record("not GR"); return }
        #expect(g.restartState && g.notification)
        #expect(g.restartTime == 180)
        #expect(g.families == [.init(afiSafi: .ipv6Unicast, flags: 0x80)])
        var w = ByteWriter()
        try c.encode(into: &w)
        #expect(w.bytes == hex("40 06 c0b4 0002 01 80"))
        let empty = try Capability.decode(code: 64, value: hex("0078")[...])
        #expect(empty == .gracefulRestart(GracefulRestartCapability(restartFlags: 0, restartTime: 120, families: [])))
    }

    @Test func unknownCapabilityKeptRaw() throws {
        let c = try Capability.decode(code: 128, value: [][...])
        #expect(c == .unknown(code: 128, value: []))
        var w = ByteWriter()
        try c.encode(into: &w)
        #expect(w.bytes == [128, 0])
    }

    @Test func encodeRejectsOutOfRange() {
        var w = ByteWriter()
        #expect(throws: EncodingError.self) {
            try Capability.gracefulRestart(GracefulRestartCapability(restartFlags: 0, restartTime: 5000, families: [])).encode(into: &w)
        }
        #expect(throws: EncodingError.self) { try Capability.unknown(code: 9, value: [UInt8](repeating: 0, count: 256)).encode(into: &w) }
    }
}
