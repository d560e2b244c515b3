import Foundation
import Kube

/// metallb.io/v1beta1 BFDProfile: parameters of BFD sessions (RFC 5880, RFC 5881, RFC 5883) tied to BGP sessions.
public struct BFDProfile: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "bfdprofiles", "BFDProfile")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: BFDProfileSpec?
    public var status: JSONValue?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: BFDProfileSpec? = nil, status: JSONValue? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// BFDProfile spec; intervals are in milliseconds.
public struct BFDProfileSpec: Codable, Sendable, Hashable {
    /// Required Min RX Interval, 10-60000 ms (default 300).
    public var receiveInterval: UInt32?
    /// Desired Min TX Interval, 10-60000 ms (default 300).
    public var transmitInterval: UInt32?
    /// Detect Mult, 2-255 (default 3).
    public var detectMultiplier: UInt32?
    /// Required Min Echo RX Interval, 10-60000 ms (default 50).
    public var echoInterval: UInt32?
    /// Send echo packets (single hop only; default false).
    public var echoMode: Bool?
    /// Wait for the peer's control packets before sending (default false).
    public var passiveMode: Bool?
    /// Minimum TTL of incoming packets for multihop sessions (RFC 5883), 1-254 (default 254).
    public var minimumTtl: UInt32?

    public init(
        receiveInterval: UInt32? = nil, transmitInterval: UInt32? = nil, detectMultiplier: UInt32? = nil,
        echoInterval: UInt32? = nil, echoMode: Bool? = nil, passiveMode: Bool? = nil, minimumTtl: UInt32? = nil
    ) {
        self.receiveInterval = receiveInterval
        self.transmitInterval = transmitInterval
        self.detectMultiplier = detectMultiplier
        self.echoInterval = echoInterval
        self.echoMode = echoMode
        self.passiveMode = passiveMode
        self.minimumTtl = minimumTtl
    }
}

extension BFDProfileSpec {
    /// Allowed range of receiveInterval, transmitInterval and echoInterval (ms).
    public static let intervalRange: ClosedRange<UInt32> = 10...60000
    /// Allowed range of detectMultiplier.
    public static let detectMultiplierRange: ClosedRange<UInt32> = 2...255
    /// Allowed range of minimumTtl.
    public static let minimumTtlRange: ClosedRange<UInt32> = 1...254

    /// Values used when a field is unset (FRR's bfdd defaults, which MetalLB documents).
    public static let defaultReceiveInterval: UInt32 = 300
    public static let defaultTransmitInterval: UInt32 = 300
    public static let defaultDetectMultiplier: UInt32 = 3
    public static let defaultEchoInterval: UInt32 = 50
    public static let defaultMinimumTtl: UInt32 = 254

    public var effectiveReceiveInterval: UInt32 { receiveInterval ?? Self.defaultReceiveInterval }
    public var effectiveTransmitInterval: UInt32 { transmitInterval ?? Self.defaultTransmitInterval }
    public var effectiveDetectMultiplier: UInt32 { detectMultiplier ?? Self.defaultDetectMultiplier }
    public var effectiveEchoInterval: UInt32 { echoInterval ?? Self.defaultEchoInterval }
    public var effectiveMinimumTtl: UInt32 { minimumTtl ?? Self.defaultMinimumTtl }
    public var effectiveEchoMode: Bool { echoMode ?? false }
    public var effectivePassiveMode: Bool { passiveMode ?? false }
}
