import NetAddress
/// NOTIFICATION Error Codes (RFC 4271 §4.5; 5 refined by RFC 6608, 6 by RFC 4486, 7 by RFC 7313).
public enum NotificationCode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case messageHeaderError = 1
    case openMessageError = 2
    case updateMessageError = 3
    case holdTimerExpired = 4
    case finiteStateMachineError = 5
    case cease = 6
    case routeRefreshMessageError = 7

    public var description: String {
        switch self {
        case .messageHeaderError: "Message Header Error"
        case .openMessageError: "OPEN Message Error"
        case .updateMessageError: "UPDATE Message Error"
        case .holdTimerExpired: "Hold Timer Expired"
        case .finiteStateMachineError: "Finite State Machine Error"
        case .cease: "Cease"
        case .routeRefreshMessageError: "ROUTE-REFRESH Message Error"
        }
    }

    /// Name of `subcode` under this code, or nil when unassigned (IANA "BGP Error Subcodes").
    public func subcodeName(_ subcode: UInt8) -> String? {
        switch self {
        case .messageHeaderError: MessageHeaderSubcode(rawValue: subcode)?.description
        case .openMessageError: OpenSubcode(rawValue: subcode)?.description
        case .updateMessageError: UpdateSubcode(rawValue: subcode)?.description
        case .holdTimerExpired: subcode == 0 ? "Unspecific" : nil
        case .finiteStateMachineError: FSMSubcode(rawValue: subcode)?.description
        case .cease: CeaseSubcode(rawValue: subcode)?.description
        case .routeRefreshMessageError: RouteRefreshSubcode(rawValue: subcode)?.description
        }
    }
}

/// Message Header Error subcodes (RFC 4271 §4.5).
public enum MessageHeaderSubcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case unspecific = 0
    case connectionNotSynchronized = 1
    case badMessageLength = 2
    case badMessageType = 3

    public var description: String {
        switch self {
        case .unspecific: "Unspecific"
        case .connectionNotSynchronized: "Connection Not Synchronized"
        case .badMessageLength: "Bad Message Length"
        case .badMessageType: "Bad Message Type"
        }
    }
}

/// OPEN Message Error subcodes (RFC 4271 §4.5, RFC 5492 §5, RFC 9234 §4.2).
public enum OpenSubcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case unspecific = 0
    case unsupportedVersionNumber = 1
    case badPeerAS = 2
    case badBGPIdentifier = 3
    case unsupportedOptionalParameter = 4
    case authenticationFailure = 5
    case unacceptableHoldTime = 6
    case unsupportedCapability = 7
    case roleMismatch = 11

    public var description: String {
        switch self {
        case .unspecific: "Unspecific"
        case .unsupportedVersionNumber: "Unsupported Version Number"
        case .badPeerAS: "Bad Peer AS"
        case .badBGPIdentifier: "Bad BGP Identifier"
        case .unsupportedOptionalParameter: "Unsupported Optional Parameter"
        case .authenticationFailure: "Authentication Failure (deprecated)"
        case .unacceptableHoldTime: "Unacceptable Hold Time"
        case .unsupportedCapability: "Unsupported Capability"
        case .roleMismatch: "Role Mismatch"
        }
    }
}

/// UPDATE Message Error subcodes (RFC 4271 §4.5).
public enum UpdateSubcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case unspecific = 0
    case malformedAttributeList = 1
    case unrecognizedWellKnownAttribute = 2
    case missingWellKnownAttribute = 3
    case attributeFlagsError = 4
    case attributeLengthError = 5
    case invalidOriginAttribute = 6
    case asRoutingLoop = 7
    case invalidNextHopAttribute = 8
    case optionalAttributeError = 9
    case invalidNetworkField = 10
    case malformedASPath = 11

    public var description: String {
        switch self {
        case .unspecific: "Unspecific"
        case .malformedAttributeList: "Malformed Attribute List"
        case .unrecognizedWellKnownAttribute: "Unrecognized Well-known Attribute"
        case .missingWellKnownAttribute: "Missing Well-known Attribute"
        case .attributeFlagsError: "Attribute Flags Error"
        case .attributeLengthError: "Attribute Length Error"
        case .invalidOriginAttribute: "Invalid ORIGIN Attribute"
        case .asRoutingLoop: "AS Routing Loop (deprecated)"
        case .invalidNextHopAttribute: "Invalid NEXT_HOP Attribute"
        case .optionalAttributeError: "Optional Attribute Error"
        case .invalidNetworkField: "Invalid Network Field"
        case .malformedASPath: "Malformed AS_PATH"
        }
    }
}

/// Finite State Machine Error subcodes (RFC 6608 §3).
public enum FSMSubcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case unspecified = 0
    case unexpectedMessageInOpenSent = 1
    case unexpectedMessageInOpenConfirm = 2
    case unexpectedMessageInEstablished = 3

    public var description: String {
        switch self {
        case .unspecified: "Unspecified Error"
        case .unexpectedMessageInOpenSent: "Receive Unexpected Message in OpenSent State"
        case .unexpectedMessageInOpenConfirm: "Receive Unexpected Message in OpenConfirm State"
        case .unexpectedMessageInEstablished: "Receive Unexpected Message in Established State"
        }
    }
}

/// Cease subcodes (RFC 4486 §4, RFC 8538 §5 Hard Reset, RFC 9384 BFD Down).
public enum CeaseSubcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case unspecific = 0
    case maximumNumberOfPrefixesReached = 1
    case administrativeShutdown = 2
    case peerDeconfigured = 3
    case administrativeReset = 4
    case connectionRejected = 5
    case otherConfigurationChange = 6
    case connectionCollisionResolution = 7
    case outOfResources = 8
    case hardReset = 9
    case bfdDown = 10

    public var description: String {
        switch self {
        case .unspecific: "Unspecific"
        case .maximumNumberOfPrefixesReached: "Maximum Number of Prefixes Reached"
        case .administrativeShutdown: "Administrative Shutdown"
        case .peerDeconfigured: "Peer De-configured"
        case .administrativeReset: "Administrative Reset"
        case .connectionRejected: "Connection Rejected"
        case .otherConfigurationChange: "Other Configuration Change"
        case .connectionCollisionResolution: "Connection Collision Resolution"
        case .outOfResources: "Out of Resources"
        case .hardReset: "Hard Reset"
        case .bfdDown: "BFD Down"
        }
    }
}

/// ROUTE-REFRESH Message Error subcodes (RFC 7313 §5).
public enum RouteRefreshSubcode: UInt8, Hashable, Sendable, CaseIterable, CustomStringConvertible {
    case reserved = 0
    case invalidMessageLength = 1

    public var description: String {
        switch self {
        case .reserved: "Reserved"
        case .invalidMessageLength: "Invalid Message Length"
        }
    }
}

/// A protocol error found in peer input that must be answered with a NOTIFICATION and a session reset
/// (RFC 4271 §6; RFC 7606 §2 "session reset"). `code`/`subcode`/`data` are exactly what goes on the wire.
public struct BGPError: Error, Hashable, Sendable, CustomStringConvertible {
    public var code: NotificationCode
    public var subcode: UInt8
    public var data: [UInt8]
    /// Human-readable detail for logs; not sent.
    public var detail: String
    /// For MP_REACH_NLRI / MP_UNREACH_NLRI errors: the AFI/SAFI concerned, so the caller may choose
    /// "AFI/SAFI disable" instead of a session reset (RFC 4760 §7, RFC 7606 §2).
    public var afiSafi: AFISAFI?

    public init(code: NotificationCode, subcode: UInt8, data: [UInt8] = [], detail: String = "", afiSafi: AFISAFI? = nil) {
        self.code = code
        self.subcode = subcode
        self.data = data
        self.detail = detail
        self.afiSafi = afiSafi
    }

    static func header(_ s: MessageHeaderSubcode, data: [UInt8] = [], _ detail: String) -> BGPError {
        BGPError(code: .messageHeaderError, subcode: s.rawValue, data: data, detail: detail)
    }
    static func open(_ s: OpenSubcode, data: [UInt8] = [], _ detail: String) -> BGPError {
        BGPError(code: .openMessageError, subcode: s.rawValue, data: data, detail: detail)
    }
    static func update(_ s: UpdateSubcode, data: [UInt8] = [], _ detail: String, afiSafi: AFISAFI? = nil) -> BGPError {
        BGPError(code: .updateMessageError, subcode: s.rawValue, data: data, detail: detail, afiSafi: afiSafi)
    }

    /// The NOTIFICATION to send.
    public var notification: NotificationMessage { NotificationMessage(code: code.rawValue, subcode: subcode, data: data) }

    public var description: String {
        let sub = code.subcodeName(subcode) ?? "subcode \(subcode)"
        return "\(code) / \(sub)" + (data.isEmpty ? "" : " data=\(Hex.encode(data))") + (detail.isEmpty ? "" : ": \(detail)")
    }
}

/// Our own value cannot be put on the wire (RFC 4271 §4 limits: too long, wrong family, …). Never caused by peer input.
public struct EncodingError: Error, Hashable, Sendable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "BGP encoding error: \(reason)" }
}

/// An AFI/SAFI pair (RFC 4760 §5: AFI 2 octets, SAFI 1 octet).
public struct AFISAFI: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var afi: UInt16
    public var safi: UInt8

    public init(afi: UInt16, safi: UInt8) { self.afi = afi; self.safi = safi }

    public static let ipv4Unicast = AFISAFI(afi: 1, safi: 1)
    public static let ipv6Unicast = AFISAFI(afi: 2, safi: 1)

    /// The address family when it is one this codec carries.
    public var family: AddressFamily? { AddressFamily(rawValue: afi) }

    /// The unicast AFI/SAFI for `family`.
    public static func unicast(_ family: AddressFamily) -> AFISAFI { family == .ipv4 ? .ipv4Unicast : .ipv6Unicast }
    public static func unicast(_ family: IPFamily) -> AFISAFI { family == .ipv4 ? .ipv4Unicast : .ipv6Unicast }

    public var description: String {
        switch (afi, safi) {
        case (1, 1): "ipv4-unicast"
        case (2, 1): "ipv6-unicast"
        default: "afi \(afi) safi \(safi)"
        }
    }

    public static func < (l: Self, r: Self) -> Bool { (l.afi, l.safi) < (r.afi, r.safi) }
}

/// Per-session facts negotiated in OPEN (RFC 6793 §4, RFC 7606 §7.5, RFC 4271 §4.1) that change how UPDATEs are read and written.
public struct CodecContext: Hashable, Sendable {
    /// Both sides sent the 4-octet AS capability: AS_PATH / AGGREGATOR carry 4-octet ASNs (RFC 6793 §4.1).
    public var fourOctetAS: Bool
    /// The peer is in our AS: LOCAL_PREF is accepted (RFC 7606 §7.5 discards it from external peers).
    public var isInternalPeer: Bool
    /// Largest message accepted or produced (RFC 4271 §4.1: 4096).
    public var maxMessageLength: Int

    public init(fourOctetAS: Bool = true, isInternalPeer: Bool = false, maxMessageLength: Int = BGPMessageHeader.maxLength) {
        self.fourOctetAS = fourOctetAS
        self.isInternalPeer = isInternalPeer
        self.maxMessageLength = maxMessageLength
    }

    /// Derives the context from both OPEN messages (RFC 6793 §4: 4-octet ASNs only if both advertise the capability).
    public static func negotiated(local: OpenMessage, remote: OpenMessage) -> CodecContext {
        let four = local.fourOctetASCapability != nil && remote.fourOctetASCapability != nil
        return CodecContext(fourOctetAS: four, isInternalPeer: local.asNumber == remote.asNumber)
    }
}
