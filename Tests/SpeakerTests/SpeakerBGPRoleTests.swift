#if os(Linux)
import API
import Foundation
import Glibc
import Kube
import KubeTestSupport
import NetAddress
import Testing
import TestSupport

/// The BGP side of `metallb speaker` against the real API server and real routers (issue 19): two speaker processes
/// (Node, Pod, EndpointSlice and Service status written by the test: no kubelet, no controller) peer with FRR's bgpd
/// 8.4 and BIRD 2.0.12, and the test asserts what the routers received.
///
/// Everything runs on loopback in the root network namespace (the speakers must reach the API server on 127.0.0.1):
/// node A's sessions come from 127.0.0.1, node B's from 127.0.0.2 (one BGPPeer per node and router, told apart by
/// `nodeSelectors`, with `sourceAddress`), a third source 127.0.0.3 belongs to a BGPPeer whose selector matches no
/// node until the test relabels node B. FRR listens on 127.0.0.11, BIRD on 127.0.0.12, both on a free port below
/// 16384 (the BGPPeer CRD's limit). Neither router installs anything: bgpd runs without zebra (`-Z -n`, so `bgp no-rib`)
/// and BIRD has no kernel protocol. Both only listen (passive), each with its own config, pid file, control socket and
/// log in a temporary directory, and both are stopped at the end, also on failure. Loopback needs three concessions
/// from the routers: FRR refuses 127/8 next hops as martian (`bgp allow-martian-nexthop`); BIRD does not take a
/// neighbour on `lo` as directly connected ("Invalid next hop"), so its sessions are `multihop` (its routes then show
/// as unreachable: the next hop does not resolve, which is fine for a router that only learns) with `strict bind`
/// (listening on 127.0.0.12 only); and IPv6 prefixes over the IPv4 sessions carry the IPv4-mapped next hop
/// ::ffff:127.0.0.x (RFC 4798), which BIRD accepts with `extended next hop` on its ipv6 channel.
///
/// The speakers also need an interface for their Layer 2 half (none is announced here: no L2Advertisement): one end
/// of a veth pair without an address and with IPv6 off, whose other end is in a namespace the test made.
///
/// Covered, on both routers unless said otherwise: sessions from each selected node only (FRR also: a peer selected
/// by no node opens nothing, then opens from the node relabelled to match, and that node's old session closes); TCP
/// MD5 with the password from a kubernetes.io/basic-auth Secret (first a wrong one: no session, the BGPSessionState
/// says why; then the right one: Established), never in the speakers' logs; a dual-stack Service's /32 and /128
/// (MP-BGP over the IPv4 sessions) from both nodes with a standard and a large community; LOCAL_PREF on the iBGP
/// router (FRR); aggregationLength 24 giving the /24 and not the /32; a `peers` filter naming the FRR peers only (BIRD
/// does not get the prefix); externalTrafficPolicy Local announced only by the node with a ready endpoint; deleting
/// the Service withdraws its prefixes; BGPSessionState per (node, peer) and ServiceBGPStatus per (Service, node)
/// naming the peers. Not covered: BFD (tested elsewhere), IPv6 sessions (only IPv6 prefixes over IPv4 ones).
@Suite(.serialized, .timeLimit(.minutes(3))) struct SpeakerBGPRoleTests {
    static let binary = ControlPlane.repoRoot + "/.build/debug/metallb"

    /// What a run of this test that was killed (no defer ran) left: its routers (their pid files are in its work
    /// directory; a pid counts only while its command line names that directory), the directory, its namespace.
    /// Both are named `bgprole-<pid of the test process>-…`, so only those of a test process that is gone are touched.
    static func removeLeftovers() {
        let prefix = "bgprole-"
        let tmp = FileManager.default.temporaryDirectory.path
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: tmp)) ?? []
        where entry.hasPrefix(prefix) && NetworkNamespace.ownerIsGone(entry, prefix: prefix) {
            let dir = tmp + "/" + entry
            for pidFile in ["frr/bgpd.pid", "bird/bird.pid"] {
                guard let text = try? String(contentsOfFile: dir + "/" + pidFile, encoding: .utf8),
                      let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 1,
                      let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                      String(decoding: cmdline, as: UTF8.self).contains(dir) else { continue }
                kill(pid, SIGKILL)
            }
            try? FileManager.default.removeItem(atPath: dir)
        }
        for line in runTool("ip", ["netns", "list"]).stdout.split(separator: "\n") {
            guard let name = line.split(separator: " ").first.map(String.init), name.hasPrefix(prefix),
                  NetworkNamespace.ownerIsGone(name, prefix: prefix) else { continue }
            _ = runTool("ip", ["netns", "del", name])
        }
    }

    @Test func twoSpeakersAdvertiseToFRRAndBIRD() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the metallb binary first (swift build)")
        guard getuid() == 0 else {
            Issue.record("needs root (routers with TCP MD5, a veth pair and a network namespace): this test did not run")
            return
        }
        for tool in [FRRRouter.bgpd, "vtysh", "bird", "birdc"] {
            try #require(toolPath(tool) != nil,
                         "\(tool) is not installed: this test needs FRR 8.4 (/usr/lib/frr/bgpd, vtysh) and BIRD 2 (bird, birdc); hack/setup installs them")
        }
        Self.removeLeftovers()
        let started = ContinuousClock.now
        let env = try await TestEnv.make("bgprole")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let ns = env.namespace
        let apps = try await TestEnv.createNamespace(env.client, prefix: "apps")
        let tag = String(UInt16.random(in: 1000...9999))
        let nodeA = "bgp\(tag)a", nodeB = "bgp\(tag)b"
        let (a, b, c) = ("127.0.0.1", "127.0.0.2", "127.0.0.3")
        // Distinctive, so that finding them in a log cannot be a coincidence.
        let rightPassword = "bgprole-right-\(tag)", wrongPassword = "bgprole-wrong-\(tag)"

        // The routers.
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("bgprole-\(getpid())-\(tag)").path
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let frrAddress = "127.0.0.11", birdAddress = "127.0.0.12"
        let frrPort = try SpeakerTestPorts.freeBGPPort(on: frrAddress), birdPort = try SpeakerTestPorts.freeBGPPort(on: birdAddress)
        // FRR: iBGP (AS 64500, ours); MD5 with node A's address only.
        let frr = try FRRRouter(dir: work + "/frr", address: frrAddress, port: frrPort, asn: 64500, neighbors: [
            RouterNeighbor(address: a, asn: 64500, password: rightPassword),
            RouterNeighbor(address: b, asn: 64500, password: nil),
            RouterNeighbor(address: c, asn: 64500, password: nil),
        ])
        defer { frr.stop() }
        // BIRD: eBGP (AS 64512); MD5 with both nodes.
        let bird = try BIRDRouter(dir: work + "/bird", address: birdAddress, port: birdPort, asn: 64512, neighbors: [
            RouterNeighbor(address: a, asn: 64500, password: rightPassword),
            RouterNeighbor(address: b, asn: 64500, password: rightPassword),
        ])
        defer { bird.stop() }
        try await frr.waitUntilReady()
        try await bird.waitUntilReady()

        // The interface the speakers' Layer 2 half opens (nothing is announced on it).
        let space = try TestNetworkNamespace(prefix: "bgprole")
        defer { space.remove() }
        let link = "bgr\(tag)"
        try TestNetworkNamespace.ip(["link", "add", link, "type", "veth", "peer", "name", link + "p", "netns", space.name])
        defer { _ = runTool("ip", ["link", "del", link]) }
        _ = runTool("sysctl", ["-w", "net.ipv6.conf.\(link).disable_ipv6=1"])
        try TestNetworkNamespace.ip(["link", "set", link, "up"])
        try space.ip(["link", "set", link + "p", "up"])

        // The cluster objects a kubelet would make: node A in rack r1, node B in rack r2.
        let nodes = env.client.resource(Node.self)
        try await SpeakerTestObjects.nodesWithSpeakerPods(env.client, namespace: ns, [(nodeA, ["rack": "r1"]), (nodeB, ["rack": "r2"])])
        defer { Task { for n in [nodeA, nodeB] { _ = try? await nodes.deleteIfExists(n) } } }

        // The configuration: the MD5 Secret (the wrong password first), peers, pools, advertisements.
        let secrets = env.client.resource(Secret.self, namespace: ns)
        var secret = Secret(metadata: ObjectMeta(name: "bgp-md5", namespace: ns), type: MetalLBAPI.basicAuthSecretType,
                            stringData: [MetalLBAPI.passwordSecretKey: wrongPassword])
        secret.setTypeMeta()
        _ = try await secrets.create(secret)
        let peers = env.client.resource(API.BGPPeer.self, namespace: ns)
        func peer(_ name: String, router: String, port: Int, asn: UInt32, source: String, selector: [String: String], md5: Bool) async throws {
            var p = API.BGPPeer(metadata: ObjectMeta(name: name, namespace: ns), spec: BGPPeerSpec(
                myASN: 64500, peerASN: asn, peerAddress: router, sourceAddress: source, peerPort: UInt16(port), connectTime: "2s",
                nodeSelectors: [LabelSelector(matchLabels: selector)], passwordSecret: md5 ? SecretReference(name: "bgp-md5") : nil,
                dualStackAddressFamily: true))
            p.setTypeMeta()
            _ = try await peers.create(p)
        }
        try await peer("frr-a", router: frrAddress, port: frrPort, asn: 64500, source: a, selector: ["kubernetes.io/hostname": nodeA], md5: true)
        try await peer("frr-b", router: frrAddress, port: frrPort, asn: 64500, source: b, selector: ["rack": "r2"], md5: false)
        try await peer("frr-r3", router: frrAddress, port: frrPort, asn: 64500, source: c, selector: ["rack": "r3"], md5: false)
        try await peer("bird-a", router: birdAddress, port: birdPort, asn: 64512, source: a, selector: ["kubernetes.io/hostname": nodeA], md5: true)
        try await peer("bird-b", router: birdAddress, port: birdPort, asn: 64512, source: b, selector: ["kubernetes.io/hostname": nodeB], md5: true)
        func pool(_ name: String, _ addresses: [String]) async throws {
            var p = IPAddressPool(metadata: ObjectMeta(name: name, namespace: ns), spec: IPAddressPoolSpec(addresses: addresses))
            p.setTypeMeta()
            _ = try await env.client.resource(IPAddressPool.self, namespace: ns).create(p)
        }
        try await pool("main", ["198.51.100.0/28", "fd00:203::/124"])
        try await pool("agg", ["203.0.113.0/24"])
        try await pool("frr-only", ["192.0.2.0/28"])
        func advertisement(_ name: String, _ spec: BGPAdvertisementSpec) async throws {
            var ad = BGPAdvertisement(metadata: ObjectMeta(name: name, namespace: ns), spec: spec)
            ad.setTypeMeta()
            _ = try await env.client.resource(BGPAdvertisement.self, namespace: ns).create(ad)
        }
        try await advertisement("main", BGPAdvertisementSpec(localPref: 150, communities: ["64500:100", "large:64500:1:2"], ipAddressPools: ["main"]))
        try await advertisement("agg", BGPAdvertisementSpec(aggregationLength: 24, ipAddressPools: ["agg"]))
        try await advertisement("frr-only", BGPAdvertisementSpec(communities: ["64500:300"], ipAddressPools: ["frr-only"], peers: ["frr-a", "frr-b", "frr-r3"]))

        // The Services (status written as the controller would) and their endpoints.
        let services = env.client.resource(Service.self, namespace: apps)
        let sliceType = try await env.client.endpointSliceResourceType()
        let slices = env.client.resource(sliceType, as: EndpointSlice.self, namespace: apps)
        func service(_ name: String, ips: [String], local: Bool = false, endpoints: [(node: String, ready: Bool)]) async throws {
            var spec = ServiceSpec(type: "LoadBalancer", ports: [ServicePort(port: 80)])
            if local { spec.externalTrafficPolicy = "Local" }
            var svc = Service(metadata: ObjectMeta(name: name, namespace: apps), spec: spec)
            svc.setTypeMeta()
            _ = try await services.create(svc)
            let ingress = JSONValue.array(ips.map { JSONValue.object(["ip": .string($0)]) })
            _ = try await services.mergePatch(name, patch: ["status": ["loadBalancer": ["ingress": ingress]]], subresource: "status")
            var slice = EndpointSlice(metadata: ObjectMeta(name: "\(name)-1", namespace: apps, labels: [EndpointSlice.serviceNameLabel: name]), addressType: "IPv4",
                                      endpoints: endpoints.enumerated().map { item in
                                          Endpoint(addresses: ["10.244.\(item.offset).10"], conditions: EndpointConditions(ready: item.element.ready, serving: item.element.ready),
                                                   nodeName: item.element.node, topology: ["kubernetes.io/hostname": item.element.node])
                                      })
            slice.apiVersion = "discovery.k8s.io/\(sliceType.version)"
            slice.kind = "EndpointSlice"
            _ = try await slices.create(slice)
        }
        try await service("web", ips: ["198.51.100.5", "fd00:203::5"], endpoints: [(nodeA, true), (nodeB, true)])
        try await service("agg", ips: ["203.0.113.7"], endpoints: [(nodeA, true)])
        try await service("only-frr", ips: ["192.0.2.3"], endpoints: [(nodeB, true)])
        // ETP Local: a ready endpoint on node B only (node A's is not ready).
        try await service("local", ips: ["198.51.100.9"], local: true, endpoints: [(nodeA, false), (nodeB, true)])

        // The speakers.
        let memberPort = try SpeakerTestPorts.freeUDPPort()
        var speakers: [ChildProcess] = []
        defer { for s in speakers { s.signal(SIGKILL); s.removeLog() } }
        for (i, node) in [nodeA, nodeB].enumerated() {
            speakers.append(try ChildProcess(Self.binary, [
                "speaker", "--kubeconfig", env.plane.kubeconfig, "--namespace", ns, "--node-name", node,
                "--pod-name", "speaker-\(node)", "--ml-bind-addr", "127.0.0.\(i + 1)", "--ml-bind-port", String(memberPort),
                "--insecure-membership", "--interface", link, "--metrics-port", "0", "--log-level", "debug",
            ], name: "bgprole-speaker-\(i)"))
        }

        let sessionStates = env.client.resource(BGPSessionState.self, namespace: ns)
        let bgpStatuses = env.client.resource(ServiceBGPStatus.self, namespace: ns)
        let configStates = env.client.resource(ConfigurationState.self, namespace: ns)
        let allSpeakers = speakers
        /// What the routers, the status objects and the speakers show, for a failure message.
        func diagnostics() async -> String {
            var s = "--- FRR:\n\(frr.dump())\n--- BIRD:\n\(bird.dump())\n"
            if let items = try? await sessionStates.listAll().items {
                s += "--- BGPSessionState: " + items.map { "\($0.metadata.name ?? "") \($0.status?.bgpStatus ?? "-") \($0.status?.lastError ?? "")" }.joined(separator: "; ") + "\n"
            }
            if let items = try? await bgpStatuses.listAll().items {
                s += "--- ServiceBGPStatus: " + items.map { "\($0.status?.serviceName ?? "")@\($0.status?.node ?? ""): \($0.status?.peers ?? [])" }.joined(separator: "; ") + "\n"
            }
            if let items = try? await configStates.listAll().items {
                s += "--- ConfigurationState: " + items.map { "\($0.metadata.name ?? ""): \(String(describing: $0.status?.result)) \($0.status?.errorSummary ?? "")" }.joined(separator: "; ") + "\n"
            }
            for sp in allSpeakers { s += "--- \(sp.name):\n\(sp.output.suffix(3000))\n" }
            return s
        }
        /// Waits for `condition`; records a failure naming `what`, with the diagnostics, when it does not come.
        func expectEventually(_ what: String, timeout: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws {
            let ok = try await eventually(timeout: timeout, interval: .milliseconds(200), condition)
            var details = ""
            if !ok { details = await diagnostics() }
            #expect(ok, "\(what): not seen within \(timeout)\n\(details)")
        }
        /// Where a prefix comes from (the neighbours' addresses), as the router shows it.
        func from(_ routes: [ReceivedRoute]) -> Set<String> { Set(routes.map(\.from)) }

        // 1. The wrong password: node B's plain session to FRR comes up; the MD5 sessions do not, and their
        // BGPSessionState says why.
        try await expectEventually("FRR: session from node B (\(b), no MD5) Established") { frr.neighbor(b)?.state == "Established" }
        let md5Sessions = ["\(nodeA)-frr-a", "\(nodeA)-bird-a", "\(nodeB)-bird-b"]
        try await expectEventually("BGPSessionState \(md5Sessions) report the TCP MD5 drop") {
            let items = try await sessionStates.listAll().items
            return md5Sessions.allSatisfy { name in
                items.first { $0.metadata.name == name }?.status?.lastError?.contains("a TCP MD5 password is set") == true
            }
        }
        #expect(frr.neighbor(a)?.state != "Established" && frr.neighbor(a)?.established == 0,
                "FRR: a session from node A with the wrong password: \(String(describing: frr.neighbor(a)))")
        for n in [a, b] {
            #expect(bird.state(of: n) != "Established", "BIRD: a session from \(n) with the wrong password: \(bird.state(of: n) ?? "none")")
        }

        // 2. The right password: every selected session is Established, on the routers and in BGPSessionState; the
        // BGPPeer whose selector matches no node (rack r3) opens nothing.
        _ = try await secrets.mergePatch("bgp-md5", patch: ["stringData": [MetalLBAPI.passwordSecretKey: .string(rightPassword)]])
        try await expectEventually("FRR: sessions from \(a) (MD5) and \(b) Established") {
            frr.neighbor(a)?.state == "Established" && frr.neighbor(b)?.state == "Established"
        }
        try await expectEventually("BIRD: sessions from \(a) and \(b) (MD5) Established") {
            bird.state(of: a) == "Established" && bird.state(of: b) == "Established"
        }
        let wantSessions = ["\(nodeA)-bird-a", "\(nodeA)-frr-a", "\(nodeB)-bird-b", "\(nodeB)-frr-b"]
        let routerOf = ["frr": frrAddress, "bird": birdAddress]
        try await expectEventually("BGPSessionState exactly \(wantSessions), all Established") {
            let items = try await sessionStates.listAll().items
            return items.compactMap(\.metadata.name).sorted() == wantSessions && items.allSatisfy { o in
                let name = o.metadata.name ?? ""
                let node = name.hasPrefix(nodeA) ? nodeA : nodeB
                let router = name.dropFirst(node.count + 1).split(separator: "-").first.map(String.init) ?? ""
                return o.status?.bgpStatus == "Established" && o.status?.node == node && o.status?.peer == routerOf[router]
            }
        }

        // 3. What the routers received.
        // The dual-stack Service: its /32 and /128 from both nodes, the advertisement's communities; LOCAL_PREF 150
        // on the iBGP router. (Not checked on the eBGP one: BIRD discards a LOCAL_PREF received over eBGP and shows
        // its own default, so it could not tell whether we sent one.)
        for prefix in ["198.51.100.5/32", "fd00:203::5/128"] {
            try await expectEventually("FRR: \(prefix) from both nodes with 64500:100, large 64500:1:2, local-pref 150") {
                let r = frr.routes(prefix)
                return from(r) == [a, b] && r.allSatisfy { $0.communities == ["64500:100"] && $0.largeCommunities == ["64500:1:2"] && $0.localPref == 150 }
            }
            try await expectEventually("BIRD: \(prefix) from both nodes with 64500:100, large 64500:1:2") {
                let r = bird.routes(prefix)
                return from(r) == [a, b] && r.allSatisfy { $0.communities == ["64500:100"] && $0.largeCommunities == ["64500:1:2"] }
            }
        }
        // aggregationLength 24: the /24, not the Service's /32.
        try await expectEventually("FRR: the aggregate 203.0.113.0/24 from both nodes") { from(frr.routes("203.0.113.0/24")) == [a, b] }
        try await expectEventually("BIRD: the aggregate 203.0.113.0/24 from both nodes") { from(bird.routes("203.0.113.0/24")) == [a, b] }
        #expect(frr.routes("203.0.113.7/32").isEmpty, "FRR has the /32 of an aggregated Service: \(frr.routes("203.0.113.7/32"))")
        #expect(bird.routes("203.0.113.7/32").isEmpty, "BIRD has the /32 of an aggregated Service: \(bird.routes("203.0.113.7/32"))")
        // `peers` names the FRR peers only: FRR has it with its community, BIRD (whose sessions carry everything else
        // by now) does not.
        try await expectEventually("FRR: 192.0.2.3/32 (peers: frr-*) from both nodes with 64500:300") {
            let r = frr.routes("192.0.2.3/32")
            return from(r) == [a, b] && r.allSatisfy { $0.communities == ["64500:300"] && $0.largeCommunities.isEmpty }
        }
        #expect(bird.routes("192.0.2.3/32").isEmpty, "BIRD got a prefix whose advertisement names only the FRR peers: \(bird.routes("192.0.2.3/32"))")
        // externalTrafficPolicy Local: only node B (the ready endpoint) announces; node A's sessions carry its other
        // routes already, so its absence here is a decision, not a delay.
        try await expectEventually("FRR: 198.51.100.9/32 (ETP Local) from node B only") { from(frr.routes("198.51.100.9/32")) == [b] }
        try await expectEventually("BIRD: 198.51.100.9/32 (ETP Local) from node B only") { from(bird.routes("198.51.100.9/32")) == [b] }
        // Nothing from the address of the BGPPeer no node selects.
        #expect(frr.neighbor(c)?.established == 0, "FRR: a session from \(c) (BGPPeer frr-r3, rack r3: no such node): \(String(describing: frr.neighbor(c)))")

        // ServiceBGPStatus: one per (Service, node) it is sent from, naming the peers.
        func statusPeers(_ service: String) async throws -> [String: [String]] {
            var out: [String: [String]] = [:]
            for o in try await bgpStatuses.listAll().items where o.status?.serviceName == service && o.status?.serviceNamespace == apps {
                out[o.status?.node ?? "", default: []] += (o.status?.peers ?? []).sorted()
            }
            return out
        }
        try await expectEventually("ServiceBGPStatus of web, only-frr, local name their peers per node") {
            let web = try await statusPeers("web"), onlyFRR = try await statusPeers("only-frr"), local = try await statusPeers("local")
            return web == [nodeA: ["bird-a", "frr-a"], nodeB: ["bird-b", "frr-b"]] && onlyFRR == [nodeA: ["frr-a"], nodeB: ["frr-b"]]
                && local == [nodeB: ["bird-b", "frr-b"]]
        }

        // 4. The Service goes: both routers withdraw its prefixes (the sessions stay up with the others).
        try await services.delete("web")
        try await expectEventually("both routers: 198.51.100.5/32 and fd00:203::5/128 withdrawn") {
            ["198.51.100.5/32", "fd00:203::5/128"].allSatisfy { frr.routes($0).isEmpty && bird.routes($0).isEmpty }
        }
        try await expectEventually("ServiceBGPStatus of web gone") { try await statusPeers("web").isEmpty }
        #expect(from(frr.routes("192.0.2.3/32")) == [a, b] && from(bird.routes("203.0.113.0/24")) == [a, b],
                "other Services' prefixes went with web: FRR 192.0.2.3/32 \(frr.routes("192.0.2.3/32")), BIRD 203.0.113.0/24 \(bird.routes("203.0.113.0/24"))")

        // 5. Node B moves to rack r3: frr-b no longer selects it (its session from 127.0.0.2 closes), frr-r3 does (a
        // session from 127.0.0.3 opens and carries node B's routes); bird-b selects by hostname and stays.
        _ = try await nodes.mergePatch(nodeB, patch: ["metadata": ["labels": ["rack": "r3"]]])
        try await expectEventually("FRR: node B's session now from \(c), none from \(b); 198.51.100.9/32 from \(c) only") {
            frr.neighbor(c)?.state == "Established" && frr.neighbor(b)?.state != "Established" && from(frr.routes("198.51.100.9/32")) == [c]
        }
        #expect(from(bird.routes("198.51.100.9/32")) == [b], "BIRD: 198.51.100.9/32 \(bird.routes("198.51.100.9/32"))")
        let wantAfter = ["\(nodeA)-bird-a", "\(nodeA)-frr-a", "\(nodeB)-bird-b", "\(nodeB)-frr-r3"]
        try await expectEventually("BGPSessionState exactly \(wantAfter), all Established") {
            let items = try await sessionStates.listAll().items
            return items.compactMap(\.metadata.name).sorted() == wantAfter && items.allSatisfy { $0.status?.bgpStatus == "Established" }
        }
        try await expectEventually("ServiceBGPStatus of local: node B to bird-b and frr-r3") { try await statusPeers("local") == [nodeB: ["bird-b", "frr-r3"]] }

        // 6. The password (wrong or right) never shows in a speaker's log, which does tell about the sessions.
        for sp in speakers {
            let log = sp.output
            #expect(log.contains("bgp session opened"), "\(sp.name) logged no session: \(log.suffix(2000))")
            #expect(!log.contains(rightPassword) && !log.contains(wrongPassword), "\(sp.name) logged the TCP MD5 password")
        }
        print("SpeakerBGPRoleTests: \(ContinuousClock.now - started) from the control plane to the last check")
    }
}

/// One neighbour a test router accepts a session from (it never connects itself).
private struct RouterNeighbor: Sendable {
    var address: String
    var asn: UInt32
    var password: String?
}

/// A route as a router shows it: which neighbour sent it, and its attributes.
private struct ReceivedRoute: Sendable, CustomStringConvertible {
    var from: String
    var communities: Set<String> = []
    var largeCommunities: Set<String> = []
    var localPref: Int?

    var description: String {
        "from \(from) communities \(communities.sorted()) large \(largeCommunities.sorted()) local-pref \(localPref.map(String.init) ?? "-")"
    }
}

/// The capture groups of every match of `pattern` in `text`.
private func captures(_ pattern: String, in text: String) -> [[String]] {
    guard let re = try? NSRegularExpression(pattern: pattern) else { return [] }
    let ns = text as NSString
    return re.matches(in: text, range: NSRange(location: 0, length: ns.length)).map { m in
        (1..<m.numberOfRanges).map { m.range(at: $0).location == NSNotFound ? "" : ns.substring(with: m.range(at: $0)) }
    }
}

/// A daemon's end: SIGTERM (a clean exit), up to 3 s, then SIGKILL; reaped.
private func stopDaemon(_ child: ChildProcess) {
    child.signal(SIGTERM)
    let deadline = ContinuousClock.now + .seconds(3)
    while child.poll() == nil && ContinuousClock.now < deadline { usleep(20_000) }
    if child.poll() == nil {
        child.signal(SIGKILL)
        while child.poll() == nil { usleep(5_000) }
    }
}

/// FRR's bgpd alone (no zebra: `-Z`, nothing installed: `-n`), listening on one loopback address and port, as root
/// (`-S`: the vty socket stays root's, so vtysh as root can use it), no vty TCP port (`-P 0`); config, pid file, vty
/// socket and log in `dir`.
private final class FRRRouter: Sendable {
    static let bgpd = "/usr/lib/frr/bgpd"
    let dir: String
    let child: ChildProcess

    init(dir: String, address: String, port: Int, asn: UInt32, neighbors: [RouterNeighbor]) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var lines = [
            "frr defaults traditional", "hostname bgprole-frr", "log file \(dir)/bgpd.log informational",
            "router bgp \(asn)", " bgp router-id \(address)", " no bgp ebgp-requires-policy", " no bgp default ipv4-unicast",
            // Our next hops are the sessions' addresses, 127.0.0.x: martian to FRR unless allowed.
            " bgp allow-martian-nexthop",
        ]
        for n in neighbors {
            lines += [" neighbor \(n.address) remote-as \(n.asn)", " neighbor \(n.address) passive"]
            if let p = n.password { lines.append(" neighbor \(n.address) password \(p)") }
        }
        for af in ["ipv4", "ipv6"] {
            lines.append(" address-family \(af) unicast")
            for n in neighbors { lines.append("  neighbor \(n.address) activate") }
            lines.append(" exit-address-family")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/bgpd.conf", atomically: true, encoding: .utf8)
        child = try ChildProcess(Self.bgpd, [
            "-S", "-Z", "-n", "-l", address, "-p", String(port), "-P", "0",
            "-f", dir + "/bgpd.conf", "-i", dir + "/bgpd.pid", "--vty_socket", dir,
        ], name: "bgprole-frr")
    }

    func vtysh(_ commands: [String]) -> String {
        runTool("vtysh", ["--vty_socket", dir] + commands.flatMap { ["-c", $0] }, limit: 10).stdout
    }

    func json(_ command: String) -> [String: Any]? {
        let text = vtysh([command])
        guard let start = text.firstIndex(of: "{") else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(text[start...].utf8))) as? [String: Any]
    }

    /// Waits until bgpd answers on its vty socket with its neighbours; throws with its output if it exits or does not.
    func waitUntilReady() async throws {
        let ok = await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
            child.poll() == nil && (json("show bgp neighbors json")?.isEmpty == false)
        }
        guard ok else {
            let log = (try? String(contentsOfFile: dir + "/bgpd.log", encoding: .utf8)) ?? ""
            throw TestSetupError(description: "FRR bgpd did not start (exit \(String(describing: child.poll()))): \(child.output.suffix(2000)) \(log.suffix(2000))")
        }
    }

    /// A neighbour's session: FRR's state name and how many times it was Established.
    func neighbor(_ address: String) -> (state: String, established: Int)? {
        guard let n = json("show bgp neighbors json")?[address] as? [String: Any] else { return nil }
        return (n["bgpState"] as? String ?? "?", (n["connectionsEstablished"] as? NSNumber)?.intValue ?? -1)
    }

    /// The paths FRR has for exactly `prefix` ("198.51.100.5/32", "fd00:203::5/128").
    func routes(_ prefix: String) -> [ReceivedRoute] {
        let family = prefix.contains(":") ? "ipv6" : "ipv4"
        guard let j = json("show bgp \(family) unicast \(prefix) json"), j["prefix"] as? String == prefix,
              let paths = j["paths"] as? [[String: Any]] else { return [] }
        return paths.map { p in
            func words(_ key: String) -> Set<String> {
                ((p[key] as? [String: Any])?["string"] as? String).map { Set($0.split(separator: " ").map(String.init)) } ?? []
            }
            return ReceivedRoute(from: (p["peer"] as? [String: Any])?["peerId"] as? String ?? "?", communities: words("community"),
                                 largeCommunities: words("largeCommunity"), localPref: (p["locPrf"] as? NSNumber)?.intValue)
        }
    }

    func dump() -> String {
        let log = (try? String(contentsOfFile: dir + "/bgpd.log", encoding: .utf8)) ?? ""
        return vtysh(["show bgp summary", "show bgp ipv4 unicast", "show bgp ipv6 unicast"]) + "\nbgpd.log:\n" + log.suffix(1500)
    }

    func stop() {
        stopDaemon(child)
        child.removeLog()
        // FRR keeps a crash-log directory per process under /var/tmp/frr, removed by a clean exit only.
        try? FileManager.default.removeItem(atPath: "/var/tmp/frr/bgpd.\(child.pid)")
    }
}

/// BIRD 2 in the foreground (`-f`), with BGP only (no kernel protocol: it installs nothing), listening on one
/// loopback address and port; config, control socket, pid file and log in `dir`.
private final class BIRDRouter: Sendable {
    let dir: String
    let child: ChildProcess

    /// BIRD's protocol name for the session with `address`.
    static func protocolName(_ address: String) -> String { "n" + address.replacingOccurrences(of: ".", with: "_") }

    init(dir: String, address: String, port: Int, asn: UInt32, neighbors: [RouterNeighbor]) throws {
        self.dir = dir
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var lines = [
            "log \"\(dir)/bird.log\" all;",
            "router id \(address);",
            "protocol device { scan time 10; }",
            "template bgp T {",
            "  local \(address) port \(port) as \(asn);",
            "  passive on;",
            // A neighbour on lo is not "directly connected" to BIRD; multihop skips that check (next hops are then
            // resolved recursively: they do not resolve, and the routes show as unreachable, which is fine here).
            "  multihop;",
            // Listen on this address only, not 0.0.0.0.
            "  strict bind on;",
            "  ipv4 { import all; export none; };",
            // IPv6 prefixes over the IPv4 sessions come with the IPv4-mapped next hop (RFC 4798).
            "  ipv6 { import all; export none; extended next hop on; };",
            "}",
        ]
        for n in neighbors {
            var line = "protocol bgp \(Self.protocolName(n.address)) from T { neighbor \(n.address) as \(n.asn);"
            if let p = n.password { line += " password \"\(p)\";" }
            lines.append(line + " }")
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/bird.conf", atomically: true, encoding: .utf8)
        child = try ChildProcess(toolPath("bird") ?? "/usr/sbin/bird", [
            "-f", "-c", dir + "/bird.conf", "-s", dir + "/bird.ctl", "-P", dir + "/bird.pid",
        ], name: "bgprole-bird")
    }

    func birdc(_ args: [String]) -> String {
        runTool("birdc", ["-s", dir + "/bird.ctl"] + args, limit: 10).stdout
    }

    func waitUntilReady() async throws {
        let ok = await eventually(timeout: .seconds(15), interval: .milliseconds(100)) {
            child.poll() == nil && birdc(["show", "protocols"]).contains("BGP")
        }
        guard ok else {
            let log = (try? String(contentsOfFile: dir + "/bird.log", encoding: .utf8)) ?? ""
            throw TestSetupError(description: "BIRD did not start (exit \(String(describing: child.poll()))): \(child.output.suffix(2000)) \(log.suffix(2000))")
        }
    }

    /// The BGP state BIRD shows for the session with `address` ("Established", "Passive", "Connect", ...).
    func state(of address: String) -> String? {
        let name = Self.protocolName(address)
        for line in birdc(["show", "protocols"]).split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            if words.first.map(String.init) == name { return words.last.map(String.init) }
        }
        return nil
    }

    /// The routes BIRD has for exactly `prefix`, one per neighbour that sent it.
    func routes(_ prefix: String) -> [ReceivedRoute] {
        var routes: [ReceivedRoute] = []
        var current = ""
        for line in birdc(["show", "route", prefix, "all"]).split(separator: "\n").map(String.init) {
            if !line.hasPrefix("\t") && !line.hasPrefix(" "), let first = line.split(separator: " ").first { current = String(first) }
            // "198.51.100.5/32  unreachable [n127_0_0_1 13:27:04.615 from 127.0.0.1] * (100) [AS64500i]", the
            // prefix left out on the lines of its further routes; the protocol name says which neighbour.
            if !line.hasPrefix("\t"), let name = captures(#"\[(n[0-9_]+) "#, in: line).first?.first {
                let neighbor = String(name.dropFirst()).replacingOccurrences(of: "_", with: ".")
                routes.append(ReceivedRoute(from: current == prefix ? neighbor : "ignored"))
                continue
            }
            guard !routes.isEmpty else { continue }
            if line.contains("BGP.community:") {
                routes[routes.count - 1].communities = Set(captures(#"\((\d+),(\d+)\)"#, in: line).map { "\($0[0]):\($0[1])" })
            } else if line.contains("BGP.large_community:") {
                routes[routes.count - 1].largeCommunities = Set(captures(#"\((\d+), (\d+), (\d+)\)"#, in: line).map { "\($0[0]):\($0[1]):\($0[2])" })
            } else if line.contains("BGP.local_pref:") {
                routes[routes.count - 1].localPref = captures(#"BGP\.local_pref: (\d+)"#, in: line).first.flatMap { Int($0[0]) }
            }
        }
        return routes.filter { $0.from != "ignored" }
    }

    func dump() -> String {
        let log = (try? String(contentsOfFile: dir + "/bird.log", encoding: .utf8)) ?? ""
        return birdc(["show", "protocols", "all"]) + birdc(["show", "route", "table", "master4", "all"]) + birdc(["show", "route", "table", "master6", "all"])
            + "\nbird.log:\n" + log.suffix(1500)
    }

    func stop() {
        stopDaemon(child)
        child.removeLog()
    }
}
#endif
