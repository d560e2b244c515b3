import Testing
import NetAddress
@testable import Membership

@Suite("Membership codec")
struct MembershipCodecTests {
    let heartbeat = MembershipMessage(
        kind: .heartbeat, sender: "node-ä1", incarnation: 0x0102_0304_0506_0708, sequence: 42,
        missing: [MemberID(name: "node-2"), MemberID(name: "node-3")],
        evidence: [Evidence(member: MemberID(name: "node-4"), ageMilliseconds: 17), Evidence(member: MemberID(rawValue: 7), ageMilliseconds: 65535)])

    @Test func heartbeatRoundTrip() throws {
        let bytes = try MembershipCodec.encode(heartbeat, keyring: keyring())
        #expect(bytes.count == 21 + "node-ä1".utf8.count + 1 + 16 + 1 + 20 + 32)
        #expect(Array(bytes.prefix(4)) == [0x53, 0x4D, 1, 1])
        #expect(Array(bytes[4 ..< 12]) == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(try MembershipCodec.decode(bytes, keyring: keyring()) == heartbeat)
    }

    @Test func leaveRoundTripCarriesNoLists() throws {
        let leave = MembershipMessage(kind: .leave, sender: "n", incarnation: 9, sequence: 1)
        let bytes = try MembershipCodec.encode(leave, keyring: keyring())
        #expect(bytes.count == 21 + 1 + 32)
        #expect(try MembershipCodec.decode(bytes, keyring: keyring()) == leave)
    }

    @Test func memberIDIsSHA256Prefix() {
        // SHA-256("abc") = ba7816bf 8f01cfea ... (FIPS 180-4 example).
        #expect(MemberID(name: "abc").rawValue == 0xBA78_16BF_8F01_CFEA)
    }

    @Test func longListsAreCappedToOneDatagram() throws {
        var m = heartbeat
        m.sender = String(repeating: "x", count: 253)
        m.missing = (0 ..< 200).map { MemberID(rawValue: UInt64($0)) }
        m.evidence = (0 ..< 200).map { Evidence(member: MemberID(rawValue: UInt64($0)), ageMilliseconds: 1) }
        let bytes = try MembershipCodec.encode(m, keyring: keyring())
        #expect(bytes.count == 1388, "the largest heartbeat fits a 1452-byte IPv6 UDP payload")
        let back = try MembershipCodec.decode(bytes, keyring: keyring())
        #expect(back.missing.count == MembershipCodec.maxListEntries)
        #expect(back.evidence.count == MembershipCodec.maxListEntries)
    }

    @Test func badNamesAreRejectedOnEncode() {
        #expect(throws: MembershipCodec.EncodeError.self) {
            try MembershipCodec.encode(MembershipMessage(kind: .leave, sender: "", incarnation: 1, sequence: 1), keyring: keyring())
        }
        #expect(throws: MembershipCodec.EncodeError.self) {
            try MembershipCodec.encode(MembershipMessage(kind: .leave, sender: String(repeating: "y", count: 254), incarnation: 1, sequence: 1),
                                       keyring: keyring())
        }
    }

    private func reason(_ bytes: [UInt8], _ ring: MembershipKeyring = keyring()) -> DropReason? {
        do {
            _ = try MembershipCodec.decode(bytes, keyring: ring)
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func wrongKeyIsBadMAC() throws {
        let bytes = try MembershipCodec.encode(heartbeat, keyring: keyring(otherKey))
        #expect(reason(bytes) == .badMAC)
    }

    @Test func everyTamperedByteIsRejected() throws {
        let bytes = try MembershipCodec.encode(heartbeat, keyring: keyring())
        for i in bytes.indices {
            var t = bytes
            t[i] ^= 0x01
            let r = reason(t)
            switch i {
            case 0, 1: #expect(r == .badMagic, "byte \(i)")
            case 2: #expect(r == .unsupportedVersion, "byte \(i)")
            default: #expect(r == .badMAC, "byte \(i)")
            }
        }
    }

    @Test func truncatedAndExtendedAreRejected() throws {
        let bytes = try MembershipCodec.encode(heartbeat, keyring: keyring())
        #expect(reason(Array(bytes.prefix(30))) == .truncated)
        #expect(reason(Array(bytes.dropLast())) == .badMAC)
        #expect(reason(bytes + [0]) == .badMAC)
        #expect(reason([]) == .truncated)
    }

    @Test func authenticatedButMalformedIsRejected() throws {
        let ring = keyring()
        let good = try MembershipCodec.encode(heartbeat, keyring: ring)
        let body = Array(good.dropLast(32))
        // Trailing byte after the lists, properly signed.
        #expect(reason(body + [0] + ring.sign(body + [0])) == .malformed)
        // Missing count larger than the bytes present.
        let nameEnd = 21 + "node-ä1".utf8.count
        var lying = body
        lying[nameEnd] = 200
        #expect(reason(lying + ring.sign(lying)) == .malformed)
        // Unknown kind.
        var kind = body
        kind[3] = 9
        #expect(reason(kind + ring.sign(kind)) == .unknownKind)
        // Invalid UTF-8 name.
        var name = body
        name[21] = 0xFF
        #expect(reason(name + ring.sign(name)) == .malformed)
        // Empty name.
        let leave = try MembershipCodec.encode(MembershipMessage(kind: .leave, sender: "n", incarnation: 1, sequence: 1), keyring: ring)
        var empty = Array(leave.dropLast(32))
        empty[20] = 0
        empty.removeLast()
        #expect(reason(empty + [0] + ring.sign(empty + [0])) == .malformed)
    }

    @Test func otherVersionIsRejectedEvenWhenSigned() throws {
        let ring = keyring()
        var body = Array(try MembershipCodec.encode(heartbeat, keyring: ring).dropLast(32))
        body[2] = 2
        #expect(reason(body + ring.sign(body)) == .unsupportedVersion)
    }

    @Test func keyRotationAcceptsAdditionalKeysAndSignsWithPrimary() throws {
        let old = try MembershipKeyring(primary: testKey)
        let rotating = try MembershipKeyring(primary: otherKey, additional: [testKey])
        let fromOld = try MembershipCodec.encode(heartbeat, keyring: old)
        #expect(try MembershipCodec.decode(fromOld, keyring: rotating) == heartbeat)
        let fromRotating = try MembershipCodec.encode(heartbeat, keyring: rotating)
        #expect(reason(fromRotating, old) == .badMAC)
    }

    @Test func shortKeysAreRejected() {
        #expect(throws: MembershipKeyring.KeyError.tooShort(index: 0, length: 15)) {
            try MembershipKeyring(primary: Array(repeating: UInt8(1), count: 15))
        }
        #expect(throws: MembershipKeyring.KeyError.tooShort(index: 1, length: 3)) {
            try MembershipKeyring(primary: testKey, additional: [[1, 2, 3]])
        }
    }
}
