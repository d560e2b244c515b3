import NetAddress
/// The NOTIFICATION message (RFC 4271 §4.5). Code and subcode are kept raw so unknown values survive.
public struct NotificationMessage: Hashable, Sendable, CustomStringConvertible {
    public var code: UInt8
    public var subcode: UInt8
    public var data: [UInt8]

    public init(code: UInt8, subcode: UInt8, data: [UInt8] = []) {
        self.code = code
        self.subcode = subcode
        self.data = data
    }

    public init(_ code: NotificationCode, subcode: UInt8 = 0, data: [UInt8] = []) {
        self.init(code: code.rawValue, subcode: subcode, data: data)
    }

    /// Cease with a Shutdown Communication (RFC 9003 §2: 1-octet length + UTF-8, at most 255 octets) for
    /// Administrative Shutdown / Reset.
    public static func cease(_ subcode: CeaseSubcode, shutdownCommunication: String? = nil) -> NotificationMessage {
        var data: [UInt8] = []
        if let text = shutdownCommunication, subcode == .administrativeShutdown || subcode == .administrativeReset {
            var utf8 = Array(text.utf8.prefix(255))
            // Do not cut a multi-byte character in half.
            while !utf8.isEmpty, String(validating: utf8, as: UTF8.self) == nil { utf8.removeLast() }
            data = [UInt8(utf8.count)] + utf8
        }
        return NotificationMessage(.cease, subcode: subcode.rawValue, data: data)
    }

    public var knownCode: NotificationCode? { NotificationCode(rawValue: code) }

    public var codeName: String { knownCode?.description ?? "Unknown error code \(code)" }
    public var subcodeName: String { knownCode?.subcodeName(subcode) ?? "subcode \(subcode)" }

    /// The RFC 9003 Shutdown Communication for Cease / Administrative Shutdown or Reset, if well-formed.
    public var shutdownCommunication: String? {
        guard code == NotificationCode.cease.rawValue,
              subcode == CeaseSubcode.administrativeShutdown.rawValue || subcode == CeaseSubcode.administrativeReset.rawValue,
              let len = data.first, Int(len) == data.count - 1, len > 0 else { return nil }
        return String(validating: data[1...], as: UTF8.self)
    }

    public var description: String {
        var s = "\(codeName) / \(subcodeName)"
        if let text = shutdownCommunication { s += " \"\(text)\"" } else if !data.isEmpty { s += " data=\(Hex.encode(data))" }
        return s
    }

    /// Decodes the body (RFC 4271 §4.5: code, subcode, data to the end of the message).
    public static func decode(body: ArraySlice<UInt8>) throws(BGPError) -> NotificationMessage {
        var r = ByteReader(body)
        guard let code = r.u8(), let sub = r.u8() else {
            throw .header(.badMessageLength, data: lengthData(body.count + 19), "NOTIFICATION shorter than 21 octets")
        }
        return NotificationMessage(code: code, subcode: sub, data: Array(r.readAll()))
    }
}

/// The ROUTE-REFRESH message (RFC 2918 §3) with the Enhanced Route Refresh subtype in the reserved octet
/// (RFC 7313 §3.2).
public struct RouteRefreshMessage: Hashable, Sendable {
    public var afiSafi: AFISAFI
    /// 0 normal request, 1 Beginning of Route Refresh (BoRR), 2 End of Route Refresh (EoRR) (RFC 7313 §3.2).
    public var subtype: UInt8

    public init(_ afiSafi: AFISAFI, subtype: UInt8 = 0) {
        self.afiSafi = afiSafi
        self.subtype = subtype
    }

    public static let normalRequest: UInt8 = 0
    public static let beginningOfRouteRefresh: UInt8 = 1
    public static let endOfRouteRefresh: UInt8 = 2

    /// Decodes the 4-octet body. RFC 7313 §5: a wrong length is ROUTE-REFRESH Message Error / Invalid Message
    /// Length with the complete message as data.
    static func decode(message: ArraySlice<UInt8>) throws(BGPError) -> RouteRefreshMessage {
        var r = ByteReader(message.dropFirst(BGPMessageHeader.size))
        guard r.remaining == 4, let afi = r.u16(), let sub = r.u8(), let safi = r.u8() else {
            throw BGPError(code: .routeRefreshMessageError, subcode: RouteRefreshSubcode.invalidMessageLength.rawValue,
                           data: Array(message), detail: "ROUTE-REFRESH body is \(message.count - BGPMessageHeader.size) octets, not 4")
        }
        return RouteRefreshMessage(AFISAFI(afi: afi, safi: safi), subtype: sub)
    }
}
