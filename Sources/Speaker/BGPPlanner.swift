import API
import Kube
import NetAddress

/// What one node's BGP decision reads: the configuration that validated, this node, and one Service with its
/// EndpointSlices.
public struct BGPInputs: Sendable {
    public let configuration: Configuration
    /// The configuration's pools, parsed once for every Service planned with these inputs.
    public let pools: PoolRanges
    /// The node deciding (its labels pick advertisements; its conditions and exclude label withdraw).
    public var node: Node
    /// Honour `node.kubernetes.io/exclude-from-external-load-balancers` unless told not to (`--ignore-exclude-lb`).
    public var ignoreExcludeLabel: Bool
    /// Only Services of this `spec.loadBalancerClass` (nil: Services without a class).
    public var loadBalancerClass: String?

    public init(configuration: Configuration, node: Node, ignoreExcludeLabel: Bool = false, loadBalancerClass: String? = nil) {
        self.configuration = configuration
        self.pools = PoolRanges(configuration)
        self.node = node
        self.ignoreExcludeLabel = ignoreExcludeLabel
        self.loadBalancerClass = loadBalancerClass
    }
}

/// One route a Service asks for through one BGPAdvertisement (MetalLB's bgp.Advertisement, per Service IP and
/// advertisement).
public struct BGPAnnouncement: Hashable, Sendable, CustomStringConvertible {
    /// The Service IP.
    public var ip: IPAddress
    /// The BGPAdvertisement's name.
    public var advertisement: String
    /// The IP masked by aggregationLength (default 32) or aggregationLengthV6 (default 128).
    public var prefix: IPPrefix
    /// LOCAL_PREF, iBGP sessions only; nil when unset or 0 (as in MetalLB: the peer's default, 100, applies).
    public var localPref: UInt32?
    /// Literal, large and alias communities resolved; sorted as MetalLB sorts them, without duplicates.
    public var communities: [BGPCommunity]
    /// The BGPPeers it goes to, sorted; empty: every peer.
    public var peers: [String]

    public init(ip: IPAddress, advertisement: String, prefix: IPPrefix, localPref: UInt32? = nil, communities: [BGPCommunity] = [],
                peers: [String] = []) {
        self.ip = ip
        self.advertisement = advertisement
        self.prefix = prefix
        self.localPref = localPref
        self.communities = communities
        self.peers = peers
    }

    /// Whether the session of the BGPPeer `peer` carries it.
    public func goes(to peer: String) -> Bool { peers.isEmpty || peers.contains(peer) }

    public var description: String {
        var s = "\(prefix) (\(ip), BGPAdvertisement \(advertisement))"
        if let localPref { s += " local-pref \(localPref)" }
        if !communities.isEmpty { s += " communities \(communities.map(\.description).joined(separator: ","))" }
        if !peers.isEmpty { s += " to \(peers.joined(separator: ","))" }
        return s
    }
}

/// The BGP plan of one Service on one node: the routes it asks for, or why this node does not announce it.
public struct BGPPlan: Hashable, Sendable {
    public enum Outcome: Hashable, Sendable {
        /// This node announces the Service: one entry per Service IP and matching advertisement, IPs in the
        /// Service's order, advertisements by name.
        case announce([BGPAnnouncement])
        /// This node does not announce the Service; `reason` is MetalLB's reason string where it has one, `message`
        /// says why in words.
        case withdraw(reason: String, message: String)
        /// Not ours: not a LoadBalancer Service, or another load-balancer class's.
        case notManaged
    }

    public var serviceNamespace: String
    public var serviceName: String
    public var ips: [IPAddress]
    public var outcome: Outcome

    public init(serviceNamespace: String, serviceName: String, ips: [IPAddress], outcome: Outcome) {
        self.serviceNamespace = serviceNamespace
        self.serviceName = serviceName
        self.ips = ips
        self.outcome = outcome
    }

    public var serviceKey: String { "\(serviceNamespace)/\(serviceName)" }

    /// The announcements when the node announces the Service, else none.
    public var announcements: [BGPAnnouncement] {
        if case .announce(let a) = outcome { return a }
        return []
    }

    /// The reason when the node does not announce the Service.
    public var reason: String? {
        if case .withdraw(let r, _) = outcome { return r }
        return nil
    }
}

/// MetalLB's BGP rules for one node, pure: from the configuration, the node and a Service to the routes the node
/// announces for it (`speaker/bgp_controller.go`'s ShouldAnnounce order and reason strings, then SetBalancer).
public enum BGPPlanner {
    public static let excludeLabel = Layer2Planner.excludeLabel
    public static let defaultAggregationLength = 32
    public static let defaultAggregationLengthV6 = 128

    /// The reasons, in the order they are checked (after the address reasons of `Layer2Planner.addressReasons`).
    public static let reasons = [
        "notOwner", "noMatchingAdvertisement", "conflictingAdvertisements", "nodeNetworkUnavailable",
        "nodeLabeledExcludeBalancers", "noLocalEndpoints", "noEndpoints",
    ]
    /// Not MetalLB's: an advertisement the configuration pipeline should have refused (an unknown community alias,
    /// an aggregation length out of range). Nothing is announced rather than a route without its communities.
    public static let invalidAdvertisementReason = "invalidAdvertisement"

    public static func plan(_ service: Service, endpoints: [EndpointSlice], in inputs: BGPInputs) -> BGPPlan {
        let namespace = service.metadata.namespace ?? "", name = service.metadata.name ?? ""
        func withdraw(_ ips: [IPAddress], _ reason: String, _ message: String) -> BGPPlan {
            BGPPlan(serviceNamespace: namespace, serviceName: name, ips: ips, outcome: .withdraw(reason: reason, message: message))
        }
        guard isManaged(service, loadBalancerClass: inputs.loadBalancerClass) else {
            return BGPPlan(serviceNamespace: namespace, serviceName: name, ips: [], outcome: .notManaged)
        }
        let config = inputs.configuration
        let ips: [IPAddress], poolIndex: Int
        switch ServiceAddresses.resolve(service, in: inputs.pools) {
        case .refused(let refusedIPs, let reason, let message): return withdraw(refusedIPs, reason, message)
        case .resolved(let resolvedIPs, let pool): (ips, poolIndex) = (resolvedIPs, pool)
        }
        let pool = config.ipAddressPools[poolIndex]
        let poolName = pool.metadata.name ?? ""
        let node = inputs.node
        let nodeName = node.metadata.name ?? ""
        let nodeLabels = node.metadata.labels ?? [:]
        func names(_ ads: [BGPAdvertisement]) -> String { ads.map(\.name).sorted().joined(separator: ", ") }

        // 1. No advertisement of the pool selects this node: notOwner.
        let forPool = config.bgpAdvertisements.filter {
            config.poolIndices(named: $0.spec?.ipAddressPools, selectedBy: $0.spec?.ipAddressPoolSelectors).contains(poolIndex)
        }
        let onNode = forPool.filter { ad in
            let sels = ad.spec?.nodeSelectors ?? []
            return sels.isEmpty || sels.contains { $0.matches(nodeLabels) }
        }
        guard !onNode.isEmpty else {
            let message = forPool.isEmpty
                ? "no BGPAdvertisement selects pool \(poolName): create one (spec.ipAddressPools: [\(poolName)]) to announce it over BGP"
                : "the BGPAdvertisements of pool \(poolName) (\(names(forPool))) do not select node \(nodeName) (spec.nodeSelectors)"
            return withdraw(ips, "notOwner", message)
        }
        // 2. None of those selects the Service (serviceSelectors: OR; none: every Service).
        let serviceLabels = service.metadata.labels ?? [:]
        let ads = onNode.filter { ad in
            let sels = ad.spec?.serviceSelectors ?? []
            return sels.isEmpty || sels.contains { $0.matches(serviceLabels) }
        }.sorted { $0.name < $1.name }
        guard !ads.isEmpty else {
            return withdraw(ips, "noMatchingAdvertisement",
                            "the BGPAdvertisements of pool \(poolName) on node \(nodeName) (\(names(onNode))) select other Services by label")
        }
        // 3. Two of them would send the same prefixes to the same peers with different LOCAL_PREF.
        let families = inputs.pools.families[poolIndex]
        for (i, a) in ads.enumerated() {
            for b in ads[(i + 1)...] where !compatibleLocalPref(a.spec ?? BGPAdvertisementSpec(), b.spec ?? BGPAdvertisementSpec(), poolFamilies: families) {
                return withdraw(ips, "conflictingAdvertisements",
                                "BGPAdvertisements \(a.name) and \(b.name) send the same prefixes to the same peers with different localPref (\(a.spec?.localPref ?? 0) and \(b.spec?.localPref ?? 0))")
            }
        }
        // 4., 5. This node may not announce at all.
        if node.status?.conditions?.contains(where: { $0.type == "NetworkUnavailable" && $0.status == "True" }) == true {
            return withdraw(ips, "nodeNetworkUnavailable", "node \(nodeName) has the condition NetworkUnavailable=True")
        }
        if !inputs.ignoreExcludeLabel && nodeLabels[excludeLabel] != nil {
            return withdraw(ips, "nodeLabeledExcludeBalancers",
                            "node \(nodeName) is labelled \(excludeLabel) (start the speakers with --ignore-exclude-lb to announce from such nodes)")
        }
        // 6., 7. Endpoints: a local one for externalTrafficPolicy Local, any for Cluster.
        let serving = Layer2Planner.servingNodes(endpoints)
        if service.spec?.externalTrafficPolicy == "Local" && !serving.nodes.contains(nodeName) {
            return withdraw(ips, "noLocalEndpoints", "externalTrafficPolicy is Local and no serving endpoint of the Service runs on node \(nodeName)")
        }
        guard serving.any else {
            return withdraw(ips, "noEndpoints", "the Service has no serving endpoint: no pod is ready to take the traffic")
        }

        // The routes: per Service IP and advertisement.
        let aliases = communityAliases(config)
        var announcements: [BGPAnnouncement] = []
        for ip in ips {
            for ad in ads {
                let spec = ad.spec ?? BGPAdvertisementSpec()
                let length = ip.isIPv4 ? spec.aggregationLength.map(Int.init) ?? defaultAggregationLength
                                       : spec.aggregationLengthV6.map(Int.init) ?? defaultAggregationLengthV6
                guard (1...ip.family.bitWidth).contains(length) else {
                    return withdraw(ips, invalidAdvertisementReason,
                                    "BGPAdvertisement \(ad.name): aggregation length \(length) is not from 1 to \(ip.family.bitWidth) for \(ip)")
                }
                let communities: [BGPCommunity]
                switch resolveCommunities(spec.communities ?? [], aliases: aliases) {
                case .success(let c): communities = c
                case .failure(let e): return withdraw(ips, invalidAdvertisementReason, "BGPAdvertisement \(ad.name): \(e.message)")
                }
                announcements.append(BGPAnnouncement(
                    ip: ip, advertisement: ad.name, prefix: IPPrefix(masking: ip, length: length),
                    localPref: spec.localPref.flatMap { $0 == 0 ? nil : $0 }, communities: communities,
                    peers: Array(Set(spec.peers ?? [])).sorted()))
            }
        }
        return BGPPlan(serviceNamespace: namespace, serviceName: name, ips: ips, outcome: .announce(announcements))
    }

    /// MetalLB's BGPAdvertisementsHaveCompatibleLocalPref for two advertisements that both select this node: equal
    /// LOCAL_PREF, or different prefixes (aggregation lengths that differ for every family of the pool), or disjoint
    /// `peers`.
    static func compatibleLocalPref(_ a: BGPAdvertisementSpec, _ b: BGPAdvertisementSpec, poolFamilies: Set<IPFamily>) -> Bool {
        if (a.localPref ?? 0) == (b.localPref ?? 0) { return true }
        let hasV4 = poolFamilies.contains(.ipv4), hasV6 = poolFamilies.contains(.ipv6)
        if !hasV4 && !hasV6 { return true }
        let v4Differs = (a.aggregationLength ?? Int32(defaultAggregationLength)) != (b.aggregationLength ?? Int32(defaultAggregationLength))
        let v6Differs = (a.aggregationLengthV6 ?? Int32(defaultAggregationLengthV6)) != (b.aggregationLengthV6 ?? Int32(defaultAggregationLengthV6))
        if v4Differs && !hasV6 { return true }
        if v6Differs && !hasV4 { return true }
        if v4Differs && v6Differs { return true }
        let ap = a.peers ?? [], bp = b.peers ?? []
        if !ap.isEmpty && !bp.isEmpty && Set(ap).isDisjoint(with: bp) { return true }
        return false
    }

    /// The Community aliases by name (the first definition of a name; values that do not parse are left out, so a
    /// reference to them fails as an unknown alias would).
    static func communityAliases(_ config: Configuration) -> [String: BGPCommunity] {
        var aliases: [String: BGPCommunity] = [:]
        for object in config.communities {
            for alias in object.spec?.communities ?? [] {
                guard let name = alias.name, !name.isEmpty, aliases[name] == nil,
                      let value = alias.value, let c = try? BGPCommunity.parse(value) else { continue }
                aliases[name] = c
            }
        }
        return aliases
    }

    /// An advertisement's communities: an alias first (as MetalLB looks them up), else a literal "AA:NN" or
    /// "large:A:B:C"; sorted, without duplicates.
    static func resolveCommunities(_ texts: [String], aliases: [String: BGPCommunity]) -> Result<[BGPCommunity], CommunityProblem> {
        var out: Set<BGPCommunity> = []
        for text in texts {
            if let c = aliases[text] {
                out.insert(c)
                continue
            }
            do {
                out.insert(try BGPCommunity.parse(text))
            } catch let e as CommunityParseError {
                return .failure(CommunityProblem(message: e.mayBeAlias
                    ? "community \"\(text)\" is not AA:NN nor large:A:B:C, and no Community object defines an alias with this name"
                    : e.message))
            } catch {
                return .failure(CommunityProblem(message: "community \"\(text)\": \(error)"))
            }
        }
        return .success(out.sorted())
    }

    struct CommunityProblem: Error {
        var message: String
    }
}

/// A Service's addresses and the pool that holds them, or MetalLB's reason why not (`noIPAllocated`, `invalidIP`,
/// `ipNotAllowed`), as `speaker/main.go` checks them before asking either protocol.
enum ServiceAddresses {
    enum Resolution {
        case resolved(ips: [IPAddress], pool: Int)
        case refused(ips: [IPAddress], reason: String, message: String)
    }

    static func resolve(_ service: Service, in pools: PoolRanges) -> Resolution {
        let texts = (service.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
        guard !texts.isEmpty else { return .refused(ips: [], reason: "noIPAllocated", message: "the Service has no address yet (see the controller's Events)") }
        var ips: [IPAddress] = []
        for t in texts {
            guard let ip = IPAddress(t) else {
                return .refused(ips: [], reason: "invalidIP", message: "the Service's status holds \"\(t)\", which is not an IP address")
            }
            ips.append(ip)
        }
        // The pool holding all of them (the controller put them all in one).
        guard let index = pools.pool(holding: ips) else {
            return .refused(ips: ips, reason: "ipNotAllowed", message: "no IPAddressPool contains \(ips.map(\.description).joined(separator: ", "))")
        }
        return .resolved(ips: ips, pool: index)
    }
}

/// The address ranges and families of every pool of a configuration, parsed once: a reconcile plans every Service
/// against the same configuration, and parsing the pools' text for each of them was a tenth of a speaker's CPU with
/// 1,000 Services.
public struct PoolRanges: Sendable {
    /// `ranges[i]`: the ranges of `ipAddressPools[i]` (entries that do not parse are left out; validation refused them).
    public let ranges: [[IPRange]]
    /// `families[i]`: the address families of `ipAddressPools[i]`.
    public let families: [Set<IPFamily>]

    public init(_ configuration: Configuration) {
        let parsed = configuration.ipAddressPools.map { $0.spec.addresses.compactMap { try? PoolAddress.parse($0) } }
        ranges = parsed.map { $0.map(\.range) }
        families = parsed.map { Set($0.map(\.family)) }
    }

    /// The first pool holding every one of `ips` (the controller puts a Service's addresses in one pool).
    public func pool(holding ips: [IPAddress]) -> Int? {
        ranges.indices.first { i in ips.allSatisfy { ip in ranges[i].contains { $0.contains(ip) } } }
    }
}
