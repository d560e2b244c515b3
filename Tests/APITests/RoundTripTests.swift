import Foundation
import Kube
import Testing

@testable import API

private let selector = LabelSelector(
    matchLabels: ["kubernetes.io/hostname": "node-1"],
    matchExpressions: [LabelSelectorRequirement(key: "rack", operator: "In", values: ["a", "b"])])

private let condition = Condition(
    type: "Available", status: "True", observedGeneration: 3, lastTransitionTime: "2024-05-06T07:08:09Z", reason: "Ready", message: "all good")

/// Encodes `value` and decodes it back with Foundation's and the JSONValue decoder; returns the encoded object.
@discardableResult
private func roundTrip<T: Codable & Equatable>(_ value: T) throws -> [String: JSONValue] {
    let data = try KubeJSON.encoder.encode(value)
    #expect(try KubeJSON.decoder.decode(T.self, from: data) == value)
    let json = try KubeJSON.decoder.decode(JSONValue.self, from: data)
    #expect(try JSONValueDecoder.decode(T.self, from: json) == value)
    return try #require(json.objectValue)
}

/// The keys of the object at `path` (dot-separated) in `json`.
private func keys(_ json: [String: JSONValue], _ path: String) -> Set<String> {
    var v: JSONValue? = .object(json)
    for p in path.split(separator: ".") { v = v?[String(p)] }
    return Set(v?.objectValue?.keys ?? [:].keys)
}

@Suite struct RoundTripTests {
    @Test func ipAddressPool() throws {
        let o = IPAddressPool(
            apiVersion: "metallb.io/v1beta1", kind: "IPAddressPool",
            metadata: ObjectMeta(name: "pool", namespace: "metallb-system", labels: ["a": "b"]),
            spec: IPAddressPoolSpec(
                addresses: ["192.168.10.0/24", "192.168.9.1-192.168.9.5", "fc00:f853:ccd:e799::/124"], autoAssign: false, avoidBuggyIPs: true,
                serviceAllocation: ServiceAllocation(priority: 50, namespaces: ["ns-a"], namespaceSelectors: [selector], serviceSelectors: [selector])),
            status: IPAddressPoolStatus(assignedIPv4: 1, assignedIPv6: 2, availableIPv4: 254, availableIPv6: 9_223_372_036_854_775_807))
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == ["addresses", "autoAssign", "avoidBuggyIPs", "serviceAllocation"])
        #expect(keys(j, "spec.serviceAllocation") == ["priority", "namespaces", "namespaceSelectors", "serviceSelectors"])
        #expect(keys(j, "status") == ["assignedIPv4", "assignedIPv6", "availableIPv4", "availableIPv6"])
        #expect(IPAddressPool.resourceType.apiVersion == "metallb.io/v1beta1")
        #expect(IPAddressPool.resourceType.path(namespace: "metallb-system") == "/apis/metallb.io/v1beta1/namespaces/metallb-system/ipaddresspools")
    }

    @Test func l2Advertisement() throws {
        let o = L2Advertisement(
            apiVersion: "metallb.io/v1beta1", kind: "L2Advertisement", metadata: ObjectMeta(name: "l2", namespace: "metallb-system"),
            spec: L2AdvertisementSpec(
                ipAddressPools: ["pool"], ipAddressPoolSelectors: [selector], nodeSelectors: [selector], interfaces: ["eth0"],
                serviceSelectors: [selector], preferredNodeSelectors: [PreferredNodeSelector(weight: 100, preference: selector)]),
            status: [:])
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == ["ipAddressPools", "ipAddressPoolSelectors", "nodeSelectors", "interfaces", "serviceSelectors", "preferredNodeSelectors"])
    }

    @Test func bgpAdvertisement() throws {
        let o = BGPAdvertisement(
            apiVersion: "metallb.io/v1beta1", kind: "BGPAdvertisement", metadata: ObjectMeta(name: "adv", namespace: "metallb-system"),
            spec: BGPAdvertisementSpec(
                aggregationLength: 24, aggregationLengthV6: 64, localPref: 4_294_967_295, communities: ["65535:65282", "large:1:2:3", "vpn-only"],
                ipAddressPools: ["pool"], ipAddressPoolSelectors: [selector], nodeSelectors: [selector], peers: ["peer"], serviceSelectors: [selector]))
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == [
            "aggregationLength", "aggregationLengthV6", "localPref", "communities", "ipAddressPools", "ipAddressPoolSelectors",
            "nodeSelectors", "peers", "serviceSelectors",
        ])
    }

    @Test func bgpPeer() throws {
        let o = BGPPeer(
            apiVersion: "metallb.io/v1beta2", kind: "BGPPeer", metadata: ObjectMeta(name: "peer", namespace: "metallb-system"),
            spec: BGPPeerSpec(
                myASN: 64512, peerASN: 4_294_967_295, localASN: 65410, dynamicASN: "external", peerAddress: "172.30.0.3", interface: "eth1",
                sourceAddress: "172.30.0.2", peerPort: 16384, holdTime: "1m30s", keepaliveTime: "30s", connectTime: "10s", routerID: "10.0.0.1",
                nodeSelectors: [selector], password: "pw", passwordSecret: SecretReference(name: "s", namespace: "metallb-system"),
                bfdProfile: "fast", enableGracefulRestart: true, ebgpMultiHop: true, vrf: "red", disableMP: false, dualStackAddressFamily: true))
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == [
            "myASN", "peerASN", "localASN", "dynamicASN", "peerAddress", "interface", "sourceAddress", "peerPort", "holdTime",
            "keepaliveTime", "connectTime", "routerID", "nodeSelectors", "password", "passwordSecret", "bfdProfile",
            "enableGracefulRestart", "ebgpMultiHop", "vrf", "disableMP", "dualStackAddressFamily",
        ])
        #expect(keys(j, "spec.passwordSecret") == ["name", "namespace"])
        #expect(BGPPeer.resourceType.version == "v1beta2" && BGPPeer.v1beta1ResourceType.version == "v1beta1")
    }

    @Test func bgpPeerDecodesV1beta1() throws {
        // v1beta1 as MetalLB's Go types write it: zero durations, legacy node selectors.
        let json = #"""
            {"apiVersion":"metallb.io/v1beta1","kind":"BGPPeer","metadata":{"name":"old","namespace":"metallb-system"},
             "spec":{"myASN":64512,"peerASN":64512,"peerAddress":"172.30.0.3","holdTime":"0s","keepaliveTime":"0s","ebgpMultiHop":false,
                     "nodeSelectors":[{"matchLabels":{"rack":"a"},"matchExpressions":[{"key":"zone","operator":"In","values":["z1"]}]}]},
             "status":{}}
            """#
        let p = try KubeJSON.decoder.decode(BGPPeer.self, from: Data(json.utf8))
        #expect(p.isV1beta1)
        #expect(p.spec.nodeSelectors?.first?.matchExpressions?.first?.values == ["z1"])
        #expect(try p.spec.timers() == BGPTimers(holdTime: .zero, keepaliveTime: .zero))
        #expect(Configuration(bgpPeers: [p]).validate().isValid)
        // A peer without spec decodes, so validation can say what is missing.
        let bare = try KubeJSON.decoder.decode(BGPPeer.self, from: Data(#"{"metadata":{"name":"x"}}"#.utf8))
        #expect(bare.spec.myASN == 0)
    }

    @Test func bfdProfile() throws {
        let o = BFDProfile(
            apiVersion: "metallb.io/v1beta1", kind: "BFDProfile", metadata: ObjectMeta(name: "bfd", namespace: "metallb-system"),
            spec: BFDProfileSpec(receiveInterval: 380, transmitInterval: 270, detectMultiplier: 3, echoInterval: 50, echoMode: true, passiveMode: false, minimumTtl: 254))
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == ["receiveInterval", "transmitInterval", "detectMultiplier", "echoInterval", "echoMode", "passiveMode", "minimumTtl"])
    }

    @Test func community() throws {
        let o = Community(
            apiVersion: "metallb.io/v1beta1", kind: "Community", metadata: ObjectMeta(name: "c", namespace: "metallb-system"),
            spec: CommunitySpec(communities: [CommunityAlias(name: "vpn-only", value: "1234:1")]))
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == ["communities"])
    }

    @Test func serviceStatuses() throws {
        let l2 = ServiceL2Status(
            apiVersion: "metallb.io/v1beta1", kind: "ServiceL2Status", metadata: ObjectMeta(name: "l2-abc", namespace: "metallb-system"), spec: [:],
            status: ServiceL2StatusStatus(node: "n1", serviceName: "svc", serviceNamespace: "ns", interfaces: [InterfaceInfo(name: "eth0")]))
        #expect(keys(try roundTrip(l2), "status") == ["node", "serviceName", "serviceNamespace", "interfaces"])
        let bgp = ServiceBGPStatus(
            apiVersion: "metallb.io/v1beta1", kind: "ServiceBGPStatus", metadata: ObjectMeta(name: "bgp-abc", namespace: "metallb-system"), spec: [:],
            status: ServiceBGPStatusStatus(node: "n1", serviceName: "svc", serviceNamespace: "ns", peers: ["peer"]))
        #expect(keys(try roundTrip(bgp), "status") == ["node", "serviceName", "serviceNamespace", "peers"])
    }

    @Test func configurationState() throws {
        var o = ConfigurationState.forSpeaker(node: "worker-1", namespace: "metallb-system")
        o.setTypeMeta()
        o.status = ConfigurationStateStatus(result: .invalid, errorSummary: "peer p: bad", conditions: [condition])
        let j = try roundTrip(o)
        #expect(keys(j, "status") == ["result", "errorSummary", "conditions"])
        #expect(o.name == "speaker-worker-1")
        #expect(o.metadata.labels == ["metallb.io/component-type": "speaker", "metallb.io/node-name": "worker-1"])
        #expect(ConfigurationState.forController(namespace: "metallb-system").metadata.labels == ["metallb.io/component-type": "controller"])
        #expect(ConfigurationState.forController(namespace: "metallb-system").name == "controller")
        o.status?.lastError = nil
        #expect(o.status?.errorSummary == nil)
        #expect(ConfigurationResult.allowed.map(\.rawValue) == ["Valid", "Invalid", "Unknown"])
        #expect(try KubeJSON.decoder.decode(ConfigurationResult.self, from: Data(#""Later""#.utf8)).rawValue == "Later")
    }

    @Test func bgpSessionState() throws {
        let o = BGPSessionState(
            apiVersion: "metallb.io/v1beta1", kind: "BGPSessionState", metadata: ObjectMeta(name: "n1-abc", namespace: "metallb-system"),
            status: BGPSessionStateStatus(node: "n1", peer: "172.30.0.3", vrf: "red", bgpStatus: BGPSessionFSMState.established.rawValue, bfdStatus: BFDSessionStatus.up.rawValue))
        #expect(keys(try roundTrip(o), "status") == ["node", "peer", "vrf", "bgpStatus", "bfdStatus"])
    }

    @Test func metalLB() throws {
        let config = MetalLBComponentConfig(
            priorityClassName: "high", runtimeClassName: "runc", annotations: ["a": "b"],
            resources: ["limits": ["cpu": "100m"]], affinity: ["nodeAffinity": [:]])
        var status = MetalLBStatus(conditions: [condition], observedGeneration: 3, controllerReady: true)
        status.setSpeakers(ready: 2, desired: 3)
        let o = MetalLB(
            apiVersion: "metallb.io/v1beta1", kind: "MetalLB", metadata: ObjectMeta(name: "metallb", namespace: "metallb-system"),
            spec: MetalLBSpec(
                image: "ignored", nodeSelector: ["a": "b"], speakerTolerations: [Toleration(key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 5)],
                controllerNodeSelector: ["c": "d"], controllerTolerations: [Toleration(operator: "Exists")], logLevel: "debug", bgpBackend: "native",
                frrk8sConfig: ["alwaysBlock": ["10.0.0.0/8"]], loadBalancerClass: "example.com/lb", speakerGratuitousARPInterval: "30s",
                speakerConfig: config, controllerConfig: config),
            status: status)
        let j = try roundTrip(o)
        #expect(keys(j, "spec") == [
            "image", "nodeSelector", "speakerTolerations", "controllerNodeSelector", "controllerTolerations", "logLevel", "bgpBackend",
            "frrk8sConfig", "loadBalancerClass", "speakerGratuitousARPInterval", "speakerConfig", "controllerConfig",
        ])
        #expect(keys(j, "spec.speakerConfig") == ["priorityClassName", "runtimeClassName", "annotations", "resources", "affinity"])
        #expect(keys(j, "status") == ["conditions", "observedGeneration", "speakersDesired", "speakersReady", "speakers", "controllerReady"])
        #expect(status.condition(.available)?.status == "True")
    }

    @Test func everyKindIsRegistered() {
        let kinds = Set(MetalLBAPI.resourceTypes.map(\.kind))
        #expect(kinds == [
            "IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer", "BFDProfile", "Community", "ServiceL2Status",
            "ServiceBGPStatus", "ConfigurationState", "BGPSessionState", "MetalLB",
        ])
        #expect(MetalLBAPI.resourceTypes.allSatisfy { $0.group == "metallb.io" && $0.namespaced })
        // Each has a CRD file named after its plural.
        let crds = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("crds")
        for r in MetalLBAPI.resourceTypes {
            let file = crds.appendingPathComponent("\(r.plural).metallb.io.yaml")
            #expect(FileManager.default.fileExists(atPath: file.path), "\(file.lastPathComponent)")
            let text = (try? String(contentsOf: file, encoding: .utf8)) ?? ""
            #expect(text.contains("kind: \(r.kind)\n") && text.contains("- name: \(r.version)\n"), "\(file.lastPathComponent)")
        }
    }
}

@Suite struct DefaultsTests {
    @Test func poolDefaults() {
        let p = Support.pool("p", ["10.0.0.0/24"]).defaulted()
        #expect(p.spec.autoAssign == true && p.spec.avoidBuggyIPs == false)
        var q = Support.pool("q", ["10.0.0.0/24"])
        q.spec.autoAssign = false
        #expect(q.defaulted().spec.autoAssign == false)
        #expect(q.spec.effectiveAutoAssign == false && !q.spec.effectiveAvoidBuggyIPs)
    }

    @Test func advertisementDefaults() {
        let a = Support.bgpAdv("a", BGPAdvertisementSpec(aggregationLength: 24)).defaulted()
        #expect(a.spec?.aggregationLength == 24 && a.spec?.aggregationLengthV6 == 128)
        // Like the API server: no spec, nothing to default.
        #expect(Support.bgpAdv("b").defaulted().spec == nil)
        #expect(BGPAdvertisementSpec().effectiveAggregationLength == 32 && BGPAdvertisementSpec().effectiveAggregationLengthV6 == 128)
        #expect(BGPAdvertisementSpec().effectiveLocalPref == 0)
    }

    @Test func peerDefaults() {
        let p = Support.peer("p", BGPPeerSpec(myASN: 1, peerASN: 2, peerAddress: "10.0.0.1")).defaulted()
        #expect(p.spec.peerPort == 179 && p.spec.disableMP == false && p.spec.dualStackAddressFamily == false)
        let old = Support.peer("o", BGPPeerSpec(myASN: 1, peerASN: 2, peerAddress: "10.0.0.1"), apiVersion: "metallb.io/v1beta1").defaulted()
        #expect(old.spec.peerPort == nil)
        let custom = Support.peer("c", BGPPeerSpec(myASN: 1, peerASN: 2, peerAddress: "10.0.0.1", peerPort: 180)).defaulted()
        #expect(custom.spec.peerPort == 180)
    }

    @Test func configurationDefaults() {
        let c = Configuration(
            ipAddressPools: [Support.pool("p", ["10.0.0.0/24"])], bgpAdvertisements: [Support.bgpAdv("a", .init())],
            bgpPeers: [Support.peer("x", BGPPeerSpec(myASN: 1, peerASN: 2, peerAddress: "10.0.0.1"))]
        ).defaulted()
        #expect(c.ipAddressPools[0].spec.autoAssign == true)
        #expect(c.bgpAdvertisements[0].spec?.aggregationLength == 32)
        #expect(c.bgpPeers[0].spec.peerPort == 179)
        #expect(c.validate().isValid)
    }
}
