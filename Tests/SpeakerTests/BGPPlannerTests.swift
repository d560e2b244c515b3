import API
import BFD
import BGP
import Foundation
import Kube
import NetAddress
import Speaker
import TestSupport
import Testing

/// MetalLB's BGP rules for one node (`BGPPlanner`), the sessions a node opens (`BGPSessionPlan`), the routes of each
/// session (`BGPRouteTable`) and the ServiceBGPStatus objects (`BGPStatusPlan`).
@Suite struct BGPPlannerTests {
    static let ns = "metallb-system"

    // MARK: fixtures

    static func pool(_ name: String = "lan", _ addresses: [String] = ["10.1.0.0/24"], labels: [String: String]? = nil) -> IPAddressPool {
        IPAddressPool(metadata: ObjectMeta(name: name, namespace: ns, labels: labels), spec: IPAddressPoolSpec(addresses: addresses))
    }

    static func ad(_ name: String, pools: [String]? = nil, aggregation: Int32? = nil, aggregationV6: Int32? = nil, localPref: UInt32? = nil,
                   communities: [String]? = nil, nodes: [LabelSelector]? = nil, peers: [String]? = nil,
                   services: [LabelSelector]? = nil) -> BGPAdvertisement {
        BGPAdvertisement(metadata: ObjectMeta(name: name, namespace: ns), spec: BGPAdvertisementSpec(
            aggregationLength: aggregation, aggregationLengthV6: aggregationV6, localPref: localPref, communities: communities,
            ipAddressPools: pools, nodeSelectors: nodes, peers: peers, serviceSelectors: services))
    }

    static func node(_ name: String = "n1", labels: [String: String] = ["zone": "a"], networkUnavailable: Bool = false,
                     addresses: [NodeAddress] = [NodeAddress(type: "InternalIP", address: "192.168.0.11")]) -> Node {
        Node(metadata: ObjectMeta(name: name, labels: labels),
             status: NodeStatus(addresses: addresses,
                                conditions: networkUnavailable ? [NodeCondition(type: "NetworkUnavailable", status: "True")] : []))
    }

    static func service(_ name: String = "web", ips: [String] = ["10.1.0.5"], type: String = "LoadBalancer", local: Bool = false,
                        labels: [String: String]? = nil, lbClass: String? = nil) -> Service {
        Service(metadata: ObjectMeta(name: name, namespace: "apps", labels: labels),
                spec: ServiceSpec(type: type, loadBalancerClass: lbClass, externalTrafficPolicy: local ? "Local" : "Cluster"),
                status: ServiceStatus(loadBalancer: LoadBalancerStatus(ingress: ips.map { LoadBalancerIngress(ip: $0) })))
    }

    static func slice(_ endpoints: [(node: String, ready: Bool?, serving: Bool?)]) -> [EndpointSlice] {
        [EndpointSlice(metadata: ObjectMeta(name: "web-x", namespace: "apps"), addressType: "IPv4", endpoints: endpoints.enumerated().map {
            Endpoint(addresses: ["10.244.0.\($0.offset + 1)"], conditions: EndpointConditions(ready: $0.element.ready, serving: $0.element.serving),
                     nodeName: $0.element.node)
        })]
    }

    static func peer(_ name: String, myASN: UInt32 = 64500, peerASN: UInt32? = 64501, address: String? = "192.168.0.1",
                     _ edit: (inout BGPPeerSpec) -> Void = { _ in }) -> API.BGPPeer {
        var spec = BGPPeerSpec(myASN: myASN, peerASN: peerASN, peerAddress: address)
        edit(&spec)
        return API.BGPPeer(metadata: ObjectMeta(name: name, namespace: ns), spec: spec)
    }

    static let ready = slice([("n1", true, nil), ("n2", true, nil)])

    func plan(_ svc: Service = service(), endpoints: [EndpointSlice] = ready, pools: [IPAddressPool] = [pool()],
              ads: [BGPAdvertisement] = [ad("all")], communities: [API.Community] = [], node: Node = node(),
              ignoreExclude: Bool = false, lbClass: String? = nil) -> BGPPlan {
        let config = Configuration(operatorNamespace: Self.ns, ipAddressPools: pools, bgpAdvertisements: ads, communities: communities)
        return BGPPlanner.plan(svc, endpoints: endpoints,
                               in: BGPInputs(configuration: config, node: node, ignoreExcludeLabel: ignoreExclude, loadBalancerClass: lbClass))
    }

    func message(_ p: BGPPlan) -> String { if case .withdraw(_, let m) = p.outcome { return m } else { return "" } }
    func prefixes(_ p: BGPPlan) -> [String] { p.announcements.map(\.prefix.description) }

    func sessions(_ peers: [API.BGPPeer], node: Node = node(), profiles: [BFDProfile] = [], secrets: [Secret] = []) -> BGPSessionPlan {
        let config = Configuration(operatorNamespace: Self.ns, bgpPeers: peers, bfdProfiles: profiles)
        return BGPSessionPlan.sessions(for: node, configuration: config,
                                       secrets: Dictionary(secrets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
    }

    func session(_ peer: API.BGPPeer, node: Node = node(), profiles: [BFDProfile] = [], secrets: [Secret] = []) throws -> PlannedSession {
        let p = sessions([peer], node: node, profiles: profiles, secrets: secrets)
        #expect(p.refused.isEmpty, "\(p.refused)")
        return try #require(p.sessions.first)
    }

    func refusal(_ peer: API.BGPPeer, profiles: [BFDProfile] = [], secrets: [Secret] = []) -> String? {
        let p = sessions([peer], profiles: profiles, secrets: secrets)
        #expect(p.sessions.isEmpty)
        return p.refused.first?.reason
    }

    // MARK: the decision, case by case

    @Test func servicesThatAreNotOursAreLeftAlone() {
        #expect(plan(Self.service(type: "ClusterIP")).outcome == .notManaged)
        #expect(plan(Self.service(lbClass: "other")).outcome == .notManaged)
        #expect(prefixes(plan(Self.service(lbClass: "ours"), lbClass: "ours")) == ["10.1.0.5/32"])
    }

    @Test func addressProblemsComeFirst() {
        #expect(plan(Self.service(ips: []), ads: []).reason == "noIPAllocated")
        #expect(plan(Self.service(ips: ["not-an-ip"]), ads: []).reason == "invalidIP")
        #expect(plan(Self.service(ips: ["10.9.9.9"]), ads: []).reason == "ipNotAllowed")
    }

    @Test func notOwnerWhenNoAdvertisementOfThePoolSelectsThisNode() {
        let none = plan(ads: [])
        #expect(none.reason == "notOwner")
        #expect(message(none).contains("no BGPAdvertisement selects pool lan"))
        #expect(plan(ads: [Self.ad("other", pools: ["elsewhere"])]).reason == "notOwner")
        let elsewhere = plan(ads: [Self.ad("b", nodes: [LabelSelector(matchLabels: ["zone": "b"])])])
        #expect(elsewhere.reason == "notOwner")
        #expect(message(elsewhere).contains("do not select node n1"))
        // Node selectors are ORed; a pool picked by label counts.
        let either = [Self.ad("ab", nodes: [LabelSelector(matchLabels: ["zone": "b"]), LabelSelector(matchLabels: ["zone": "a"])])]
        #expect(plan(ads: either).reason == nil)
        let byLabel = BGPAdvertisement(metadata: ObjectMeta(name: "lbl", namespace: Self.ns),
                                       spec: BGPAdvertisementSpec(ipAddressPoolSelectors: [LabelSelector(matchLabels: ["tier": "lan"])]))
        #expect(prefixes(plan(pools: [Self.pool(labels: ["tier": "lan"])], ads: [byLabel])) == ["10.1.0.5/32"])
        #expect(plan(pools: [Self.pool(labels: ["tier": "wan"])], ads: [byLabel]).reason == "notOwner")
        // Checked before the endpoints (unlike Layer 2).
        #expect(plan(endpoints: [], ads: []).reason == "notOwner")
    }

    @Test func noMatchingAdvertisementWhenTheNodesAdvertisementsSelectOtherServices() {
        let db = Self.ad("db-only", services: [LabelSelector(matchLabels: ["app": "db"])])
        let p = plan(Self.service(labels: ["app": "web"]), ads: [db])
        #expect(p.reason == "noMatchingAdvertisement")
        #expect(message(p).contains("db-only") && message(p).contains("select other Services"))
        // The advertisement that selects the Service is not on this node: still noMatchingAdvertisement, as the
        // node's own advertisement selects other Services.
        let webElsewhere = Self.ad("web-b", nodes: [LabelSelector(matchLabels: ["zone": "b"])], services: [LabelSelector(matchLabels: ["app": "web"])])
        #expect(plan(Self.service(labels: ["app": "web"]), ads: [db, webElsewhere]).reason == "noMatchingAdvertisement")
        #expect(plan(Self.service(labels: ["app": "web"]), ads: [webElsewhere]).reason == "notOwner")
        // serviceSelectors are ORed.
        let either = Self.ad("sel", services: [LabelSelector(matchLabels: ["app": "db"]), LabelSelector(matchLabels: ["app": "web"])])
        #expect(plan(Self.service(labels: ["app": "web"]), ads: [either]).reason == nil)
        // Only the advertisements that select the Service are used.
        let p2 = plan(Self.service(labels: ["app": "web"]), ads: [db, either, Self.ad("all", communities: ["1:1"])])
        #expect(p2.announcements.map(\.advertisement) == ["all", "sel"])
    }

    @Test func conflictingLocalPrefsForTheSamePrefixesAndPeers() {
        let conflicting = plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", localPref: 200)])
        #expect(conflicting.reason == "conflictingAdvertisements")
        #expect(message(conflicting).contains("a and b") && message(conflicting).contains("100") && message(conflicting).contains("200"))
        // Unset counts as 0.
        #expect(plan(ads: [Self.ad("a"), Self.ad("b", localPref: 200)]).reason == "conflictingAdvertisements")
        #expect(plan(ads: [Self.ad("a", localPref: 0), Self.ad("b")]).reason == nil)
        // Same LOCAL_PREF: fine.
        #expect(plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", localPref: 100)]).reason == nil)
        // Different prefixes (another aggregation length for the pool's family): fine.
        #expect(plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", aggregation: 24, localPref: 200)]).reason == nil)
        // Only the IPv6 length differs but the pool is IPv4: the same prefixes, a conflict.
        #expect(plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", aggregationV6: 64, localPref: 200)]).reason == "conflictingAdvertisements")
        // A dual-stack pool needs both lengths to differ.
        let dual = [Self.pool("lan", ["10.1.0.0/24", "2001:db8::/64"])]
        #expect(plan(pools: dual, ads: [Self.ad("a", localPref: 100), Self.ad("b", aggregation: 24, localPref: 200)]).reason == "conflictingAdvertisements")
        #expect(plan(pools: dual, ads: [Self.ad("a", localPref: 100), Self.ad("b", aggregation: 24, aggregationV6: 96, localPref: 200)]).reason == nil)
        // Disjoint peers: fine; shared or unrestricted peers: a conflict.
        #expect(plan(ads: [Self.ad("a", localPref: 100, peers: ["r1"]), Self.ad("b", localPref: 200, peers: ["r2"])]).reason == nil)
        #expect(plan(ads: [Self.ad("a", localPref: 100, peers: ["r1", "r2"]), Self.ad("b", localPref: 200, peers: ["r2"])]).reason == "conflictingAdvertisements")
        #expect(plan(ads: [Self.ad("a", localPref: 100, peers: ["r1"]), Self.ad("b", localPref: 200)]).reason == "conflictingAdvertisements")
        // An advertisement for other nodes or other Services does not take part.
        #expect(plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", localPref: 200, nodes: [LabelSelector(matchLabels: ["zone": "b"])])]).reason == nil)
        #expect(plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", localPref: 200, services: [LabelSelector(matchLabels: ["app": "db"])])]).reason == nil)
        // Checked before the node's own state.
        #expect(plan(ads: [Self.ad("a", localPref: 100), Self.ad("b", localPref: 200)], node: Self.node(networkUnavailable: true)).reason
                == "conflictingAdvertisements")
    }

    @Test func theNodesOwnState() {
        let unavailable = plan(node: Self.node(networkUnavailable: true))
        #expect(unavailable.reason == "nodeNetworkUnavailable" && message(unavailable).contains("n1"))
        let excludedNode = Self.node(labels: ["zone": "a", BGPPlanner.excludeLabel: ""])
        let excluded = plan(node: excludedNode)
        #expect(excluded.reason == "nodeLabeledExcludeBalancers" && message(excluded).contains("--ignore-exclude-lb"))
        #expect(plan(node: excludedNode, ignoreExclude: true).reason == nil)
        // In this order, and before the endpoints.
        var both = Self.node(labels: ["zone": "a", BGPPlanner.excludeLabel: "true"], networkUnavailable: true)
        #expect(plan(endpoints: [], node: both).reason == "nodeNetworkUnavailable")
        both.status?.conditions = [NodeCondition(type: "NetworkUnavailable", status: "False")]
        #expect(plan(endpoints: [], node: both).reason == "nodeLabeledExcludeBalancers")
    }

    @Test func endpointsLastLocalThenAny() {
        #expect(plan(endpoints: []).reason == "noEndpoints")
        #expect(plan(endpoints: Self.slice([("n2", false, nil)])).reason == "noEndpoints")
        // Terminating but still serving counts (MetalLB's EndpointCanServe); on another node is enough for Cluster.
        #expect(plan(endpoints: Self.slice([("n2", false, true)])).reason == nil)
        // externalTrafficPolicy Local: a serving endpoint on this node.
        #expect(plan(Self.service(local: true), endpoints: Self.slice([("n2", true, nil)])).reason == "noLocalEndpoints")
        #expect(plan(Self.service(local: true), endpoints: Self.slice([("n1", false, nil), ("n2", true, nil)])).reason == "noLocalEndpoints")
        #expect(plan(Self.service(local: true), endpoints: []).reason == "noLocalEndpoints")
        #expect(plan(Self.service(local: true), endpoints: Self.slice([("n1", true, nil)])).reason == nil)
        #expect(plan(Self.service(local: true), endpoints: Self.slice([("n1", true, nil)]), node: Self.node("n2", labels: [:])).reason == "noLocalEndpoints")
    }

    @Test func theReasonsAreMetalLBs() {
        #expect(BGPPlanner.reasons == ["notOwner", "noMatchingAdvertisement", "conflictingAdvertisements", "nodeNetworkUnavailable",
                                       "nodeLabeledExcludeBalancers", "noLocalEndpoints", "noEndpoints"])
    }

    // MARK: what is announced

    @Test func aggregationV4AndV6() throws {
        #expect(prefixes(plan()) == ["10.1.0.5/32"])
        #expect(prefixes(plan(ads: [Self.ad("agg", aggregation: 24)])) == ["10.1.0.0/24"])
        #expect(prefixes(plan(ads: [Self.ad("agg", aggregation: 26)])) == ["10.1.0.0/26"])
        let v6 = [Self.pool("v6", ["2001:db8::/64"])]
        #expect(prefixes(plan(Self.service(ips: ["2001:db8::5"]), pools: v6)) == ["2001:db8::5/128"])
        #expect(prefixes(plan(Self.service(ips: ["2001:db8::5"]), pools: v6, ads: [Self.ad("agg", aggregation: 24, aggregationV6: 64)]))
                == ["2001:db8::/64"])
        // A dual-stack Service: one per IP and advertisement, IPs in order, advertisements by name.
        let dual = plan(Self.service(ips: ["10.1.0.5", "2001:db8::5"]), pools: [Self.pool("lan", ["10.1.0.0/24", "2001:db8::/64"])],
                        ads: [Self.ad("z", aggregation: 28), Self.ad("a", aggregationV6: 120)])
        #expect(prefixes(dual) == ["10.1.0.5/32", "10.1.0.0/28", "2001:db8::/120", "2001:db8::5/128"])
        #expect(dual.announcements.map(\.advertisement) == ["a", "z", "a", "z"])
        #expect(dual.announcements.allSatisfy { $0.prefix.contains($0.ip) })
        // Out of range (the pipeline refuses it; the planner announces nothing rather than something else).
        #expect(plan(ads: [Self.ad("bad", aggregation: 0)]).reason == BGPPlanner.invalidAdvertisementReason)
        #expect(plan(ads: [Self.ad("bad", aggregation: 33)]).reason == BGPPlanner.invalidAdvertisementReason)
    }

    @Test func aggregationMergesTwoServicesIntoOneRoute() throws {
        let ads = [Self.ad("agg", aggregation: 24, communities: ["65000:1"])]
        let a = plan(Self.service("a", ips: ["10.1.0.5"]), ads: ads)
        let b = plan(Self.service("b", ips: ["10.1.0.6"]), ads: ads)
        let r1 = try session(Self.peer("r1"))
        let table = BGPRouteTable(sessions: [r1], plans: [a, b])
        #expect(table.routes(for: r1) == [AdvertisedRoute(prefix: try IPPrefix.parse("10.1.0.0/24"), communities: [BGP.Community(asn: 65000, value: 1)])])
        #expect(table.peers == ["apps/a": ["r1"], "apps/b": ["r1"]])
        // Without aggregation: two routes, sorted.
        let c = plan(Self.service("c", ips: ["10.1.0.9"]))
        let d = plan(Self.service("d", ips: ["10.1.0.10"]))
        #expect(BGPPlanner.routes(for: r1, plans: [c, d]).map(\.prefix.description) == ["10.1.0.9/32", "10.1.0.10/32"])
    }

    @Test func localPrefOnlyOnIBGPSessions() throws {
        let p = plan(ads: [Self.ad("pref", localPref: 150)])
        #expect(p.announcements.first?.localPref == 150)
        let ibgp = try session(Self.peer("ibgp", myASN: 64500, peerASN: 64500))
        let ebgp = try session(Self.peer("ebgp", peerASN: 64501, address: "192.168.0.2"))
        let dynamicInternal = try session(Self.peer("dyn", peerASN: nil, address: "192.168.0.3") { $0.dynamicASN = "internal" })
        let dynamicExternal = try session(Self.peer("dyx", peerASN: nil, address: "192.168.0.4") { $0.dynamicASN = "external" })
        #expect(ibgp.isInternal && !ebgp.isInternal && dynamicInternal.isInternal && !dynamicExternal.isInternal)
        #expect(BGPPlanner.routes(for: ibgp, plans: [p]).map(\.localPref) == [150])
        #expect(BGPPlanner.routes(for: dynamicInternal, plans: [p]).map(\.localPref) == [150])
        #expect(BGPPlanner.routes(for: ebgp, plans: [p]).map(\.localPref) == [nil])
        #expect(BGPPlanner.routes(for: dynamicExternal, plans: [p]).map(\.localPref) == [nil])
        // 0 is "not set", as in MetalLB (the peer's default applies).
        #expect(plan(ads: [Self.ad("zero", localPref: 0)]).announcements.first?.localPref == nil)
        // localASN decides too: presented as the peer's AS, the session is iBGP.
        let viaLocalASN = try session(Self.peer("las", myASN: 64500, peerASN: 64999, address: "192.168.0.5") { $0.localASN = 64999 })
        #expect(viaLocalASN.localAS == 64999 && viaLocalASN.myASN == 64500 && viaLocalASN.isInternal)
        #expect(BGPPlanner.routes(for: viaLocalASN, plans: [p]).map(\.localPref) == [150])
    }

    @Test func communitiesLiteralLargeAndAliases() throws {
        let aliases = API.Community(metadata: ObjectMeta(name: "names", namespace: Self.ns), spec: CommunitySpec(communities: [
            CommunityAlias(name: "gold", value: "65000:200"), CommunityAlias(name: "big", value: "large:7:8:9"),
            CommunityAlias(name: "no-export", value: "65535:65281"),
        ]))
        let p = plan(ads: [Self.ad("c", communities: ["large:1:2:3", "65000:200", "gold", "65000:100", "big", "no-export"])],
                     communities: [aliases])
        // Resolved, without the duplicate (gold is 65000:200), sorted as MetalLB sorts (standard as value:0:0).
        #expect(p.announcements.first?.communities.map(\.description) == ["large:1:2:3", "large:7:8:9", "65000:100", "65000:200", "65535:65281"])
        let r1 = try session(Self.peer("r1"))
        let route = try #require(BGPPlanner.routes(for: r1, plans: [p]).first)
        #expect(route.communities == [BGP.Community(asn: 65000, value: 100), BGP.Community(asn: 65000, value: 200), .noExport])
        #expect(route.largeCommunities == [LargeCommunity(1, 2, 3), LargeCommunity(7, 8, 9)])
        // An unknown alias, or a malformed value: nothing announced rather than a route without its communities.
        let unknown = plan(ads: [Self.ad("c", communities: ["silver"])], communities: [aliases])
        #expect(unknown.reason == BGPPlanner.invalidAdvertisementReason)
        #expect(message(unknown).contains("\"silver\"") && message(unknown).contains("BGPAdvertisement c"))
        #expect(plan(ads: [Self.ad("c", communities: ["65000:70000"])]).reason == BGPPlanner.invalidAdvertisementReason)
        #expect(plan(ads: [Self.ad("c", communities: ["large:1:2:x"])]).reason == BGPPlanner.invalidAdvertisementReason)
        // An alias whose value does not parse is unknown.
        let broken = API.Community(metadata: ObjectMeta(name: "broken", namespace: Self.ns),
                                   spec: CommunitySpec(communities: [CommunityAlias(name: "bad", value: "nope")]))
        #expect(plan(ads: [Self.ad("c", communities: ["bad"])], communities: [broken]).reason == BGPPlanner.invalidAdvertisementReason)
    }

    @Test func peersRestrictWhichSessionsCarryARoute() throws {
        let p = plan(ads: [Self.ad("only-r1", peers: ["r1"])])
        #expect(p.announcements.first?.peers == ["r1"])
        let r1 = try session(Self.peer("r1"))
        let r2 = try session(Self.peer("r2", address: "192.168.0.2"))
        let table = BGPRouteTable(sessions: [r1, r2], plans: [p])
        #expect(table.routes(for: r1).map(\.prefix.description) == ["10.1.0.5/32"])
        #expect(table.routes(for: r2).isEmpty)
        #expect(table.routes["r2"] == [])
        #expect(table.peers == ["apps/web": ["r1"]])
        // Unrestricted: every session.
        let all = BGPRouteTable(sessions: [r1, r2], plans: [plan()])
        #expect(all.peers == ["apps/web": ["r1", "r2"]])
        // Restricted to a peer this node has no session with: sent nowhere.
        let away = BGPRouteTable(sessions: [r1, r2], plans: [plan(ads: [Self.ad("r3", peers: ["r3"])])])
        #expect(away.peers.isEmpty && away.routes.values.allSatisfy(\.isEmpty))
    }

    @Test func aPrefixFromSeveralServicesAndAdvertisementsGoesOnce() throws {
        // Two advertisements of one Service, and a second Service aggregated into the same prefix.
        let ads = [Self.ad("a", aggregation: 24, localPref: 100, communities: ["65000:1"], peers: ["r1"]),
                   Self.ad("b", aggregation: 24, localPref: 100, communities: ["65000:2", "large:1:1:1"])]
        let web = plan(Self.service("web", ips: ["10.1.0.5"]), ads: ads)
        let db = plan(Self.service("db", ips: ["10.1.0.77"]), ads: [Self.ad("c", aggregation: 24, localPref: 300, communities: ["65000:3"], peers: ["r2"])])
        #expect(web.reason == nil && db.reason == nil)
        let r1 = try session(Self.peer("r1", myASN: 64500, peerASN: 64500))
        let r2 = try session(Self.peer("r2", myASN: 64500, peerASN: 64500, address: "192.168.0.2"))
        let table = BGPRouteTable(sessions: [r1, r2], plans: [web, db])
        let prefix = try IPPrefix.parse("10.1.0.0/24")
        #expect(table.routes(for: r1) == [AdvertisedRoute(prefix: prefix, localPref: 100,
                                                          communities: [BGP.Community(asn: 65000, value: 1), BGP.Community(asn: 65000, value: 2)],
                                                          largeCommunities: [LargeCommunity(1, 1, 1)])])
        // r2 gets b's (unrestricted) and c's: communities merged, the highest LOCAL_PREF.
        #expect(table.routes(for: r2) == [AdvertisedRoute(prefix: prefix, localPref: 300,
                                                          communities: [BGP.Community(asn: 65000, value: 2), BGP.Community(asn: 65000, value: 3)],
                                                          largeCommunities: [LargeCommunity(1, 1, 1)])])
        // The prefix is both Services': each reaches every peer that receives it (MetalLB's activeAds).
        #expect(table.peers == ["apps/web": ["r1", "r2"], "apps/db": ["r1", "r2"]])
        // The order of the plans does not matter.
        #expect(BGPRouteTable(sessions: [r2, r1], plans: [db, web]) == table)
    }

    @Test func aSessionCarriesItsPeersFamilyOrBothWithDualStack() throws {
        let dualPool = [Self.pool("lan", ["10.1.0.0/24", "2001:db8::/64"])]
        let p = plan(Self.service(ips: ["10.1.0.5", "2001:db8::5"]), pools: dualPool)
        let v4 = try session(Self.peer("v4"))
        let v6 = try session(Self.peer("v6", address: "2001:db8:ffff::1"))
        let both = try session(Self.peer("both", address: "192.168.0.9") { $0.dualStackAddressFamily = true })
        let disableMP = try session(Self.peer("dmp", address: "192.168.0.8") { $0.disableMP = true })
        #expect(v4.families == [.ipv4Unicast] && v6.families == [.ipv6Unicast] && both.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(disableMP.families == [.ipv4Unicast])
        #expect(BGPPlanner.routes(for: v4, plans: [p]).map(\.prefix.description) == ["10.1.0.5/32"])
        #expect(BGPPlanner.routes(for: v6, plans: [p]).map(\.prefix.description) == ["2001:db8::5/128"])
        #expect(BGPPlanner.routes(for: both, plans: [p]).map(\.prefix.description) == ["10.1.0.5/32", "2001:db8::5/128"])
        #expect(BGPPlanner.routes(for: disableMP, plans: [p]).map(\.prefix.description) == ["10.1.0.5/32"])
        #expect(both.peerConfig.session.families == [.ipv4Unicast, .ipv6Unicast])
        // A v6-only Service does not list a v4-only peer it is not sent to.
        let only6 = plan(Self.service("six", ips: ["2001:db8::6"]), pools: dualPool)
        #expect(BGPRouteTable(sessions: [v4, v6], plans: [only6]).peers == ["apps/six": ["v6"]])
    }

    @Test func plansWithoutAnnouncementsAddNothing() throws {
        let r1 = try session(Self.peer("r1"))
        let table = BGPRouteTable(sessions: [r1], plans: [plan(endpoints: []), plan(Self.service(type: "ClusterIP")), plan(ads: [])])
        #expect(table.routes == ["r1": []] && table.peers.isEmpty)
    }

    // MARK: sessions

    @Test func peersRunWhereTheirNodeSelectorsSay() {
        let peers = [
            Self.peer("everywhere"),
            Self.peer("zone-a", address: "192.168.0.2") { $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "a"])] },
            Self.peer("zone-b", address: "192.168.0.3") { $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "b"])] },
            Self.peer("a-or-b", address: "192.168.0.4") {
                $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "b"]), LabelSelector(matchExpressions: [.init(key: "zone", .in, ["a"])])]
            },
        ]
        #expect(sessions(peers).sessions.map(\.peerName) == ["a-or-b", "everywhere", "zone-a"])
        #expect(sessions(peers, node: Self.node("n2", labels: ["zone": "b"])).sessions.map(\.peerName) == ["a-or-b", "everywhere", "zone-b"])
        #expect(sessions(peers, node: Self.node("n3", labels: [:])).sessions.map(\.peerName) == ["everywhere"])
        // A refused peer of another node is not this node's business.
        let vrfElsewhere = Self.peer("vrf-b") { $0.vrf = "red"; $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "b"])] }
        #expect(sessions([vrfElsewhere]) == BGPSessionPlan())
    }

    @Test func everyFieldMapsToTheLibrary() throws {
        let s = try session(Self.peer("r1", myASN: 64500, peerASN: 64501, address: "192.168.0.1") {
            $0.peerPort = 1179
            $0.sourceAddress = "192.168.0.11"
            $0.routerID = "10.255.0.1"
            $0.holdTime = "30s"
            $0.connectTime = "5s"
            $0.ebgpMultiHop = true
            $0.password = "s3cret"
            $0.enableGracefulRestart = true
        })
        #expect(s.id == "r1" && s.peerName == "r1")
        #expect(s.localAS == 64500 && s.peerAS == .fixed(64501))
        #expect(s.peerAddress == IPAddress("192.168.0.1") && s.peerPort == 1179 && s.sourceAddress == IPAddress("192.168.0.11"))
        #expect(s.routerID == IPv4Address("10.255.0.1"))
        #expect(s.holdTime == 30 && s.keepaliveTime == 10 && s.connectTime == .seconds(5))
        #expect(s.ebgpMultiHop && s.gracefulRestart && s.password?.value == "s3cret" && s.bfd == nil)
        let c = s.peerConfig
        #expect(c.peerAddress == IPAddress("192.168.0.1") && c.peerPort == 1179 && c.localAddress == IPAddress("192.168.0.11"))
        #expect(c.ttl == 255 && c.effectiveTTL == 255 && c.password == "s3cret")
        #expect(c.session.localAS == 64500 && c.session.peerAS == .fixed(64501) && c.session.routerID == IPv4Address("10.255.0.1"))
        #expect(c.session.holdTime == 30 && c.session.keepaliveTime == 10 && c.session.connectRetryTime == .seconds(5))
        #expect(c.session.gracefulRestart?.forwardingStatePreserved == true && c.session.families == [.ipv4Unicast])
        #expect(s == PlannedSession(peerName: "r1", localAS: 64500, peerAS: .fixed(64501), peerAddress: IPAddress("192.168.0.1")!, peerPort: 1179,
                                    sourceAddress: IPAddress("192.168.0.11"), routerID: IPv4Address("10.255.0.1")!, holdTime: 30, keepaliveTime: 10,
                                    connectTime: .seconds(5), ebgpMultiHop: true, password: BGPPassword("s3cret"), gracefulRestart: true))
        #expect(s.description == "BGPPeer r1: 192.168.0.1 port 1179, AS 64501 from AS 64500 (eBGP), source 192.168.0.11, router ID 10.255.0.1, hold 30s, keepalive 10s, connect 5s, multihop, password <redacted>, graceful restart, families [ipv4-unicast]")

        // Defaults: port 179, hold 90 (MetalLB's native default), keepalive a third, connect 120 s, one hop, no GR.
        let d = try session(Self.peer("d"))
        #expect(d.peerPort == 179 && d.holdTime == 90 && d.keepaliveTime == nil && d.connectTime == nil && d.sourceAddress == nil)
        #expect(!d.ebgpMultiHop && !d.gracefulRestart && d.password == nil)
        #expect(d.peerConfig.ttl == nil && d.peerConfig.effectiveTTL == 1 && d.peerConfig.session.gracefulRestart == nil)
        #expect(d.peerConfig.session.connectRetryTime == .seconds(120) && d.peerConfig.session.holdTime == 90)
        // Only a keepalive: hold = 3 × keepalive. Hold 0: no keepalives.
        #expect(try session(Self.peer("k") { $0.keepaliveTime = "20s" }).holdTime == 60)
        let zero = try session(Self.peer("z") { $0.holdTime = "0s" })
        #expect(zero.holdTime == 0 && zero.keepaliveTime == 0)
        // v1beta1 writes "0s" for "not set".
        var old = Self.peer("old") { $0.holdTime = "0s"; $0.keepaliveTime = "0s" }
        old.apiVersion = API.BGPPeer.v1beta1ResourceType.apiVersion
        #expect(try session(old).holdTime == 90)
        // dynamicASN.
        #expect(try session(Self.peer("x", peerASN: nil) { $0.dynamicASN = "external" }).peerAS == .external)
    }

    @Test func theRouterIDDefaultsToTheNodesIPv4() throws {
        #expect(try session(Self.peer("r")).routerID == IPv4Address("192.168.0.11"))
        #expect(try session(Self.peer("r") { $0.sourceAddress = "192.168.0.12" }).routerID == IPv4Address("192.168.0.12"))
        let v6Node = Self.node(addresses: [NodeAddress(type: "InternalIP", address: "fd00::11"), NodeAddress(type: "Hostname", address: "n1"),
                                           NodeAddress(type: "ExternalIP", address: "203.0.113.7")])
        #expect(try session(Self.peer("r"), node: v6Node).routerID == IPv4Address("203.0.113.7"))
        // Nothing IPv4: MetalLB's hash of the node name (CRC-32, little-endian): CRC-32("123456789") is 0xCBF43926.
        let bare = Self.node("123456789", addresses: [])
        #expect(try session(Self.peer("r"), node: bare).routerID == IPv4Address(0x26, 0x39, 0xF4, 0xCB))
    }

    @Test func passwordsFromTheSpecOrABasicAuthSecret() throws {
        func secret(_ name: String = "bgp-pass", type: String? = "kubernetes.io/basic-auth", data: [String: String]? = nil,
                    stringData: [String: String]? = nil) -> Secret {
            Secret(metadata: ObjectMeta(name: name, namespace: Self.ns), type: type, data: data, stringData: stringData)
        }
        let fromSecret = Self.peer("r") { $0.passwordSecret = SecretReference(name: "bgp-pass", namespace: Self.ns) }
        let encoded = Data("t0p-s3cret".utf8).base64EncodedString()
        #expect(try session(fromSecret, secrets: [secret(data: ["password": encoded])]).password?.value == "t0p-s3cret")
        #expect(try session(fromSecret, secrets: [secret(stringData: ["password": "other"])]).password?.value == "other")
        // The Secrets of the configuration, those of MetalLB's namespace only.
        let inConfig = Configuration(operatorNamespace: Self.ns, bgpPeers: [fromSecret], secrets: [secret(data: ["password": encoded])])
        #expect(BGPSessionPlan.sessions(for: Self.node(), configuration: inConfig).sessions.first?.password?.value == "t0p-s3cret")
        var elsewhere = secret(data: ["password": encoded])
        elsewhere.metadata.namespace = "default"
        let wrongNamespace = Configuration(operatorNamespace: Self.ns, bgpPeers: [fromSecret], secrets: [elsewhere])
        #expect(BGPSessionPlan.sessions(for: Self.node(), configuration: wrongNamespace).refused.count == 1)
        #expect(refusal(fromSecret)?.contains("\"bgp-pass\" does not exist") == true)
        #expect(refusal(fromSecret, secrets: [secret(type: "Opaque", data: ["password": encoded])])?.contains("basic-auth") == true)
        #expect(refusal(fromSecret, secrets: [secret(data: ["username": encoded])])?.contains("no key \"password\"") == true)
        #expect(refusal(fromSecret, secrets: [secret(data: ["password": ""])])?.contains("empty") == true)
        let both = Self.peer("r") { $0.password = "x"; $0.passwordSecret = SecretReference(name: "bgp-pass") }
        #expect(refusal(both, secrets: [secret(data: ["password": encoded])])?.contains("mutually exclusive") == true)
        // An empty passwordSecret is no secret.
        #expect(try session(Self.peer("r") { $0.passwordSecret = SecretReference() }).password == nil)
        // Too long for TCP MD5, and the reason does not say it.
        let long = String(repeating: "k", count: 81)
        let tooLong = try #require(refusal(Self.peer("r") { $0.password = long }))
        #expect(tooLong.contains("81 bytes") && !tooLong.contains(long))
    }

    @Test func thePasswordNeverShows() throws {
        let password = "Sup3r-S3cret-MD5"
        let s = try session(Self.peer("r1") { $0.password = password; $0.enableGracefulRestart = true })
        #expect(s.password?.value == password)
        #expect(s.description.contains("password <redacted>") && !s.description.contains(password))
        #expect(!String(reflecting: s).contains(password))
        #expect(!"\(s)".contains(password) && !"\(String(describing: s.password))".contains(password))
        var dumped = ""
        dump(s, to: &dumped)
        #expect(dumped.contains("r1") && !dumped.contains(password))
        var plan = BGPSessionPlan(sessions: [s])
        var planDump = ""
        dump(plan, to: &planDump)
        #expect(!planDump.contains(password) && !String(describing: plan).contains(password))
        // The password still takes part in equality: a new password is a new session.
        var changed = s
        changed.password = BGPPassword("another")
        #expect(changed != s && changed.mustReestablish(comparedTo: s))
        plan.sessions = []
        #expect(plan == BGPSessionPlan())
    }

    @Test func bfdProfilesResolveToTheirParameters() throws {
        let fast = BFDProfile(metadata: ObjectMeta(name: "fast", namespace: Self.ns), spec: BFDProfileSpec(
            receiveInterval: 100, transmitInterval: 150, detectMultiplier: 5, passiveMode: true, minimumTtl: 250))
        let plain = BFDProfile(metadata: ObjectMeta(name: "plain", namespace: Self.ns))
        let echo = BFDProfile(metadata: ObjectMeta(name: "echo", namespace: Self.ns), spec: BFDProfileSpec(echoMode: true))
        let profiles = [fast, plain, echo]
        let s = try session(Self.peer("r") { $0.bfdProfile = "fast" }, profiles: profiles)
        #expect(s.bfd == PlannedBFD(profile: "fast", parameters: BFDParameters(
            receiveInterval: 100, transmitInterval: 150, detectMultiplier: 5, echoMode: false, passiveMode: true, minimumTtl: 250)))
        #expect(s.description.contains("BFD profile fast"))
        #expect(try session(Self.peer("r") { $0.bfdProfile = "plain" }, profiles: profiles).bfd?.parameters == BFDParameters())
        #expect(refusal(Self.peer("r") { $0.bfdProfile = "echo" }, profiles: profiles)?.contains("echoMode") == true)
        #expect(refusal(Self.peer("r") { $0.bfdProfile = "missing" }, profiles: profiles)?.contains("no BFDProfile named \"missing\"") == true)
        #expect(refusal(Self.peer("r") { $0.bfdProfile = "fast"; $0.ebgpMultiHop = true }, profiles: profiles)?.contains("multihop") == true)
        let wild = BFDProfile(metadata: ObjectMeta(name: "wild", namespace: Self.ns), spec: BFDProfileSpec(receiveInterval: 5))
        #expect(refusal(Self.peer("r") { $0.bfdProfile = "wild" }, profiles: [wild])?.contains("receiveInterval") == true)
    }

    @Test func peersThatCannotBePlannedSayWhy() throws {
        let cases: [(API.BGPPeer, String)] = [
            (Self.peer("vrf") { $0.vrf = "red" }, "VRF"),
            (Self.peer("unnumbered", address: nil) { $0.interface = "eth1" }, "unnumbered"),
            (Self.peer("no-address", address: nil), "peerAddress is required"),
            (Self.peer("bad-address", address: "192.168.0.300"), "not an IP address"),
            (Self.peer("multicast", address: "224.0.0.5"), "not a router"),
            (Self.peer("no-my-asn", myASN: 0), "myASN"),
            (Self.peer("no-peer-asn", peerASN: nil), "neither peerASN nor dynamicASN"),
            (Self.peer("both-asn") { $0.dynamicASN = "internal" }, "mutually exclusive"),
            (Self.peer("odd-dynamic", peerASN: nil) { $0.dynamicASN = "sideways" }, "internal or external"),
            (Self.peer("ibgp-multihop", peerASN: 64500) { $0.ebgpMultiHop = true }, "iBGP"),
            (Self.peer("source-family") { $0.sourceAddress = "fd00::1" }, "sourceAddress"),
            (Self.peer("router-id-v6") { $0.routerID = "fd00::1" }, "routerID"),
            (Self.peer("short-hold") { $0.holdTime = "2s" }, "hold time"),
            (Self.peer("long-keepalive") { $0.holdTime = "9s"; $0.keepaliveTime = "10s" }, "keepalive"),
            (Self.peer("bad-hold") { $0.holdTime = "soon" }, "holdTime"),
            (Self.peer("bad-connect") { $0.connectTime = "1500ms" }, "connectTime"),
        ]
        let plan = sessions(cases.map(\.0) + [Self.peer("fine", address: "192.168.0.99")])
        // Two peers at one address: the library keeps one session per address; the first by name wins.
        let twice = sessions([Self.peer("b-second", address: "192.168.0.7") { $0.peerPort = 1179 }, Self.peer("a-first", address: "192.168.0.7")])
        #expect(twice.sessions.map(\.peerName) == ["a-first"])
        #expect(twice.refused == [RefusedPeer(peerName: "b-second", reason: "BGPPeer a-first already has a session to 192.168.0.7 on this node; a node opens one session per peer address")])
        #expect(plan.sessions.map(\.peerName) == ["fine"])
        // None disappears silently: every selected peer is planned or refused.
        #expect(plan.refused.count == cases.count)
        for (peer, words) in cases {
            let refused = plan.refused.first { $0.peerName == peer.name }
            #expect(refused?.reason.contains(words) == true, "\(peer.name): \(refused?.reason ?? "not refused")")
            #expect(refused?.description.hasPrefix("BGPPeer \(peer.name): ") == true)
        }
    }

    @Test func anUnchangedPeerStaysEqual() throws {
        let fast = BFDProfile(metadata: ObjectMeta(name: "fast", namespace: Self.ns), spec: BFDProfileSpec(receiveInterval: 100))
        let secret = Secret(metadata: ObjectMeta(name: "pass", namespace: Self.ns), type: "kubernetes.io/basic-auth",
                            stringData: ["password": "one"])
        let r1 = Self.peer("r1") {
            $0.passwordSecret = SecretReference(name: "pass")
            $0.bfdProfile = "fast"
            $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "a"])]
        }
        func plan(_ peers: [API.BGPPeer], profiles: [BFDProfile] = [fast], secrets: [Secret] = [secret], pools: [IPAddressPool] = [],
                  ads: [BGPAdvertisement] = [], node: Node = Self.node()) throws -> PlannedSession {
            let config = Configuration(operatorNamespace: Self.ns, ipAddressPools: pools, bgpAdvertisements: ads, bgpPeers: peers,
                                       bfdProfiles: profiles)
            let p = BGPSessionPlan.sessions(for: node, configuration: config,
                                            secrets: Dictionary(secrets.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a }))
            return try #require(p.sessions.first { $0.id == "r1" })
        }
        let before = try plan([r1])
        // Unrelated changes: another peer, a pool, an advertisement, another BFDProfile, another Secret, the node's
        // other labels, selectors that still select the node.
        let slow = BFDProfile(metadata: ObjectMeta(name: "slow", namespace: Self.ns), spec: BFDProfileSpec(receiveInterval: 1000))
        let other = Secret(metadata: ObjectMeta(name: "other", namespace: Self.ns), type: "kubernetes.io/basic-auth", stringData: ["password": "x"])
        var reselected = r1
        reselected.spec.nodeSelectors = [LabelSelector(matchExpressions: [.init(key: "zone", .exists)])]
        #expect(try plan([r1, Self.peer("r2", address: "192.168.0.2")]) == before)
        #expect(try plan([r1], pools: [Self.pool()], ads: [Self.ad("a", localPref: 7)]) == before)
        #expect(try plan([r1], profiles: [fast, slow], secrets: [secret, other]) == before)
        #expect(try plan([r1], node: Self.node(labels: ["zone": "a", "rack": "7"])) == before)
        #expect(try plan([reselected]) == before)
        #expect(try plan([Self.peer("r0", address: "192.168.0.3"), r1]).hashValue == before.hashValue)

        // A changed field: a new session.
        var hold = r1
        hold.spec.holdTime = "30s"
        let changedHold = try plan([hold])
        #expect(changedHold != before && changedHold.id == before.id && changedHold.mustReestablish(comparedTo: before))
        let newPassword = Secret(metadata: ObjectMeta(name: "pass", namespace: Self.ns), type: "kubernetes.io/basic-auth",
                                 stringData: ["password": "two"])
        #expect(try plan([r1], secrets: [newPassword]).mustReestablish(comparedTo: before))
        var address = r1
        address.spec.peerAddress = "192.168.0.50"
        #expect(try plan([address]).mustReestablish(comparedTo: before))
        // The BFD parameters alone: changed, but the BGP session stays.
        let faster = BFDProfile(metadata: ObjectMeta(name: "fast", namespace: Self.ns), spec: BFDProfileSpec(receiveInterval: 50))
        let bfdChanged = try plan([r1], profiles: [faster])
        #expect(bfdChanged != before && !bfdChanged.mustReestablish(comparedTo: before))
        #expect(!before.mustReestablish(comparedTo: before))
    }

    // MARK: ServiceBGPStatus

    @Test func statusListsThePeersOfEachServiceAndNothingWhenEmpty() throws {
        let r1 = try session(Self.peer("r1"))
        let r2 = try session(Self.peer("r2", address: "192.168.0.2"))
        let web = plan(Self.service("web"))
        let db = plan(Self.service("db", ips: ["10.1.0.6"]), ads: [Self.ad("r2", peers: ["r2"])])
        let gone = plan(Self.service("gone", ips: ["10.1.0.7"]), ads: [Self.ad("r9", peers: ["r9"])])
        let quiet = plan(Self.service("quiet", ips: ["10.1.0.8"]), endpoints: [])
        let plans = [web, db, gone, quiet]
        let table = BGPRouteTable(sessions: [r1, r2], plans: plans)
        typealias D = BGPStatusPlan.Desired
        #expect(BGPStatusPlan.desired(table, plans: plans) == [
            D(serviceNamespace: "apps", serviceName: "web", peers: ["r2", "r1"]),
            D(serviceNamespace: "apps", serviceName: "db", peers: ["r2"]),
        ])
        #expect(D(serviceNamespace: "a", serviceName: "b", peers: ["z", "a", "z"]).peers == ["a", "z"])
        // No session on this node: no object at all.
        #expect(BGPStatusPlan.desired(BGPRouteTable(sessions: [], plans: plans), plans: plans).isEmpty)
    }

    static func existing(_ name: String, _ ns: String, _ svc: String, peers: [String]?, node: String? = "n1") -> ServiceBGPStatus {
        ServiceBGPStatus(
            metadata: ObjectMeta(name: name, labels: [BGPStatusPlan.nodeLabel: "n1", BGPStatusPlan.serviceNamespaceLabel: ns,
                                                      BGPStatusPlan.serviceNameLabel: svc]),
            status: ServiceBGPStatusStatus(node: node, serviceName: svc, serviceNamespace: ns, peers: peers))
    }

    @Test func statusWritesCreateUpdateAndDelete() {
        typealias D = BGPStatusPlan.Desired
        let web = D(serviceNamespace: "a", serviceName: "web", peers: ["r1", "r2"])
        let db = D(serviceNamespace: "a", serviceName: "db", peers: ["r1"])
        let have = [Self.existing("bgp-1", "a", "web", peers: ["r2", "r1"]), Self.existing("bgp-2", "a", "web", peers: ["r1"]),
                    Self.existing("bgp-3", "a", "gone", peers: ["r1"])]
        #expect(BGPStatusPlan.writes(desired: [web, db], existing: have) == [.delete(name: "bgp-2"), .delete(name: "bgp-3"), .create(db)])
        #expect(BGPStatusPlan.writes(desired: [web], existing: [Self.existing("bgp-1", "a", "web", peers: ["r1"])]) == [.update(name: "bgp-1", web)])
        #expect(BGPStatusPlan.writes(desired: [web], existing: [Self.existing("bgp-1", "a", "web", peers: ["r1", "r2"], node: nil)])
                == [.update(name: "bgp-1", web)])
        // The peer set became empty: the object goes.
        #expect(BGPStatusPlan.writes(desired: [], existing: [Self.existing("bgp-1", "a", "web", peers: ["r1"])]) == [.delete(name: "bgp-1")])
        #expect(BGPStatusPlan.writes(desired: [], existing: []).isEmpty)
    }

    @Test func statusObjectsCarryMetalLBsLabelsAndOwner() {
        let d = BGPStatusPlan.Desired(serviceNamespace: "apps", serviceName: "web", peers: ["r1"])
        let o = BGPStatusPlan.object(d, node: "n1", namespace: "metallb-system",
                                     owner: OwnerReference(apiVersion: "v1", kind: "Pod", name: "speaker-x", uid: "u"))
        #expect(o.metadata.generateName == "bgp-" && o.metadata.namespace == "metallb-system")
        #expect(o.metadata.labels == ["metallb.io/node": "n1", "metallb.io/service-name": "web", "metallb.io/service-namespace": "apps"])
        #expect(o.metadata.ownerReferences?.first?.name == "speaker-x")
        #expect(o.kind == "ServiceBGPStatus" && o.apiVersion == "metallb.io/v1beta1")
        #expect(o.status == ServiceBGPStatusStatus(node: "n1", serviceName: "web", serviceNamespace: "apps", peers: ["r1"]))
    }
}

/// Random configurations, Services and nodes (seeded, so a failure replays): the plans and route tables keep their
/// invariants whatever the input.
@Suite struct BGPPlannerPropertyTests {
    typealias T = BGPPlannerTests

    struct World {
        var config: Configuration
        var node: Node
        var services: [Service]
        var endpoints: [EndpointSlice]
    }

    static func world(_ rng: inout SplitMix64) -> World {
        func pick<E>(_ a: [E]) -> E { a[Int(rng.next() % UInt64(a.count))] }
        func chance(_ percent: UInt64) -> Bool { rng.next() % 100 < percent }
        let pools = [T.pool("v4", ["10.1.0.0/24"]), T.pool("v6", ["2001:db8::/64"]), T.pool("dual", ["10.2.0.0/24", "2001:db8:2::/64"])]
        let communities = ["65000:1", "65000:2", "large:1:2:3", "gold", "65535:65281"]
        let alias = API.Community(metadata: ObjectMeta(name: "names", namespace: T.ns),
                                  spec: CommunitySpec(communities: [CommunityAlias(name: "gold", value: "65000:2")]))
        var ads: [BGPAdvertisement] = []
        for i in 0..<Int(rng.next() % 5) {
            ads.append(T.ad("ad\(i)", pools: chance(70) ? [pick(pools).name] : nil,
                            aggregation: chance(40) ? pick([24, 28, 32]) : nil, aggregationV6: chance(40) ? pick([64, 120, 128]) : nil,
                            localPref: chance(30) ? pick([0, 100, 200]) : nil,
                            communities: chance(60) ? Array(Set((0..<Int(rng.next() % 3)).map { _ in pick(communities) })) : nil,
                            nodes: chance(30) ? [LabelSelector(matchLabels: ["zone": pick(["a", "b"])])] : nil,
                            peers: chance(40) ? Array(Set((0..<Int(1 + rng.next() % 2)).map { _ in pick(["p0", "p1", "p2", "p9"]) })) : nil,
                            services: chance(20) ? [LabelSelector(matchLabels: ["app": pick(["web", "db"])])] : nil))
        }
        var peers: [API.BGPPeer] = []
        for i in 0..<3 {
            peers.append(T.peer("p\(i)", myASN: 64500, peerASN: pick([64500, 64501]), address: pick(["192.168.0.\(i + 1)", "fd00::\(i + 1)"])) {
                if chance(30) { $0.dualStackAddressFamily = true }
                if chance(20) { $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "b"])] }
            })
        }
        let node = T.node("n1", labels: ["zone": pick(["a", "b"])], networkUnavailable: chance(10))
        var services: [Service] = []
        for i in 0..<Int(1 + rng.next() % 6) {
            let ips: [String] = pick([["10.1.0.\(i + 1)"], ["10.1.0.\(100 + i)"], ["2001:db8::\(i + 1)"], ["10.2.0.\(i + 1)", "2001:db8:2::\(i + 1)"]])
            services.append(T.service("s\(i)", ips: ips, local: chance(20), labels: ["app": pick(["web", "db"])]))
        }
        let endpoints = chance(85) ? T.slice([(pick(["n1", "n2"]), true, nil)]) : []
        let config = Configuration(operatorNamespace: T.ns, ipAddressPools: pools, bgpAdvertisements: ads, bgpPeers: peers, communities: [alias])
        return World(config: config, node: node, services: services, endpoints: endpoints)
    }

    @Test func plansAndRoutesKeepTheirInvariants() throws {
        let known = Set(BGPPlanner.reasons)
        var announced = 0, merged = 0, withdrawn: [String: Int] = [:]
        for seed in UInt64(1)...400 {
            var rng = SplitMix64(seed: seed)
            let w = Self.world(&rng)
            let inputs = BGPInputs(configuration: w.config, node: w.node)
            let plans = w.services.map { BGPPlanner.plan($0, endpoints: w.endpoints, in: inputs) }
            let sessionPlan = BGPSessionPlan.sessions(for: w.node, configuration: w.config, secrets: [:])
            #expect(sessionPlan.refused.isEmpty, "seed \(seed): \(sessionPlan.refused)")

            // Independent of the order the cache lists objects in.
            var shuffled = w.config
            shuffled.bgpAdvertisements.shuffle(using: &rng)
            shuffled.bgpPeers.shuffle(using: &rng)
            let again = w.services.map { BGPPlanner.plan($0, endpoints: w.endpoints, in: BGPInputs(configuration: shuffled, node: w.node)) }
            #expect(again == plans, "seed \(seed)")
            #expect(BGPSessionPlan.sessions(for: w.node, configuration: shuffled, secrets: [:]) == sessionPlan, "seed \(seed)")

            for p in plans {
                if let r = p.reason {
                    #expect(known.contains(r), "seed \(seed): \(r)")
                    withdrawn[r, default: 0] += 1
                }
                if !p.announcements.isEmpty { announced += 1 }
                for a in p.announcements {
                    #expect(a.prefix.contains(a.ip) && p.ips.contains(a.ip), "seed \(seed): \(a)")
                    #expect(a.communities == Array(Set(a.communities)).sorted(), "seed \(seed): \(a)")
                    let ad = try #require(w.config.bgpAdvertisements.first { $0.name == a.advertisement })
                    let want = a.ip.isIPv4 ? Int(ad.spec?.aggregationLength ?? 32) : Int(ad.spec?.aggregationLengthV6 ?? 128)
                    #expect(a.prefix.length == want, "seed \(seed): \(a)")
                }
            }

            let table = BGPRouteTable(sessions: sessionPlan.sessions, plans: plans)
            for s in sessionPlan.sessions {
                let routes = table.routes(for: s)
                #expect(zip(routes, routes.dropFirst()).allSatisfy { $0.prefix < $1.prefix }, "seed \(seed): sorted, each prefix once")
                // Exactly the announcements meant for this peer, of a family the session carries.
                let meant = plans.flatMap(\.announcements).filter { $0.goes(to: s.peerName) && s.families.contains(.unicast($0.prefix.family)) }
                #expect(Set(routes.map(\.prefix)) == Set(meant.map(\.prefix)), "seed \(seed): \(s.peerName)")
                for r in routes {
                    let sources = meant.filter { $0.prefix == r.prefix }
                    if sources.count > 1 { merged += 1 }
                    let union = Set(sources.flatMap(\.communities))
                    #expect(r.communities.count + r.largeCommunities.count == union.count, "seed \(seed): \(r)")
                    #expect(r.localPref == (s.isInternal ? sources.compactMap(\.localPref).max() : nil), "seed \(seed): \(r)")
                    #expect(r.nextHop == nil && r.multiExitDisc == nil)
                }
            }
            // ServiceBGPStatus peers: exactly the sessions carrying one of the Service's prefixes.
            for p in plans {
                let prefixes = Set(p.announcements.map(\.prefix))
                let reached = sessionPlan.sessions.filter { s in table.routes(for: s).contains { prefixes.contains($0.prefix) } }.map(\.peerName)
                #expect((table.peers[p.serviceKey] ?? []) == reached.sorted(), "seed \(seed): \(p.serviceKey)")
            }
            let desired = BGPStatusPlan.desired(table, plans: plans)
            #expect(desired.allSatisfy { !$0.peers.isEmpty })
            #expect(desired.count == plans.filter { !(table.peers[$0.serviceKey] ?? []).isEmpty }.count)
        }
        // The inputs reach every branch: announcements, merged prefixes, and each withdrawal reason but the local one.
        #expect(announced > 300 && merged > 50, "announced \(announced), merged \(merged)")
        #expect(Set(withdrawn.keys).isSuperset(of: ["notOwner", "noMatchingAdvertisement", "conflictingAdvertisements", "nodeNetworkUnavailable",
                                                    "noLocalEndpoints", "noEndpoints"]), "\(withdrawn)")
    }
}
