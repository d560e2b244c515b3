/// BFD (RFC 5880 asynchronous mode, RFC 5881 single hop): codec, session state machine and UDP endpoint.
public enum BFD {
    /// UDP destination port of single-hop control packets (RFC 5881 §4).
    public static let controlPort = 3784
    /// Source ports must come from this range (RFC 5881 §4).
    public static let sourcePortRange: ClosedRange<Int> = 49152 ... 65535
    /// TTL / hop limit of every packet we send and the only one accepted on single-hop sessions (RFC 5881 §5).
    public static let singleHopTTL: UInt8 = 255
}

/// Session state as carried in the Sta field (RFC 5880 §4.1).
public enum BFDState: UInt8, Sendable, Hashable, CustomStringConvertible {
    case adminDown = 0
    case down = 1
    case `init` = 2
    case up = 3

    public var description: String {
        switch self {
        case .adminDown: "AdminDown"
        case .down: "Down"
        case .`init`: "Init"
        case .up: "Up"
        }
    }
}

/// Diagnostic code (RFC 5880 §4.1). Values 9–31 are reserved but must still decode: receivers do not check them.
public struct BFDDiagnostic: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue & 0x1F }

    public static let none = BFDDiagnostic(rawValue: 0)
    public static let controlDetectionTimeExpired = BFDDiagnostic(rawValue: 1)
    public static let echoFunctionFailed = BFDDiagnostic(rawValue: 2)
    public static let neighborSignaledSessionDown = BFDDiagnostic(rawValue: 3)
    public static let forwardingPlaneReset = BFDDiagnostic(rawValue: 4)
    public static let pathDown = BFDDiagnostic(rawValue: 5)
    public static let concatenatedPathDown = BFDDiagnostic(rawValue: 6)
    public static let administrativelyDown = BFDDiagnostic(rawValue: 7)
    public static let reverseConcatenatedPathDown = BFDDiagnostic(rawValue: 8)

    public var description: String {
        switch rawValue {
        case 0: "no diagnostic"
        case 1: "control detection time expired"
        case 2: "echo function failed"
        case 3: "neighbor signaled session down"
        case 4: "forwarding plane reset"
        case 5: "path down"
        case 6: "concatenated path down"
        case 7: "administratively down"
        case 8: "reverse concatenated path down"
        default: "reserved diagnostic \(rawValue)"
        }
    }
}

/// Why a received control packet was discarded: the checks of RFC 5880 §6.8.6 that need no session.
public enum BFDPacketError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Fewer bytes than the 24-octet mandatory section.
    case truncated(received: Int)
    /// Version other than 1.
    case unsupportedVersion(UInt8)
    /// Length field below the minimum (24, or 26 with the A bit).
    case lengthTooShort(length: UInt8, minimum: Int)
    /// Length field larger than the UDP payload.
    case lengthExceedsPayload(length: UInt8, payload: Int)
    case zeroDetectMultiplier
    /// M bit set: reserved for multipoint, must be 0.
    case multipointBitSet
    case zeroMyDiscriminator
    /// Your Discriminator 0 is only legal while the sender is Down or AdminDown.
    case zeroYourDiscriminator(state: BFDState)
    /// A bit set: authentication is not supported here, so such packets are discarded.
    case authenticationNotSupported

    public var description: String {
        switch self {
        case let .truncated(n): "truncated control packet: \(n) bytes, need 24"
        case let .unsupportedVersion(v): "unsupported BFD version \(v)"
        case let .lengthTooShort(l, m): "length field \(l) below minimum \(m)"
        case let .lengthExceedsPayload(l, p): "length field \(l) exceeds payload of \(p) bytes"
        case .zeroDetectMultiplier: "detect multiplier is zero"
        case .multipointBitSet: "multipoint (M) bit set"
        case .zeroMyDiscriminator: "my discriminator is zero"
        case let .zeroYourDiscriminator(s): "your discriminator is zero in state \(s)"
        case .authenticationNotSupported: "authentication (A) bit set but authentication is not configured"
        }
    }
}

/// The BFD control packet, mandatory section (RFC 5880 §4.1). Intervals are in microseconds, as on the wire.
public struct BFDControlPacket: Sendable, Hashable {
    public static let mandatoryLength = 24
    public static let version: UInt8 = 1

    public var version: UInt8 = BFDControlPacket.version
    public var diagnostic: BFDDiagnostic = .none
    public var state: BFDState
    public var poll = false
    public var final = false
    public var controlPlaneIndependent = false
    public var authenticationPresent = false
    public var demand = false
    public var multipoint = false
    public var detectMultiplier: UInt8
    public var length: UInt8 = UInt8(BFDControlPacket.mandatoryLength)
    public var myDiscriminator: UInt32
    public var yourDiscriminator: UInt32
    public var desiredMinTxInterval: UInt32
    public var requiredMinRxInterval: UInt32
    public var requiredMinEchoRxInterval: UInt32 = 0

    public init(diagnostic: BFDDiagnostic = .none, state: BFDState, poll: Bool = false, final: Bool = false,
                detectMultiplier: UInt8, myDiscriminator: UInt32, yourDiscriminator: UInt32,
                desiredMinTxInterval: UInt32, requiredMinRxInterval: UInt32, requiredMinEchoRxInterval: UInt32 = 0) {
        self.diagnostic = diagnostic
        self.state = state
        self.poll = poll
        self.final = final
        self.detectMultiplier = detectMultiplier
        self.myDiscriminator = myDiscriminator
        self.yourDiscriminator = yourDiscriminator
        self.desiredMinTxInterval = desiredMinTxInterval
        self.requiredMinRxInterval = requiredMinRxInterval
        self.requiredMinEchoRxInterval = requiredMinEchoRxInterval
    }

    /// The 24 octets of the mandatory section, fields written as they are (no validation: tests build bad packets too).
    public func encoded() -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Self.mandatoryLength)
        bytes.append((version & 0x07) << 5 | diagnostic.rawValue & 0x1F)
        var flags = state.rawValue << 6
        if poll { flags |= 0x20 }
        if final { flags |= 0x10 }
        if controlPlaneIndependent { flags |= 0x08 }
        if authenticationPresent { flags |= 0x04 }
        if demand { flags |= 0x02 }
        if multipoint { flags |= 0x01 }
        bytes.append(flags)
        bytes.append(detectMultiplier)
        bytes.append(length)
        for word in [myDiscriminator, yourDiscriminator, desiredMinTxInterval, requiredMinRxInterval, requiredMinEchoRxInterval] {
            bytes.append(UInt8(truncatingIfNeeded: word >> 24))
            bytes.append(UInt8(truncatingIfNeeded: word >> 16))
            bytes.append(UInt8(truncatingIfNeeded: word >> 8))
            bytes.append(UInt8(truncatingIfNeeded: word))
        }
        return bytes
    }

    /// Decodes a UDP payload and applies the session-independent reception checks of RFC 5880 §6.8.6 in the RFC's
    /// order. Authentication is never configured here, so a packet with the A bit is discarded.
    public static func decode(_ payload: some Collection<UInt8>) throws(BFDPacketError) -> BFDControlPacket {
        let bytes = Array(payload)
        guard bytes.count >= mandatoryLength else { throw .truncated(received: bytes.count) }
        func word(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) << 24 | UInt32(bytes[at + 1]) << 16 | UInt32(bytes[at + 2]) << 8 | UInt32(bytes[at + 3])
        }
        let version = bytes[0] >> 5
        guard version == Self.version else { throw .unsupportedVersion(version) }
        // The two state bits cover all four values, so this cannot fail.
        let state = BFDState(rawValue: bytes[1] >> 6) ?? .down
        var packet = BFDControlPacket(
            diagnostic: BFDDiagnostic(rawValue: bytes[0] & 0x1F), state: state,
            poll: bytes[1] & 0x20 != 0, final: bytes[1] & 0x10 != 0,
            detectMultiplier: bytes[2], myDiscriminator: word(4), yourDiscriminator: word(8),
            desiredMinTxInterval: word(12), requiredMinRxInterval: word(16), requiredMinEchoRxInterval: word(20))
        packet.controlPlaneIndependent = bytes[1] & 0x08 != 0
        packet.authenticationPresent = bytes[1] & 0x04 != 0
        packet.demand = bytes[1] & 0x02 != 0
        packet.multipoint = bytes[1] & 0x01 != 0
        packet.length = bytes[3]

        // §6.8.6: length at least 24 (26 with authentication) and no larger than the encapsulating payload.
        let minimum = packet.authenticationPresent ? 26 : mandatoryLength
        guard Int(packet.length) >= minimum else { throw .lengthTooShort(length: packet.length, minimum: minimum) }
        guard Int(packet.length) <= bytes.count else { throw .lengthExceedsPayload(length: packet.length, payload: bytes.count) }
        guard packet.detectMultiplier != 0 else { throw .zeroDetectMultiplier }
        guard !packet.multipoint else { throw .multipointBitSet }
        guard packet.myDiscriminator != 0 else { throw .zeroMyDiscriminator }
        if packet.yourDiscriminator == 0, packet.state != .down, packet.state != .adminDown {
            throw .zeroYourDiscriminator(state: packet.state)
        }
        // §6.8.6: "If the A bit is set and no authentication is in use (bfd.AuthType is zero), the packet MUST be discarded."
        guard !packet.authenticationPresent else { throw .authenticationNotSupported }
        return packet
    }
}
