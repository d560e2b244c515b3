import NetAddress
// What the controller asks of the allocator, what it gets back, and why it can fail.

/// A Service's identity: namespace and name.
public struct ServiceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var namespace: String
    public var name: String

    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// "namespace/name", as MetalLB names services in events.
    public var description: String { "\(namespace)/\(name)" }

    public static func < (a: ServiceKey, b: ServiceKey) -> Bool {
        (a.namespace, a.name) < (b.namespace, b.name)
    }
}

/// A Service port's protocol.
public enum TransportProtocol: String, Hashable, Comparable, Sendable {
    case tcp = "TCP"
    case udp = "UDP"
    case sctp = "SCTP"

    public static func < (a: TransportProtocol, b: TransportProtocol) -> Bool { a.rawValue < b.rawValue }
}

/// One (protocol, port) pair of spec.ports; two services sharing an IP may not both use the same pair.
public struct AllocatedPort: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var proto: TransportProtocol
    public var port: Int

    public init(_ proto: TransportProtocol, _ port: Int) {
        self.proto = proto
        self.port = port
    }

    /// "TCP/80", as MetalLB prints ports.
    public var description: String { "\(proto.rawValue)/\(port)" }

    public static func < (a: AllocatedPort, b: AllocatedPort) -> Bool { (a.proto, a.port) < (b.proto, b.port) }
}

/// spec.externalTrafficPolicy.
public enum ExternalTrafficPolicy: String, Hashable, Sendable {
    case cluster = "Cluster"
    case local = "Local"
}

/// spec.ipFamilyPolicy.
public enum IPFamilyPolicy: String, Hashable, Sendable {
    case singleStack = "SingleStack"
    case preferDualStack = "PreferDualStack"
    case requireDualStack = "RequireDualStack"
}

/// Which address families the Service needs (MetalLB follows the ClusterIPs' families).
public enum FamilyRequest: Hashable, Sendable, CustomStringConvertible {
    /// One address of this family.
    case single(IPFamily)
    /// Both families from one pool if any eligible pool can, else one address (primary family first).
    case preferDualStack(primary: IPFamily)
    /// Both families from one pool, or fail.
    case requireDualStack(primary: IPFamily)

    /// From spec.ipFamilies (the ClusterIPs' families, primary first) and spec.ipFamilyPolicy.
    ///
    /// A single-family Service is single whatever its policy: MetalLB keys on the ClusterIPs, and a
    /// PreferDualStack Service in a single-stack cluster has one ClusterIP.
    public init(ipFamilies: [IPFamily], policy: IPFamilyPolicy?) {
        let primary = ipFamilies.first ?? .ipv4
        let dual = ipFamilies.contains(.ipv4) && ipFamilies.contains(.ipv6)
        switch policy ?? .singleStack {
        case .singleStack: self = .single(primary)
        case .preferDualStack: self = dual ? .preferDualStack(primary: primary) : .single(primary)
        case .requireDualStack: self = dual ? .requireDualStack(primary: primary) : .single(primary)
        }
    }

    /// The primary family.
    public var primary: IPFamily {
        switch self {
        case .single(let f), .preferDualStack(let f), .requireDualStack(let f): return f
        }
    }

    /// Whether a set of addresses has an acceptable shape (one of the family; both; one or both).
    func accepts(_ families: [IPFamily]) -> Bool {
        switch self {
        case .single(let f): return families == [f]
        case .preferDualStack: return families.count == 1 || families == [.ipv4, .ipv6]
        case .requireDualStack: return families == [.ipv4, .ipv6]
        }
    }

    public var description: String {
        switch self {
        case .single(let f): return f.rawValue
        case .preferDualStack(let f): return "PreferDualStack(\(f.rawValue) first)"
        case .requireDualStack(let f): return "RequireDualStack(\(f.rawValue) first)"
        }
    }
}

/// Everything the allocator needs to know about a LoadBalancer Service; the controller maps the Service to this.
public struct AllocationRequest: Hashable, Sendable {
    /// Families wanted (from spec.ipFamilies / spec.ipFamilyPolicy).
    public var families: FamilyRequest
    /// Requested addresses: metallb.io/loadBalancerIPs (comma list) or legacy spec.loadBalancerIP; empty for any.
    public var addresses: [IPAddress]
    /// Requested pool: metallb.io/address-pool; nil for any.
    public var pool: String?
    /// metallb.io/allow-shared-ip; nil or "" means the Service does not share.
    public var sharingKey: String?
    /// spec.ports as (protocol, port).
    public var ports: [AllocatedPort]
    /// spec.externalTrafficPolicy.
    public var externalTrafficPolicy: ExternalTrafficPolicy
    /// spec.selector (pods); matters for sharing only under the Local policy.
    public var podSelector: [String: String]
    /// Labels of the Service's namespace (for pools' namespaceSelectors).
    public var namespaceLabels: [String: String]
    /// The Service's own labels (for pools' serviceSelectors).
    public var serviceLabels: [String: String]

    public init(
        families: FamilyRequest = .single(.ipv4),
        addresses: [IPAddress] = [],
        pool: String? = nil,
        sharingKey: String? = nil,
        ports: [AllocatedPort] = [],
        externalTrafficPolicy: ExternalTrafficPolicy = .cluster,
        podSelector: [String: String] = [:],
        namespaceLabels: [String: String] = [:],
        serviceLabels: [String: String] = [:]
    ) {
        self.families = families
        self.addresses = addresses
        self.pool = pool
        self.sharingKey = sharingKey
        self.ports = ports
        self.externalTrafficPolicy = externalTrafficPolicy
        self.podSelector = podSelector
        self.namespaceLabels = namespaceLabels
        self.serviceLabels = serviceLabels
    }

    /// The sharing key, with "" meaning none (as in MetalLB).
    var effectiveSharingKey: String? {
        guard let k = sharingKey, !k.isEmpty else { return nil }
        return k
    }

    /// MetalLB's backend key: the pod selector as "k=v,…" under Local, "" under Cluster (which shares regardless of pods).
    var backendKey: String {
        guard externalTrafficPolicy == .local else { return "" }
        return podSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }
}

/// The addresses a Service holds and the pool they come from.
public struct Assignment: Hashable, Sendable, CustomStringConvertible {
    /// One or two addresses, IPv4 first.
    public var addresses: [IPAddress]
    /// The owning pool's name (for the metallb.io/ip-allocated-from-pool annotation).
    public var pool: String

    public init(addresses: [IPAddress], pool: String) {
        self.addresses = addresses
        self.pool = pool
    }

    public var description: String { "[" + addresses.map(\.description).joined(separator: ",") + "] from pool \(pool)" }
}

/// Outcome of `Allocator.assign`.
public struct AssignResult: Hashable, Sendable {
    /// What happened to the Service's previous allocation.
    public enum Change: Hashable, Sendable {
        /// The current allocation was still valid and is kept (idempotent reconcile).
        case unchanged
        /// The Service had nothing; it got new addresses.
        case allocated
        /// PreferDualStack Service holding one family got the other one from the same pool.
        case extended(added: IPAddress)
        /// The previous allocation was invalid for the request (reason given) and was replaced.
        case replaced(previous: Assignment, reason: AllocationError)
    }

    public var assignment: Assignment
    public var change: Change
}

/// An allocation dropped by `Allocator.setPools`, to be re-assigned by the controller.
public struct ReleasedAllocation: Hashable, Sendable {
    public var service: ServiceKey
    public var previous: Assignment
    /// Why the allocation no longer fits the configuration.
    public var reason: AllocationError
}

/// Why the allocator refused; each case reads as a Kubernetes Event message.
public enum AllocationError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Every candidate pool of the family is full (family nil: no pool could satisfy the whole request).
    case poolExhausted(pools: [String], family: IPFamily?)
    /// A requested (or restored) address lies in no pool.
    case addressNotInAnyPool(IPAddress)
    /// The address lies in a pool with avoidBuggyIPs and ends in .0 or .255.
    case addressAvoided(IPAddress, pool: String)
    /// The address is held by services that do not share with this one (one side has no sharing key).
    case addressInUse(IPAddress, by: [ServiceKey])
    /// The address is held by services with a different metallb.io/allow-shared-ip key.
    case sharingKeyMismatch(IPAddress, requested: String, existing: String, by: [ServiceKey])
    /// Same sharing key, but a Local-policy side selects different pods.
    case sharingBackendMismatch(IPAddress, by: [ServiceKey])
    /// Same sharing key, but a port is already used on the address.
    case portClash(IPAddress, port: AllocatedPort, by: ServiceKey)
    /// No pool with autoAssign admits the Service (namespace / service selectors).
    case noMatchingPool(service: ServiceKey)
    /// The pool named by metallb.io/address-pool does not exist.
    case unknownPool(String)
    /// The pool holding the requested address, or named by the annotation, does not admit this Service.
    case poolSelectorMismatch(pool: String, service: ServiceKey)
    /// The requested address is not in the pool the annotation names (or the requested pool changed).
    case addressNotInRequestedPool(IPAddress, pool: String)
    /// The two addresses lie in different pools (dual-stack addresses come from one pool).
    case addressesInDifferentPools([IPAddress])
    /// No candidate pool has addresses of this family.
    case familyUnavailable(IPFamily, pools: [String])
    /// RequireDualStack, but no candidate pool has both families.
    case dualStackUnavailable(pools: [String])
    /// The addresses' families do not fit the Service's families (e.g. an IPv6 address for an IPv4 Service).
    case familyMismatch(addresses: [IPAddress], families: FamilyRequest)
    /// The Service holds addresses other than the ones it now requests.
    case requestedAddressesChanged(current: [IPAddress], requested: [IPAddress])
    /// Malformed request (more than two addresses, two of one family, duplicates).
    case invalidRequest(String)

    public var description: String {
        func list(_ s: [ServiceKey]) -> String { s.map(\.description).joined(separator: ",") }
        func ips(_ a: [IPAddress]) -> String { a.map(\.description).joined(separator: ",") }
        switch self {
        case let .poolExhausted(pools, family):
            let what = family.map { "\($0.rawValue) " } ?? ""
            let p = pools.count == 1 ? "pool \"\(pools[0])\"" : "pools \(pools.map { "\"\($0)\"" }.joined(separator: ", "))"
            return "no available \(what)IPs in \(p)"
        case let .addressNotInAnyPool(ip):
            return "\"\(ip)\" is not allowed in config: it is in no IPAddressPool"
        case let .addressAvoided(ip, pool):
            return "\"\(ip)\" is not allowed in config: pool \"\(pool)\" has avoidBuggyIPs and the address ends in .0 or .255"
        case let .addressInUse(ip, by):
            return "\"\(ip)\" is already in use by \(list(by)) (sharing needs the same metallb.io/allow-shared-ip key on both services)"
        case let .sharingKeyMismatch(ip, requested, existing, by):
            return "\"\(ip)\" is in use by \(list(by)) with sharing key \"\(existing)\", not \"\(requested)\""
        case let .sharingBackendMismatch(ip, by):
            return "\"\(ip)\" is in use by \(list(by)); services sharing an IP with externalTrafficPolicy Local must select the same pods"
        case let .portClash(ip, port, by):
            return "port \(port) is already in use on \"\(ip)\" by \(by)"
        case let .noMatchingPool(service):
            return "no IPAddressPool with autoAssign matches the namespace and labels of \(service)"
        case let .unknownPool(name):
            return "unknown pool \"\(name)\""
        case let .poolSelectorMismatch(pool, service):
            return "pool \"\(pool)\" does not allow \(service) (serviceAllocation namespaces/selectors)"
        case let .addressNotInRequestedPool(ip, pool):
            return "\"\(ip)\" is not in the requested address pool \"\(pool)\""
        case let .addressesInDifferentPools(a):
            return "addresses \(ips(a)) are in different pools; dual-stack addresses must come from one pool"
        case let .familyUnavailable(family, pools):
            return pools.isEmpty
                ? "no eligible pool has \(family.rawValue) addresses"
                : "no \(family.rawValue) addresses in eligible pools \(pools.joined(separator: ", "))"
        case let .dualStackUnavailable(pools):
            return "RequireDualStack but no eligible pool has both IPv4 and IPv6 addresses"
                + (pools.isEmpty ? "" : " (eligible: \(pools.joined(separator: ", ")))")
        case let .familyMismatch(a, families):
            return "requested loadBalancer IP(s) \(ips(a)) do not match the ipFamily of the service (\(families))"
        case let .requestedAddressesChanged(current, requested):
            return "service holds \(ips(current)) but requests \(ips(requested))"
        case let .invalidRequest(why):
            return "invalid request: \(why)"
        }
    }
}

/// Why `Allocator.setPools` rejected a configuration (the previous one stays).
public enum PoolConfigError: Error, Hashable, Sendable, CustomStringConvertible {
    case duplicatePoolName(String)
    /// MetalLB rejects pools whose CIDRs overlap; an address must have one owner.
    case overlappingPools(String, String)

    public var description: String {
        switch self {
        case .duplicatePoolName(let n): return "duplicate IPAddressPool name \"\(n)\""
        case .overlappingPools(let a, let b): return "IPAddressPools \"\(a)\" and \"\(b)\" overlap"
        }
    }
}
