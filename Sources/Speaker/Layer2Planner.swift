import API
import Kube
import NetAddress

/// What the speakers' Layer 2 decision reads: the configuration that validated, the cluster's nodes, and one
/// Service with its EndpointSlices. (Liveness is not here: `Layer2Failover` applies the live members on the
/// membership thread, so a dead node is replaced without waiting for a new plan.)
public struct Layer2Inputs: Sendable {
    public let configuration: Configuration
    /// The configuration's pools, parsed once for every Service planned with these inputs.
    public let pools: PoolRanges
    public var nodes: [Node]
    /// Honour `node.kubernetes.io/exclude-from-external-load-balancers` unless told not to (`--ignore-exclude-lb`).
    public var ignoreExcludeLabel: Bool
    /// Only Services of this `spec.loadBalancerClass` (nil: Services without a class).
    public var loadBalancerClass: String?

    public init(configuration: Configuration, nodes: [Node], ignoreExcludeLabel: Bool = false, loadBalancerClass: String? = nil) {
        self.configuration = configuration
        self.pools = PoolRanges(configuration)
        self.nodes = nodes
        self.ignoreExcludeLabel = ignoreExcludeLabel
        self.loadBalancerClass = loadBalancerClass
    }
}

/// The Layer 2 plan of one Service: which nodes may announce its IPs (the election among the live ones picks the
/// owner), how much each is preferred, and on which interfaces each announces; or why nobody may.
public struct Layer2Plan: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// `candidates` may announce; `preference` is each candidate's summed `preferredNodeSelectors` weight
        /// (the live candidates with the highest weight are elected among); `interfaces[node]` nil means every
        /// suitable interface of that node.
        case announce(candidates: Set<String>, preference: [String: Int], interfaces: [String: Set<String>?])
        /// Nobody announces; `reason` is MetalLB's reason string where it has one, `message` says why in words
        /// (it goes into the Service's Event).
        case nobody(reason: String, message: String)
        /// Not ours: not a LoadBalancer Service, or another load-balancer class's.
        case notManaged
    }

    public var serviceKey: String
    public var ips: [IPAddress]
    public var outcome: Outcome
}

/// MetalLB's Layer 2 rules, pure: from the configuration, the nodes and a Service to the nodes that may announce it
/// (`speaker/layer2_controller.go`'s order and reason strings).
public enum Layer2Planner {
    public static let excludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"
    /// The reasons about the Service's address (no address, not an address, in none of our pools).
    public static let addressReasons: Set<String> = ["noIPAllocated", "invalidIP", "ipNotAllowed"]

    public static func plan(_ service: Service, endpoints: [EndpointSlice], in inputs: Layer2Inputs) -> Layer2Plan {
        let key = "\(service.metadata.namespace ?? "")/\(service.metadata.name ?? "")"
        func nobody(_ ips: [IPAddress], _ reason: String, _ message: String) -> Layer2Plan {
            Layer2Plan(serviceKey: key, ips: ips, outcome: .nobody(reason: reason, message: message))
        }
        guard isManaged(service, loadBalancerClass: inputs.loadBalancerClass) else {
            return Layer2Plan(serviceKey: key, ips: [], outcome: .notManaged)
        }
        let config = inputs.configuration
        let ips: [IPAddress], poolIndex: Int
        switch ServiceAddresses.resolve(service, in: inputs.pools) {
        case .refused(let refusedIPs, let reason, let message): return nobody(refusedIPs, reason, message)
        case .resolved(let resolvedIPs, let pool): (ips, poolIndex) = (resolvedIPs, pool)
        }
        let pool = config.ipAddressPools[poolIndex]
        let poolName = pool.metadata.name ?? ""

        // 1. No serving endpoint anywhere: nobody (MetalLB's notOwner).
        let serving = servingNodes(endpoints)
        guard serving.any else {
            return nobody(ips, "notOwner", "the Service has no serving endpoint: no pod is ready to take the traffic")
        }
        // 2. The pool's advertisements that select the Service (serviceSelectors: OR; none: every Service).
        let labels = service.metadata.labels ?? [:]
        let forPool = config.l2Advertisements.filter {
            config.poolIndices(named: $0.spec?.ipAddressPools, selectedBy: $0.spec?.ipAddressPoolSelectors).contains(poolIndex)
        }
        let ads = forPool.filter { ad in
            let sels = ad.spec?.serviceSelectors ?? []
            return sels.isEmpty || sels.contains { $0.matches(labels) }
        }
        guard !ads.isEmpty else {
            let message = forPool.isEmpty
                ? "no L2Advertisement selects pool \(poolName): create one (spec.ipAddressPools: [\(poolName)]) to announce it over Layer 2"
                : "the L2Advertisements of pool \(poolName) (\(forPool.map { $0.metadata.name ?? "" }.sorted().joined(separator: ", "))) select other Services by label"
            return nobody(ips, "noMatchingAdvertisement", message)
        }
        // 3. A shared IP with service selectors: MetalLB refuses (each sharing Service could pick another node).
        let annotations = service.metadata.annotations ?? [:]
        if ServiceAnnotations.allowSharedIP.contains(where: { annotations[$0] != nil }),
           ads.contains(where: { !($0.spec?.serviceSelectors ?? []).isEmpty }) {
            return nobody(ips, "sharedIPWithServiceSelector", "a shared IP cannot be announced by an L2Advertisement with serviceSelectors")
        }
        // 4. Candidates: nodes selected by some advertisement, minus unavailable and excluded ones.
        var selected: Set<String> = []
        var excludedByLabel: Set<String> = [], unavailable: Set<String> = []
        var interfaces: [String: Set<String>?] = [:]
        var preference: [String: Int] = [:]
        for node in inputs.nodes {
            guard let name = node.metadata.name else { continue }
            let nodeLabels = node.metadata.labels ?? [:]
            let selecting = ads.filter { ad in
                let sels = ad.spec?.nodeSelectors ?? []
                return sels.isEmpty || sels.contains { $0.matches(nodeLabels) }
            }
            guard !selecting.isEmpty else { continue }
            selected.insert(name)
            if node.status?.conditions?.contains(where: { $0.type == "NetworkUnavailable" && $0.status == "True" }) == true {
                unavailable.insert(name)
                continue
            }
            if !inputs.ignoreExcludeLabel && nodeLabels[excludeLabel] != nil {
                excludedByLabel.insert(name)
                continue
            }
            // Any selecting advertisement without interfaces means every interface.
            let named = selecting.map { $0.spec?.interfaces ?? [] }
            let onEvery = named.contains { $0.isEmpty }
            interfaces[name] = onEvery ? .some(nil) : .some(Set(named.joined()))
            var weight = 0
            for ad in ads {
                for p in ad.spec?.preferredNodeSelectors ?? [] where p.preference.matches(nodeLabels) { weight += Int(p.weight) }
            }
            preference[name] = weight
        }
        var candidates = Set(interfaces.keys)
        guard !candidates.isEmpty else {
            var why: [String] = []
            if selected.isEmpty { why.append("the nodeSelectors of \(ads.map { $0.metadata.name ?? "" }.sorted().joined(separator: ", ")) select no node") }
            if !unavailable.isEmpty { why.append("NetworkUnavailable on \(unavailable.sorted().joined(separator: ", "))") }
            if !excludedByLabel.isEmpty {
                why.append("\(excludedByLabel.sorted().joined(separator: ", ")) labelled \(excludeLabel) (start the speakers with --ignore-exclude-lb to announce from such nodes)")
            }
            return nobody(ips, "noCandidateNode", "no node may announce: " + why.joined(separator: "; "))
        }
        // 5. externalTrafficPolicy Local: only nodes with a serving endpoint of the Service.
        if service.spec?.externalTrafficPolicy == "Local" {
            candidates.formIntersection(serving.nodes)
            guard !candidates.isEmpty else {
                return nobody(ips, "notOwner", "externalTrafficPolicy is Local and no node that may announce has a serving endpoint")
            }
        }
        return Layer2Plan(serviceKey: key, ips: ips, outcome: .announce(
            candidates: candidates, preference: preference.filter { candidates.contains($0.key) },
            interfaces: interfaces.filter { candidates.contains($0.key) }))
    }

    /// Whether any endpoint can serve, and the nodes of those that can (MetalLB's EndpointCanServe: ready unset or
    /// true, or serving true).
    static func servingNodes(_ slices: [EndpointSlice]) -> (any: Bool, nodes: Set<String>) {
        var any = false
        var nodes: Set<String> = []
        for slice in slices {
            for e in slice.endpoints ?? [] {
                let c = e.conditions
                let canServe = c?.ready == nil || c?.ready == true || c?.serving == true
                guard canServe, !e.addresses.isEmpty else { continue }
                any = true
                if let n = e.nodeName { nodes.insert(n) }
            }
        }
        return (any, nodes)
    }
}

extension Layer2Plan {
    /// The failover request for this node (nil when nobody announces): candidates, preference and this node's
    /// interfaces.
    public func failoverRequest(node: String) -> FailoverRequest? {
        guard case .announce(let candidates, let preference, let interfaces) = outcome else { return nil }
        let mine: Set<String>? = interfaces[node] ?? nil
        return FailoverRequest(serviceKey: serviceKey, ips: ips, candidates: candidates, interfaces: mine, preference: preference)
    }
}
