import Foundation
import NetAddress
import Kube

/// metallb.io/v1beta1 IPAddressPool: addresses MetalLB may assign to LoadBalancer services.
public struct IPAddressPool: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "ipaddresspools", "IPAddressPool")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: IPAddressPoolSpec
    public var status: IPAddressPoolStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: IPAddressPoolSpec = IPAddressPoolSpec(), status: IPAddressPoolStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// IPAddressPool spec.
public struct IPAddressPoolSpec: Codable, Sendable, Hashable {
    /// CIDR prefixes ("192.168.10.0/24") or ranges ("192.168.9.1-192.168.9.5"), IPv4 or IPv6.
    public var addresses: [String]
    /// Whether services get addresses from this pool without asking for it (default true).
    public var autoAssign: Bool?
    /// Skip IPv4 addresses ending in .0 and .255 (default false).
    public var avoidBuggyIPs: Bool?
    /// Restricts the pool to some namespaces and services.
    public var serviceAllocation: ServiceAllocation?

    public init(addresses: [String] = [], autoAssign: Bool? = nil, avoidBuggyIPs: Bool? = nil, serviceAllocation: ServiceAllocation? = nil) {
        self.addresses = addresses
        self.autoAssign = autoAssign
        self.avoidBuggyIPs = avoidBuggyIPs
        self.serviceAllocation = serviceAllocation
    }
}

/// Which services may get addresses from a pool, and its priority among matching pools.
public struct ServiceAllocation: Codable, Sendable, Hashable {
    /// Lower numbers are tried first; 0 or unset means last.
    public var priority: Int?
    /// Namespaces whose services may use the pool.
    public var namespaces: [String]?
    /// Namespaces, by label, whose services may use the pool.
    public var namespaceSelectors: [LabelSelector]?
    /// Services, by label, that may use the pool.
    public var serviceSelectors: [LabelSelector]?

    public init(priority: Int? = nil, namespaces: [String]? = nil, namespaceSelectors: [LabelSelector]? = nil, serviceSelectors: [LabelSelector]? = nil) {
        self.priority = priority
        self.namespaces = namespaces
        self.namespaceSelectors = namespaceSelectors
        self.serviceSelectors = serviceSelectors
    }
}

/// IPAddressPool status: assigned and free address counts per family.
public struct IPAddressPoolStatus: Codable, Sendable, Hashable {
    public var assignedIPv4: Int64?
    public var assignedIPv6: Int64?
    public var availableIPv4: Int64?
    public var availableIPv6: Int64?

    public init(assignedIPv4: Int64? = nil, assignedIPv6: Int64? = nil, availableIPv4: Int64? = nil, availableIPv6: Int64? = nil) {
        self.assignedIPv4 = assignedIPv4
        self.assignedIPv6 = assignedIPv6
        self.availableIPv4 = availableIPv4
        self.availableIPv6 = availableIPv6
    }
}

extension IPAddressPoolSpec {
    /// The parsed `addresses`, skipping entries that do not parse (validation reports those).
    public var parsedAddresses: [PoolAddress] { addresses.compactMap { try? PoolAddress.parse($0) } }
}
