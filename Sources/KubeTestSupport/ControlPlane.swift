import Foundation

import Kube

// Test support shared by the test targets (not shipped): real control planes from hack/envtest.

/// A real etcd + kube-apiserver started by `hack/envtest`. Tests share one per test run
/// (isolated by namespace); tests that restart the API server start their own.
public final class ControlPlane: Sendable {
    public static let repoRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    public let dir: String
    public let kubeconfig: String
    public let owned: Bool

    public init(dir: String, kubeconfig: String, owned: Bool) {
        self.dir = dir
        self.kubeconfig = kubeconfig
        self.owned = owned
    }

    /// Starts a control plane in a fresh directory.
    public static func start(extraArgs: [String] = []) async throws -> ControlPlane {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("metallb-envtest-\(UUID().uuidString.prefix(8))").path
        let out = try await envtest(["start", "--dir", dir] + extraArgs)
        guard let line = out.split(separator: "\n").last, line.hasPrefix("KUBECONFIG=") else {
            throw KubeError.config("hack/envtest start printed no KUBECONFIG line: \(out)")
        }
        registerPlane(dir)
        return ControlPlane(dir: dir, kubeconfig: String(line.dropFirst("KUBECONFIG=".count)), owned: true)
    }

    public func stop() async {
        guard owned else { return }
        _ = try? await Self.envtest(["stop", "--dir", dir])
        unregisterPlane(dir)
    }

    public func restartAPIServer() async throws {
        _ = try await Self.envtest(["restart-apiserver", "--dir", dir])
    }

    /// A value from DIR/envtest.conf (e.g. ETCD_PORT).
    public func conf(_ key: String) -> String? {
        guard let text = try? String(contentsOfFile: dir + "/envtest.conf", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(key + "=") {
            return String(line.dropFirst(key.count + 1)).trimmingCharacters(in: CharacterSet(charactersIn: "\"' "))
        }
        return nil
    }

    public func client(qps: Double = 200, burst: Int = 400) throws -> KubeClient {
        var c = try KubeConfig.fromKubeconfigFile(kubeconfig)
        c.qps = qps
        c.burst = burst
        return try KubeClient(config: c)
    }

    /// Runs hack/envtest off the cooperative thread pool; returns stdout, throws on failure.
    public static func envtest(_ args: [String]) async throws -> String {
        try await run(repoRoot + "/hack/envtest", args)
    }

    /// Runs a program; returns its standard output, throws with its standard error on failure.
    public static func run(_ path: String, _ args: [String]) async throws -> String {
        let (code, out, err) = try await runProcess(path, args)
        guard code == 0 else {
            throw KubeError.config("\(path) \(args.joined(separator: " ")) exited \(code): \(err.suffix(2000))")
        }
        return out
    }
}

/// Runs a program off the cooperative thread pool; returns its exit code, standard output and
/// standard error. Output goes through files, not pipes: daemons a script starts may inherit
/// a pipe's write end, and reading the pipe would then wait for them to exit. posix_spawn and
/// waitpid, because Foundation's Process.waitUntilExit did not return here once a script had
/// left daemons behind.
public func runProcess(_ path: String, _ args: [String]) async throws -> (code: Int32, stdout: String, stderr: String) {
    try await withCheckedThrowingContinuation { cont in
        Thread.detachNewThread {
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)").path
            FileManager.default.createFile(atPath: base + ".out", contents: nil)
            FileManager.default.createFile(atPath: base + ".err", contents: nil)
            defer {
                try? FileManager.default.removeItem(atPath: base + ".out")
                try? FileManager.default.removeItem(atPath: base + ".err")
            }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_TRUNC, 0o644)
            posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_TRUNC, 0o644)
            let argv = ([path] + args).map { strdup($0) } + [nil]
            defer { argv.forEach { free($0) } }
            var pid: pid_t = 0
            let rc = posix_spawn(&pid, path, &actions, nil, argv, environ)
            guard rc == 0 else {
                cont.resume(throwing: KubeError.config("cannot start \(path): errno \(rc)"))
                return
            }
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            let code = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            let o = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
            let e = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
            cont.resume(returning: (code, o, e))
        }
    }
}

/// Control planes this process started and has not stopped yet: stopped at exit, so that a
/// test that fails (or a filtered run that exits before a deferred stop task runs) leaves no
/// etcd or API server behind.
private let runningPlanes = NSLock()
nonisolated(unsafe) private var runningPlaneDirs: Set<String> = []
nonisolated(unsafe) private var exitHookInstalled = false

func registerPlane(_ dir: String) {
    runningPlanes.withLock {
        runningPlaneDirs.insert(dir)
        guard !exitHookInstalled else { return }
        exitHookInstalled = true
        atexit {
            let dirs = runningPlanes.withLock { runningPlaneDirs }
            for dir in dirs {
                let p = Process()
                p.executableURL = URL(fileURLWithPath: "/bin/sh")
                p.arguments = ["-c", "'\(ControlPlane.repoRoot)/hack/envtest' stop --dir '\(dir)' >/dev/null 2>&1"]
                try? p.run()
                p.waitUntilExit()
            }
        }
    }
}

func unregisterPlane(_ dir: String) {
    _ = runningPlanes.withLock { runningPlaneDirs.remove(dir) }
}

/// The control plane shared by the tests of one run: the one `hack/test` started (its
/// kubeconfig in METALLB_TEST_KUBECONFIG), or one started here and stopped when the test
/// process exits.
public actor SharedControlPlane {
    public static let instance = SharedControlPlane()
    private var plane: ControlPlane?
    private var starting: Task<ControlPlane, any Error>?

    public func get() async throws -> ControlPlane {
        if let plane { return plane }
        if let env = ProcessInfo.processInfo.environment["METALLB_TEST_KUBECONFIG"], !env.isEmpty {
            let p = ControlPlane(dir: (env as NSString).deletingLastPathComponent, kubeconfig: env, owned: false)
            plane = p
            return p
        }
        if starting == nil {
            starting = Task { try await ControlPlane.start() }
        }
        let p = try await starting!.value
        plane = p
        return p
    }
}

/// Per-test helpers: a client on the shared control plane and a fresh namespace.
public struct TestEnv: Sendable {
    public let plane: ControlPlane
    public let client: KubeClient
    public let namespace: String

    public init(plane: ControlPlane, client: KubeClient, namespace: String) {
        self.plane = plane
        self.client = client
        self.namespace = namespace
    }

    public static func make(_ prefix: String = "t") async throws -> TestEnv {
        let plane = try await SharedControlPlane.instance.get()
        let client = try plane.client()
        let ns = try await createNamespace(client, prefix: prefix)
        return TestEnv(plane: plane, client: client, namespace: ns)
    }

    public static func createNamespace(_ client: KubeClient, prefix: String) async throws -> String {
        let name = "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
        var ns = Namespace(metadata: ObjectMeta(name: name))
        ns.setTypeMeta()
        _ = try await client.resource(Namespace.self).create(ns)
        return name
    }

    public func close() async {
        await client.shutdown()
    }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(timeout: Duration = .seconds(20), interval: Duration = .milliseconds(50), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: interval)
    }
    return try await condition()
}

public func configMap(_ name: String, _ ns: String, data: [String: String] = [:], labels: [String: String]? = nil) -> ConfigMap {
    var cm = ConfigMap(metadata: ObjectMeta(name: name, namespace: ns, labels: labels), data: data)
    cm.setTypeMeta()
    return cm
}

/// Applies every CRD in `crds/` (server-side apply), waits until each is established and
/// served, and creates `namespaces` if missing.
public func installCRDs(_ client: KubeClient, namespaces: [String] = []) async throws {
    let crds = client.resource(CustomResourceDefinition.resourceType)
    let dir = ControlPlane.repoRoot + "/crds"
    for f in try FileManager.default.contentsOfDirectory(atPath: dir).sorted() where f.hasSuffix(".yaml") {
        for doc in try YAMLDocuments.parse(String(contentsOfFile: dir + "/" + f, encoding: .utf8), source: f) {
            let name = doc["metadata"]?["name"]?.stringValue ?? ""
            _ = try await crds.apply(doc, name: name, fieldManager: "metallb-tests", force: true)
            let ok = try await eventually(timeout: .seconds(30)) {
                try await client.resource(CustomResourceDefinition.self).get(name).isEstablished
            }
            guard ok else { throw KubeError.timeout("CRD \(name) not established") }
        }
    }
    let ns = client.resource(Namespace.self)
    for name in namespaces where try await ns.getIfExists(name) == nil {
        var n = Namespace(metadata: ObjectMeta(name: name))
        n.setTypeMeta()
        do { _ = try await ns.create(n) } catch let e as KubeError where e.isAlreadyExists {}
    }
}

/// One configuration fixture under Tests/APITests/Fixtures: its documents and, for an invalid
/// one, the header lines saying which field the refusal names (`# expect: FIELD | MESSAGE`) and
/// who refuses it (`# refused by: API server (schema) ...` or `semantic validation only ...`).
public struct ConfigurationFixture: Sendable {
    public static let root = ControlPlane.repoRoot + "/Tests/APITests/Fixtures"

    public let path: String
    public var name: String { (path as NSString).lastPathComponent }
    public let field: String
    public let message: String
    public let refusedBySchema: Bool

    public init(path: String) {
        self.path = path
        let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
        var field = "", message = "", schema = false
        for line in text.split(separator: "\n").prefix(5) {
            if line.hasPrefix("# expect:") {
                let parts = line.dropFirst("# expect:".count).split(separator: "|", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                field = parts.first ?? ""
                message = parts.count > 1 ? parts[1] : ""
            }
            if line.hasPrefix("# refused by:") { schema = line.contains("API server (") }
        }
        (self.field, self.message, self.refusedBySchema) = (field, message, schema)
    }

    /// The fixtures of `valid` or `invalid`, sorted by name.
    public static func all(_ dir: String) -> [ConfigurationFixture] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root + "/" + dir)) ?? [])
            .filter { $0.hasSuffix(".yaml") }.sorted().map { ConfigurationFixture(path: root + "/" + dir + "/" + $0) }
    }

    public func documents() throws -> [JSONValue] {
        try YAMLDocuments.parse(String(contentsOfFile: path, encoding: .utf8), source: path)
    }
}
