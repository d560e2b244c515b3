#if os(Linux)
import Glibc
import Kube
import KubeTestSupport
import TestSupport

/// Ports the speaker role tests give their processes, chosen free at the moment of the call.
enum SpeakerTestPorts {
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

    /// A TCP port free on `address` now, from 10000 to 16000: a BGPPeer's peerPort is at most 16384, below the
    /// kernel's ephemeral range, so the port is drawn at random and tried.
    static func freeBGPPort(on address: String) throws -> Int {
        for _ in 0..<100 {
            let port = Int.random(in: 10000...16000)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var a = sockaddr_in()
            a.sin_family = sa_family_t(AF_INET)
            a.sin_port = UInt16(port).bigEndian
            inet_pton(AF_INET, address, &a.sin_addr)
            if withUnsafePointer(to: &a, { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }) == 0 {
                return port
            }
        }
        throw TestSetupError(description: "no free TCP port from 10000 to 16000 on \(address)")
    }
}

/// The cluster objects a kubelet would make for the speaker role tests (there is no kubelet).
enum SpeakerTestObjects {
    /// For node i of `nodes` (0-based): the Node (labels `kubernetes.io/hostname` and `labels`, InternalIP 127.0.0.<i+1>)
    /// and its speaker Pod `speaker-<node>` in `namespace` (labels app=metallb, component=speaker; podIP the same).
    static func nodesWithSpeakerPods(_ client: KubeClient, namespace ns: String, _ nodes: [(name: String, labels: [String: String])]) async throws {
        let nodeClient = client.resource(Node.self), podClient = client.resource(Pod.self, namespace: ns)
        for (i, n) in nodes.enumerated() {
            var node = Node(metadata: ObjectMeta(name: n.name, labels: n.labels.merging(["kubernetes.io/hostname": n.name]) { a, _ in a }))
            node.setTypeMeta()
            _ = try await nodeClient.create(node)
            _ = try await nodeClient.mergePatch(n.name, patch: ["status": ["addresses": [["type": "InternalIP", "address": .string("127.0.0.\(i + 1)")]]]], subresource: "status")
            var pod = Pod(metadata: ObjectMeta(name: "speaker-\(n.name)", namespace: ns, labels: ["app": "metallb", "component": "speaker"]),
                          spec: PodSpec(containers: [Container(name: "speaker", image: "metallb:test")], nodeName: n.name))
            pod.setTypeMeta()
            _ = try await podClient.create(pod)
            _ = try await podClient.mergePatch(pod.name, patch: ["status": ["podIP": .string("127.0.0.\(i + 1)")]], subresource: "status")
        }
    }
}
#endif
