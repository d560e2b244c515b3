import API
import Kube
import NetAddress
import Speaker
import Testing

/// MetalLB's Layer 2 rules, case by case, with their reason strings (`Layer2Planner`).
@Suite struct Layer2PlannerTests {
    static let ns = "metallb-system"

    static func pool(_ name: String, _ addresses: [String], labels: [String: String]? = nil) -> IPAddressPool {
        IPAddressPool(metadata: ObjectMeta(name: name, namespace: ns, labels: labels), spec: IPAddressPoolSpec(addresses: addresses))
    }

    static func l2(_ name: String, pools: [String]? = nil, nodes: [LabelSelector]? = nil, interfaces: [String]? = nil,
                   services: [LabelSelector]? = nil, preferred: [PreferredNodeSelector]? = nil) -> L2Advertisement {
        L2Advertisement(metadata: ObjectMeta(name: name, namespace: ns), spec: L2AdvertisementSpec(
            ipAddressPools: pools, nodeSelectors: nodes, interfaces: interfaces, serviceSelectors: services, preferredNodeSelectors: preferred))
    }

    static func node(_ name: String, labels: [String: String] = [:], networkUnavailable: Bool = false) -> Node {
        Node(metadata: ObjectMeta(name: name, labels: labels),
             status: NodeStatus(conditions: networkUnavailable ? [NodeCondition(type: "NetworkUnavailable", status: "True")] : []))
    }

    static func service(_ name: String = "web", ips: [String] = ["10.1.0.5"], type: String = "LoadBalancer", local: Bool = false,
                        labels: [String: String]? = nil, annotations: [String: String]? = nil, lbClass: String? = nil) -> Service {
        Service(metadata: ObjectMeta(name: name, namespace: "apps", labels: labels, annotations: annotations),
                spec: ServiceSpec(type: type, loadBalancerClass: lbClass, externalTrafficPolicy: local ? "Local" : "Cluster"),
                status: ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: ips.map { LoadBalancerIngress(ip: $0) })))
    }

    static func slice(_ endpoints: [(node: String, ready: Bool?, serving: Bool?)]) -> [EndpointSlice] {
        [EndpointSlice(metadata: ObjectMeta(name: "web-x", namespace: "apps"), addressType: "IPv4", endpoints: endpoints.enumerated().map {
            Endpoint(addresses: ["10.244.0.\($0.offset + 1)"], conditions: EndpointConditions(ready: $0.element.ready, serving: $0.element.serving),
                     nodeName: $0.element.node)
        })]
    }

    static let nodes = [node("n1", labels: ["zone": "a"]), node("n2", labels: ["zone": "b"]), node("n3", labels: ["zone": "b"])]
    static let ready = slice([("n1", true, nil), ("n2", true, nil)])

    func plan(_ svc: Service = service(), endpoints: [EndpointSlice] = ready, pools: [IPAddressPool] = [pool("lan", ["10.1.0.0/24"])],
              ads: [L2Advertisement] = [l2("all")], nodes: [Node] = nodes, ignoreExclude: Bool = false, lbClass: String? = nil) -> Layer2Plan.Outcome {
        let config = Configuration(operatorNamespace: Self.ns, ipAddressPools: pools, l2Advertisements: ads)
        return Layer2Planner.plan(svc, endpoints: endpoints,
                                  in: Layer2Inputs(configuration: config, nodes: nodes, ignoreExcludeLabel: ignoreExclude, loadBalancerClass: lbClass)).outcome
    }

    func reason(_ o: Layer2Plan.Outcome) -> String? { if case .nobody(let r, _) = o { return r } else { return nil } }
    func message(_ o: Layer2Plan.Outcome) -> String { if case .nobody(_, let m) = o { return m } else { return "" } }
    func candidates(_ o: Layer2Plan.Outcome) -> Set<String>? { if case .announce(let c, _, _) = o { return c } else { return nil } }

    @Test func servicesThatAreNotOursAreLeftAlone() {
        #expect(plan(Self.service(type: "ClusterIP")) == .notManaged)
        #expect(plan(Self.service(lbClass: "other")) == .notManaged)
        #expect(candidates(plan(Self.service(lbClass: "ours"), lbClass: "ours")) == ["n1", "n2", "n3"])
    }

    @Test func addressProblemsComeFirst() {
        #expect(reason(plan(Self.service(ips: []))) == "noIPAllocated")
        #expect(reason(plan(Self.service(ips: ["not-an-ip"]))) == "invalidIP")
        #expect(reason(plan(Self.service(ips: ["10.9.9.9"]))) == "ipNotAllowed")
    }

    @Test func noServingEndpointMeansNobody() {
        #expect(reason(plan(endpoints: [])) == "notOwner")
        #expect(reason(plan(endpoints: Self.slice([("n1", false, nil)]))) == "notOwner")
        // Terminating but still serving counts (MetalLB's EndpointCanServe).
        #expect(candidates(plan(endpoints: Self.slice([("n1", false, true)]))) == ["n1", "n2", "n3"])
    }

    @Test func aForgottenL2AdvertisementIsNamed() {
        let none = plan(ads: [])
        #expect(reason(none) == "noMatchingAdvertisement")
        #expect(message(none).contains("no L2Advertisement selects pool lan"))
        let otherPool = plan(ads: [Self.l2("other", pools: ["elsewhere"])])
        #expect(reason(otherPool) == "noMatchingAdvertisement")
        let otherServices = plan(ads: [Self.l2("db-only", services: [LabelSelector(matchLabels: ["app": "db"])])])
        #expect(reason(otherServices) == "noMatchingAdvertisement")
        #expect(message(otherServices).contains("select other Services"))
        // serviceSelectors are ORed.
        let either = [Self.l2("sel", services: [LabelSelector(matchLabels: ["app": "db"]), LabelSelector(matchLabels: ["app": "web"])])]
        #expect(candidates(plan(Self.service(labels: ["app": "web"]), ads: either)) == ["n1", "n2", "n3"])
        // Pools selected by label.
        let byLabel = L2Advertisement(metadata: ObjectMeta(name: "lbl", namespace: Self.ns),
                                      spec: L2AdvertisementSpec(ipAddressPoolSelectors: [LabelSelector(matchLabels: ["tier": "lan"])]))
        #expect(candidates(plan(pools: [Self.pool("lan", ["10.1.0.0/24"], labels: ["tier": "lan"])], ads: [byLabel])) != nil)
    }

    @Test func sharedIPWithServiceSelectorsIsRefused() {
        let shared = Self.service(labels: ["app": "web"], annotations: ["metallb.io/allow-shared-ip": "k"])
        #expect(reason(plan(shared, ads: [Self.l2("s", services: [LabelSelector(matchLabels: ["app": "web"])])])) == "sharedIPWithServiceSelector")
        #expect(candidates(plan(shared)) == ["n1", "n2", "n3"])
    }

    @Test func nodeSelectorsExclusionsAndNetworkUnavailable() {
        #expect(candidates(plan(ads: [Self.l2("b", nodes: [LabelSelector(matchLabels: ["zone": "b"])])])) == ["n2", "n3"])
        let some = [Self.node("n1"), Self.node("n2", networkUnavailable: true), Self.node("n3", labels: [Layer2Planner.excludeLabel: ""])]
        #expect(candidates(plan(nodes: some)) == ["n1"])
        #expect(candidates(plan(nodes: some, ignoreExclude: true)) == ["n1", "n3"])
        let none = plan(nodes: [Self.node("n2", networkUnavailable: true), Self.node("n3", labels: [Layer2Planner.excludeLabel: "true"])])
        #expect(reason(none) == "noCandidateNode")
        #expect(message(none).contains("NetworkUnavailable on n2"))
        #expect(message(none).contains("n3 labelled \(Layer2Planner.excludeLabel)") && message(none).contains("--ignore-exclude-lb"))
        let unselected = plan(ads: [Self.l2("c", nodes: [LabelSelector(matchLabels: ["zone": "c"])])])
        #expect(reason(unselected) == "noCandidateNode" && message(unselected).contains("select no node"))
    }

    @Test func externalTrafficPolicyLocalKeepsEndpointNodes() {
        #expect(candidates(plan(Self.service(local: true))) == ["n1", "n2"])
        let elsewhere = plan(Self.service(local: true), endpoints: Self.ready, ads: [Self.l2("n3", nodes: [LabelSelector(matchLabels: ["zone": "b"])])],
                             nodes: [Self.node("n1", labels: ["zone": "a"]), Self.node("n3", labels: ["zone": "b"])])
        #expect(reason(elsewhere) == "notOwner")
    }

    @Test func interfacesAndPreferences() throws {
        let ads = [
            Self.l2("eth1", interfaces: ["eth1"], preferred: [PreferredNodeSelector(weight: 50, preference: LabelSelector(matchLabels: ["zone": "b"]))]),
            Self.l2("eth2", nodes: [LabelSelector(matchLabels: ["zone": "b"])], interfaces: ["eth2"],
                    preferred: [PreferredNodeSelector(weight: 20, preference: LabelSelector(matchLabels: ["zone": "b"]))]),
        ]
        guard case .announce(let c, let preference, let interfaces) = plan(ads: ads) else {
            Issue.record("expected candidates")
            return
        }
        #expect(c == ["n1", "n2", "n3"])
        #expect(interfaces["n1"] == .some(["eth1"]) && interfaces["n2"] == .some(["eth1", "eth2"]))
        #expect(preference == ["n1": 0, "n2": 70, "n3": 70])
        // An advertisement without interfaces: every interface.
        guard case .announce(_, _, let all) = plan(ads: ads + [Self.l2("any")]) else { return }
        #expect(all["n2"] == .some(nil))

        // The election keeps to the preferred tier while one of it lives, then falls back.
        let config = Configuration(operatorNamespace: Self.ns, ipAddressPools: [Self.pool("lan", ["10.1.0.0/24"])], l2Advertisements: ads)
        let p = Layer2Planner.plan(Self.service(), endpoints: Self.ready, in: Layer2Inputs(configuration: config, nodes: Self.nodes))
        let requests = ["n1", "n2", "n3"].map { try? #require(p.failoverRequest(node: $0)) }.compactMap { $0 }
        #expect(requests.count == 3)
        // Each live node decides for itself (a dead one decides nothing).
        func owner(_ alive: Set<String>) -> [String] {
            alive.sorted().filter { n in
                guard let r = p.failoverRequest(node: n) else { return false }
                return !FailoverPlan.owned(by: n, requests: [r], alive: alive).isEmpty
            }
        }
        #expect(owner(["n1", "n2", "n3"]).count == 1 && owner(["n1", "n2", "n3"]) != ["n1"])
        #expect(owner(["n1", "n3"]) == ["n3"])
        #expect(owner(["n1"]) == ["n1"])
        #expect(p.failoverRequest(node: "n2")?.interfaces == ["eth1", "eth2"])
    }

    @Test func poolRangesFindThePoolHoldingEveryAddress() {
        let config = Configuration(operatorNamespace: Self.ns, ipAddressPools: [
            Self.pool("v4", ["10.1.0.0/24", "10.2.0.1-10.2.0.9"]),
            Self.pool("dual", ["10.3.0.0/24", "fd00::/120"]),
            Self.pool("bad", ["not an address"]),
        ])
        let pools = PoolRanges(config)
        #expect(pools.pool(holding: [IPAddress("10.2.0.9")!]) == 0)
        #expect(pools.pool(holding: [IPAddress("10.3.0.7")!, IPAddress("fd00::7")!]) == 1)
        #expect(pools.pool(holding: [IPAddress("10.1.0.7")!, IPAddress("fd00::7")!]) == nil, "one pool must hold them all")
        #expect(pools.pool(holding: [IPAddress("10.2.0.10")!]) == nil)
        #expect(pools.families == [[.ipv4], [.ipv4, .ipv6], []])
        #expect(pools.ranges[2].isEmpty, "what does not parse is left out (validation refused it)")
    }
}
