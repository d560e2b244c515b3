import Foundation
import Kube
import Testing

@testable import API

private typealias S = Support

/// A valid iBGP peer spec to start from.
private func peerSpec(_ edit: (inout BGPPeerSpec) -> Void = { _ in }) -> BGPPeerSpec {
    var s = BGPPeerSpec(myASN: 64512, peerASN: 64512, peerAddress: "172.30.0.3")
    edit(&s)
    return s
}

/// The report of a configuration holding one peer (plus whatever `edit` adds).
private func peerReport(_ spec: BGPPeerSpec, apiVersion: String? = nil, _ edit: (inout Configuration) -> Void = { _ in }) -> ValidationReport {
    S.report { c in
        c.bgpPeers = [S.peer("p", spec, apiVersion: apiVersion)]
        edit(&c)
    }
}

@Suite struct IdentityRules {
    @Test func nameIsRequired() {
        let r = S.report { $0.ipAddressPools = [IPAddressPool(metadata: ObjectMeta(namespace: S.ns), spec: .init(addresses: ["10.0.0.0/24"]))] }
        #expect(r.hasError("metadata.name", "is required"))
    }

    @Test func objectsMustBeInTheOperatorNamespace() {
        let r = S.report { $0.bfdProfiles = [BFDProfile(metadata: S.meta("b", namespace: "default"))] }
        #expect(r.hasError("metadata.namespace", "only from its own namespace \"metallb-system\""))
        let ok = S.report { $0.bfdProfiles = [BFDProfile(metadata: ObjectMeta(name: "b"))] }  // no namespace: taken as MetalLB's
        #expect(ok.isValid, "\(ok)")
        let other = Configuration(operatorNamespace: "lb", bfdProfiles: [BFDProfile(metadata: S.meta("b", namespace: "lb"))]).validate()
        #expect(other.isValid)
    }

    @Test func namesAreUniquePerKind() {
        let r = S.report { $0.bfdProfiles = [BFDProfile(metadata: S.meta("b")), BFDProfile(metadata: ObjectMeta(name: "b"))] }
        #expect(r.hasError("metadata.name", "another BFDProfile with this name"))
        let ok = S.report {
            $0.bfdProfiles = [BFDProfile(metadata: S.meta("same"))]
            $0.communities = [Community(metadata: S.meta("same"))]
        }
        #expect(ok.isValid)
    }
}

@Suite struct PoolRules {
    @Test func validPoolsOfAllForms() {
        let r = S.report {
            $0.ipAddressPools = [
                S.pool("a", ["192.168.10.0/24", "192.168.9.1-192.168.9.5", "fc00:f853:0ccd:e799::/124"]),
                S.pool("b", ["192.168.9.6-192.168.9.10", "10.0.0.7/32", "2001:db8::1 - 2001:db8::ff"]),
            ]
        }
        #expect(r.isValid, "\(r)")
        #expect(r.warnings.isEmpty, "\(r)")
    }

    @Test func atLeastOneAddress() {
        #expect(S.report { $0.ipAddressPools = [S.pool("a", [])] }.hasError("spec.addresses", "at least one address range"))
    }

    @Test(arguments: [
        ("192.168.9.5-192.168.9.1", "is after the end address"),
        ("192.168.9.1-fc00::5", "mixes IPv4 and IPv6"),
        ("192.168.10.0/33", "from 0 to 32"),
        ("fc00::/129", "from 0 to 128"),
        ("192.168.10.7", "192.168.10.7/32 for one address"),
        ("192.168.300.0/24", "four decimal numbers 0-255"),
        ("10.0.0.0/8/9", "address/length"),
        ("10.0.0.1-", "invalid end address"),
        ("-10.0.0.1", "invalid start address"),
        ("10.0.0.0/24-10.0.1.0/24", "without a prefix length"),
    ])
    func invalidEntries(entry: String, message: String) {
        let r = S.report { $0.ipAddressPools = [S.pool("a", ["10.200.0.0/16", entry])] }
        #expect(r.hasError("spec.addresses[1]", message), "\(r)")
    }

    @Test func hostBitsAreNormalisedWithAWarning() {
        let r = S.report { $0.ipAddressPools = [S.pool("a", ["198.51.100.10/24"])] }
        #expect(r.isValid)
        #expect(r.hasWarning("spec.addresses[0]", "read as 198.51.100.0/24"))
        #expect(r.hasWarning("spec.addresses[0]", "198.51.100.10/32 for that single address"))
        // And it overlaps what the normalised prefix covers.
        let o = S.report { $0.ipAddressPools = [S.pool("a", ["198.51.100.10/24"]), S.pool("b", ["198.51.100.1/32"])] }
        #expect(o.hasError("spec.addresses[0]", "overlaps \"198.51.100.10/24\" of IPAddressPool a"))
    }

    @Test func overlapsWithinAPool() {
        let r = S.report { $0.ipAddressPools = [S.pool("a", ["10.0.0.0/24", "10.0.0.200-10.0.1.5"])] }
        #expect(r.hasError("spec.addresses[1]", "overlaps \"10.0.0.0/24\" (spec.addresses[0]) of the same pool"))
        let dup = S.report { $0.ipAddressPools = [S.pool("a", ["10.0.0.0/24", "10.0.0.0/24"])] }
        #expect(dup.hasError("spec.addresses[1]", "of the same pool"))
    }

    @Test func overlapsAcrossPools() {
        let r = S.report { $0.ipAddressPools = [S.pool("a", ["2001:db8::/64"]), S.pool("b", ["2001:db8::ff00-2001:db8::1:0"])] }
        #expect(r.hasError("spec.addresses[0]", "of IPAddressPool a (spec.addresses[0]); an address may belong to one pool only"))
        #expect(r.errors.count == 1)
        let adjacent = S.report { $0.ipAddressPools = [S.pool("a", ["10.0.0.0/25"]), S.pool("b", ["10.0.0.128-10.0.0.255"])] }
        #expect(adjacent.isValid, "\(adjacent)")
        let families = S.report { $0.ipAddressPools = [S.pool("a", ["0.0.0.0/0"]), S.pool("b", ["::/0"])] }
        #expect(families.isValid, "\(families)")
    }

    @Test func serviceAllocation() {
        func report(_ alloc: ServiceAllocation) -> ValidationReport {
            S.report { c in
                var p = S.pool("a", ["10.0.0.0/24"])
                p.spec.serviceAllocation = alloc
                c.ipAddressPools = [p]
            }
        }
        #expect(report(ServiceAllocation(priority: 50, namespaces: ["a", "b"], namespaceSelectors: [LabelSelector(matchLabels: ["foo": "bar"])])).isValid)
        #expect(report(ServiceAllocation(namespaces: ["a", "a"])).hasError("spec.serviceAllocation.namespaces[1]", "listed twice"))
        #expect(report(ServiceAllocation(namespaces: ["Not_A_Namespace"])).hasError("spec.serviceAllocation.namespaces[0]", "not a valid namespace name"))
        #expect(report(ServiceAllocation(priority: -1)).hasWarning("spec.serviceAllocation.priority", "is negative"))
        let sel = LabelSelector(matchExpressions: [LabelSelectorRequirement(key: "app", operator: "In", values: ["x"])])
        #expect(report(ServiceAllocation(serviceSelectors: [sel, sel])).hasError("spec.serviceAllocation.serviceSelectors[1]", "duplicates spec.serviceAllocation.serviceSelectors[0]"))
    }

    @Test func negativeStatusCounts() {
        let r = S.report { c in
            var p = S.pool("a", ["10.0.0.0/24"])
            p.status = IPAddressPoolStatus(assignedIPv4: -1)
            c.ipAddressPools = [p]
        }
        #expect(r.hasError("status.assignedIPv4", "must not be negative"))
    }

    @Test func unannouncedPoolsAreWarned() {
        let r = Configuration(ipAddressPools: [S.pool("a", ["10.0.0.0/24"])]).validate()
        #expect(r.isValid)
        #expect(r.hasWarning("", "no L2Advertisement or BGPAdvertisement selects this pool (yet)"))
        let selected = Configuration(
            ipAddressPools: [S.pool("a", ["10.0.0.0/24"], labels: ["t": "x"])],
            l2Advertisements: [S.l2Adv("l", .init(ipAddressPoolSelectors: [LabelSelector(matchLabels: ["t": "x"])]))]
        ).validate()
        #expect(selected.warnings.isEmpty, "\(selected)")
    }
}

@Suite struct SelectorRules {
    private func report(_ sel: LabelSelector) -> ValidationReport {
        S.report { $0.l2Advertisements = [S.l2Adv("l", .init(nodeSelectors: [sel]))] }
    }

    @Test func validSelectors() {
        #expect(report(LabelSelector()).isValid)
        #expect(report(LabelSelector(matchLabels: ["kubernetes.io/hostname": "NodeA", "rack": ""])).isValid)
        #expect(report(LabelSelector(matchExpressions: [
            .init(key: "a", operator: "In", values: ["x", "y"]), .init(key: "b", operator: "NotIn", values: ["z"]),
            .init(key: "c", operator: "Exists"), .init(key: "d", operator: "DoesNotExist"),
        ])).isValid)
    }

    @Test func invalidSelectors() {
        #expect(report(LabelSelector(matchLabels: ["bad key": "x"])).hasError("spec.nodeSelectors[0].matchLabels", "not a valid label key"))
        #expect(report(LabelSelector(matchLabels: ["k": "-bad"])).hasError("spec.nodeSelectors[0].matchLabels.k", "not a valid label value"))
        #expect(report(LabelSelector(matchExpressions: [.init(key: "a", operator: "Equals", values: ["x"])]))
            .hasError("matchExpressions[0].operator", "use In, NotIn, Exists or DoesNotExist"))
        #expect(report(LabelSelector(matchExpressions: [.init(key: "a", operator: "NotIn")]))
            .hasError("matchExpressions[0].values", "at least one value for operator NotIn"))
        #expect(report(LabelSelector(matchExpressions: [.init(key: "a", operator: "Exists", values: ["x"])]))
            .hasError("matchExpressions[0].values", "must be empty for operator Exists"))
        #expect(report(LabelSelector(matchExpressions: [.init(key: "a", operator: "In", values: ["x", "x"])]))
            .hasError("matchExpressions[0].values[1]", "listed twice"))
        let e = LabelSelectorRequirement(key: "a", operator: "In", values: ["x"])
        #expect(report(LabelSelector(matchExpressions: [e, e])).hasError("matchExpressions[1]", "duplicates"))
        #expect(report(LabelSelector(matchExpressions: [.init(key: "example.com/", operator: "Exists")])).hasError("matchExpressions[0].key", "not a valid label key"))
    }

    @Test func matching() {
        let s = LabelSelector(
            matchLabels: ["rack": "frontend"],
            matchExpressions: [.init(key: "network-speed", operator: "NotIn", values: ["slow"]), .init(key: "zone", operator: "Exists")])
        #expect(s.matches(["rack": "frontend", "zone": "a"]))
        #expect(s.matches(["rack": "frontend", "zone": "a", "network-speed": "fast"]))
        #expect(!s.matches(["rack": "frontend", "zone": "a", "network-speed": "slow"]))
        #expect(!s.matches(["rack": "frontend"]))
        #expect(!s.matches(["rack": "backend", "zone": "a"]))
        #expect(LabelSelector().matches([:]))
        #expect(!LabelSelector(matchExpressions: [.init(key: "a", operator: "In", values: ["x"])]).matches([:]))
        #expect(LabelSelector(matchExpressions: [.init(key: "a", operator: "DoesNotExist")]).matches(["b": "x"]))
        #expect(!LabelSelector(matchExpressions: [.init(key: "a", operator: "Bogus")]).matches([:]))
    }

    @Test func names() {
        #expect(KubeNames.isLabelKey("kubernetes.io/hostname"))
        #expect(KubeNames.isLabelKey("node-role.kubernetes.io/control-plane"))
        #expect(!KubeNames.isLabelKey("a/b/c"))
        #expect(!KubeNames.isLabelKey(String(repeating: "a", count: 64)))
        #expect(KubeNames.isLabelValue(""))
        #expect(!KubeNames.isLabelValue("a b"))
        #expect(KubeNames.isDNSLabel("metallb-system"))
        #expect(!KubeNames.isDNSLabel("MetalLB"))
        #expect(KubeNames.isInterfaceName("eth0") && KubeNames.isInterfaceName("enp0s31f6.100"))
        #expect(!KubeNames.isInterfaceName("this-is-16-chars") && !KubeNames.isInterfaceName("eth0:1") && !KubeNames.isInterfaceName(""))
    }
}

@Suite struct L2AdvertisementRules {
    private func report(_ spec: L2AdvertisementSpec) -> ValidationReport {
        S.report { c in
            c.ipAddressPools = [S.pool("first-pool", ["10.0.0.0/24"])]
            c.l2Advertisements = [S.l2Adv("l", spec)]
        }
    }

    @Test func valid() {
        let r = report(.init(
            ipAddressPools: ["first-pool"], nodeSelectors: [LabelSelector(matchLabels: ["kubernetes.io/hostname": "NodeA"])],
            interfaces: ["eth0", "eth1"], serviceSelectors: [LabelSelector(matchLabels: ["tier": "frontend"])],
            preferredNodeSelectors: [PreferredNodeSelector(weight: 100, preference: LabelSelector(matchLabels: ["zone": "a"]))]))
        #expect(r.isValid && r.warnings.isEmpty, "\(r)")
    }

    @Test func rules() {
        #expect(report(.init(ipAddressPools: ["first-pool", "first-pool"])).hasError("spec.ipAddressPools[1]", "listed twice"))
        #expect(report(.init(ipAddressPools: ["nope"])).hasWarning("spec.ipAddressPools[0]", "no IPAddressPool named \"nope\""))
        #expect(report(.init(interfaces: ["eth 0"])).hasError("spec.interfaces[0]", "not a network interface name"))
        #expect(report(.init(interfaces: ["eth0", "eth0"])).hasError("spec.interfaces[1]", "listed twice"))
        #expect(report(.init(preferredNodeSelectors: [.init(weight: 101)])).hasError("spec.preferredNodeSelectors[0].weight", "from 1 to 100"))
        #expect(report(.init(preferredNodeSelectors: [.init(weight: 1, preference: LabelSelector(matchLabels: ["%": "x"]))]))
            .hasError("spec.preferredNodeSelectors[0].preference.matchLabels", "not a valid label key"))
        #expect(report(.init(serviceSelectors: [LabelSelector(), LabelSelector()])).hasError("spec.serviceSelectors[1]", "duplicates"))
    }
}

@Suite struct BGPAdvertisementRules {
    private func report(pools: [IPAddressPool] = [S.pool("p", ["10.0.0.0/24", "2001:db8::/64"])], _ specs: BGPAdvertisementSpec?...,
                        nodes: [Node]? = nil, communities: [Community] = []) -> ValidationReport {
        S.report { c in
            c.ipAddressPools = pools
            c.bgpAdvertisements = specs.enumerated().map { S.bgpAdv("a\($0.offset)", $0.element) }
            c.bgpPeers = [S.peer("peer", peerSpec())]
            c.communities = communities
            c.nodes = nodes
        }
    }

    @Test func valid() {
        let r = report(.init(aggregationLength: 24, aggregationLengthV6: 64, localPref: 100, communities: ["65535:65282", "large:64512:1:2"], peers: ["peer"]))
        #expect(r.isValid && r.warnings.isEmpty, "\(r)")
        #expect(report(nil).isValid)
    }

    @Test func aggregationLengthRanges() {
        #expect(report(.init(aggregationLength: 0)).hasError("spec.aggregationLength", "from 1 to 32"))
        #expect(report(.init(aggregationLength: 33)).hasError("spec.aggregationLength", "from 1 to 32"))
        #expect(report(.init(aggregationLengthV6: 129)).hasError("spec.aggregationLengthV6", "from 1 to 128"))
        #expect(report(.init(aggregationLengthV6: 0)).hasError("spec.aggregationLengthV6", "from 1 to 128"))
    }

    @Test func aggregationNotShorterThanPoolPrefixes() {
        #expect(report(.init(aggregationLength: 23)).hasError("spec.aggregationLength", "23 is shorter than the /24 prefix of \"10.0.0.0/24\" in IPAddressPool p"))
        #expect(report(.init(aggregationLength: 24)).isValid)
        #expect(report(.init(aggregationLengthV6: 63)).hasError("spec.aggregationLengthV6", "63 is shorter than the /64 prefix"))
        // A range counts with the largest block of its CIDR summary (MetalLB's lowestMask).
        let range = [S.pool("r", ["192.168.1.240-192.168.1.250"])]
        #expect(report(pools: range, .init(aggregationLength: 28)).hasError("spec.aggregationLength", "28 is shorter than the /29 prefix"))
        #expect(report(pools: range, .init(aggregationLength: 29)).isValid)
        // Only the selected pools count.
        let two = [S.pool("wide", ["10.0.0.0/16"], labels: ["size": "big"]), S.pool("narrow", ["10.1.0.0/24"])]
        #expect(report(pools: two, .init(aggregationLength: 20, ipAddressPools: ["wide"])).isValid)
        #expect(report(pools: two, .init(aggregationLength: 20, ipAddressPoolSelectors: [LabelSelector(matchLabels: ["size": "big"])])).isValid)
        #expect(report(pools: two, .init(aggregationLength: 20)).hasError("spec.aggregationLength", "IPAddressPool narrow"))
        #expect(report(pools: two, .init(aggregationLength: 20, ipAddressPools: ["narrow"])).hasError("spec.aggregationLength", "use a value from 24 to 32"))
    }

    @Test func serviceSelectorsNeedDefaultAggregation() {
        let sel = [LabelSelector(matchLabels: ["env": "prod"])]
        #expect(report(.init(aggregationLength: 24, serviceSelectors: sel)).hasError("spec.serviceSelectors", "mutually exclusive"))
        #expect(report(.init(aggregationLengthV6: 64, serviceSelectors: sel)).hasError("spec.serviceSelectors", "mutually exclusive"))
        #expect(report(.init(aggregationLength: 32, aggregationLengthV6: 128, serviceSelectors: sel)).isValid)
    }

    @Test func communities() {
        let aliases = [Community(metadata: S.meta("c"), spec: .init(communities: [.init(name: "vpn-only", value: "1234:1")]))]
        #expect(report(.init(communities: ["vpn-only"]), communities: aliases).isValid)
        let unknown = report(.init(communities: ["vpn-only"]))
        #expect(unknown.hasError("spec.communities[0]", "no Community object defines an alias"))
        #expect(unknown.errors.allSatisfy { $0.isMissingReference })
        #expect(unknown.ignoringMissingReferences.isValid)
        #expect(report(.init(communities: ["65535:65536"])).hasError("spec.communities[0]", "two numbers from 0 to 65535"))
        #expect(report(.init(communities: ["-1:5"])).hasError("spec.communities[0]", "not a valid standard community"))
        #expect(report(.init(communities: ["big:1:2:3"])).hasError("spec.communities[0]", "not a valid large community"))
        #expect(report(.init(communities: ["large:1:x:3"])).hasError("spec.communities[0]", "three parts after \"large:\""))
        #expect(!report(.init(communities: ["65535:65536"])).errors[0].isMissingReference)
        #expect(report(.init(communities: ["1:1", "1:1"])).hasError("spec.communities[1]", "listed twice"))
    }

    @Test func references() {
        #expect(report(.init(ipAddressPools: ["p", "p"])).hasError("spec.ipAddressPools[1]", "listed twice"))
        #expect(report(.init(ipAddressPools: ["x"])).hasWarning("spec.ipAddressPools[0]", "no IPAddressPool named \"x\""))
        #expect(report(.init(peers: ["peer", "peer"])).hasError("spec.peers[1]", "listed twice"))
        #expect(report(.init(peers: ["ghost"])).hasWarning("spec.peers[0]", "no BGPPeer named \"ghost\""))
        let noPeers = Configuration(ipAddressPools: [S.pool("p", ["10.0.0.0/24"])], bgpAdvertisements: [S.bgpAdv("a")]).validate()
        #expect(noPeers.hasWarning("", "no BGPPeer exists"))
    }

    @Test func localPrefConflictsNeedNodes() {
        let nodes = [Node(metadata: ObjectMeta(name: "n1", labels: ["rack": "a"])), Node(metadata: ObjectMeta(name: "n2", labels: ["rack": "b"]))]
        let a = BGPAdvertisementSpec(localPref: 100)
        let b = BGPAdvertisementSpec(localPref: 200)
        // Without nodes the rule cannot run (as in MetalLB).
        #expect(report(a, b).isValid)
        #expect(report(a, b, nodes: nodes).hasError("spec.localPref", "200 conflicts with localPref 100 of BGPAdvertisement a0"))
        // Same localPref, different aggregation (on both families), disjoint peers, disjoint nodes, or service selectors: no conflict.
        #expect(report(a, BGPAdvertisementSpec(localPref: 100), nodes: nodes).isValid)
        #expect(report(a, BGPAdvertisementSpec(aggregationLength: 24, aggregationLengthV6: 64, localPref: 200), nodes: nodes).isValid)
        #expect(report(a, BGPAdvertisementSpec(aggregationLength: 24, localPref: 200), nodes: nodes).hasError("spec.localPref", "conflicts"))
        let v4only = [S.pool("p", ["10.0.0.0/24"])]
        #expect(report(pools: v4only, a, BGPAdvertisementSpec(aggregationLength: 24, localPref: 200), nodes: nodes).isValid)
        #expect(report(BGPAdvertisementSpec(localPref: 100, peers: ["peer"]), BGPAdvertisementSpec(localPref: 200, peers: ["other"]), nodes: nodes).isValid)
        #expect(report(
            BGPAdvertisementSpec(localPref: 100, nodeSelectors: [LabelSelector(matchLabels: ["rack": "a"])]),
            BGPAdvertisementSpec(localPref: 200, nodeSelectors: [LabelSelector(matchLabels: ["rack": "b"])]), nodes: nodes).isValid)
        #expect(report(a, BGPAdvertisementSpec(localPref: 200, serviceSelectors: [LabelSelector(matchLabels: ["x": "y"])]), nodes: nodes).isValid)
    }
}

@Suite struct BFDProfileRules {
    private func report(_ spec: BFDProfileSpec) -> ValidationReport {
        S.report { $0.bfdProfiles = [BFDProfile(metadata: S.meta("b"), spec: spec)] }
    }

    @Test func limitsAreAccepted() {
        #expect(report(.init(receiveInterval: 10, transmitInterval: 60000, detectMultiplier: 2, echoInterval: 10, minimumTtl: 1)).isValid)
        #expect(report(.init(receiveInterval: 60000, transmitInterval: 10, detectMultiplier: 255, echoInterval: 60000, minimumTtl: 254)).isValid)
    }

    @Test(arguments: [
        (BFDProfileSpec(receiveInterval: 9), "spec.receiveInterval", "from 10 to 60000 milliseconds"),
        (BFDProfileSpec(transmitInterval: 60001), "spec.transmitInterval", "from 10 to 60000"),
        (BFDProfileSpec(echoInterval: 0), "spec.echoInterval", "from 10 to 60000"),
        (BFDProfileSpec(detectMultiplier: 256), "spec.detectMultiplier", "from 2 to 255"),
        (BFDProfileSpec(minimumTtl: 0), "spec.minimumTtl", "from 1 to 254"),
    ])
    func outOfRange(spec: BFDProfileSpec, field: String, message: String) {
        #expect(report(spec).hasError(field, message))
    }

    @Test func effectiveValues() {
        let s = BFDProfileSpec(receiveInterval: 380)
        #expect(s.effectiveReceiveInterval == 380 && s.effectiveTransmitInterval == 300 && s.effectiveDetectMultiplier == 3)
        #expect(s.effectiveEchoInterval == 50 && s.effectiveMinimumTtl == 254 && !s.effectiveEchoMode && !s.effectivePassiveMode)
    }

    @Test func echoModeIsRefusedWithIPv6Pools() {
        func report(_ pools: [IPAddressPool], peers: [String]? = nil) -> ValidationReport {
            S.report { c in
                c.bfdProfiles = [BFDProfile(metadata: S.meta("echo"), spec: .init(echoMode: true))]
                c.bgpPeers = [S.peer("p", peerSpec { $0.bfdProfile = "echo" }), S.peer("q", peerSpec { $0.peerAddress = "172.30.0.4" })]
                c.ipAddressPools = pools
                c.bgpAdvertisements = [S.bgpAdv("a", .init(peers: peers))]
            }
        }
        #expect(report([S.pool("v6", ["2001:db8::/120"])]).hasError("spec.bfdProfile", "echoMode"))
        #expect(report([S.pool("v6", ["2001:db8::/120"])], peers: ["q"]).isValid)
        #expect(report([S.pool("v4", ["10.0.0.0/24"])]).isValid)
    }
}

@Suite struct CommunityRules {
    private func report(_ aliases: [CommunityAlias]...) -> ValidationReport {
        S.report { c in c.communities = aliases.enumerated().map { Community(metadata: S.meta("c\($0.offset)"), spec: .init(communities: $0.element)) } }
    }

    @Test func rules() {
        #expect(report([.init(name: "a", value: "1:2"), .init(name: "b", value: "large:1:2:3")]).isValid)
        #expect(report([.init(value: "1:2")]).hasError("spec.communities[0].name", "is required"))
        #expect(report([.init(name: "a")]).hasError("spec.communities[0].value", "is required"))
        #expect(report([.init(name: "a", value: "b")]).hasError("spec.communities[0].value", "aliases cannot refer to other aliases"))
        #expect(report([.init(name: "a", value: "70000:1")]).hasError("spec.communities[0].value", "two numbers from 0 to 65535"))
        #expect(report([.init(name: "a", value: "1:2")], [.init(name: "a", value: "1:3")])
            .hasError("spec.communities[0].name", "alias \"a\" is already defined in Community c0"))
        #expect(report([.init(name: "a", value: "1:2"), .init(name: "a", value: "1:2")]).hasError("spec.communities[1].name", "already defined"))
    }

    @Test func parser() throws {
        #expect(try BGPCommunity.parse("65535:65282") == .standard(65535, 65282))
        #expect(try BGPCommunity.parse("65535:65282").standardValue == 0xFFFF_FF02)
        #expect(try BGPCommunity.parse("large:4294967295:0:7") == .large(4_294_967_295, 0, 7))
        #expect(try BGPCommunity.parse("007:08").description == "7:8")
        #expect(try BGPCommunity.parse("large:1:2:3").isLarge)
        for (text, alias) in [("65536:1", false), ("1:", false), (":1", false), ("a:b", false), ("+1:1", false), ("large:1:2", true), ("x:1:2:3", false),
                              ("large:1:2:-3", false), ("vpn-only", true), ("", true), ("1:2:3:4:5", true)] {
            #expect(throws: CommunityParseError.self, "\(text)") { try BGPCommunity.parse(text) }
            #expect((try? BGPCommunity.parse(text)) == nil)
            do { _ = try BGPCommunity.parse(text) } catch let e as CommunityParseError { #expect(e.mayBeAlias == alias, "\(text)") } catch {}
        }
        #expect(try BGPCommunity.parse("1:2") < BGPCommunity.parse("large:65538:0:1"))
        #expect(try !(BGPCommunity.parse("1:2") < BGPCommunity.parse("large:65536:0:1")))
        #expect(try BGPCommunity.parse("large:0:0:1") < BGPCommunity.parse("0:1"))
    }
}

@Suite struct PeerRules {
    @Test func validPeers() {
        let specs: [BGPPeerSpec] = [
            peerSpec(),
            peerSpec { $0.peerASN = nil; $0.dynamicASN = "external" },
            peerSpec { $0.peerAddress = nil; $0.interface = "eth1"; $0.peerASN = 64513 },
            peerSpec { $0.peerAddress = "fc00:f853:ccd:e793::5"; $0.sourceAddress = "fc00:f853:ccd:e793::1"; $0.peerPort = 180 },
            peerSpec { $0.holdTime = "90s"; $0.keepaliveTime = "30s"; $0.connectTime = "10s"; $0.routerID = "10.0.0.1" },
            peerSpec { $0.holdTime = "0s" },
            peerSpec { $0.holdTime = "9m0s"; $0.keepaliveTime = "0s" },
            peerSpec { $0.keepaliveTime = "1s" },
            peerSpec { $0.peerASN = 64513; $0.ebgpMultiHop = true; $0.localASN = 65410; $0.vrf = "red" },
            peerSpec { $0.password = String(repeating: "x", count: 80); $0.passwordSecret = SecretReference() },
            peerSpec { $0.enableGracefulRestart = true; $0.dualStackAddressFamily = true },
        ]
        for s in specs {
            let r = peerReport(s)
            #expect(r.isValid && r.warnings.isEmpty, "\(s): \(r)")
        }
    }

    @Test func asNumbers() {
        #expect(peerReport(peerSpec { $0.myASN = 0 }).hasError("spec.myASN", "is required: the local AS number"))
        #expect(peerReport(peerSpec { $0.peerASN = nil }).hasError("spec.peerASN", "is required unless dynamicASN is set"))
        #expect(peerReport(peerSpec { $0.peerASN = 0 }).hasError("spec.peerASN", "is required"))
        #expect(peerReport(peerSpec { $0.dynamicASN = "internal" }).hasError("spec.dynamicASN", "mutually exclusive"))
        #expect(peerReport(peerSpec { $0.peerASN = nil; $0.dynamicASN = "ibgp" }).hasError("spec.dynamicASN", "must be internal"))
        #expect(peerReport(peerSpec { $0.localASN = 0 }).hasError("spec.localASN", "from 1 to 4294967295"))
        #expect(peerReport(peerSpec { $0.ebgpMultiHop = true }).hasError("spec.ebgpMultiHop", "iBGP"))
        #expect(peerReport(peerSpec { $0.peerASN = nil; $0.dynamicASN = "internal"; $0.ebgpMultiHop = true }).hasError("spec.ebgpMultiHop", "iBGP"))
        #expect(peerReport(peerSpec { $0.peerASN = nil; $0.dynamicASN = "external"; $0.ebgpMultiHop = true }).isValid)
        #expect(peerReport(peerSpec { $0.peerASN = 23456 }).hasWarning("spec.peerASN", "reserved (AS_TRANS, RFC 6793)"))
        #expect(peerReport(peerSpec { $0.myASN = 65535 }).hasWarning("spec.myASN", "reserved (RFC 7300)"))
        #expect(peerReport(peerSpec { $0.localASN = 4_294_967_295 }).hasWarning("spec.localASN", "reserved"))
    }

    @Test func addresses() {
        #expect(peerReport(peerSpec { $0.peerAddress = nil }).hasError("spec.peerAddress", "is required unless interface is set"))
        #expect(peerReport(peerSpec { $0.interface = "eth0" }).hasError("spec.interface", "mutually exclusive"))
        #expect(peerReport(peerSpec { $0.peerAddress = "router.example" }).hasError("spec.peerAddress", "is not an IP address"))
        #expect(peerReport(peerSpec { $0.peerAddress = "0.0.0.0" }).hasError("spec.peerAddress", "not a router address"))
        #expect(peerReport(peerSpec { $0.peerAddress = "ff02::5" }).hasError("spec.peerAddress", "not a router address"))
        #expect(peerReport(peerSpec { $0.peerAddress = nil; $0.interface = "a/b" }).hasError("spec.interface", "not a network interface name"))
        #expect(peerReport(peerSpec { $0.sourceAddress = "1.2.3" }).hasError("spec.sourceAddress", "is not an IP address"))
        #expect(peerReport(peerSpec { $0.sourceAddress = "2001:db8::1" }).hasWarning("spec.sourceAddress", "is IPv6 but peerAddress 172.30.0.3 is IPv4"))
        #expect(peerReport(peerSpec { $0.routerID = "2001:db8::1" }).hasError("spec.routerID", "an IPv4 address (32 bits, RFC 6286)"))
        #expect(peerReport(peerSpec { $0.routerID = "0.0.0.0" }).hasError("spec.routerID", "must not be 0.0.0.0"))
        #expect(peerReport(peerSpec { $0.vrf = "a-very-long-vrf-name" }).hasError("spec.vrf", "not a VRF device name"))
    }

    @Test func ports() {
        #expect(peerReport(peerSpec { $0.peerPort = 0 }).hasError("spec.peerPort", "from 1 to 16384"))
        #expect(peerReport(peerSpec { $0.peerPort = 16385 }).hasError("spec.peerPort", "from 1 to 16384"))
        #expect(peerReport(peerSpec { $0.peerPort = 16384 }).isValid)
        // v1beta1 has no default; 0 means unset there.
        #expect(peerReport(peerSpec { $0.peerPort = 0 }, apiVersion: "metallb.io/v1beta1").isValid)
        #expect(peerSpec { $0.peerPort = 0 }.effectivePort == 179)
        #expect(peerSpec().effectivePort == 179)
        #expect(peerSpec { $0.peerPort = 180 }.effectivePort == 180)
    }

    @Test func timers() throws {
        #expect(peerReport(peerSpec { $0.holdTime = "2s" }).hasError("spec.holdTime", "0 (no keepalives) or at least 3s"))
        #expect(peerReport(peerSpec { $0.holdTime = "500ms" }).hasError("spec.holdTime", "at least 3s"))
        #expect(peerReport(peerSpec { $0.holdTime = "3s" }).isValid)
        #expect(peerReport(peerSpec { $0.keepaliveTime = "500ms" }).hasError("spec.keepaliveTime", "3 × keepaliveTime = 1.5s"))
        #expect(peerReport(peerSpec { $0.holdTime = "30s"; $0.keepaliveTime = "31s" }).hasError("spec.keepaliveTime", "longer than holdTime 30s"))
        #expect(peerReport(peerSpec { $0.holdTime = "0s"; $0.keepaliveTime = "1s" }).hasError("spec.keepaliveTime", "longer than holdTime 0s"))
        #expect(peerReport(peerSpec { $0.holdTime = "-90s" }).hasError("spec.holdTime", "is negative"))
        #expect(peerReport(peerSpec { $0.holdTime = "90" }).hasError("spec.holdTime", "the number has no unit"))
        #expect(peerReport(peerSpec { $0.keepaliveTime = "ten" }).hasError("spec.keepaliveTime", "is not a duration"))
        #expect(peerReport(peerSpec { $0.holdTime = "19h" }).hasError("spec.holdTime", "at most 65535s"))
        #expect(peerReport(peerSpec { $0.holdTime = "4.5s" }).hasWarning("spec.holdTime", "rounded down"))
        let t = try #require(try peerSpec { $0.holdTime = "90s" }.timers())
        #expect(t.keepaliveTime == .seconds(30))
        let k = try #require(try peerSpec { $0.keepaliveTime = "20s" }.timers())
        #expect(k.holdTime == .minutes(1))
        #expect(try peerSpec().timers() == nil)
    }

    @Test func connectTime() {
        #expect(peerReport(peerSpec { $0.connectTime = "0s" }).hasError("spec.connectTime", "from 1s to 65535s"))
        #expect(peerReport(peerSpec { $0.connectTime = "65536s" }).hasError("spec.connectTime", "from 1s to 65535s"))
        #expect(peerReport(peerSpec { $0.connectTime = "65535s" }).isValid)
        #expect(peerReport(peerSpec { $0.connectTime = "2.5s" }).hasError("spec.connectTime", "whole number of seconds"))
        #expect(peerReport(peerSpec { $0.connectTime = "soon" }).hasError("spec.connectTime", "is not a duration"))
    }

    @Test func passwords() {
        #expect(peerReport(peerSpec { $0.password = "x"; $0.passwordSecret = .init(name: "s") }, { $0.secrets = [S.basicAuthSecret("s")] })
            .hasError("spec.passwordSecret", "mutually exclusive"))
        #expect(peerReport(peerSpec { $0.password = String(repeating: "x", count: 81) }).hasError("spec.password", "at most 80 bytes"))
        let ref = peerSpec { $0.passwordSecret = .init(name: "s") }
        #expect(peerReport(ref, { $0.secrets = [S.basicAuthSecret("s")] }).isValid)
        let missing = peerReport(ref)
        #expect(missing.hasError("spec.passwordSecret.name", "no Secret named \"s\""))
        #expect(missing.errors.allSatisfy { $0.isMissingReference })
        #expect(peerReport(ref, { $0.secrets = nil }).isValid)  // Secrets unknown: not checked
        #expect(peerReport(ref, { $0.secrets = [Secret(metadata: S.meta("s"), stringData: ["password": "x"])] })
            .hasError("spec.passwordSecret.name", "must be of type kubernetes.io/basic-auth"))
        #expect(peerReport(ref, { $0.secrets = [S.basicAuthSecret("s", password: nil)] }).hasError("spec.passwordSecret.name", "has no key \"password\""))
        #expect(peerReport(ref, { $0.secrets = [Secret(metadata: S.meta("s", namespace: "other"), type: MetalLBAPI.basicAuthSecretType, data: ["password": "eA=="])] })
            .hasError("spec.passwordSecret.name", "no Secret named"))
        #expect(peerReport(peerSpec { $0.passwordSecret = .init(name: "s", namespace: "other") }, { $0.secrets = [S.basicAuthSecret("s")] })
            .hasWarning("spec.passwordSecret.namespace", "this namespace is ignored"))
        #expect(peerSpec { $0.passwordSecret = SecretReference() }.passwordSecretName == nil)
    }

    @Test func bfdProfileReference() {
        let spec = peerSpec { $0.bfdProfile = "fast" }
        let missing = peerReport(spec)
        #expect(missing.hasError("spec.bfdProfile", "no BFDProfile named \"fast\""))
        #expect(missing.ignoringMissingReferences.isValid)
        #expect(peerReport(spec, { $0.bfdProfiles = [BFDProfile(metadata: S.meta("fast"))] }).isValid)
        let multihop = peerReport(peerSpec { $0.peerASN = 64513; $0.ebgpMultiHop = true; $0.bfdProfile = "echo" }, {
            $0.bfdProfiles = [BFDProfile(metadata: S.meta("echo"), spec: .init(echoMode: true))]
        })
        #expect(multihop.isValid && multihop.hasWarning("spec.bfdProfile", "multihop sessions do not support"))
    }

    @Test func nodeSelectors() {
        let sel = LabelSelector(matchLabels: ["kubernetes.io/hostname": "node-1"])
        #expect(peerReport(peerSpec { $0.nodeSelectors = [sel] }).isValid)
        #expect(peerReport(peerSpec { $0.nodeSelectors = [sel, sel] }).hasError("spec.nodeSelectors[1]", "duplicates"))
    }

    @Test func deprecationsAndVersions() {
        #expect(peerReport(peerSpec { $0.disableMP = true }).hasWarning("spec.disableMP", "deprecated"))
        let old = peerReport(peerSpec { $0.vrf = "red" }, apiVersion: "metallb.io/v1beta1")
        #expect(old.isValid && old.hasWarning("spec.vrf", "not part of metallb.io/v1beta1"))
        #expect(peerReport(peerSpec { $0.peerAddress = nil }, apiVersion: "metallb.io/v1beta1").hasError("spec.peerAddress", "is required: the address of the router"))
    }

    @Test func duplicatePeers() {
        func report(_ a: BGPPeerSpec, _ b: BGPPeerSpec, nodes: [Node]? = nil) -> ValidationReport {
            S.report { c in
                c.bgpPeers = [S.peer("a", a), S.peer("b", b)]
                c.nodes = nodes
            }
        }
        #expect(report(peerSpec(), peerSpec { $0.peerPort = 179 }).hasError("spec.peerAddress", "BGPPeer a already connects to 172.30.0.3 port 179 in the default VRF"))
        #expect(report(peerSpec { $0.peerAddress = "2001:DB8::1" }, peerSpec { $0.peerAddress = "2001:db8:0::1" }).hasError("spec.peerAddress", "already connects to 2001:db8::1"))
        #expect(report(peerSpec(), peerSpec { $0.peerPort = 180 }).isValid)
        #expect(report(peerSpec(), peerSpec { $0.vrf = "red" }).isValid)
        #expect(report(peerSpec { $0.vrf = "red" }, peerSpec { $0.vrf = "red" }).hasError("spec.peerAddress", "in VRF red"))
        let rackA = [LabelSelector(matchLabels: ["rack": "a"])]
        let rackB = [LabelSelector(matchLabels: ["rack": "b"])]
        // Nodes unknown: different selectors are taken to pick different nodes, equal ones the same.
        #expect(report(peerSpec { $0.nodeSelectors = rackA }, peerSpec { $0.nodeSelectors = rackB }).isValid)
        #expect(report(peerSpec { $0.nodeSelectors = rackA }, peerSpec { $0.nodeSelectors = rackA }).hasError("spec.peerAddress", "already connects"))
        #expect(report(peerSpec(), peerSpec { $0.nodeSelectors = rackB }).hasError("spec.peerAddress", "already connects"))
        // Nodes known: the selected sets decide.
        let nodes = [Node(metadata: ObjectMeta(name: "n1", labels: ["rack": "a", "zone": "z"])), Node(metadata: ObjectMeta(name: "n2", labels: ["rack": "b"]))]
        #expect(report(peerSpec { $0.nodeSelectors = rackA }, peerSpec { $0.nodeSelectors = [LabelSelector(matchLabels: ["zone": "z"])] }, nodes: nodes)
            .hasError("spec.peerAddress", "already connects"))
        #expect(report(peerSpec { $0.nodeSelectors = rackA }, peerSpec { $0.nodeSelectors = rackB }, nodes: nodes).isValid)
    }
}

@Suite struct MetalLBRules {
    private func report(name: String = "metallb", _ spec: MetalLBSpec?) -> ValidationReport {
        S.report { $0.metalLBs = [MetalLB(metadata: S.meta(name), spec: spec)] }
    }

    @Test func valid() {
        #expect(report(nil).isValid)
        let r = report(MetalLBSpec(
            nodeSelector: ["node-role.kubernetes.io/worker": ""],
            speakerTolerations: [Toleration(key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30)],
            controllerTolerations: [Toleration(operator: "Exists")],
            logLevel: "warn", bgpBackend: "native", loadBalancerClass: "example.com/internal-vip", speakerGratuitousARPInterval: "0",
            speakerConfig: MetalLBComponentConfig(priorityClassName: "system-node-critical",
                affinity: ["podAntiAffinity": ["preferredDuringSchedulingIgnoredDuringExecution": [["weight": 100]]]])))
        #expect(r.isValid && r.warnings.isEmpty, "\(r)")
        #expect(report(MetalLBSpec(bgpBackend: "")).isValid)
        #expect(report(MetalLBSpec(speakerGratuitousARPInterval: "1s")).isValid)
    }

    @Test func rules() {
        #expect(report(name: "other", nil).hasError("metadata.name", "must be named \"metallb\""))
        #expect(report(MetalLBSpec(logLevel: "trace")).hasError("spec.logLevel", "one of all, debug, info, warn, error, none"))
        for backend in ["frr", "frr-k8s", "frr-k8s-external"] {
            #expect(report(MetalLBSpec(bgpBackend: backend)).hasError("spec.bgpBackend", "the native one, which supports BFD and graceful restart"))
        }
        #expect(report(MetalLBSpec(bgpBackend: "bird")).hasError("spec.bgpBackend", "must be empty or native"))
        #expect(report(MetalLBSpec(frrk8sConfig: [:])).hasError("spec.frrk8sConfig", "not supported"))
        #expect(report(MetalLBSpec(loadBalancerClass: "a/b/c")).hasError("spec.loadBalancerClass", "is not valid"))
        #expect(report(MetalLBSpec(speakerGratuitousARPInterval: "999ms")).hasError("spec.speakerGratuitousARPInterval", "at least 1s"))
        #expect(report(MetalLBSpec(speakerGratuitousARPInterval: "-1s")).hasError("spec.speakerGratuitousARPInterval", "at least 1s"))
        #expect(report(MetalLBSpec(speakerGratuitousARPInterval: "often")).hasError("spec.speakerGratuitousARPInterval", "is not a duration"))
        let image = report(MetalLBSpec(image: "quay.io/metallb/speaker:v0.14"))
        #expect(image.isValid && image.hasWarning("spec.image", "deprecated and ignored"))
        #expect(report(MetalLBSpec(nodeSelector: ["a b": "c"])).hasError("spec.nodeSelector", "not a valid label key"))
        #expect(report(MetalLBSpec(controllerNodeSelector: ["a": "b c"])).hasError("spec.controllerNodeSelector.a", "not a valid label value"))
    }

    @Test func tolerations() {
        func report(_ t: Toleration) -> ValidationReport { self.report(MetalLBSpec(controllerTolerations: [t])) }
        #expect(report(Toleration(key: "k", operator: "Equal", value: "v", effect: "NoSchedule")).isValid)
        #expect(report(Toleration(key: "k", effect: "NoSchedule", tolerationSeconds: 5)).hasError("spec.controllerTolerations[0].tolerationSeconds", "NoExecute"))
        #expect(report(Toleration(key: "k", operator: "Like")).hasError("spec.controllerTolerations[0].operator", "Exists or Equal"))
        #expect(report(Toleration(key: "k", effect: "Evict")).hasError("spec.controllerTolerations[0].effect", "NoSchedule, PreferNoSchedule, NoExecute"))
        #expect(report(Toleration(operator: "Equal")).hasError("spec.controllerTolerations[0].operator", "must be Exists when key is empty"))
        #expect(report(Toleration(key: "k", operator: "Exists", value: "v")).hasError("spec.controllerTolerations[0].value", "must be empty"))
    }

    @Test func componentConfig() {
        let bad: JSONValue = ["nodeAffinity": ["preferredDuringSchedulingIgnoredDuringExecution": [["weight": 0], ["weight": 101], ["preference": [:]]]]]
        let r = report(MetalLBSpec(controllerConfig: MetalLBComponentConfig(affinity: bad)))
        for i in 0..<3 {
            #expect(r.hasError("spec.controllerConfig.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[\(i)].weight", "from 1 to 100"))
        }
        #expect(report(MetalLBSpec(speakerConfig: MetalLBComponentConfig(priorityClassName: "High"))).hasError("spec.speakerConfig.priorityClassName", "not a valid PriorityClass"))
        #expect(report(MetalLBSpec(speakerConfig: MetalLBComponentConfig(runtimeClassName: "a_b"))).hasError("spec.speakerConfig.runtimeClassName", "not a valid RuntimeClass"))
    }

    @Test func effectiveValues() {
        #expect(MetalLBSpec().effectiveLogLevel == .info)
        #expect(MetalLBSpec(logLevel: "debug").effectiveLogLevel == .debug)
        #expect(MetalLBSpec(speakerGratuitousARPInterval: "2m").effectiveGratuitousARPInterval == .minutes(2))
        var st = MetalLBStatus()
        st.setSpeakers(ready: 2, desired: 3)
        #expect(st.speakers == "2/3" && st.speakersReady == 2 && st.speakersDesired == 3)
    }
}

@Suite struct UpdateRules {
    @Test func gracefulRestartIsImmutable() {
        let old = S.peer("p", peerSpec { $0.enableGracefulRestart = true })
        var new = old
        new.spec.enableGracefulRestart = false
        #expect(Validation.validateUpdate(old: old, new: new).hasError("spec.enableGracefulRestart", "cannot be changed after creation"))
        new.spec.enableGracefulRestart = nil
        #expect(!Validation.validateUpdate(old: old, new: new).isValid)
        new.spec.enableGracefulRestart = true
        new.spec.holdTime = "30s"
        #expect(Validation.validateUpdate(old: old, new: new).isValid)
        let plain = S.peer("p", peerSpec())
        var explicitFalse = plain
        explicitFalse.spec.enableGracefulRestart = false
        #expect(Validation.validateUpdate(old: plain, new: explicitFalse).isValid)
    }

    @Test func statusIdentityIsImmutable() {
        let old = ServiceL2Status(metadata: S.meta("l2-x"), status: .init(node: "n1", serviceName: "svc", serviceNamespace: "ns"))
        var new = old
        new.status?.interfaces = [InterfaceInfo(name: "eth0")]
        #expect(Validation.validateUpdate(old: old, new: new).isValid)
        new.status?.node = "n2"
        #expect(Validation.validateUpdate(old: old, new: new).hasError("status.node", "is immutable"))

        let oldBGP = ServiceBGPStatus(metadata: S.meta("bgp-x"), status: .init(node: "n1", serviceName: "svc", serviceNamespace: "ns"))
        var newBGP = oldBGP
        newBGP.status?.peers = ["p"]
        #expect(Validation.validateUpdate(old: oldBGP, new: newBGP).isValid)
        newBGP.status?.serviceNamespace = "other"
        #expect(Validation.validateUpdate(old: oldBGP, new: newBGP).hasError("status.serviceNamespace", "is immutable"))
        // Setting a field for the first time is allowed.
        let empty = ServiceBGPStatus(metadata: S.meta("bgp-y"))
        #expect(Validation.validateUpdate(old: empty, new: oldBGP).isValid)
    }
}

@Suite struct ReportAndLoading {
    @Test func reportFilteringAndText() {
        let r = S.report { c in
            c.ipAddressPools = [S.pool("a", ["10.0.0.0/33"]), S.pool("b", ["10.1.0.0/16"])]
            c.bgpPeers = [S.peer("p", peerSpec { $0.bfdProfile = "none" })]
        }
        #expect(r.errors.count == 2)
        let a = r.about(kind: "IPAddressPool", namespace: S.ns, name: "a")
        #expect(a.errors.count == 1 && a.errors[0].field == "spec.addresses[0]")
        #expect(r.about(kind: "IPAddressPool", namespace: S.ns, name: "b").isValid)
        #expect(r.ignoringMissingReferences.errors.count == 1)
        #expect(a.errors[0].description.hasPrefix("IPAddressPool metallb-system/a: spec.addresses[0]: \"10.0.0.0/33\""))
        #expect(r.description.contains("\nBGPPeer metallb-system/p: spec.bfdProfile: "))
    }

    @Test func loadSortsKindsAndReportsProblems() {
        let docs: [JSONValue] = [
            ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "a"], "spec": ["addresses": ["10.0.0.0/24"], "autoAsign": false]],
            ["apiVersion": "v1", "kind": "List", "items": [
                ["apiVersion": "metallb.io/v1beta1", "kind": "BGPPeer", "metadata": ["name": "old"], "spec": ["myASN": 1, "peerASN": 2, "peerAddress": "10.0.0.1", "holdTime": "0s", "keepaliveTime": "0s"]],
                ["apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": ["name": "new", "namespace": "metallb-system"], "spec": ["myASN": 1, "dynamicASN": "external", "peerAddress": "10.0.0.2"]],
            ]],
            ["apiVersion": "metallb.io/v1beta2", "kind": "IPAddressPool", "metadata": ["name": "b"], "spec": ["addresses": []]],
            ["apiVersion": "metallb.io/v1", "kind": "Unknown", "metadata": ["name": "u"]],
            ["apiVersion": "apps/v1", "kind": "Deployment", "metadata": ["name": "nginx"]],
            ["apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": "config", "namespace": "metallb-system"], "data": ["config": "peers: []"]],
            ["apiVersion": "metallb.io/v1beta1", "kind": "ServiceL2Status", "metadata": ["name": "s"]],
            ["kind": "IPAddressPool"],
            "not an object",
            nil,
        ]
        let loaded = Configuration.load(documents: docs)
        let c = loaded.configuration
        #expect(c.ipAddressPools.map(\.name) == ["a"])
        #expect(c.ipAddressPools[0].namespace == "metallb-system")
        #expect(c.bgpPeers.map(\.name) == ["old", "new"])
        #expect(c.bgpPeers[0].isV1beta1 && !c.bgpPeers[1].isV1beta1)
        #expect(c.secrets == [])
        #expect(c.nodes == nil)
        let issues = ValidationReport(issues: loaded.issues)
        #expect(issues.hasWarning("spec.autoAsign", "is not a field of IPAddressPool"))
        #expect(issues.hasError("apiVersion", "\"metallb.io/v1beta2\" is not served for IPAddressPool; use \"metallb.io/v1beta1\""))
        #expect(issues.hasError("kind", "metallb.io has no kind \"Unknown\""))
        #expect(issues.hasWarning("kind", "apps/v1 Deployment is not part of MetalLB's configuration"))
        #expect(issues.hasWarning("data.config", "no longer reads its configuration from a ConfigMap"))
        #expect(issues.hasError("apiVersion", "is required"))
        #expect(issues.hasError("", "is not an object"))
        #expect(!issues.errors.contains { $0.kind == "ServiceL2Status" } && !issues.warnings.contains { $0.kind == "ServiceL2Status" })
        #expect(Validation.validate(documents: docs).errors.count == issues.errors.count)
    }

    @Test func decodingErrorsNameTheField() {
        func issues(_ doc: JSONValue) -> ValidationReport { Validation.validate(documents: [doc]) }
        let peer: JSONValue = ["apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": ["name": "p"]]
        var p = peer
        p["spec"] = ["myASN": 64512, "peerASN": -1, "peerAddress": "10.0.0.1"]
        #expect(issues(p).hasError("spec.peerASN", "is out of range; expected an integer from 0 to 4294967295"))
        p["spec"] = ["myASN": 1.5, "peerASN": 1, "peerAddress": "10.0.0.1"]
        #expect(issues(p).hasError("spec.myASN", "out of range"))
        p["spec"] = ["myASN": "64512", "peerASN": 1, "peerAddress": "10.0.0.1"]
        #expect(issues(p).hasError("spec.myASN", "wrong type; expected an integer from 1 to 4294967295"))
        p["spec"] = ["myASN": 1, "peerASN": 2, "peerAddress": "10.0.0.1", "nodeSelectors": [["matchExpressions": [["key": "a"]]]]]
        #expect(issues(p).hasError("spec.nodeSelectors[0].matchExpressions[0].operator", "is required"))
        p["spec"] = ["myASN": 1, "peerASN": 2, "peerAddress": nil]
        #expect(issues(p).errors.contains { $0.field == "spec.peerAddress" }, "null is unset, so the address is missing")
        let pool: JSONValue = ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "x"], "spec": ["addresses": "10.0.0.0/24"]]
        #expect(issues(pool).hasError("spec.addresses", "wrong type; expected a list"))
        let bfd: JSONValue = ["apiVersion": "metallb.io/v1beta1", "kind": "BFDProfile", "metadata": ["name": "b"], "spec": ["receiveInterval": -5]]
        #expect(issues(bfd).hasError("spec.receiveInterval", "expected an integer from 10 to 60000 (milliseconds)"))
        let weight: JSONValue = ["apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement", "metadata": ["name": "l"],
                                 "spec": ["preferredNodeSelectors": [["preference": [:]]]]]
        #expect(issues(weight).hasError("spec.preferredNodeSelectors[0].weight", "is required"))
    }
}

@Suite struct AdmissionHelpers {
    @Test func upsertAndRemove() {
        let base = Configuration(
            ipAddressPools: [S.pool("a", ["10.0.0.0/24"])], l2Advertisements: [S.l2Adv("l")],
            bgpPeers: [S.peer("p", peerSpec())], bfdProfiles: [BFDProfile(metadata: S.meta("fast"))], secrets: [])
        // Updating pool a to overlap nothing stays valid; adding pool b that overlaps a does not.
        let updated = base.upserting(document: [
            "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "a", "namespace": "metallb-system"],
            "spec": ["addresses": ["10.1.0.0/24"]],
        ])
        #expect(updated.issues.isEmpty)
        #expect(updated.configuration.ipAddressPools.map { $0.spec.addresses } == [["10.1.0.0/24"]])
        let added = updated.configuration.upserting(document: [
            "apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "b"], "spec": ["addresses": ["10.1.0.128/25"]],
        ])
        let report = added.configuration.validate()
        #expect(report.about(kind: "IPAddressPool", namespace: S.ns, name: "b").hasError("spec.addresses[0]", "overlaps"))
        #expect(report.about(kind: "IPAddressPool", namespace: S.ns, name: "a").isValid)
        // A peer referring to the profile makes deleting the profile invalid.
        let withRef = base.upserting(document: [
            "apiVersion": "metallb.io/v1beta2", "kind": "BGPPeer", "metadata": ["name": "p"],
            "spec": ["myASN": 64512, "peerASN": 64512, "peerAddress": "172.30.0.3", "bfdProfile": "fast"],
        ]).configuration
        #expect(withRef.bgpPeers.count == 1)
        #expect(withRef.validate().isValid)
        let deleted = withRef.removing(kind: "BFDProfile", namespace: S.ns, name: "fast")
        #expect(deleted.bfdProfiles.isEmpty)
        #expect(deleted.validate().hasError("spec.bfdProfile", "no BFDProfile named \"fast\""))
        #expect(withRef.removing(kind: "BFDProfile", namespace: "other", name: "fast").bfdProfiles.count == 1)
        // Secrets and bad documents.
        let secret = base.upserting(document: ["apiVersion": "v1", "kind": "Secret", "metadata": ["name": "s"], "type": "kubernetes.io/basic-auth"])
        #expect(secret.configuration.secrets?.map(\.name) == ["s"])
        let bad = base.upserting(document: ["apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool", "metadata": ["name": "c"]])
        #expect(ValidationReport(issues: bad.issues).hasError("spec", "is required"))
        #expect(bad.configuration == base)
    }
}
