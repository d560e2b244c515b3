import Foundation
import Kube

// MARK: - L2Advertisement

/// metallb.io/v1beta1 L2Advertisement: announce the addresses of some pools with ARP/NDP (RFC 826, RFC 4861).
public struct L2Advertisement: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "l2advertisements", "L2Advertisement")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: L2AdvertisementSpec?
    public var status: JSONValue?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: L2AdvertisementSpec? = nil, status: JSONValue? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// L2Advertisement spec. With neither pool list nor pool selector, every pool is advertised.
public struct L2AdvertisementSpec: Codable, Sendable, Hashable {
    /// Pools to advertise, by name.
    public var ipAddressPools: [String]?
    /// Pools to advertise, by label.
    public var ipAddressPoolSelectors: [LabelSelector]?
    /// Nodes that may announce; all nodes when empty.
    public var nodeSelectors: [LabelSelector]?
    /// Host interfaces to announce from; all interfaces when empty.
    public var interfaces: [String]?
    /// Services to advertise, by label; all services of the selected pools when empty.
    public var serviceSelectors: [LabelSelector]?
    /// Weighted soft preferences for the announcing node.
    public var preferredNodeSelectors: [PreferredNodeSelector]?

    public init(
        ipAddressPools: [String]? = nil, ipAddressPoolSelectors: [LabelSelector]? = nil, nodeSelectors: [LabelSelector]? = nil,
        interfaces: [String]? = nil, serviceSelectors: [LabelSelector]? = nil, preferredNodeSelectors: [PreferredNodeSelector]? = nil
    ) {
        self.ipAddressPools = ipAddressPools
        self.ipAddressPoolSelectors = ipAddressPoolSelectors
        self.nodeSelectors = nodeSelectors
        self.interfaces = interfaces
        self.serviceSelectors = serviceSelectors
        self.preferredNodeSelectors = preferredNodeSelectors
    }
}

/// A weighted node preference for L2 leader election (weight 1-100).
public struct PreferredNodeSelector: Codable, Sendable, Hashable {
    public var weight: Int32
    public var preference: LabelSelector

    public init(weight: Int32, preference: LabelSelector = LabelSelector()) {
        self.weight = weight
        self.preference = preference
    }
}

// MARK: - BGPAdvertisement

/// metallb.io/v1beta1 BGPAdvertisement: announce the addresses of some pools to BGP peers (RFC 4271).
public struct BGPAdvertisement: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "bgpadvertisements", "BGPAdvertisement")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: BGPAdvertisementSpec?
    public var status: JSONValue?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: BGPAdvertisementSpec? = nil, status: JSONValue? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// BGPAdvertisement spec. With neither pool list nor pool selector, every pool is advertised.
public struct BGPAdvertisementSpec: Codable, Sendable, Hashable {
    /// Prefix length IPv4 service addresses are rolled up to (1-32, default 32).
    public var aggregationLength: Int32?
    /// Prefix length IPv6 service addresses are rolled up to (1-128, default 128).
    public var aggregationLengthV6: Int32?
    /// LOCAL_PREF attribute (RFC 4271 section 5.1.5), sent to iBGP peers only.
    public var localPref: UInt32?
    /// Communities: "65535:65282" (RFC 1997), "large:1:2:3" (RFC 8092), or a Community alias name.
    public var communities: [String]?
    /// Pools to advertise, by name.
    public var ipAddressPools: [String]?
    /// Pools to advertise, by label.
    public var ipAddressPoolSelectors: [LabelSelector]?
    /// Nodes announced as next hops; all nodes when empty.
    public var nodeSelectors: [LabelSelector]?
    /// BGPPeer names to advertise to; all peers when empty.
    public var peers: [String]?
    /// Services to advertise, by label; only with the default aggregation lengths.
    public var serviceSelectors: [LabelSelector]?

    public init(
        aggregationLength: Int32? = nil, aggregationLengthV6: Int32? = nil, localPref: UInt32? = nil, communities: [String]? = nil,
        ipAddressPools: [String]? = nil, ipAddressPoolSelectors: [LabelSelector]? = nil, nodeSelectors: [LabelSelector]? = nil,
        peers: [String]? = nil, serviceSelectors: [LabelSelector]? = nil
    ) {
        self.aggregationLength = aggregationLength
        self.aggregationLengthV6 = aggregationLengthV6
        self.localPref = localPref
        self.communities = communities
        self.ipAddressPools = ipAddressPools
        self.ipAddressPoolSelectors = ipAddressPoolSelectors
        self.nodeSelectors = nodeSelectors
        self.peers = peers
        self.serviceSelectors = serviceSelectors
    }
}
