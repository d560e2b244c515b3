import Foundation
import Yams

/// How to reach and authenticate to an API server: from a kubeconfig file or from the
/// in-cluster service-account mount.
public struct KubeConfig: Sendable {
    public enum Auth: Sendable, Equatable {
        case none
        case token(String)
        /// A token file re-read when it changes (projected service-account tokens rotate).
        case tokenFile(String)
        case clientCertificate(certificatePEM: [UInt8], keyPEM: [UInt8])
        case basic(username: String, password: String)
    }

    /// Base URL, e.g. "https://127.0.0.1:6443" (no trailing slash).
    public var server: String
    public var caPEM: [UInt8]?
    public var insecureSkipTLSVerify: Bool
    public var tlsServerName: String?
    public var auth: Auth
    /// The namespace from the context (kubeconfig) or the service-account mount; "default" otherwise.
    public var namespace: String
    /// Client-side rate limit (requests per second, burst), as client-go's QPS/Burst.
    public var qps: Double
    public var burst: Int
    /// Where this configuration came from, for log lines and error messages.
    public var source: String

    public init(
        server: String, caPEM: [UInt8]? = nil, insecureSkipTLSVerify: Bool = false, tlsServerName: String? = nil,
        auth: Auth = .none, namespace: String = "default", qps: Double = 50, burst: Int = 100, source: String = "explicit"
    ) {
        var s = server
        while s.hasSuffix("/") { s.removeLast() }
        self.server = s
        self.caPEM = caPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.auth = auth
        self.namespace = namespace
        self.qps = qps
        self.burst = burst
        self.source = source
    }

    public static let serviceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

    /// Resolution order, as kubectl and client-go: an explicit path, then `$KUBECONFIG` (first
    /// file of the list), then the in-cluster configuration when running in a pod, then
    /// `~/.kube/config`.
    public static func load(kubeconfig path: String? = nil, context: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> KubeConfig {
        if let path, !path.isEmpty { return try fromKubeconfigFile(path, context: context) }
        if let env = environment["KUBECONFIG"], !env.isEmpty {
            let files = env.split(separator: ":").map(String.init).filter { FileManager.default.fileExists(atPath: $0) }
            if let first = files.first { return try fromKubeconfigFile(first, context: context) }
            throw KubeError.config("KUBECONFIG=\(env) names no existing file")
        }
        if environment["KUBERNETES_SERVICE_HOST"] != nil {
            return try inCluster(environment: environment)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        let def = home + "/.kube/config"
        if FileManager.default.fileExists(atPath: def) { return try fromKubeconfigFile(def, context: context) }
        throw KubeError.config("no configuration: pass --kubeconfig, set KUBECONFIG, or run in a pod (KUBERNETES_SERVICE_HOST unset, \(def) missing)")
    }

    /// The in-cluster configuration: `KUBERNETES_SERVICE_HOST`/`PORT`, the mounted token
    /// (re-read when rotated), CA and namespace.
    public static func inCluster(environment: [String: String] = ProcessInfo.processInfo.environment, directory: String = serviceAccountDir) throws -> KubeConfig {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else { throw KubeError.config("in-cluster configuration needs KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT") }
        let tokenPath = directory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenPath) else {
            throw KubeError.config("in-cluster configuration: cannot read \(tokenPath)")
        }
        let ca = FileManager.default.contents(atPath: directory + "/ca.crt").map { [UInt8]($0) }
        let ns = (try? String(contentsOfFile: directory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let h = host.contains(":") ? "[\(host)]" : host
        return KubeConfig(
            server: "https://\(h):\(port)", caPEM: ca, auth: .tokenFile(tokenPath),
            namespace: (ns?.isEmpty ?? true) ? "default" : ns!, source: "in-cluster")
    }

    public static func fromKubeconfigFile(_ path: String, context: String? = nil) throws -> KubeConfig {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw KubeError.config("cannot read kubeconfig \(path)")
        }
        let dir = (path as NSString).deletingLastPathComponent
        return try fromKubeconfig(String(decoding: data, as: UTF8.self), context: context, baseDirectory: dir, source: path)
    }

    /// Parses kubeconfig YAML. Relative file paths are resolved against `baseDirectory`
    /// (the kubeconfig's own folder), as kubectl does.
    public static func fromKubeconfig(_ yaml: String, context: String? = nil, baseDirectory: String = ".", source: String = "kubeconfig") throws -> KubeConfig {
        let file: KubeconfigFile
        do {
            file = try YAMLDecoder().decode(KubeconfigFile.self, from: yaml)
        } catch {
            throw KubeError.config("\(source): not a valid kubeconfig: \(error)")
        }
        guard let ctxName = context ?? file.currentContext, !ctxName.isEmpty else {
            throw KubeError.config("\(source): no current-context set and no --context given")
        }
        guard let ctx = file.contexts?.first(where: { $0.name == ctxName })?.context else {
            throw KubeError.config("\(source): context \"\(ctxName)\" not found")
        }
        guard let cluster = file.clusters?.first(where: { $0.name == ctx.cluster })?.cluster else {
            throw KubeError.config("\(source): cluster \"\(ctx.cluster)\" of context \"\(ctxName)\" not found")
        }
        guard let server = cluster.server, !server.isEmpty else {
            throw KubeError.config("\(source): cluster \"\(ctx.cluster)\" has no server")
        }
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : baseDirectory + "/" + p }
        func read(_ p: String, _ what: String) throws -> [UInt8] {
            guard let d = FileManager.default.contents(atPath: resolve(p)) else {
                throw KubeError.config("\(source): cannot read \(what) file \(resolve(p))")
            }
            return [UInt8](d)
        }
        func b64(_ s: String, _ what: String) throws -> [UInt8] {
            guard let d = Data(base64Encoded: s.filter { !$0.isWhitespace }) else {
                throw KubeError.config("\(source): \(what) is not valid base64")
            }
            return [UInt8](d)
        }

        var ca: [UInt8]?
        if let d = cluster.certificateAuthorityData { ca = try b64(d, "certificate-authority-data") }
        else if let f = cluster.certificateAuthority { ca = try read(f, "certificate-authority") }

        var auth = Auth.none
        if let userName = ctx.user, !userName.isEmpty {
            guard let user = file.users?.first(where: { $0.name == userName })?.user else {
                throw KubeError.config("\(source): user \"\(userName)\" of context \"\(ctxName)\" not found")
            }
            if user.exec != nil || user.authProvider != nil {
                throw KubeError.config("\(source): user \"\(userName)\" uses an exec or auth-provider credential plugin, which this client does not run; use a token or client certificate")
            }
            if let t = user.token, !t.isEmpty {
                auth = .token(t)
            } else if let tf = user.tokenFile, !tf.isEmpty {
                auth = .tokenFile(resolve(tf))
            } else if user.clientCertificateData != nil || user.clientCertificate != nil {
                let cert = try user.clientCertificateData.map { try b64($0, "client-certificate-data") }
                    ?? read(user.clientCertificate!, "client-certificate")
                guard user.clientKeyData != nil || user.clientKey != nil else {
                    throw KubeError.config("\(source): user \"\(userName)\" has a client certificate but no client key")
                }
                let key = try user.clientKeyData.map { try b64($0, "client-key-data") } ?? read(user.clientKey!, "client-key")
                auth = .clientCertificate(certificatePEM: cert, keyPEM: key)
            } else if let u = user.username, let p = user.password {
                auth = .basic(username: u, password: p)
            }
        }
        let ns = (ctx.namespace?.isEmpty ?? true) ? "default" : ctx.namespace!
        return KubeConfig(
            server: server, caPEM: ca, insecureSkipTLSVerify: cluster.insecureSkipTLSVerify ?? false,
            tlsServerName: cluster.tlsServerName, auth: auth, namespace: ns, source: source)
    }
}

/// The parts of the kubeconfig format (clientcmd v1) that this client understands.
struct KubeconfigFile: Decodable {
    struct NamedCluster: Decodable { var name: String; var cluster: Cluster }
    struct Cluster: Decodable {
        var server: String?
        var certificateAuthority: String?
        var certificateAuthorityData: String?
        var insecureSkipTLSVerify: Bool?
        var tlsServerName: String?
        enum CodingKeys: String, CodingKey {
            case server
            case certificateAuthority = "certificate-authority"
            case certificateAuthorityData = "certificate-authority-data"
            case insecureSkipTLSVerify = "insecure-skip-tls-verify"
            case tlsServerName = "tls-server-name"
        }
    }
    struct NamedUser: Decodable { var name: String; var user: User }
    struct User: Decodable {
        var token: String?
        var tokenFile: String?
        var clientCertificate: String?
        var clientCertificateData: String?
        var clientKey: String?
        var clientKeyData: String?
        var username: String?
        var password: String?
        var exec: JSONValue?
        var authProvider: JSONValue?
        enum CodingKeys: String, CodingKey {
            case token, tokenFile, username, password, exec
            case clientCertificate = "client-certificate"
            case clientCertificateData = "client-certificate-data"
            case clientKey = "client-key"
            case clientKeyData = "client-key-data"
            case authProvider = "auth-provider"
        }
    }
    struct NamedContext: Decodable { var name: String; var context: Context }
    struct Context: Decodable { var cluster: String; var user: String?; var namespace: String? }

    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?
    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }
}
