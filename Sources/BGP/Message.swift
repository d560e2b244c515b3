import NetAddress
/// BGP message types (RFC 4271 §4.1; 5 from RFC 2918 §3).
public enum MessageType: UInt8, Hashable, Sendable, CaseIterable {
    case open = 1
    case update = 2
    case notification = 3
    case keepalive = 4
    case routeRefresh = 5

    /// Smallest legal message length for the type (RFC 4271 §6.1, RFC 2918 §3).
    var minimumLength: Int {
        switch self {
        case .open: 29
        case .update: 23
        case .notification: 21
        case .keepalive: 19
        case .routeRefresh: 23
        }
    }
}

/// The fixed 19-octet message header (RFC 4271 §4.1): 16-octet all-ones marker, 2-octet length, 1-octet type.
public struct BGPMessageHeader: Hashable, Sendable {
    public var length: Int
    public var type: MessageType

    public static let size = 19
    public static let maxLength = 4096

    /// Validates a header (RFC 4271 §6.1) found at the start of `bytes` (at least 19 octets):
    /// marker not all ones → Connection Not Synchronized; length < 19, > `maxLength`, or wrong for the type →
    /// Bad Message Length (data: the length field); unknown type → Bad Message Type (data: the type octet).
    public static func validate(_ bytes: ArraySlice<UInt8>, maxLength: Int = BGPMessageHeader.maxLength) throws(BGPError) -> BGPMessageHeader {
        guard bytes.count >= size else {
            throw .header(.badMessageLength, data: lengthData(bytes.count), "only \(bytes.count) octets, header needs 19")
        }
        let s = bytes.startIndex
        guard bytes[s..<(s + 16)].allSatisfy({ $0 == 0xFF }) else {
            throw .header(.connectionNotSynchronized, "marker is not all ones")
        }
        let lengthField = [bytes[s + 16], bytes[s + 17]]
        let length = Int(lengthField[0]) << 8 | Int(lengthField[1])
        guard length >= size, length <= maxLength else {
            throw .header(.badMessageLength, data: lengthField, "length \(length) outside 19...\(maxLength)")
        }
        guard let type = MessageType(rawValue: bytes[s + 18]) else {
            throw .header(.badMessageType, data: [bytes[s + 18]], "message type \(bytes[s + 18])")
        }
        guard length >= type.minimumLength, type != .keepalive || length == size else {
            throw .header(.badMessageLength, data: lengthField, "length \(length) invalid for \(type)")
        }
        return BGPMessageHeader(length: length, type: type)
    }
}

/// Any BGP message (RFC 4271 §4).
public enum BGPMessage: Hashable, Sendable {
    case open(OpenMessage)
    case update(UpdateMessage)
    case notification(NotificationMessage)
    case keepalive
    case routeRefresh(RouteRefreshMessage)

    public var type: MessageType {
        switch self {
        case .open: .open
        case .update: .update
        case .notification: .notification
        case .keepalive: .keepalive
        case .routeRefresh: .routeRefresh
        }
    }

    /// Decodes exactly one complete message (header included; `bytes.count` must equal the length field).
    /// UPDATE attribute errors that RFC 7606 resolves without a session reset are returned in
    /// `DecodedMessage.updateErrors`; anything needing a NOTIFICATION throws `BGPError`.
    public static func decode(_ bytes: ArraySlice<UInt8>, context: CodecContext = CodecContext()) throws(BGPError) -> DecodedMessage {
        let h = try BGPMessageHeader.validate(bytes, maxLength: context.maxMessageLength)
        guard h.length == bytes.count else {
            throw .header(.badMessageLength, data: lengthData(h.length), "length field \(h.length) but \(bytes.count) octets given")
        }
        let body = bytes.dropFirst(BGPMessageHeader.size)
        switch h.type {
        case .open: return DecodedMessage(.open(try OpenMessage.decode(body: body)))
        case .update:
            switch try UpdateMessage.decode(body: body, context: context) {
            case .clean(let u): return DecodedMessage(.update(u))
            case .withErrors(let u, let errs): return DecodedMessage(.update(u), updateErrors: errs)
            }
        case .notification: return DecodedMessage(.notification(try NotificationMessage.decode(body: body)))
        case .keepalive: return DecodedMessage(.keepalive)
        case .routeRefresh: return DecodedMessage(.routeRefresh(try RouteRefreshMessage.decode(message: bytes)))
        }
    }

    /// Convenience for `[UInt8]`.
    public static func decode(_ bytes: [UInt8], context: CodecContext = CodecContext()) throws(BGPError) -> DecodedMessage {
        try decode(bytes[...], context: context)
    }

    /// Encodes the whole message, header included; fails if it would exceed `context.maxMessageLength`.
    public func encode(context: CodecContext = CodecContext()) throws(EncodingError) -> [UInt8] {
        var w = ByteWriter(capacity: 64)
        w.append(repeatElement(0xFF, count: 16))
        w.u16(0)
        w.u8(type.rawValue)
        switch self {
        case .open(let o): try o.encodeBody(into: &w)
        case .update(let u): try u.encodeBody(into: &w, context: context)
        case .notification(let n):
            w.u8(n.code); w.u8(n.subcode)
            // Data is diagnostic and may echo a whole peer message (RFC 7313 §5, RFC 4271 §6.3): cut it to the
            // session's limit (RFC 4271 §4.1) so the error is still reported instead of failing to encode.
            w.append(n.data.prefix(max(0, min(context.maxMessageLength, 0xFFFF) - BGPMessageHeader.size - 2)))
        case .keepalive: break
        case .routeRefresh(let r): w.u16(r.afiSafi.afi); w.u8(r.subtype); w.u8(r.afiSafi.safi)
        }
        guard w.bytes.count <= min(context.maxMessageLength, 0xFFFF) else {
            throw EncodingError("\(type) message is \(w.bytes.count) octets, limit \(context.maxMessageLength)")
        }
        w.patchU16(at: 16, UInt16(w.bytes.count))
        return w.bytes
    }
}

/// A decoded message plus the RFC 7606 error handlings applied while decoding an UPDATE.
public struct DecodedMessage: Hashable, Sendable {
    public var message: BGPMessage
    /// Non-empty only for an UPDATE in which attribute errors were resolved by "treat-as-withdraw" or
    /// "attribute discard" (RFC 7606 §2).
    public var updateErrors: [UpdateErrorHandling]

    public init(_ message: BGPMessage, updateErrors: [UpdateErrorHandling] = []) {
        self.message = message
        self.updateErrors = updateErrors
    }

    /// RFC 7606 §2: all NLRI of this UPDATE must be handled as withdrawn.
    public var treatAsWithdraw: Bool { updateErrors.contains { $0.action == .treatAsWithdraw } }
}
