import API
import Foundation
import Kube

/// The operator's pure renderer: a `MetalLB` object and the operator's settings in, the exact objects to keep in place
/// out. No I/O, no clock, no randomness (the membership key is the caller's): the same input renders byte-identical
/// objects, which is what the golden files under `Tests/OperatorTests/Golden/` pin. docs/operator.md explains every
/// object, every field mapping, every RBAC rule and every refusal.
public enum MetalLBRenderer {
    public static let fieldManager = "metallb-operator"
    /// The webhook's serving certificate: `tls.crt`, `tls.key`, `ca.crt`. Written by the operator, not rendered; the
    /// controller Deployment mounts it (not optional: the pod waits for it, see `controllerDeployment`).
    public static let webhookCertSecretName = "metallb-webhook-cert"
    public static let webhookServiceName = "metallb-webhook-service"
    public static let webhookConfigurationName = "metallb-webhook-configuration"
    public static let memberlistSecretName = "metallb-memberlist"
    /// The key of the membership Secret the speakers read (`--ml-secret-key-path` names the directory holding it).
    public static let memberlistSecretKey = "secretkey"
    /// The label that says which operator namespace a cluster-scoped object belongs to (cluster-scoped objects cannot
    /// have an ownerReference to the namespaced `MetalLB`, so this is how the operator finds and prunes them).
    public static let operatorNamespaceLabel = "metallb.io/operator-namespace"

    public static let controllerName = "controller"
    public static let speakerName = "speaker"
    public static let controllerMonitorServiceName = "controller-monitor-service"
    public static let speakerMonitorServiceName = "speaker-monitor-service"
    /// The one webhook of the ValidatingWebhookConfiguration.
    public static let webhookName = "config.metallb.io"
    /// The path the controller's `WebhookServer` serves (it also accepts `/validate-…`).
    public static let webhookPath = "/validate"
    /// Where the controller reads `tls.crt` and `tls.key` (`--webhook-cert-dir`).
    public static let webhookCertDirectory = "/etc/webhook-certs"
    /// Where the speakers read the membership key (`METALLB_ML_SECRET_KEY_PATH`, a directory holding `secretkey`).
    public static let memberlistKeyDirectory = "/etc/ml_secret_key"
    public static let monitoringPort: Int64 = 7472
    public static let webhookPort: Int64 = 9443
    public static let memberlistPort: Int64 = 7946
    /// The controller's Lease (`LeaderElectedService` "metallb-controller" in `ControllerCommand`).
    public static let controllerLeaseName = "metallb-controller"

    /// The pod labels of each role: selectors of the workloads and Services, and the speakers' `--ml-labels`.
    public static let controllerPodLabels: [String: String] = ["app": "metallb", "component": "controller"]
    public static let speakerPodLabels: [String: String] = ["app": "metallb", "component": "speaker"]

    /// The `metallb.io` kinds the validating webhook checks: the configuration only. Not the status kinds (the
    /// speakers and the controller write those by the thousand and the webhook has nothing to say about them), not
    /// `metallbs` (the operator's own object).
    public static let webhookResources = ["ipaddresspools", "l2advertisements", "bgpadvertisements", "bgppeers", "bfdprofiles", "communities"]

    /// Everything the operator keeps in place for `metallb`, in apply order (ServiceAccounts and RBAC first, the
    /// workloads last). `memberlistKey`: the membership key for the create-only Secret (random bytes chosen by the caller).
    public static func render(_ metallb: MetalLB, settings: OperatorSettings, memberlistKey: String) throws(RenderError) -> [RenderedObject] {
        let input = try RenderInput(metallb, settings: settings, memberlistKey: memberlistKey)
        var out: [RenderedObject] = []
        out.append(RenderedObject(serviceAccount(controllerName, input)))
        out.append(RenderedObject(serviceAccount(speakerName, input)))
        out.append(RenderedObject(clusterRole(controllerName, rules: RBACRules.controllerCluster, input)))
        out.append(RenderedObject(clusterRole(speakerName, rules: RBACRules.speakerCluster, input)))
        out.append(RenderedObject(clusterRoleBinding(controllerName, input)))
        out.append(RenderedObject(clusterRoleBinding(speakerName, input)))
        out.append(RenderedObject(role(controllerName, rules: RBACRules.controllerNamespaced, input)))
        out.append(RenderedObject(role(speakerName, rules: RBACRules.speakerNamespaced, input)))
        out.append(RenderedObject(roleBinding(controllerName, input)))
        out.append(RenderedObject(roleBinding(speakerName, input)))
        out.append(RenderedObject(memberlistSecret(input), createOnly: true))
        out.append(RenderedObject(webhookService(input)))
        out.append(RenderedObject(monitorService(controllerMonitorServiceName, selector: controllerPodLabels, input)))
        out.append(RenderedObject(monitorService(speakerMonitorServiceName, selector: speakerPodLabels, input)))
        if let bundle = input.caBundle { out.append(RenderedObject(webhookConfiguration(caBundle: bundle, input))) }
        out.append(RenderedObject(controllerDeployment(input)))
        out.append(RenderedObject(speakerDaemonSet(input)))
        return out
    }

    /// Labels on every rendered object (app.kubernetes.io/name=metallb, app.kubernetes.io/managed-by=metallb-operator,
    /// app.kubernetes.io/part-of=metallb, app.kubernetes.io/version=<settings.version>), so that the operator can list and prune them.
    /// A version that is not a valid label value (a `+build` suffix, say) is written with `_` for each character a
    /// label value cannot hold, cut to 63 characters.
    public static func labels(settings: OperatorSettings) -> [String: String] {
        [
            "app.kubernetes.io/name": "metallb",
            "app.kubernetes.io/managed-by": fieldManager,
            "app.kubernetes.io/part-of": "metallb",
            "app.kubernetes.io/version": labelValue(settings.version),
        ]
    }

    /// The labels of the cluster-scoped objects: `labels(settings:)` plus `metallb.io/operator-namespace`.
    public static func clusterLabels(settings: OperatorSettings) -> [String: String] {
        var l = labels(settings: settings)
        l[operatorNamespaceLabel] = settings.namespace
        return l
    }

    /// The name of the ClusterRole and ClusterRoleBinding of `role` ("controller" or "speaker"): `<namespace>:<role>`,
    /// so that installations in two namespaces do not share them.
    public static func clusterRoleName(_ role: String, settings: OperatorSettings) -> String { "\(settings.namespace):\(role)" }

    /// `text` as a label value: at most 63 characters of `[A-Za-z0-9._-]`, beginning and ending with an alphanumeric
    /// (others replaced by `_`, the ends trimmed); empty stays empty.
    static func labelValue(_ text: String) -> String {
        func allowed(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_" || c == ".") }
        func alnum(_ c: Character) -> Bool { c.isASCII && (c.isLetter || c.isNumber) }
        var s = String(text.map { allowed($0) ? $0 : "_" }.prefix(63))
        while let f = s.first, !alnum(f) { s.removeFirst() }
        while let l = s.last, !alnum(l) { s.removeLast() }
        return s
    }
}

/// The `MetalLB` spec checked and normalised: every field either maps somewhere or is refused here.
struct RenderInput {
    let settings: OperatorSettings
    let namespace: String
    let owner: JSONValue
    let memberlistKey: String
    let logLevel: MetalLBLogLevel
    /// Nil or non-empty.
    let loadBalancerClass: String?
    /// The interval as Go writes it ("1m30s", "0s"), nil when unset.
    let gratuitousARPInterval: String?
    let speakerNodeSelector: [String: String]
    let controllerNodeSelector: [String: String]
    let speakerTolerations: [JSONValue]
    let controllerTolerations: [JSONValue]
    let speakerPod: PodSettings
    let controllerPod: PodSettings
    /// base64 of the PEM, nil when the webhook configuration is not rendered.
    let caBundle: String?

    /// `MetalLBComponentConfig`, checked.
    struct PodSettings {
        var priorityClassName: String?
        var runtimeClassName: String?
        var annotations: [String: String] = [:]
        var resources: JSONValue?
        var affinity: JSONValue?
    }

    /// MetalLB's default speaker tolerations: speakers run on control-plane nodes too (they may announce from there).
    static let defaultSpeakerTolerations: [JSONValue] = [
        ["key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"],
        ["key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"],
    ]

    init(_ metallb: MetalLB, settings: OperatorSettings, memberlistKey: String) throws(RenderError) {
        guard !settings.namespace.isEmpty, !settings.image.isEmpty else {
            throw RenderError(reason: "InvalidOperatorSettings",
                              message: "the operator has no namespace or no image to run; set OPERATOR_NAMESPACE and METALLB_IMAGE on the operator's Deployment")
        }
        guard let name = metallb.metadata.name, !name.isEmpty, let uid = metallb.metadata.uid, !uid.isEmpty else {
            throw RenderError(reason: "IncompleteMetalLB",
                              message: "the MetalLB object has no metadata.name or metadata.uid; render the object as read from the API server")
        }
        if let ns = metallb.metadata.namespace, !ns.isEmpty, ns != settings.namespace {
            // An ownerReference across namespaces counts as absent: the garbage collector would delete what we apply.
            throw RenderError(reason: "NotInOperatorNamespace",
                              message: "MetalLB \(ns)/\(name) is not in the operator's namespace \(settings.namespace); create it there")
        }
        let key = memberlistKey.trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.utf8.count >= 16 else {
            throw RenderError(reason: "InvalidMembershipKey",
                              message: "the membership key is \(key.utf8.count) bytes; the speakers need at least 16 (give render a random key)")
        }
        self.settings = settings
        namespace = settings.namespace
        self.memberlistKey = memberlistKey
        owner = [
            "apiVersion": .string(MetalLB.resourceType.apiVersion), "kind": .string(MetalLB.resourceType.kind),
            "name": .string(name), "uid": .string(uid), "controller": true, "blockOwnerDeletion": true,
        ]
        let spec = metallb.spec ?? MetalLBSpec()

        // spec.image: deprecated upstream and without effect there too; the image is the installation's
        // (settings.image), so that operator and roles always run the same build.
        if let text = spec.logLevel, !text.isEmpty {
            guard let level = MetalLBLogLevel(rawValue: text) else {
                throw RenderError(reason: "InvalidLogLevel",
                                  message: "spec.logLevel \"\(text)\" is not a log level; use one of \(MetalLBLogLevel.allCases.map(\.rawValue).joined(separator: ", ")) (default info)")
            }
            logLevel = level
        } else {
            logLevel = .info
        }

        if let backend = spec.bgpBackend, !backend.isEmpty, backend != BGPBackend.native.rawValue {
            throw RenderError(reason: "UnsupportedBGPBackend",
                              message: "spec.bgpBackend \"\(backend)\" is not available: this MetalLB has its own BGP implementation only; remove spec.bgpBackend or set it to native")
        }
        if let frr = spec.frrk8sConfig, frr != .null, frr != .object([:]) {
            throw RenderError(reason: "UnsupportedFRRK8sConfig",
                              message: "spec.frrk8sConfig is set, but there is no frr-k8s backend here (BGP is built in); remove spec.frrk8sConfig")
        }

        loadBalancerClass = spec.loadBalancerClass.flatMap { $0.isEmpty ? nil : $0 }

        if let text = spec.speakerGratuitousARPInterval, !text.isEmpty {
            let fix = "use 0 (off) or a Go duration of at least 1s, such as 30s or 1m30s"
            let d: GoDuration
            do {
                d = try GoDuration.parse(text)
            } catch {
                throw RenderError(reason: "InvalidGratuitousARPInterval",
                                  message: "spec.speakerGratuitousARPInterval \"\(text)\" is not a duration (\((error as? GoDurationError)?.reason ?? "\(error)")); \(fix)")
            }
            guard d == .zero || d >= .seconds(1) else {
                throw RenderError(reason: "InvalidGratuitousARPInterval",
                                  message: "spec.speakerGratuitousARPInterval \"\(text)\" is \(d < .zero ? "negative" : "below 1s"); \(fix)")
            }
            gratuitousARPInterval = d.description
        } else {
            gratuitousARPInterval = nil
        }

        speakerNodeSelector = try Self.nodeSelector(spec.nodeSelector, field: "spec.nodeSelector")
        controllerNodeSelector = try Self.nodeSelector(spec.controllerNodeSelector, field: "spec.controllerNodeSelector")
        speakerTolerations = Self.defaultSpeakerTolerations
            + (try Self.tolerations(spec.speakerTolerations ?? [], field: "spec.speakerTolerations"))
        controllerTolerations = try Self.tolerations(spec.controllerTolerations ?? [], field: "spec.controllerTolerations")
        speakerPod = try Self.podSettings(spec.speakerConfig, field: "spec.speakerConfig")
        controllerPod = try Self.podSettings(spec.controllerConfig, field: "spec.controllerConfig")

        if let pem = settings.webhookCABundle, !pem.isEmpty {
            caBundle = Data(pem.utf8).base64EncodedString()
        } else {
            caBundle = nil
        }
    }

    /// `kubernetes.io/os: linux` plus the user's selector; the roles are Linux binaries, so another OS is refused.
    static func nodeSelector(_ given: [String: String]?, field: String) throws(RenderError) -> [String: String] {
        var out = ["kubernetes.io/os": "linux"]
        for (k, v) in given ?? [:] {
            if k == "kubernetes.io/os", v != "linux" {
                throw RenderError(reason: "InvalidNodeSelector",
                                  message: "\(field) selects kubernetes.io/os=\(v), but MetalLB runs on Linux nodes only; remove that entry")
            }
            out[k] = v
        }
        return out
    }

    /// The tolerations as JSON, each checked as the API server would (a bad one would fail the whole apply with a
    /// less helpful message), plus MetalLB's own rule: `tolerationSeconds` only with effect NoExecute.
    static func tolerations(_ given: [Toleration], field: String) throws(RenderError) -> [JSONValue] {
        var out: [JSONValue] = []
        for (i, t) in given.enumerated() {
            let path = "\(field)[\(i)]"
            func refuse(_ problem: String) -> RenderError {
                RenderError(reason: "InvalidTolerations", message: "\(path): \(problem)")
            }
            let op = t.operator ?? ""
            guard op.isEmpty || op == "Exists" || op == "Equal" else {
                throw refuse("operator \"\(op)\" is not Exists or Equal")
            }
            if op == "Exists", let v = t.value, !v.isEmpty { throw refuse("operator Exists takes no value; remove value \"\(v)\"") }
            if (t.key ?? "").isEmpty, op != "Exists" { throw refuse("a toleration without a key must have operator Exists") }
            if let e = t.effect, !e.isEmpty, !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(e) {
                throw refuse("effect \"\(e)\" is not NoSchedule, PreferNoSchedule or NoExecute")
            }
            if t.tolerationSeconds != nil, t.effect != "NoExecute" {
                throw refuse("tolerationSeconds is only meaningful with effect NoExecute; set effect NoExecute or remove tolerationSeconds")
            }
            var o: [String: JSONValue] = [:]
            if let k = t.key, !k.isEmpty { o["key"] = .string(k) }
            if !op.isEmpty { o["operator"] = .string(op) }
            if let v = t.value, !v.isEmpty { o["value"] = .string(v) }
            if let e = t.effect, !e.isEmpty { o["effect"] = .string(e) }
            if let s = t.tolerationSeconds { o["tolerationSeconds"] = .int(s) }
            out.append(.object(o))
        }
        return out
    }

    static func podSettings(_ given: MetalLBComponentConfig?, field: String) throws(RenderError) -> PodSettings {
        guard let given else { return PodSettings() }
        func object(_ v: JSONValue?, _ name: String) throws(RenderError) -> JSONValue? {
            switch v {
            case nil, .null?: return nil
            case .object(let o)?: return o.isEmpty ? nil : .object(o)
            default:
                throw RenderError(reason: "InvalidPodConfig",
                                  message: "\(field).\(name) must be an object (core/v1 \(name == "resources" ? "ResourceRequirements" : "Affinity"))")
            }
        }
        return PodSettings(
            priorityClassName: given.priorityClassName.flatMap { $0.isEmpty ? nil : $0 },
            runtimeClassName: given.runtimeClassName.flatMap { $0.isEmpty ? nil : $0 },
            annotations: given.annotations ?? [:],
            resources: try object(given.resources, "resources"),
            affinity: try object(given.affinity, "affinity"))
    }
}

extension JSONValue {
    /// A string map as a JSON object.
    static func strings(_ map: [String: String]) -> JSONValue { .object(map.mapValues { .string($0) }) }
}
