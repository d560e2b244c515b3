import Foundation
import NetAddress
import Kube

// The storage version is v1beta2; v1beta1 is also served and decodes into this same type. v1beta1 has only
// myASN, peerASN, peerAddress (all three required), sourceAddress, peerPort (no default), holdTime,
// keepaliveTime, routerID, nodeSelectors, password, bfdProfile and ebgpMultiHop; its holdTime and
// keepaliveTime are not optional in Go, so v1beta1 objects may carry "0s" for "not set".

/// metallb.io BGPPeer (v1beta2, also read from v1beta1): a BGP session (RFC 4271) the speakers open to a router.
public struct BGPPeer: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta2", "bgppeers", "BGPPeer")
    /// The deprecated, still served version.
    public static let v1beta1ResourceType = metallbResource("v1beta1", "bgppeers", "BGPPeer")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: BGPPeerSpec
    public var status: JSONValue?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: BGPPeerSpec = BGPPeerSpec(), status: JSONValue? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }

    /// True when the object was written as metallb.io/v1beta1.
    public var isV1beta1: Bool { apiVersion == Self.v1beta1ResourceType.apiVersion }

    // The CRD does not mark spec as required; an object without one decodes with an empty spec
    // (myASN 0) so validation can say what is missing.
    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, spec, status }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ObjectMeta.self, forKey: .metadata) ?? ObjectMeta()
        spec = try c.decodeIfPresent(BGPPeerSpec.self, forKey: .spec) ?? BGPPeerSpec()
        status = try c.decodeIfPresent(JSONValue.self, forKey: .status)
    }
}

/// Whether the peer's AS number is learned from its OPEN message, and which ones are accepted.
public enum DynamicASNMode: String, Codable, Sendable, Hashable, CaseIterable {
    /// Accept only the local AS number (iBGP).
    case `internal`
    /// Accept any AS number but the local one (eBGP).
    case external
}

/// A reference to a Secret by name and namespace (core/v1 SecretReference).
public struct SecretReference: Codable, Sendable, Hashable {
    public var name: String?
    public var namespace: String?

    public init(name: String? = nil, namespace: String? = nil) {
        self.name = name
        self.namespace = namespace
    }
}

/// BGPPeer spec (v1beta2 field set; a superset of v1beta1).
public struct BGPPeerSpec: Codable, Sendable, Hashable {
    /// Local AS number (RFC 6793 four-octet), 1-4294967295.
    public var myASN: UInt32
    /// Remote AS number; exclusive with `dynamicASN`, one of them is required.
    public var peerASN: UInt32?
    /// AS number presented to this peer instead of myASN.
    public var localASN: UInt32?
    /// Learn the remote AS number: internal or external.
    public var dynamicASN: String?
    /// Address to connect to; exclusive with `interface`.
    public var peerAddress: String?
    /// Host interface for unnumbered BGP (RFC 5549); exclusive with `peerAddress`.
    public var interface: String?
    /// Local address to connect from.
    public var sourceAddress: String?
    /// TCP port of the peer, 1-16384 (default 179).
    public var peerPort: UInt16?
    /// Proposed hold time (RFC 4271 section 4.2): 0 or at least 3s.
    public var holdTime: String?
    /// Keepalive interval (RFC 4271 section 4.4), at most holdTime.
    public var keepaliveTime: String?
    /// Time between connection attempts, whole seconds from 1s to 65535s.
    public var connectTime: String?
    /// BGP identifier (RFC 6286), an IPv4 address.
    public var routerID: String?
    /// Nodes that open this session; all nodes when empty.
    public var nodeSelectors: [LabelSelector]?
    /// TCP MD5 signature password (RFC 2385); exclusive with `passwordSecret`.
    public var password: String?
    /// A kubernetes.io/basic-auth Secret in MetalLB's namespace whose "password" key holds the password.
    public var passwordSecret: SecretReference?
    /// BFDProfile name for a BFD session (RFC 5880) alongside the BGP session.
    public var bfdProfile: String?
    /// Graceful restart (RFC 4724); immutable after creation.
    public var enableGracefulRestart: Bool?
    /// The peer is more than one hop away (eBGP multihop).
    public var ebgpMultiHop: Bool?
    /// Linux VRF the session runs in.
    public var vrf: String?
    /// Deprecated: separate IPv4 and IPv6 sessions; use dualStackAddressFamily.
    public var disableMP: Bool?
    /// Exchange both address families over this session (RFC 4760).
    public var dualStackAddressFamily: Bool?

    public init(
        myASN: UInt32 = 0, peerASN: UInt32? = nil, localASN: UInt32? = nil, dynamicASN: String? = nil,
        peerAddress: String? = nil, interface: String? = nil, sourceAddress: String? = nil, peerPort: UInt16? = nil,
        holdTime: String? = nil, keepaliveTime: String? = nil, connectTime: String? = nil, routerID: String? = nil,
        nodeSelectors: [LabelSelector]? = nil, password: String? = nil, passwordSecret: SecretReference? = nil,
        bfdProfile: String? = nil, enableGracefulRestart: Bool? = nil, ebgpMultiHop: Bool? = nil, vrf: String? = nil,
        disableMP: Bool? = nil, dualStackAddressFamily: Bool? = nil
    ) {
        self.myASN = myASN
        self.peerASN = peerASN
        self.localASN = localASN
        self.dynamicASN = dynamicASN
        self.peerAddress = peerAddress
        self.interface = interface
        self.sourceAddress = sourceAddress
        self.peerPort = peerPort
        self.holdTime = holdTime
        self.keepaliveTime = keepaliveTime
        self.connectTime = connectTime
        self.routerID = routerID
        self.nodeSelectors = nodeSelectors
        self.password = password
        self.passwordSecret = passwordSecret
        self.bfdProfile = bfdProfile
        self.enableGracefulRestart = enableGracefulRestart
        self.ebgpMultiHop = ebgpMultiHop
        self.vrf = vrf
        self.disableMP = disableMP
        self.dualStackAddressFamily = dualStackAddressFamily
    }
}

/// Hold and keepalive times after MetalLB's derivation rules.
public struct BGPTimers: Sendable, Hashable {
    public var holdTime: GoDuration
    public var keepaliveTime: GoDuration
}

extension BGPPeerSpec {
    /// The default TCP port of BGP (RFC 4271 section 8.2.1).
    public static let defaultPort: UInt16 = 179

    /// The peer port with the default applied (0 counts as unset, as in v1beta1).
    public var effectivePort: UInt16 { (peerPort ?? 0) == 0 ? Self.defaultPort : peerPort! }

    /// The parsed peer address, when set and valid.
    public var parsedPeerAddress: IPAddress? { peerAddress.flatMap { IPAddress($0) } }

    /// The parsed source address, when set and valid.
    public var parsedSourceAddress: IPAddress? { sourceAddress.flatMap { IPAddress($0) } }

    /// The parsed router ID, when set and valid.
    public var parsedRouterID: IPAddress? { routerID.flatMap { IPAddress($0) } }

    /// The password Secret's name, when set (an empty `passwordSecret: {}` counts as unset).
    public var passwordSecretName: String? {
        guard let n = passwordSecret?.name, !n.isEmpty else { return nil }
        return n
    }

    /// Hold and keepalive times as MetalLB derives them (hold/3 or keepalive*3 for the missing one); nil when neither is set.
    public func timers() throws -> BGPTimers? {
        let hold = try holdTime.map(GoDuration.parse)
        let keepalive = try keepaliveTime.map(GoDuration.parse)
        switch (hold, keepalive) {
        case (nil, nil): return nil
        case let (h?, k?): return BGPTimers(holdTime: h, keepaliveTime: k)
        case let (h?, nil): return BGPTimers(holdTime: h, keepaliveTime: GoDuration(nanoseconds: h.nanoseconds / 3))
        case let (nil, k?):
            let (m, overflow) = k.nanoseconds.multipliedReportingOverflow(by: 3)
            return BGPTimers(holdTime: GoDuration(nanoseconds: overflow ? .max : m), keepaliveTime: k)
        }
    }

    /// The parsed connect time, nil when unset or invalid.
    public var parsedConnectTime: GoDuration? { connectTime.flatMap { try? GoDuration.parse($0) } }

    /// The dynamic ASN mode, nil when unset or not a known mode.
    public var dynamicASNMode: DynamicASNMode? { dynamicASN.flatMap(DynamicASNMode.init(rawValue:)) }

    /// True for an iBGP session: the peer's AS number is ours (or dynamicASN is internal).
    public var isInternal: Bool {
        if let p = peerASN, p != 0 { return p == myASN }
        return dynamicASNMode == .internal
    }
}
