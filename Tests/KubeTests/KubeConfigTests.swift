import Foundation
import Testing

@testable import Kube

@Suite struct KubeConfigTests {
    let caB64 = Data("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".utf8).base64EncodedString()

    @Test func currentContextWithTokenAndNamespace() throws {
        let yaml = """
            apiVersion: v1
            kind: Config
            current-context: b
            clusters:
            - name: c1
              cluster: {server: "https://10.0.0.1:6443/", certificate-authority-data: \(caB64)}
            - name: c2
              cluster: {server: "https://127.0.0.1:9443", insecure-skip-tls-verify: true, tls-server-name: api.example}
            users:
            - name: u1
              user: {token: abc}
            - name: u2
              user: {token: def}
            contexts:
            - name: a
              context: {cluster: c1, user: u1}
            - name: b
              context: {cluster: c2, user: u2, namespace: team}
            """
        let c = try KubeConfig.fromKubeconfig(yaml)
        #expect(c.server == "https://127.0.0.1:9443")
        #expect(c.insecureSkipTLSVerify)
        #expect(c.tlsServerName == "api.example")
        #expect(c.auth == .token("def"))
        #expect(c.namespace == "team")
        #expect(c.caPEM == nil)

        let a = try KubeConfig.fromKubeconfig(yaml, context: "a")
        #expect(a.server == "https://10.0.0.1:6443")  // trailing slash dropped
        #expect(a.namespace == "default")
        #expect(a.caPEM.map { String(decoding: $0, as: UTF8.self) }?.hasPrefix("-----BEGIN CERTIFICATE") == true)
    }

    @Test func clientCertificateFilesResolveAgainstKubeconfigDirectory() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kc-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/pki", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "CERT".write(toFile: dir + "/pki/admin.crt", atomically: true, encoding: .utf8)
        try "KEY".write(toFile: dir + "/pki/admin.key", atomically: true, encoding: .utf8)
        try "CA".write(toFile: dir + "/pki/ca.crt", atomically: true, encoding: .utf8)
        let yaml = """
            current-context: x
            clusters: [{name: c, cluster: {server: "https://127.0.0.1:1", certificate-authority: pki/ca.crt}}]
            users: [{name: u, user: {client-certificate: pki/admin.crt, client-key: pki/admin.key}}]
            contexts: [{name: x, context: {cluster: c, user: u}}]
            """
        try yaml.write(toFile: dir + "/config", atomically: true, encoding: .utf8)
        let c = try KubeConfig.fromKubeconfigFile(dir + "/config")
        #expect(c.auth == .clientCertificate(certificatePEM: Array("CERT".utf8), keyPEM: Array("KEY".utf8)))
        #expect(c.caPEM == Array("CA".utf8))
        #expect(c.source == dir + "/config")
    }

    @Test func tokenFileAndBasicAuth() throws {
        let yaml = """
            current-context: x
            clusters: [{name: c, cluster: {server: "https://h:1"}}]
            users: [{name: u, user: {tokenFile: /run/tok}}, {name: b, user: {username: me, password: pw}}]
            contexts: [{name: x, context: {cluster: c, user: u}}, {name: y, context: {cluster: c, user: b}}]
            """
        #expect(try KubeConfig.fromKubeconfig(yaml).auth == .tokenFile("/run/tok"))
        #expect(try KubeConfig.fromKubeconfig(yaml, context: "y").auth == .basic(username: "me", password: "pw"))
    }

    @Test(arguments: [
        ("clusters: []\ncontexts: []\n", "no current-context"),
        ("current-context: nope\ncontexts: []\n", "context \"nope\" not found"),
        ("current-context: x\ncontexts: [{name: x, context: {cluster: c}}]\n", "cluster \"c\" of context \"x\" not found"),
        ("current-context: x\nclusters: [{name: c, cluster: {}}]\ncontexts: [{name: x, context: {cluster: c}}]\n", "has no server"),
        ("current-context: x\nclusters: [{name: c, cluster: {server: s}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n", "user \"u\" of context \"x\" not found"),
        ("current-context: x\nclusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {exec: {command: aws}}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n", "exec or auth-provider"),
        ("current-context: x\nclusters: [{name: c, cluster: {server: s, certificate-authority-data: '!!notbase64'}}]\ncontexts: [{name: x, context: {cluster: c}}]\n", "not valid base64"),
        ("current-context: x\nclusters: [{name: c, cluster: {server: s}}]\nusers: [{name: u, user: {client-certificate-data: QUFB}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n", "no client key"),
        ("- just\n- a list\n", "not a valid kubeconfig"),
    ])
    func errorsSayWhatIsWrong(yaml: String, expected: String) {
        do {
            _ = try KubeConfig.fromKubeconfig(yaml)
            Issue.record("expected an error containing \(expected)")
        } catch {
            #expect("\(error)".contains(expected), "\(error)")
        }
    }

    @Test func inClusterReadsServiceAccountMount() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try "tok1\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "CA".write(toFile: dir + "/ca.crt", atomically: true, encoding: .utf8)
        try "metallb-system\n".write(toFile: dir + "/namespace", atomically: true, encoding: .utf8)
        let env = ["KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"]
        let c = try KubeConfig.inCluster(environment: env, directory: dir)
        #expect(c.server == "https://[fd00::1]:443")
        #expect(c.namespace == "metallb-system")
        #expect(c.auth == .tokenFile(dir + "/token"))
        #expect(c.caPEM == Array("CA".utf8))
        #expect(throws: KubeError.self) { try KubeConfig.inCluster(environment: [:], directory: dir) }
    }

    @Test func tokenSourceRereadsRotatedToken() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tok-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try "one\n".write(toFile: path, atomically: true, encoding: .utf8)
        let src = TokenSource(path: path)
        #expect(try await src.token() == "one")
        // Rotation replaces the file (new mtime): the next request uses the new token.
        try await Task.sleep(for: .milliseconds(20))
        try "two\n".write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(5)], ofItemAtPath: path)
        #expect(try await src.token() == "two")
    }

    @Test func resolutionOrder() throws {
        // KUBECONFIG naming no existing file is an error, not a silent fallback.
        #expect(throws: KubeError.self) { try KubeConfig.load(environment: ["KUBECONFIG": "/nonexistent/a:/nonexistent/b", "HOME": "/nonexistent"]) }
        #expect(throws: KubeError.self) { try KubeConfig.load(environment: ["HOME": "/nonexistent"]) }
    }
}
