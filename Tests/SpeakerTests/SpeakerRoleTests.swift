#if os(Linux)
import API
import Foundation
import Glibc
import Kube
import KubeTestSupport
import NetAddress
import Testing
import TestSupport

/// Two `metallb speaker` processes against the real API server (Node, Pod and EndpointSlice objects made by the
/// test, no kubelet): one ServiceL2Status for the announced Service, a nodeAssigned Event, the status moving when
/// the owner stops, and an Event that says why when no L2Advertisement selects the pool.
///
/// The speakers run in the root network namespace (to reach the API server on 127.0.0.1); each answers on one end of
/// a veth pair whose other end is in a namespace the test made (no address in the root namespace, IPv6 off), so
/// nothing they send can leave the machine; the other ends share a bridge, their LAN. Their membership runs on 127.0.0.1 and 127.0.0.2.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SpeakerRoleTests {
    static let binary = ControlPlane.repoRoot + "/.build/debug/metallb"

    /// A TCP port free on 127.0.0.1 now (the kernel's pick).
    static func freeTCPPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &a.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        guard withUnsafePointer(to: &a, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }) == 0,
              withUnsafeMutablePointer(to: &a, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }) == 0
        else { throw TestSetupError(description: "no free TCP port on 127.0.0.1") }
        return Int(UInt16(bigEndian: a.sin_port))
    }

    /// GET http://127.0.0.1:port/path: status code and body ("000" and "" when nothing answers).
    static func get(_ port: Int, _ path: String) -> (code: String, body: String) {
        let r = runTool("curl", ["-s", "-m", "5", "-w", "\n%{http_code}", "http://127.0.0.1:\(port)\(path)"])
        var lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let code = lines.popLast() ?? "000"
        return (code, lines.joined(separator: "\n"))
    }

    @Test func oneNodeAnnouncesAndTheStatusFollowsIt() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the metallb binary first (swift build)")
        guard getuid() == 0 else {
            Issue.record("needs root (veth interfaces and a network namespace): this test did not run")
            return
        }
        let env = try await TestEnv.make("speaker")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let ns = env.namespace
        let apps = try await TestEnv.createNamespace(env.client, prefix: "apps")
        let tag = String(UInt16.random(in: 1000...9999))
        let nodeNames = ["spk\(tag)a", "spk\(tag)b"]

        // The network: veth pairs, the speaker's end in the root namespace, the other in a namespace of the test's own.
        let space = try TestNetworkNamespace(prefix: "spk")
        defer { space.remove() }
        let netns = space.name
        func ip(_ args: [String]) throws { try TestNetworkNamespace.ip(args) }
        var links: [String] = []
        defer { for l in links { _ = runTool("ip", ["link", "del", l]) } }
        // The other ends share a bridge: one LAN, where each speaker sees the other's gratuitous ARP (the hand-over
        // waits for it).
        try ip(["-n", netns, "link", "add", "lan", "type", "bridge"])
        try ip(["-n", netns, "link", "set", "lan", "up"])
        for (i, _) in nodeNames.enumerated() {
            let mine = "sk\(tag)\(i)", theirs = "sk\(tag)\(i)p"
            try ip(["link", "add", mine, "type", "veth", "peer", "name", theirs, "netns", netns])
            links.append(mine)
            _ = runTool("sysctl", ["-w", "net.ipv6.conf.\(mine).disable_ipv6=1"])
            try ip(["link", "set", mine, "up"])
            try ip(["-n", netns, "link", "set", theirs, "master", "lan", "up"])
        }

        // The cluster objects a kubelet and the controller would make.
        let memberPort = try SpeakerTestPorts.freeUDPPort()
        try await SpeakerTestObjects.nodesWithSpeakerPods(env.client, namespace: ns, nodeNames.map { ($0, [:]) })
        defer { Task { for n in nodeNames { _ = try? await env.client.resource(Node.self).deleteIfExists(n) } } }
        var pool = IPAddressPool(metadata: ObjectMeta(name: "lan", namespace: ns), spec: IPAddressPoolSpec(addresses: ["10.96.\(Int(tag)! % 200).0/28"]))
        pool.setTypeMeta()
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).create(pool)
        let serviceIP = "10.96.\(Int(tag)! % 200).5"
        var svc = Service(metadata: ObjectMeta(name: "web", namespace: apps),
                          spec: ServiceSpec(type: "LoadBalancer", ports: [ServicePort(port: 80)]))
        svc.setTypeMeta()
        _ = try await env.client.resource(Service.self, namespace: apps).create(svc)
        _ = try await env.client.resource(Service.self, namespace: apps).mergePatch("web", patch: ["status": ["loadBalancer": ["ingress": [["ip": .string(serviceIP)]]]]], subresource: "status")
        let sliceType = try await env.client.endpointSliceResourceType()
        var slice = EndpointSlice(metadata: ObjectMeta(name: "web-1", namespace: apps, labels: [EndpointSlice.serviceNameLabel: "web"]), addressType: "IPv4",
                                  endpoints: [Endpoint(addresses: ["10.244.0.10"], conditions: EndpointConditions(ready: true), nodeName: nodeNames[0],
                                                       topology: ["kubernetes.io/hostname": nodeNames[0]])])
        slice.apiVersion = "discovery.k8s.io/\(sliceType.version)"
        slice.kind = "EndpointSlice"
        _ = try await env.client.resource(sliceType, as: EndpointSlice.self, namespace: apps).create(slice)

        // No L2Advertisement yet: the Service is told why nobody announces it.
        let metricsPorts = [try Self.freeTCPPort(), try Self.freeTCPPort()]
        func speaker(_ i: Int) throws -> ChildProcess {
            try ChildProcess(Self.binary, [
                "speaker", "--kubeconfig", env.plane.kubeconfig, "--namespace", ns, "--node-name", nodeNames[i],
                "--pod-name", "speaker-\(nodeNames[i])", "--ml-bind-addr", "127.0.0.\(i + 1)", "--ml-bind-port", String(memberPort),
                "--insecure-membership", "--interface", links[i], "--metrics-host", "127.0.0.1", "--metrics-port", String(metricsPorts[i]),
                "--log-level", "debug",
            ], name: "speaker-\(i)")
        }
        var speakers = [try speaker(0), try speaker(1)]
        defer { for s in speakers { s.signal(SIGKILL); s.removeLog() } }
        let events = env.client.resource(Event.self, namespace: apps)
        let told = try await eventually(timeout: .seconds(60)) {
            try await events.listAll().items.contains { $0.reason == "noMatchingAdvertisement" && ($0.message ?? "").contains("no L2Advertisement selects pool lan") }
        }
        #expect(told, "speaker logs:\n\(speakers.map { String($0.output.suffix(1500)) }.joined(separator: "\n---\n"))")

        var l2 = L2Advertisement(metadata: ObjectMeta(name: "all", namespace: ns), spec: L2AdvertisementSpec())
        l2.setTypeMeta()
        _ = try await env.client.resource(L2Advertisement.self, namespace: ns).create(l2)

        let statuses = env.client.resource(ServiceL2Status.self, namespace: ns)
        func announcers() async throws -> [String] {
            try await statuses.listAll().items.filter { $0.status?.serviceName == "web" }.compactMap { $0.status?.node }
        }
        let single = try await eventually(timeout: .seconds(60)) { try await announcers().count == 1 }
        let seen = try await announcers()
        #expect(single, "ServiceL2Status objects: \(seen); logs:\n\(speakers.map { String($0.output.suffix(1500)) }.joined(separator: "\n---\n"))")
        let owner = try #require(try await announcers().first)
        #expect(nodeNames.contains(owner))
        #expect(try await eventually { try await events.listAll().items.contains { $0.reason == "nodeAssigned" && ($0.message ?? "").contains(owner) } })
        let states = env.client.resource(ConfigurationState.self, namespace: ns)
        for n in nodeNames {
            #expect(try await states.getIfExists("speaker-\(n)")?.status?.result == .valid)
        }

        // /metrics: the owner says what it announces, the other does not; both are ready (configured, membership heard).
        let ownerIndex = nodeNames.firstIndex(of: owner)!
        let other = nodeNames[1 - ownerIndex]
        let announcedLine = "metallb_speaker_announced{service=\"\(apps)/web\",protocol=\"layer2\",node=\"\(owner)\",ip=\"\(serviceIP)\"} 1"
        let ownerMetrics = Self.get(metricsPorts[ownerIndex], "/metrics")
        #expect(ownerMetrics.code == "200")
        #expect(ownerMetrics.body.contains(announcedLine), "\(ownerMetrics.body)")
        #expect(ownerMetrics.body.contains("metallb_speaker_membership_members_alive 2"))
        #expect(ownerMetrics.body.contains("metallb_speaker_membership_thread_info{"))
        #expect(!Self.get(metricsPorts[1 - ownerIndex], "/metrics").body.contains("metallb_speaker_announced{"))
        for p in metricsPorts { #expect(Self.get(p, "/readyz").code == "200") }

        // The owner stops (SIGTERM): it hands over (the other claims the IP on the wire before the owner goes quiet),
        // its status goes, the other node's comes, exactly one at every read.
        #expect(await speakers[ownerIndex].terminate() == 0, "\(speakers[ownerIndex].output.suffix(1500))")
        #expect(speakers[ownerIndex].output.contains("handed over") && speakers[ownerIndex].output.contains("all claimed"),
                "\(speakers[ownerIndex].output.suffix(1500))")
        let otherMetrics = Self.get(metricsPorts[1 - ownerIndex], "/metrics").body
        #expect(otherMetrics.contains("metallb_speaker_layer2_takeovers_total 1"), "\(otherMetrics)")
        #expect(otherMetrics.contains("metallb_speaker_announced{service=\"\(apps)/web\",protocol=\"layer2\",node=\"\(other)\""), "\(otherMetrics)")
        let moved = try await eventually(timeout: .seconds(60)) { try await announcers() == [other] }
        let after = try await announcers()
        #expect(moved, "after the owner stopped: \(after)")
        // Back again: the status stays single (no flapping back and forth is required, only one object).
        speakers[ownerIndex] = try speaker(ownerIndex)
        #expect(try await eventually(timeout: .seconds(30)) {
            let states = try await states.getIfExists("speaker-\(owner)")?.status?.result
            return states == .valid
        })
        #expect(try await eventually(timeout: .seconds(30)) { try await announcers().count == 1 })

        // BGP too: a peer nobody answers (sessions keep retrying, every attempt a reconcile) and an advertisement.
        // One ServiceBGPStatus per node, however many reconciles run, and one BGPSessionState per node.
        var peer = API.BGPPeer(metadata: ObjectMeta(name: "nobody", namespace: ns),
                               spec: BGPPeerSpec(myASN: 64513, peerASN: 64512, peerAddress: "127.0.0.9"))
        peer.spec.peerPort = 16179
        peer.spec.connectTime = "1s"
        peer.setTypeMeta()
        _ = try await env.client.resource(API.BGPPeer.self, namespace: ns).create(peer)
        var bgpAd = BGPAdvertisement(metadata: ObjectMeta(name: "all", namespace: ns), spec: BGPAdvertisementSpec())
        bgpAd.setTypeMeta()
        _ = try await env.client.resource(BGPAdvertisement.self, namespace: ns).create(bgpAd)
        let bgpStatuses = env.client.resource(ServiceBGPStatus.self, namespace: ns)
        func bgpNodes() async throws -> [String] {
            try await bgpStatuses.listAll().items.filter { $0.status?.serviceName == "web" }.compactMap { $0.status?.node }.sorted()
        }
        let perNode = try await eventually(timeout: .seconds(30)) { try await bgpNodes() == nodeNames.sorted() }
        let firstSeen = try await bgpNodes()
        #expect(perNode, "ServiceBGPStatus objects for web by node: \(firstSeen)")
        // More reconciles: the Service changes a few times.
        for i in 0 ..< 5 {
            _ = try await env.client.resource(Service.self, namespace: apps).mergePatch("web", patch: ["metadata": ["annotations": ["touch": .string("\(i)")]]])
            try await Task.sleep(for: .milliseconds(400))
        }
        let sessionStates = env.client.resource(BGPSessionState.self, namespace: ns)
        #expect(try await eventually(timeout: .seconds(30)) { try await sessionStates.listAll().items.count == 2 })
        let afterReconciles = try await bgpNodes()
        #expect(afterReconciles == nodeNames.sorted(), "ServiceBGPStatus objects for web by node after reconciles: \(afterReconciles)")

        // A speaker killed (no hand-over, no cleanup): the survivor takes the IP over and removes the dead node's
        // ServiceL2Status once the membership says it is gone.
        let current = try #require(try await announcers().first)
        let victim = nodeNames.firstIndex(of: current)!
        speakers[victim].signal(SIGKILL)
        _ = await speakers[victim].wait(limit: .seconds(10))
        let survivor = nodeNames[1 - victim]
        let cleaned = try await eventually(timeout: .seconds(30)) { try await announcers() == [survivor] }
        let left = try await announcers()
        #expect(cleaned, "after \(current) was killed: \(left); survivor's log:\n\(speakers[1 - victim].output.suffix(2000))")
    }

    /// Three speakers, a client on their LAN with arping and ndisc6: the owner answers (IPv4 and IPv6), and MetalLB's rules move or stop the
    /// announcement as the cluster changes (ETP Local, the exclude label, NetworkUnavailable, node and service
    /// selectors); a bad configuration shows in `speaker-<node>` and changes nothing.
    @Test func threeSpeakersFollowTheRulesOnTheWire() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the metallb binary first (swift build)")
        guard getuid() == 0 else {
            Issue.record("needs root (veth interfaces and a network namespace): this test did not run")
            return
        }
        let env = try await TestEnv.make("spk3")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let ns = env.namespace
        let apps = try await TestEnv.createNamespace(env.client, prefix: "apps")
        let tag = String(UInt16.random(in: 1000...9999))
        let nodeNames = ["sp\(tag)a", "sp\(tag)b", "sp\(tag)c"]
        let space = try TestNetworkNamespace(prefix: "sp3")
        defer { space.remove() }
        let netns = space.name
        func ip(_ args: [String]) throws { try TestNetworkNamespace.ip(args) }
        var links: [String] = []
        defer { for l in links { _ = runTool("ip", ["link", "del", l]) } }
        try ip(["-n", netns, "link", "add", "lan", "type", "bridge"])
        try ip(["-n", netns, "link", "set", "lan", "up"])
        let subnet = "10.97.\(Int(tag)! % 200)"
        // The client: an address on the bridge, in the test's namespace only.
        try ip(["-n", netns, "addr", "add", "\(subnet).100/24", "dev", "lan"])
        var macs: [String: String] = [:]
        for (i, node) in nodeNames.enumerated() {
            let mine = "s3\(tag)\(i)", theirs = "s3\(tag)\(i)p"
            try ip(["link", "add", mine, "type", "veth", "peer", "name", theirs, "netns", netns])
            links.append(mine)
            _ = runTool("sysctl", ["-w", "net.ipv6.conf.\(mine).disable_ipv6=1"])
            try ip(["link", "set", mine, "up"])
            try ip(["-n", netns, "link", "set", theirs, "master", "lan", "up"])
            let show = runTool("ip", ["-o", "link", "show", mine]).stdout
            macs[node] = show.range(of: #"link/ether ([0-9a-f:]+)"#, options: .regularExpression).map { String(show[$0].dropFirst(11)) }
        }
        let memberPort = try SpeakerTestPorts.freeUDPPort()
        let nodes = env.client.resource(Node.self)
        try await SpeakerTestObjects.nodesWithSpeakerPods(env.client, namespace: ns, nodeNames.map { ($0, [:]) })
        defer { Task { for n in nodeNames { _ = try? await nodes.deleteIfExists(n) } } }
        var pool = IPAddressPool(metadata: ObjectMeta(name: "lan", namespace: ns), spec: IPAddressPoolSpec(addresses: ["\(subnet).0/25"]))
        pool.setTypeMeta()
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).create(pool)
        var l2 = L2Advertisement(metadata: ObjectMeta(name: "all", namespace: ns), spec: L2AdvertisementSpec())
        l2.setTypeMeta()
        let ads = env.client.resource(L2Advertisement.self, namespace: ns)
        _ = try await ads.create(l2)
        let serviceIP = "\(subnet).5"
        let services = env.client.resource(Service.self, namespace: apps)
        var svc = Service(metadata: ObjectMeta(name: "web", namespace: apps), spec: ServiceSpec(type: "LoadBalancer", ports: [ServicePort(port: 80)]))
        svc.setTypeMeta()
        _ = try await services.create(svc)
        _ = try await services.mergePatch("web", patch: ["status": ["loadBalancer": ["ingress": [["ip": .string(serviceIP)]]]]], subresource: "status")
        let sliceType = try await env.client.endpointSliceResourceType()
        let slices = env.client.resource(sliceType, as: EndpointSlice.self, namespace: apps)
        func slice(on node: String) -> EndpointSlice {
            var s = EndpointSlice(metadata: ObjectMeta(name: "web-1", namespace: apps, labels: [EndpointSlice.serviceNameLabel: "web"]), addressType: "IPv4",
                                  endpoints: [Endpoint(addresses: ["10.244.0.10"], conditions: EndpointConditions(ready: true), nodeName: node,
                                                       topology: ["kubernetes.io/hostname": node])])
            s.apiVersion = "discovery.k8s.io/\(sliceType.version)"
            s.kind = "EndpointSlice"
            return s
        }
        _ = try await slices.create(slice(on: nodeNames[0]))

        var speakers: [ChildProcess] = []
        defer { for s in speakers { s.signal(SIGKILL); s.removeLog() } }
        for i in nodeNames.indices {
            speakers.append(try ChildProcess(Self.binary, [
                "speaker", "--kubeconfig", env.plane.kubeconfig, "--namespace", ns, "--node-name", nodeNames[i],
                "--pod-name", "speaker-\(nodeNames[i])", "--ml-bind-addr", "127.0.0.\(i + 1)", "--ml-bind-port", String(memberPort),
                "--insecure-membership", "--interface", links[i], "--metrics-port", "0", "--log-level", "debug",
            ], name: "speaker3-\(i)"))
        }
        func logs() -> String { speakers.map { String($0.output.suffix(1200)) }.joined(separator: "\n---\n") }
        let statuses = env.client.resource(ServiceL2Status.self, namespace: ns)
        func announcers() async throws -> [String] {
            try await statuses.listAll().items.filter { $0.status?.serviceName == "web" }.compactMap { $0.status?.node }.sorted()
        }
        /// The MACs that answer one ARP request from the client (arping prints one line per reply).
        func answering() -> [String] {
            let out = runTool("ip", ["netns", "exec", netns, "arping", "-c", "1", "-w", "2", "-I", "lan", serviceIP], limit: 10).stdout
            return out.split(separator: "\n").compactMap { line in
                line.range(of: #"[0-9a-f]{2}(:[0-9a-f]{2}){5}"#, options: [.regularExpression, .caseInsensitive]).map { String(line[$0]).lowercased() }
            }
        }
        /// The one node that announces once things have settled: its status object alone, its MAC alone answering,
        /// the same on two looks half a second apart (a change may still be moving the announcement).
        func settledOwner() async throws -> String? {
            var found: String?
            _ = try await eventually(timeout: .seconds(60)) {
                let a = try await announcers()
                guard a.count == 1, answering() == [macs[a[0]]!] else { return false }
                try await Task.sleep(for: .milliseconds(500))
                guard try await announcers() == a, answering() == [macs[a[0]]!] else { return false }
                found = a[0]
                return true
            }
            return found
        }
        /// Waits until exactly `node` announces: its status object alone, and its MAC alone answering.
        func announced(by node: String, _ what: String) async throws {
            let ok = try await eventually(timeout: .seconds(60)) {
                try await announcers() == [node] && answering() == [macs[node]!]
            }
            let seen = try await announcers()
            #expect(ok, "\(what): want \(node) (\(macs[node]!)); statuses \(seen), answering \(answering())\n\(logs())")
        }

        // 1. Some node announces, and on the wire only its MAC answers.
        let settledFirst = try await settledOwner()
        let first = try #require(settledFirst, "nobody announces alone: \(logs())")

        // 1b. IPv6: a Service with an IPv6 address is answered over NDP (ndisc6 from the client), by its owner's MAC alone.
        let subnet6 = "fd00:97:\(String(Int(tag)!, radix: 16))::"
        let serviceIP6 = "\(subnet6)5"
        var pool6 = IPAddressPool(metadata: ObjectMeta(name: "lan6", namespace: ns), spec: IPAddressPoolSpec(addresses: ["\(subnet6)/120"]))
        pool6.setTypeMeta()
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).create(pool6)
        var svc6 = Service(metadata: ObjectMeta(name: "web6", namespace: apps), spec: ServiceSpec(type: "LoadBalancer", ports: [ServicePort(port: 80)]))
        svc6.setTypeMeta()
        _ = try await services.create(svc6)
        _ = try await services.mergePatch("web6", patch: ["status": ["loadBalancer": ["ingress": [["ip": .string(serviceIP6)]]]]], subresource: "status")
        var slice6 = EndpointSlice(metadata: ObjectMeta(name: "web6-1", namespace: apps, labels: [EndpointSlice.serviceNameLabel: "web6"]), addressType: "IPv6",
                                   endpoints: [Endpoint(addresses: ["fd00:244::10"], conditions: EndpointConditions(ready: true), nodeName: nodeNames[0],
                                                        topology: ["kubernetes.io/hostname": nodeNames[0]])])
        slice6.apiVersion = "discovery.k8s.io/\(sliceType.version)"
        slice6.kind = "EndpointSlice"
        _ = try await slices.create(slice6)
        try ip(["-n", netns, "addr", "add", "\(subnet6)100/64", "dev", "lan", "nodad"])
        /// The MACs that answer one Neighbor Solicitation from the client (ndisc6 -m prints every advertisement).
        func answering6() -> [String] {
            let out = runTool("ip", ["netns", "exec", netns, "ndisc6", "-m", "-n", "-r", "1", "-w", "1500", serviceIP6, "lan"], limit: 10).stdout
            return out.split(separator: "\n").filter { $0.contains("link-layer address") }.compactMap { line in
                line.range(of: #"[0-9a-f]{2}(:[0-9a-f]{2}){5}"#, options: [.regularExpression, .caseInsensitive]).map { String(line[$0]).lowercased() }
            }
        }
        func announcers6() async throws -> [String] {
            try await statuses.listAll().items.filter { $0.status?.serviceName == "web6" }.compactMap { $0.status?.node }.sorted()
        }
        var owner6: String?
        let ndp = try await eventually(timeout: .seconds(60)) {
            let a = try await announcers6()
            guard a.count == 1, answering6() == [macs[a[0]]!] else { return false }
            owner6 = a[0]
            return true
        }
        let seen6 = try await announcers6()
        #expect(ndp, "IPv6 \(serviceIP6): statuses \(seen6), NDP answers \(answering6()), MACs \(macs)\n\(logs())")
        #expect(owner6 != nil)
        _ = try await services.delete("web6")
        _ = try await slices.delete("web6-1")
        #expect(try await eventually(timeout: .seconds(30)) { try await announcers6().isEmpty && answering6().isEmpty }, "\(logs())")
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).delete("lan6")

        // 2. externalTrafficPolicy Local: only the node with the endpoint may announce; the endpoint moves there.
        let other = nodeNames.first { $0 != first }!
        var moved = slice(on: other)
        moved.metadata.resourceVersion = try await slices.get("web-1").metadata.resourceVersion
        _ = try await slices.update(moved)
        _ = try await services.mergePatch("web", patch: ["spec": ["externalTrafficPolicy": "Local"]])
        try await announced(by: other, "ETP Local with the endpoint on \(other)")
        _ = try await services.mergePatch("web", patch: ["spec": ["externalTrafficPolicy": "Cluster"]])

        // 3. The exclude label, then NetworkUnavailable, take the announcing node out.
        let settledNow = try await settledOwner()
        let ownerNow = try #require(settledNow, "nobody announces alone after ETP Cluster: \(logs())")
        _ = try await nodes.mergePatch(ownerNow, patch: ["metadata": ["labels": ["node.kubernetes.io/exclude-from-external-load-balancers": ""]]])
        #expect(try await eventually(timeout: .seconds(60)) { let a = try await announcers(); return a.count == 1 && a != [ownerNow] }, "\(logs())")
        let settledSecond = try await settledOwner()
        let second = try #require(settledSecond, "nobody announces alone after the exclude label: \(logs())")
        #expect(second != ownerNow)
        _ = try await nodes.mergePatch(second, patch: ["status": ["conditions": [["type": "NetworkUnavailable", "status": "True", "reason": "Test", "message": "test"]]]], subresource: "status")
        let third = nodeNames.first { $0 != ownerNow && $0 != second }!
        try await announced(by: third, "after NetworkUnavailable on \(second) (and \(ownerNow) excluded)")
        _ = try await nodes.mergePatch(ownerNow, patch: ["metadata": ["labels": ["node.kubernetes.io/exclude-from-external-load-balancers": .null]]])
        _ = try await nodes.mergePatch(second, patch: ["status": ["conditions": [["type": "NetworkUnavailable", "status": "False", "reason": "Test", "message": "test"]]]], subresource: "status")

        // 4. Node selectors: only the selected node announces.
        var selected = try await ads.get("all")
        selected.spec?.nodeSelectors = [LabelSelector(matchLabels: ["kubernetes.io/hostname": nodeNames[1]])]
        _ = try await ads.update(selected)
        try await announced(by: nodeNames[1], "L2Advertisement nodeSelectors \(nodeNames[1])")

        // 5. A bad configuration (two pools overlapping) shows in every speaker-<node> and changes nothing.
        var overlap = IPAddressPool(metadata: ObjectMeta(name: "overlap", namespace: ns), spec: IPAddressPoolSpec(addresses: ["\(subnet).0/26"]))
        overlap.setTypeMeta()
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).create(overlap)
        let states = env.client.resource(ConfigurationState.self, namespace: ns)
        #expect(try await eventually(timeout: .seconds(30)) {
            for n in nodeNames where try await states.getIfExists("speaker-\(n)")?.status?.result != .invalid { return false }
            return true
        }, "\(logs())")
        try await announced(by: nodeNames[1], "with an invalid configuration (the last valid one runs)")
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).delete("overlap")

        // 6. Service selectors that the Service does not match: nobody announces, the status object goes, and the
        // Service is told why.
        selected = try await ads.get("all")
        selected.spec?.nodeSelectors = nil
        selected.spec?.serviceSelectors = [LabelSelector(matchLabels: ["l2": "yes"])]
        _ = try await ads.update(selected)
        #expect(try await eventually(timeout: .seconds(60)) { try await announcers().isEmpty && answering().isEmpty }, "\(logs())")
        let events = env.client.resource(Event.self, namespace: apps)
        #expect(try await eventually(timeout: .seconds(30)) {
            try await events.listAll().items.contains { $0.reason == "noMatchingAdvertisement" }
        })
        // Labelled to match: announced again.
        _ = try await services.mergePatch("web", patch: ["metadata": ["labels": ["l2": "yes"]]])
        let settledLast = try await settledOwner()
        #expect(settledLast != nil, "nobody announces alone after the Service got the selected label: \(logs())")
    }
}
#endif
