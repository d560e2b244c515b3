import API
import Foundation
import Glibc
import Kube
import KubeTestSupport
import Testing
import TestSupport

/// Secrets stay secret: BGP passwords (inline and from a Secret), webhook keys and the membership key never appear
/// in a role's output at `--log-level all`, nor in Events or status objects. Each role runs as the real binary.
@Suite(.serialized, .timeLimit(.minutes(3))) struct SecretsStaySecretTests {
    static let binary = ControlPlane.repoRoot + "/.build/debug/metallb"

    /// Each secret must appear nowhere in `text`; the message names which one and the line that shows it.
    func expectAbsent(_ secrets: [String: String], in text: String, _ place: String) {
        for (what, secret) in secrets {
            let line = text.split(separator: "\n").first { $0.contains(secret) }
            #expect(line == nil, "\(what) appears in \(place): \(line ?? "")")
        }
    }

    @Test func controllerAtLogLevelAllShowsNoPasswordOrKey() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the metallb binary first (swift build)")
        let env = try await TestEnv.make("secrets")
        defer { Task { await env.close() } }
        try await installCRDs(env.client)
        let ns = env.namespace
        let inline = "inline-Pw-\(UInt32.random(in: 0...UInt32.max))"
        let stored = "stored-Pw-\(UInt32.random(in: 0...UInt32.max))"
        var secret = Secret(metadata: ObjectMeta(name: "peer-password", namespace: ns), type: MetalLBAPI.basicAuthSecretType,
                            stringData: ["password": stored])
        secret.setTypeMeta()
        _ = try await env.client.resource(Secret.self, namespace: ns).create(secret)
        let peers = env.client.resource(BGPPeer.self, namespace: ns)
        for (name, spec) in [
            ("inline", BGPPeerSpec(myASN: 64500, peerASN: 64501, peerAddress: "10.99.0.1", password: inline)),
            ("stored", BGPPeerSpec(myASN: 64500, peerASN: 64502, peerAddress: "10.99.0.2", passwordSecret: SecretReference(name: "peer-password", namespace: ns))),
        ] {
            var p = BGPPeer(metadata: ObjectMeta(name: name, namespace: ns), spec: spec)
            p.setTypeMeta()
            _ = try await peers.create(p)
        }
        var pool = IPAddressPool(metadata: ObjectMeta(name: "p", namespace: ns), spec: IPAddressPoolSpec(addresses: ["10.98.0.0/30"]))
        pool.setTypeMeta()
        _ = try await env.client.resource(IPAddressPool.self, namespace: ns).create(pool)

        let certDir = FileManager.default.temporaryDirectory.appendingPathComponent("secrets-\(UUID().uuidString.prefix(6))").path
        defer { try? FileManager.default.removeItem(atPath: certDir) }
        _ = try await makeServingCertificate(in: certDir)
        // One line from the middle of the private key: base64 that could only come from the key file.
        let keyLines = try String(contentsOfFile: certDir + "/tls.key", encoding: .utf8).split(separator: "\n").filter { !$0.hasPrefix("-----") }
        let keyLine = String(keyLines[keyLines.count / 2])

        let child = try ChildProcess(Self.binary, [
            "controller", "--kubeconfig", env.plane.kubeconfig, "--namespace", ns, "--log-level", "all", "--metrics-port", "0",
            "--no-leader-elect", "--webhook-cert-dir", certDir, "--webhook-host", "127.0.0.1",
            "--webhook-port", String(Int.random(in: 20000...30000)),
            // A class no Service has: this controller must not allocate for other tests' Services (it watches every
            // namespace); it only has to read the configuration and its Secrets.
            "--lb-class", "secrets-test-\(UInt32.random(in: 0...UInt32.max))",
        ], name: "secrets-controller")
        defer { child.signal(SIGKILL); child.removeLog() }

        // Positive signal: the controller read the peers and the Secret and found the configuration valid.
        let states = env.client.resource(ConfigurationState.self, namespace: ns)
        #expect(try await eventually(timeout: .seconds(60)) { try await states.getIfExists("controller")?.status?.result == .valid },
                "controller output: \(child.output.suffix(2000))")
        // An invalid change, so the error paths log too: the stored-password peer loses its Secret.
        try await env.client.resource(Secret.self, namespace: ns).delete("peer-password")
        #expect(try await eventually(timeout: .seconds(60)) { try await states.getIfExists("controller")?.status?.result == .invalid })
        #expect(await child.terminate() == 0)

        let secrets = ["the inline BGP password": inline, "the password from the Secret": stored, "the webhook key": keyLine]
        expectAbsent(secrets, in: child.output, "the controller's output")
        #expect(child.output.contains("trace") || child.output.contains("debug"), "the role ran at --log-level all")
        let events = try await env.client.resource(Event.self, namespace: ns).listAll().items
        expectAbsent(secrets, in: events.map { "\($0.reason ?? "") \($0.message ?? "")" }.joined(separator: "\n"), "Events")
        let stateText = try await states.listAll().items.map { "\($0.status?.errorSummary ?? "") \($0.status?.conditions?.map { $0.message } ?? [])" }
        expectAbsent(secrets, in: stateText.joined(separator: "\n"), "ConfigurationState status")
    }

    @Test func diagnoseBGPAtLogLevelAllShowsNoPassword() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the metallb binary first (swift build)")
        let password = "bgp-Pw-\(UInt32.random(in: 0...UInt32.max))"
        // Nobody listens on that port: connection attempts fail and are logged, with the settings around them.
        let child = try ChildProcess(Self.binary, [
            "diagnose", "bgp", "--peer", "127.0.0.1", "--peer-port", "9", "--peer-asn", "64501", "--my-asn", "64500",
            "--source", "127.0.0.1", "--password", password, "--duration", "3", "--log-level", "all",
        ], name: "secrets-bgp")
        defer { child.signal(SIGKILL); child.removeLog() }
        _ = await child.wait(limit: .seconds(30))
        #expect(child.output.contains("127.0.0.1"), "diagnose bgp ran: \(child.output.suffix(1000))")
        expectAbsent(["the TCP MD5 password": password], in: child.output, "diagnose bgp's output")
    }

    @Test func diagnoseL2AtLogLevelAllShowsNoMembershipKey() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the metallb binary first (swift build)")
        guard getuid() == 0 else {
            Issue.record("needs root (a network namespace): this test did not run")
            return
        }
        let netns = try TestNetworkNamespace(prefix: "secl2")
        defer { netns.remove() }
        let ns = netns.name
        try netns.ip(["link", "add", "sk0", "type", "veth", "peer", "name", "sk1"])
        try netns.ip(["link", "set", "sk0", "up"])
        try netns.ip(["link", "set", "sk1", "up"])
        let key = (0..<32).map { _ in UInt8.random(in: 0...255) }
        let keyFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(ns).key").path
        try Data(key).write(to: URL(fileURLWithPath: keyFile))
        defer { try? FileManager.default.removeItem(atPath: keyFile) }
        let child = try ChildProcess("/usr/sbin/ip", [
            "netns", "exec", ns, Self.binary, "diagnose", "l2", "--node", "a", "--member", "a=127.0.0.1:17990",
            "--member", "b=127.0.0.1:17991", "--secret-file", keyFile, "--interface", "sk0", "--ips", "10.97.0.0/30",
            "--duration", "2", "--log-level", "all",
        ], name: "secrets-l2")
        defer { child.signal(SIGKILL); child.removeLog() }
        #expect(await child.wait(limit: .seconds(30)) == 0, "\(child.output.suffix(1000))")
        #expect(child.output.contains("stopped:"), "diagnose l2 ran to its end: \(child.output.suffix(1000))")
        let hex = key.map { String(format: "%02x", $0) }.joined()
        let base64 = Data(key).base64EncodedString()
        expectAbsent(["the key in hex": hex, "the key in base64": String(base64.prefix(24)), "the key in hex (upper)": hex.uppercased()],
                     in: child.output, "diagnose l2's output")
    }
}
