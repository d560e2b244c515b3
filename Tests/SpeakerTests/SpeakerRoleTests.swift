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

    /// A UDP port free on both 127.0.0.1 and 127.0.0.2 now (the kernel's pick, checked on the second address).
    static func freeUDPPort() throws -> UInt16 {
        for _ in 0..<20 {
            var ports: [UInt16] = []
            var fds: [Int32] = []
            defer { fds.forEach { close($0) } }
            for (i, host) in ["127.0.0.1", "127.0.0.2"].enumerated() {
                let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
                guard fd >= 0 else { break }
                fds.append(fd)
                var a = sockaddr_in()
                a.sin_family = sa_family_t(AF_INET)
                a.sin_port = i == 0 ? 0 : ports[0].bigEndian
                inet_pton(AF_INET, host, &a.sin_addr)
                let ok = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } } == 0
                guard ok else { break }
                var len = socklen_t(MemoryLayout<sockaddr_in>.size)
                _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
                ports.append(UInt16(bigEndian: a.sin_port))
            }
            if ports.count == 2 { return ports[0] }
        }
        throw TestSetupError(description: "no UDP port free on both 127.0.0.1 and 127.0.0.2")
    }

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
        let memberPort = try Self.freeUDPPort()
        for (i, name) in nodeNames.enumerated() {
            var node = Node(metadata: ObjectMeta(name: name, labels: ["kubernetes.io/hostname": name]))
            node.setTypeMeta()
            _ = try await env.client.resource(Node.self).create(node)
            _ = try await env.client.resource(Node.self).mergePatch(name, patch: ["status": ["addresses": [["type": "InternalIP", "address": .string("127.0.0.\(i + 1)")]]]], subresource: "status")
            var pod = Pod(metadata: ObjectMeta(name: "speaker-\(name)", namespace: ns, labels: ["app": "metallb", "component": "speaker"]),
                          spec: PodSpec(containers: [Container(name: "speaker", image: "metallb:test")], nodeName: name))
            pod.setTypeMeta()
            _ = try await env.client.resource(Pod.self, namespace: ns).create(pod)
            _ = try await env.client.resource(Pod.self, namespace: ns).mergePatch(pod.name, patch: ["status": ["podIP": .string("127.0.0.\(i + 1)")]], subresource: "status")
        }
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
    }
}
#endif
