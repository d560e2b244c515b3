import Crypto
import Foundation

/// A member's compact identity inside messages: the first 8 bytes (big-endian) of SHA-256 over the UTF-8 name.
///
/// Lists of members travel as these ids, not names, so a heartbeat stays far below one MTU even with many entries.
/// Two names of one cluster sharing an id (probability about n²/2⁶⁵) only disables indirect evidence for them.
public struct MemberID: Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(name: String) {
        let digest = SHA256.hash(data: Array(name.utf8))
        var value: UInt64 = 0
        for byte in digest.prefix(8) { value = value << 8 | UInt64(byte) }
        self.rawValue = value
    }

    public var description: String { String(rawValue, radix: 16) }
}

/// "I heard `member` directly `ageMilliseconds` ago" (rounded up, saturating), sent in answer to a peer's missing list.
public struct Evidence: Hashable, Sendable {
    public var member: MemberID
    public var ageMilliseconds: UInt16

    public init(member: MemberID, ageMilliseconds: UInt16) {
        self.member = member
        self.ageMilliseconds = ageMilliseconds
    }
}

/// One membership datagram (wire version 1).
///
/// Layout, all integers big-endian:
/// ```
/// 0      2 bytes  magic 0x53 0x4D ("SM")
/// 2      1 byte   version (1)
/// 3      1 byte   kind: 1 heartbeat, 2 leave
/// 4      8 bytes  sender incarnation
/// 12     8 bytes  sender sequence number (per incarnation, strictly increasing)
/// 20     1 byte   sender name length n (1...253), then n bytes UTF-8 name
/// heartbeat only:
///        1 byte   m = missing count, then m × 8-byte MemberID (members the sender has not heard directly lately)
///        1 byte   e = evidence count, then e × (8-byte MemberID, 2-byte age in ms) (answers to peers' missing lists)
/// last   32 bytes HMAC-SHA256 (RFC 2104, FIPS 180-4) over every preceding byte
/// ```
public struct MembershipMessage: Hashable, Sendable {
    public enum Kind: UInt8, Sendable {
        case heartbeat = 1
        /// Graceful shutdown: receivers drop the sender at once.
        case leave = 2
    }

    public var kind: Kind
    public var sender: String
    public var incarnation: UInt64
    public var sequence: UInt64
    public var missing: [MemberID]
    public var evidence: [Evidence]

    public init(kind: Kind, sender: String, incarnation: UInt64, sequence: UInt64,
                missing: [MemberID] = [], evidence: [Evidence] = []) {
        self.kind = kind
        self.sender = sender
        self.incarnation = incarnation
        self.sequence = sequence
        self.missing = missing
        self.evidence = evidence
    }
}

/// Why an incoming datagram was dropped (each is counted).
public enum DropReason: String, CaseIterable, Hashable, Sendable {
    /// From an address and port that is no member's (dropped before the MAC is computed; `MembershipSourceGate`).
    case unknownSource
    /// From a member's address, beyond the datagrams a second verified from one address (dropped unverified).
    case sourceOverBudget
    /// Shorter than a header plus MAC.
    case truncated
    /// Not a membership message at all.
    case badMagic
    case unsupportedVersion
    /// Wrong key or tampered bytes.
    case badMAC
    /// Authenticated but inconsistent lengths, bad UTF-8, trailing bytes.
    case malformed
    case unknownKind
    /// Sender name not in the member list.
    case unknownSender
    /// Our own name (a looped-back packet, or another node misconfigured with our name).
    case fromSelf
    /// An incarnation older than the newest seen from that sender (a restarted node's past, or a replay).
    case staleIncarnation
    /// A sequence number not above the last accepted one of that incarnation (duplicate or replay).
    case replayedSequence
    /// A heartbeat from an incarnation that already said leave.
    case afterLeave
}

/// A datagram that could not be accepted, with the counted reason and a human detail.
public struct MembershipDecodeError: Error, Equatable, CustomStringConvertible {
    public var reason: DropReason
    public var detail: String

    public init(_ reason: DropReason, _ detail: String) {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { "\(reason.rawValue): \(detail)" }
}

public enum MembershipCodec {
    static let magic: (UInt8, UInt8) = (0x53, 0x4D)
    static let macLength = 32
    /// Fixed part before the name: magic, version, kind, incarnation, sequence, name length.
    static let fixedHeaderLength = 21
    public static let maxNameLength = 253
    /// Cap on each list so a full heartbeat (≤ 21 + 253 + 1 + 60·8 + 1 + 60·10 + 32 = 1,388 bytes) fits one IPv6 datagram on a 1500-byte MTU.
    public static let maxListEntries = 60

    public enum EncodeError: Error, Equatable {
        case badName(String)
    }

    /// Encodes and signs `message`. Lists longer than `maxListEntries` are an error of the caller (the state machine trims).
    public static func encode(_ message: MembershipMessage, keyring: MembershipKeyring) throws(EncodeError) -> [UInt8] {
        let name = Array(message.sender.utf8)
        guard !name.isEmpty, name.count <= maxNameLength else { throw .badName(message.sender) }
        var out: [UInt8] = []
        out.reserveCapacity(fixedHeaderLength + name.count + 2 + message.missing.count * 8 + message.evidence.count * 10 + macLength)
        out.append(magic.0)
        out.append(magic.1)
        out.append(Membership.wireVersion)
        out.append(message.kind.rawValue)
        appendBE(message.incarnation, to: &out)
        appendBE(message.sequence, to: &out)
        out.append(UInt8(name.count))
        out.append(contentsOf: name)
        if message.kind == .heartbeat {
            let missing = message.missing.prefix(maxListEntries)
            out.append(UInt8(missing.count))
            for id in missing { appendBE(id.rawValue, to: &out) }
            let evidence = message.evidence.prefix(maxListEntries)
            out.append(UInt8(evidence.count))
            for e in evidence {
                appendBE(e.member.rawValue, to: &out)
                out.append(UInt8(e.ageMilliseconds >> 8))
                out.append(UInt8(e.ageMilliseconds & 0xFF))
            }
        }
        out.append(contentsOf: keyring.sign(out))
        return out
    }

    /// Verifies and decodes one datagram. The MAC is checked before anything past the fixed header is parsed.
    public static func decode(_ bytes: some Collection<UInt8>, keyring: MembershipKeyring) throws(MembershipDecodeError) -> MembershipMessage {
        let b = Array(bytes)
        guard b.count >= fixedHeaderLength + 1 + macLength else {
            throw MembershipDecodeError(.truncated, "\(b.count) bytes")
        }
        guard b[0] == magic.0, b[1] == magic.1 else { throw MembershipDecodeError(.badMagic, "magic \(b[0]) \(b[1])") }
        guard b[2] == Membership.wireVersion else {
            throw MembershipDecodeError(.unsupportedVersion, "version \(b[2])")
        }
        let body = b[0 ..< b.count - macLength]
        let mac = b[(b.count - macLength)...]
        guard keyring.verify(mac, over: body) else { throw MembershipDecodeError(.badMAC, "HMAC-SHA256 mismatch") }
        guard let kind = MembershipMessage.Kind(rawValue: b[3]) else {
            throw MembershipDecodeError(.unknownKind, "kind \(b[3])")
        }
        var r = Reader(bytes: b, end: b.count - macLength, at: 4)
        let incarnation = try r.u64()
        let sequence = try r.u64()
        let nameLength = Int(try r.u8())
        guard nameLength >= 1 else { throw MembershipDecodeError(.malformed, "empty sender name") }
        let nameBytes = try r.bytes(nameLength)
        guard let name = String(validating: nameBytes, as: UTF8.self) else {
            throw MembershipDecodeError(.malformed, "sender name is not UTF-8")
        }
        var message = MembershipMessage(kind: kind, sender: name, incarnation: incarnation, sequence: sequence)
        if kind == .heartbeat {
            let m = Int(try r.u8())
            message.missing.reserveCapacity(m)
            for _ in 0 ..< m { message.missing.append(MemberID(rawValue: try r.u64())) }
            let e = Int(try r.u8())
            message.evidence.reserveCapacity(e)
            for _ in 0 ..< e {
                let id = MemberID(rawValue: try r.u64())
                let age = UInt16(try r.u8()) << 8 | UInt16(try r.u8())
                message.evidence.append(Evidence(member: id, ageMilliseconds: age))
            }
        }
        guard r.at == r.end else { throw MembershipDecodeError(.malformed, "\(r.end - r.at) trailing bytes") }
        return message
    }

    private static func appendBE(_ v: UInt64, to out: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: v >> UInt64(shift))) }
    }

    private struct Reader {
        let bytes: [UInt8]
        let end: Int
        var at: Int

        mutating func u8() throws(MembershipDecodeError) -> UInt8 {
            guard at < end else { throw MembershipDecodeError(.malformed, "truncated at byte \(at)") }
            defer { at += 1 }
            return bytes[at]
        }

        mutating func u64() throws(MembershipDecodeError) -> UInt64 {
            guard end - at >= 8 else { throw MembershipDecodeError(.malformed, "truncated at byte \(at)") }
            var v: UInt64 = 0
            for i in at ..< at + 8 { v = v << 8 | UInt64(bytes[i]) }
            at += 8
            return v
        }

        mutating func bytes(_ n: Int) throws(MembershipDecodeError) -> ArraySlice<UInt8> {
            guard end - at >= n else { throw MembershipDecodeError(.malformed, "truncated at byte \(at)") }
            defer { at += n }
            return bytes[at ..< at + n]
        }
    }
}
