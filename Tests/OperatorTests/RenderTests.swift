import API
import Foundation
import Kube
import Testing

@testable import Operator

// MARK: - Fixtures

enum Fixture {
    static let namespace = "metallb-system"
    static let uid = "6f1c1a52-3a8e-4f2b-9a51-1d2c3b4a5e6f"
    static let key = "c2VjcmV0LW1lbWJlcnNoaXAta2V5LWZvci10ZXN0cw"
    static let pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUTESTONLY\n-----END CERTIFICATE-----\n"

    static func settings(caBundle: String? = nil, version: String = "0.1.0-dev") -> OperatorSettings {
        OperatorSettings(namespace: namespace, image: "registry.example/metallb:0.1.0", imagePullPolicy: "IfNotPresent",
                         webhookCABundle: caBundle, version: version)
    }

    static func metallb(_ spec: MetalLBSpec? = nil) -> MetalLB {
        var m = MetalLB(apiVersion: "metallb.io/v1beta1", kind: "MetalLB",
                        metadata: ObjectMeta(name: "metallb", namespace: namespace), spec: spec)
        m.metadata.uid = uid
        return m
    }

    /// Every field of the spec set (frrk8sConfig to the one value accepted, an empty object).
    static var fullSpec: MetalLBSpec {
        MetalLBSpec(
            image: "ignored.example/metallb:old",
            nodeSelector: ["metallb.io/speaker": "yes", "topology.kubernetes.io/zone": "a"],
            speakerTolerations: [
                Toleration(key: "dedicated", operator: "Equal", value: "lb", effect: "NoSchedule"),
                Toleration(key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30),
            ],
            controllerNodeSelector: ["node-role.kubernetes.io/infra": ""],
            controllerTolerations: [Toleration(key: "node-role.kubernetes.io/infra", operator: "Exists", effect: "NoSchedule")],
            logLevel: "debug",
            bgpBackend: "native",
            frrk8sConfig: .object([:]),
            loadBalancerClass: "example.com/metallb",
            speakerGratuitousARPInterval: "90s",
            speakerConfig: MetalLBComponentConfig(
                priorityClassName: "system-node-critical", runtimeClassName: "runc-speaker",
                annotations: ["example.com/team": "network", "prometheus.io/scrape": "true"],
                resources: ["limits": ["cpu": "500m", "memory": "128Mi"], "requests": ["cpu": "100m", "memory": "64Mi"]],
                affinity: ["nodeAffinity": ["requiredDuringSchedulingIgnoredDuringExecution": ["nodeSelectorTerms": [[
                    "matchExpressions": [["key": "kubernetes.io/arch", "operator": "In", "values": ["amd64", "arm64"]]],
                ]]]]]),
            controllerConfig: MetalLBComponentConfig(
                priorityClassName: "system-cluster-critical", runtimeClassName: "runc-controller",
                annotations: ["example.com/team": "network-controller"],
                resources: ["limits": ["cpu": "200m", "memory": "96Mi"]],
                affinity: ["podAntiAffinity": ["preferredDuringSchedulingIgnoredDuringExecution": [[
                    "weight": 100,
                    "podAffinityTerm": ["topologyKey": "kubernetes.io/hostname", "labelSelector": ["matchLabels": ["app": "metallb"]]],
                ]]]]))
    }

    static func render(_ spec: MetalLBSpec? = nil, caBundle: String? = nil) throws -> [RenderedObject] {
        try MetalLBRenderer.render(metallb(spec), settings: settings(caBundle: caBundle), memberlistKey: key)
    }
}

extension Array where Element == RenderedObject {
    func one(_ kind: String, _ name: String) -> JSONValue? {
        first { $0.kind == kind && $0.name == name }.map { .object($0.object.object) }
    }
    var deployment: JSONValue? { one("Deployment", "controller") }
    var daemonSet: JSONValue? { one("DaemonSet", "speaker") }
}

extension JSONValue {
    var podSpec: JSONValue? { self["spec"]?["template"]?["spec"] }
    var container: JSONValue? { podSpec?["containers"]?.arrayValue?.first }
    var args: [String] { container?["args"]?.arrayValue?.compactMap(\.stringValue) ?? [] }
    var strings: [String] { arrayValue?.compactMap(\.stringValue) ?? [] }
    var stringMap: [String: String] { objectValue?.compactMapValues(\.stringValue) ?? [:] }
}

func renderError(_ body: () throws -> [RenderedObject]) -> RenderError? {
    do {
        _ = try body()
        return nil
    } catch let e as RenderError {
        return e
    } catch {
        return RenderError(reason: "unexpected", message: "\(error)")
    }
}

// MARK: - Golden files

@Suite("Operator renderer: golden files")
struct RenderGoldenTests {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares the rendering to `Golden/<name>`. To accept a change of the rendering, regenerate the files with
    /// `UPDATE_GOLDEN=1 swift test --filter OperatorTests` and review the diff (`git diff Tests/OperatorTests/Golden`).
    func check(_ name: String, _ objects: [RenderedObject]) throws {
        let text = "# Rendered by MetalLBRenderer (Tests/OperatorTests/RenderTests.swift); regenerate with UPDATE_GOLDEN=1.\n"
            + (try MetalLBRenderer.yaml(objects))
        let url = Self.directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
            try text.write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        if text != expected {
            let a = text.split(separator: "\n", omittingEmptySubsequences: false)
            let b = expected.split(separator: "\n", omittingEmptySubsequences: false)
            let i = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("""
                \(name) differs from the rendering at line \(i + 1):
                  golden:   \(i < b.count ? String(b[i]) : "<end>")
                  rendered: \(i < a.count ? String(a[i]) : "<end>")
                If the change is intended, run UPDATE_GOLDEN=1 swift test --filter OperatorTests and review the diff.
                """)
        }
        // The golden text reads back (as kubectl types plain scalars) as exactly the rendered objects.
        let documents = try YAMLDocuments.parse(expected, source: name)
        #expect(documents.count == objects.count)
        for (document, object) in zip(documents, objects) where document != .object(object.object.object) {
            Issue.record("\(name): the document of \(object) does not read back as the rendered object")
        }
    }

    @Test func minimal() throws {
        try check("minimal.yaml", try Fixture.render(nil))
    }

    @Test func everyField() throws {
        try check("every-field.yaml", try Fixture.render(Fixture.fullSpec, caBundle: Fixture.pem))
    }
}

// MARK: - Objects, order, metadata

@Suite("Operator renderer: objects")
struct RenderObjectTests {
    @Test func objectsInApplyOrder() throws {
        let objects = try Fixture.render(nil)
        #expect(objects.map(\.description) == [
            "ServiceAccount metallb-system/controller",
            "ServiceAccount metallb-system/speaker",
            "ClusterRole metallb-system:controller",
            "ClusterRole metallb-system:speaker",
            "ClusterRoleBinding metallb-system:controller",
            "ClusterRoleBinding metallb-system:speaker",
            "Role metallb-system/controller",
            "Role metallb-system/speaker",
            "RoleBinding metallb-system/controller",
            "RoleBinding metallb-system/speaker",
            "Secret metallb-system/metallb-memberlist",
            "Service metallb-system/metallb-webhook-service",
            "Service metallb-system/controller-monitor-service",
            "Service metallb-system/speaker-monitor-service",
            "Deployment metallb-system/controller",
            "DaemonSet metallb-system/speaker",
        ])
        let withWebhook = try Fixture.render(nil, caBundle: Fixture.pem)
        #expect(withWebhook.count == objects.count + 1)
        #expect(withWebhook.map(\.kind).suffix(3) == ["ValidatingWebhookConfiguration", "Deployment", "DaemonSet"])
    }

    @Test func deterministic() throws {
        let a = try Fixture.render(Fixture.fullSpec, caBundle: Fixture.pem)
        let b = try Fixture.render(Fixture.fullSpec, caBundle: Fixture.pem)
        #expect(a == b)
        #expect(try MetalLBRenderer.yaml(a) == MetalLBRenderer.yaml(b))
    }

    @Test func namespacedObjectsAreOwnedClusterScopedAreLabelled() throws {
        let objects = try Fixture.render(Fixture.fullSpec, caBundle: Fixture.pem)
        let expected = OwnerReference(apiVersion: "metallb.io/v1beta1", kind: "MetalLB", name: "metallb", uid: Fixture.uid,
                                      controller: true, blockOwnerDeletion: true)
        var clusterKinds: Set<String> = []
        for o in objects {
            let meta = o.object.metadata
            #expect(meta.labels?.filter { $0.key.hasPrefix("app.kubernetes.io/") } == MetalLBRenderer.labels(settings: Fixture.settings()),
                    "\(o)")
            if let ns = o.namespace {
                #expect(ns == Fixture.namespace)
                #expect(meta.ownerReferences == [expected], "\(o)")
                #expect(meta.labels?[MetalLBRenderer.operatorNamespaceLabel] == nil, "\(o)")
            } else {
                clusterKinds.insert(o.kind)
                #expect(meta.ownerReferences == nil, "\(o)")
                #expect(meta.labels?[MetalLBRenderer.operatorNamespaceLabel] == Fixture.namespace, "\(o)")
            }
        }
        #expect(clusterKinds == ["ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration"])
    }

    @Test func labels() {
        #expect(MetalLBRenderer.labels(settings: Fixture.settings()) == [
            "app.kubernetes.io/name": "metallb",
            "app.kubernetes.io/managed-by": "metallb-operator",
            "app.kubernetes.io/part-of": "metallb",
            "app.kubernetes.io/version": "0.1.0-dev",
        ])
        // A build suffix is not a valid label value; the label must still be accepted by the API server.
        #expect(MetalLBRenderer.labels(settings: Fixture.settings(version: "1.2.0+git.abc"))["app.kubernetes.io/version"] == "1.2.0_git.abc")
        #expect(MetalLBRenderer.labelValue("-v1-") == "v1")
        #expect(MetalLBRenderer.labelValue(String(repeating: "9", count: 70)).count == 63)
    }

    @Test func memberlistSecretIsTheOnlyCreateOnlyObject() throws {
        let objects = try Fixture.render(Fixture.fullSpec, caBundle: Fixture.pem)
        let createOnly = objects.filter(\.createOnly)
        #expect(createOnly.map(\.description) == ["Secret metallb-system/metallb-memberlist"])
        let secret = try #require(createOnly.first)
        #expect(secret.object["type"] == "Opaque")
        #expect(secret.object["stringData"] == [MetalLBRenderer.memberlistSecretKey: .string(Fixture.key)])
    }

    @Test func webhookConfigurationOnlyWithACABundle() throws {
        #expect(try Fixture.render(nil).contains { $0.kind == "ValidatingWebhookConfiguration" } == false)
        #expect(try Fixture.render(nil, caBundle: "").contains { $0.kind == "ValidatingWebhookConfiguration" } == false)
        let objects = try Fixture.render(nil, caBundle: Fixture.pem)
        let vwc = try #require(objects.one("ValidatingWebhookConfiguration", MetalLBRenderer.webhookConfigurationName))
        let hooks = try #require(vwc["webhooks"]?.arrayValue)
        #expect(hooks.count == 1)
        let hook = try #require(hooks.first)
        #expect(hook["name"] == "config.metallb.io")
        #expect(hook["admissionReviewVersions"] == ["v1"])
        #expect(hook["sideEffects"] == "None")
        #expect(hook["failurePolicy"] == "Fail")
        #expect(hook["timeoutSeconds"] == 10)
        #expect(hook["clientConfig"]?["service"] == [
            "namespace": "metallb-system", "name": "metallb-webhook-service", "path": "/validate", "port": 443,
        ])
        let bundle = try #require(hook["clientConfig"]?["caBundle"]?.stringValue)
        #expect(Data(base64Encoded: bundle).map { String(decoding: $0, as: UTF8.self) } == Fixture.pem)
        let rules = try #require(hook["rules"]?.arrayValue)
        #expect(rules.count == 1)
        #expect(rules.first?["apiGroups"] == ["metallb.io"])
        #expect(rules.first?["apiVersions"] == ["*"])
        #expect(rules.first?["operations"] == ["CREATE", "UPDATE", "DELETE"])
        let resources = Set(rules.first?["resources"]?.strings ?? [])
        #expect(resources == ["ipaddresspools", "l2advertisements", "bgpadvertisements", "bgppeers", "bfdprofiles", "communities"])
        for notValidated in ["servicel2statuses", "servicebgpstatuses", "bgpsessionstates", "configurationstates", "metallbs"] {
            #expect(!resources.contains(notValidated))
        }
    }

    @Test func services() throws {
        let objects = try Fixture.render(nil)
        let webhook = try #require(objects.one("Service", "metallb-webhook-service"))
        #expect(webhook["spec"]?["selector"] == ["app": "metallb", "component": "controller"])
        #expect(webhook["spec"]?["ports"] == [["name": "webhook", "port": 443, "targetPort": 9443, "protocol": "TCP"]])
        #expect(webhook["spec"]?["clusterIP"] == nil)
        for (name, component) in [("controller-monitor-service", "controller"), ("speaker-monitor-service", "speaker")] {
            let s = try #require(objects.one("Service", name))
            #expect(s["spec"]?["clusterIP"] == "None")
            #expect(s["spec"]?["selector"] == ["app": "metallb", "component": .string(component)])
            #expect(s["spec"]?["ports"] == [["name": "monitoring", "port": 7472, "targetPort": 7472, "protocol": "TCP"]])
        }
        // Each selector matches its workload's pods.
        #expect(objects.deployment?["spec"]?["template"]?["metadata"]?["labels"] == webhook["spec"]?["selector"])
        #expect(objects.daemonSet?["spec"]?["template"]?["metadata"]?["labels"]
            == objects.one("Service", "speaker-monitor-service")?["spec"]?["selector"])
    }
}

// MARK: - Workloads and field mapping

@Suite("Operator renderer: workloads and field mapping")
struct RenderWorkloadTests {
    @Test func controllerDefaults() throws {
        let d = try #require(try Fixture.render(nil).deployment)
        #expect(d["spec"]?["replicas"] == 1)
        #expect(d["spec"]?["selector"]?["matchLabels"] == ["app": "metallb", "component": "controller"])
        #expect(d.args == ["controller", "--log-level=info", "--webhook-cert-dir=/etc/webhook-certs"])
        let c = try #require(d.container)
        #expect(c["image"] == "registry.example/metallb:0.1.0")
        #expect(c["imagePullPolicy"] == "IfNotPresent")
        #expect(c["env"] == [["name": "POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]]])
        #expect(c["ports"] == [
            ["name": "webhook", "containerPort": 9443, "protocol": "TCP"],
            ["name": "monitoring", "containerPort": 7472, "protocol": "TCP"],
        ])
        #expect(c["readinessProbe"]?["httpGet"] == ["path": "/readyz", "port": 7472])
        #expect(c["livenessProbe"]?["httpGet"] == ["path": "/healthz", "port": 7472])
        #expect(c["securityContext"] == [
            "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": ["drop": ["ALL"]],
        ])
        #expect(c["volumeMounts"] == [["name": "webhook-cert", "mountPath": "/etc/webhook-certs", "readOnly": true]])
        #expect(c["resources"] == nil)
        let pod = try #require(d.podSpec)
        #expect(pod["serviceAccountName"] == "controller")
        #expect(pod["securityContext"]?["runAsNonRoot"] == true)
        #expect(pod["securityContext"]?["runAsUser"] == 65534)
        #expect(pod["volumes"] == [["name": "webhook-cert", "secret": ["secretName": "metallb-webhook-cert", "optional": false]]])
        #expect(pod["nodeSelector"] == ["kubernetes.io/os": "linux"])
        #expect(pod["tolerations"] == nil)
        #expect(pod["hostNetwork"] == nil)
        for unset in ["priorityClassName", "runtimeClassName", "affinity"] { #expect(pod[unset] == nil) }
        #expect(d["spec"]?["template"]?["metadata"]?["annotations"] == nil)
    }

    @Test func speakerDefaults() throws {
        let ds = try #require(try Fixture.render(nil).daemonSet)
        #expect(ds["spec"]?["selector"]?["matchLabels"] == ["app": "metallb", "component": "speaker"])
        #expect(ds["spec"]?["updateStrategy"] == ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": 1]])
        #expect(ds.args == ["speaker", "--log-level=info", "--ml-labels=app=metallb,component=speaker"])
        let c = try #require(ds.container)
        #expect(c["env"] == [
            ["name": "METALLB_NODE_NAME", "valueFrom": ["fieldRef": ["fieldPath": "spec.nodeName"]]],
            ["name": "METALLB_POD_NAME", "valueFrom": ["fieldRef": ["fieldPath": "metadata.name"]]],
            ["name": "METALLB_ML_BIND_ADDR", "valueFrom": ["fieldRef": ["fieldPath": "status.podIP"]]],
            ["name": "METALLB_ML_SECRET_KEY_PATH", "value": "/etc/ml_secret_key"],
        ])
        #expect(c["ports"] == [
            ["name": "monitoring", "containerPort": 7472, "protocol": "TCP"],
            ["name": "memberlist-udp", "containerPort": 7946, "protocol": "UDP"],
        ])
        #expect(c["readinessProbe"]?["httpGet"] == ["path": "/readyz", "port": 7472])
        #expect(c["livenessProbe"]?["httpGet"] == ["path": "/healthz", "port": 7472])
        #expect(c["securityContext"]?["capabilities"]?["drop"] == ["ALL"])
        #expect(Set(c["securityContext"]?["capabilities"]?["add"]?.strings ?? []) == ["NET_RAW", "NET_ADMIN", "SYS_NICE", "NET_BIND_SERVICE"])
        #expect(c["securityContext"]?["allowPrivilegeEscalation"] == false)
        #expect(c["securityContext"]?["privileged"] == nil)
        #expect(c["volumeMounts"] == [["name": "memberlist", "mountPath": "/etc/ml_secret_key", "readOnly": true]])
        let pod = try #require(ds.podSpec)
        #expect(pod["serviceAccountName"] == "speaker")
        #expect(pod["hostNetwork"] == true)
        // Above the speaker's --hand-over-timeout (2 s).
        #expect((pod["terminationGracePeriodSeconds"]?.intValue ?? 0) > 2)
        #expect(pod["volumes"]?.arrayValue?.first?["secret"]?["secretName"] == "metallb-memberlist")
        #expect(pod["nodeSelector"] == ["kubernetes.io/os": "linux"])
        #expect(pod["tolerations"] == [
            ["key": "node-role.kubernetes.io/master", "operator": "Exists", "effect": "NoSchedule"],
            ["key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"],
        ])
    }

    @Test func everyFieldMapsWhereItShould() throws {
        let spec = Fixture.fullSpec
        let objects = try Fixture.render(spec, caBundle: Fixture.pem)
        let d = try #require(objects.deployment), ds = try #require(objects.daemonSet)

        // logLevel and loadBalancerClass: both roles.
        #expect(d.args == ["controller", "--log-level=debug", "--webhook-cert-dir=/etc/webhook-certs", "--lb-class=example.com/metallb"])
        // speakerGratuitousARPInterval: the speaker only, as Go writes the duration.
        #expect(ds.args == ["speaker", "--log-level=debug", "--ml-labels=app=metallb,component=speaker",
                            "--lb-class=example.com/metallb", "--gratuitous-arp-interval=1m30s"])

        // nodeSelector → speakers, controllerNodeSelector → controller, each with kubernetes.io/os.
        #expect(ds.podSpec?["nodeSelector"]?.stringMap == ["kubernetes.io/os": "linux", "metallb.io/speaker": "yes", "topology.kubernetes.io/zone": "a"])
        #expect(d.podSpec?["nodeSelector"]?.stringMap == ["kubernetes.io/os": "linux", "node-role.kubernetes.io/infra": ""])

        // Tolerations: the speakers' after MetalLB's defaults; the controller's alone.
        let speakerTolerations = try #require(ds.podSpec?["tolerations"]?.arrayValue)
        #expect(speakerTolerations.count == 4)
        #expect(Array(speakerTolerations.suffix(2)) == [
            ["key": "dedicated", "operator": "Equal", "value": "lb", "effect": "NoSchedule"],
            ["key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30],
        ])
        #expect(d.podSpec?["tolerations"] == [["key": "node-role.kubernetes.io/infra", "operator": "Exists", "effect": "NoSchedule"]])

        // speakerConfig / controllerConfig: pod spec, pod annotations, container resources; never crossed.
        for (w, config) in [(ds, spec.speakerConfig!), (d, spec.controllerConfig!)] {
            #expect(w.podSpec?["priorityClassName"]?.stringValue == config.priorityClassName)
            #expect(w.podSpec?["runtimeClassName"]?.stringValue == config.runtimeClassName)
            #expect(w.podSpec?["affinity"] == config.affinity)
            #expect(w.container?["resources"] == config.resources)
            #expect(w["spec"]?["template"]?["metadata"]?["annotations"]?.stringMap == config.annotations)
            // Labels stay the selector's: annotations do not leak into them.
            #expect(w["spec"]?["template"]?["metadata"]?["labels"]?.stringMap.count == 2)
        }

        // image is ignored: the installation's image runs.
        #expect(d.container?["image"] == "registry.example/metallb:0.1.0")
        #expect(ds.container?["image"] == "registry.example/metallb:0.1.0")
        let yaml = try MetalLBRenderer.yaml(objects)
        #expect(!yaml.contains("ignored.example"))
    }

    @Test(arguments: [
        ("0", "0s"), ("0s", "0s"), ("1s", "1s"), ("1000ms", "1s"), ("1.5s", "1.5s"), ("90s", "1m30s"), ("+2m", "2m0s"), ("1h", "1h0m0s"),
    ])
    func gratuitousARPIntervalAccepted(_ given: String, _ rendered: String) throws {
        let ds = try #require(try Fixture.render(MetalLBSpec(speakerGratuitousARPInterval: given)).daemonSet)
        #expect(ds.args.last == "--gratuitous-arp-interval=\(rendered)")
        #expect(ds.args.filter { $0.hasPrefix("--gratuitous-arp-interval") }.count == 1)
    }

    @Test func emptyStringsMeanUnset() throws {
        let spec = MetalLBSpec(logLevel: "", bgpBackend: "", loadBalancerClass: "", speakerGratuitousARPInterval: "",
                               speakerConfig: MetalLBComponentConfig(priorityClassName: "", runtimeClassName: "", resources: .null, affinity: .object([:])))
        let objects = try Fixture.render(spec)
        let baseline = try Fixture.render(nil)
        #expect(objects == baseline)
    }

    @Test(arguments: MetalLBLogLevel.allCases)
    func everyLogLevel(_ level: MetalLBLogLevel) throws {
        let objects = try Fixture.render(MetalLBSpec(logLevel: level.rawValue))
        #expect(objects.deployment?.args.contains("--log-level=\(level.rawValue)") == true)
        #expect(objects.daemonSet?.args.contains("--log-level=\(level.rawValue)") == true)
    }
}

// MARK: - Refusals

@Suite("Operator renderer: refusals")
struct RenderRefusalTests {
    static let cases: [(String, MetalLBSpec, String)] = [
        ("unknown log level", MetalLBSpec(logLevel: "verbose"), "InvalidLogLevel"),
        ("log level in capitals", MetalLBSpec(logLevel: "INFO"), "InvalidLogLevel"),
        ("frr backend", MetalLBSpec(bgpBackend: "frr"), "UnsupportedBGPBackend"),
        ("frr-k8s backend", MetalLBSpec(bgpBackend: "frr-k8s"), "UnsupportedBGPBackend"),
        ("frr-k8s-external backend", MetalLBSpec(bgpBackend: "frr-k8s-external"), "UnsupportedBGPBackend"),
        ("unknown backend", MetalLBSpec(bgpBackend: "gobgp"), "UnsupportedBGPBackend"),
        ("frrk8sConfig", MetalLBSpec(frrk8sConfig: ["namespace": "frr-k8s-system"]), "UnsupportedFRRK8sConfig"),
        ("interval not a duration", MetalLBSpec(speakerGratuitousARPInterval: "often"), "InvalidGratuitousARPInterval"),
        ("interval without unit", MetalLBSpec(speakerGratuitousARPInterval: "30"), "InvalidGratuitousARPInterval"),
        ("interval below 1s", MetalLBSpec(speakerGratuitousARPInterval: "500ms"), "InvalidGratuitousARPInterval"),
        ("negative interval", MetalLBSpec(speakerGratuitousARPInterval: "-5s"), "InvalidGratuitousARPInterval"),
        ("speakers on windows", MetalLBSpec(nodeSelector: ["kubernetes.io/os": "windows"]), "InvalidNodeSelector"),
        ("controller on windows", MetalLBSpec(controllerNodeSelector: ["kubernetes.io/os": "windows"]), "InvalidNodeSelector"),
        ("tolerationSeconds without NoExecute",
         MetalLBSpec(speakerTolerations: [Toleration(key: "k", operator: "Exists", effect: "NoSchedule", tolerationSeconds: 5)]), "InvalidTolerations"),
        ("unknown toleration operator",
         MetalLBSpec(controllerTolerations: [Toleration(key: "k", operator: "In", value: "v")]), "InvalidTolerations"),
        ("Exists with a value", MetalLBSpec(speakerTolerations: [Toleration(key: "k", operator: "Exists", value: "v")]), "InvalidTolerations"),
        ("no key, operator Equal", MetalLBSpec(speakerTolerations: [Toleration(value: "v")]), "InvalidTolerations"),
        ("unknown effect", MetalLBSpec(speakerTolerations: [Toleration(key: "k", effect: "NoRun")]), "InvalidTolerations"),
        ("resources not an object", MetalLBSpec(speakerConfig: MetalLBComponentConfig(resources: "1 cpu")), "InvalidPodConfig"),
        ("affinity not an object", MetalLBSpec(controllerConfig: MetalLBComponentConfig(affinity: ["x"])), "InvalidPodConfig"),
    ]

    @Test(arguments: cases.indices)
    func refused(_ index: Int) throws {
        let (what, spec, reason) = Self.cases[index]
        let error = try #require(renderError { try Fixture.render(spec) }, "\(what) was rendered")
        #expect(error.reason == reason, "\(what)")
        // A condition reason is CamelCase (the CRD's pattern) and the message says what to do.
        #expect(error.reason.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } && error.reason.first?.isUppercase == true)
        #expect(error.message.contains("spec."), "\(what): \(error.message)")
    }

    @Test func acceptedNeighbours() throws {
        // The values next to the refused ones.
        _ = try Fixture.render(MetalLBSpec(bgpBackend: "native"))
        _ = try Fixture.render(MetalLBSpec(frrk8sConfig: .null))
        _ = try Fixture.render(MetalLBSpec(frrk8sConfig: .object([:])))
        _ = try Fixture.render(MetalLBSpec(nodeSelector: ["kubernetes.io/os": "linux"]))
        _ = try Fixture.render(MetalLBSpec(speakerTolerations: [Toleration(operator: "Exists")]))
        _ = try Fixture.render(MetalLBSpec(speakerTolerations: [Toleration(key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 0)]))
    }

    @Test func objectAndSettingsProblems() {
        var elsewhere = Fixture.metallb()
        elsewhere.metadata.namespace = "default"
        #expect(renderError { try MetalLBRenderer.render(elsewhere, settings: Fixture.settings(), memberlistKey: Fixture.key) }?.reason
            == "NotInOperatorNamespace")
        var noUID = Fixture.metallb()
        noUID.metadata.uid = nil
        #expect(renderError { try MetalLBRenderer.render(noUID, settings: Fixture.settings(), memberlistKey: Fixture.key) }?.reason
            == "IncompleteMetalLB")
        #expect(renderError { try MetalLBRenderer.render(Fixture.metallb(), settings: Fixture.settings(), memberlistKey: "short") }?.reason
            == "InvalidMembershipKey")
        #expect(renderError { try MetalLBRenderer.render(Fixture.metallb(), settings: Fixture.settings(), memberlistKey: "   \n") }?.reason
            == "InvalidMembershipKey")
        var noImage = Fixture.settings()
        noImage.image = ""
        #expect(renderError { try MetalLBRenderer.render(Fixture.metallb(), settings: noImage, memberlistKey: Fixture.key) }?.reason
            == "InvalidOperatorSettings")
    }
}

// MARK: - RBAC

@Suite("Operator renderer: RBAC")
struct RenderRBACTests {
    struct Rule: Hashable {
        var groups: Set<String>, resources: Set<String>, verbs: Set<String>, names: Set<String>
    }

    static func rules(_ objects: [RenderedObject], _ kind: String, _ name: String) throws -> [Rule] {
        let o = try #require(objects.one(kind, name), "\(kind) \(name)")
        return (o["rules"]?.arrayValue ?? []).map {
            Rule(groups: Set($0["apiGroups"]?.strings ?? []), resources: Set($0["resources"]?.strings ?? []),
                 verbs: Set($0["verbs"]?.strings ?? []), names: Set($0["resourceNames"]?.strings ?? []))
        }
    }

    static func allows(_ rules: [Rule], _ group: String, _ resource: String, _ verb: String) -> Bool {
        rules.contains { $0.groups.contains(group) && $0.resources.contains(resource) && $0.verbs.contains(verb) }
    }

    static let writeVerbs: Set<String> = ["create", "update", "patch", "delete", "deletecollection", "*"]

    @Test func speakerCannotWriteServicesOrSecrets() throws {
        let objects = try Fixture.render(nil)
        let all = try Self.rules(objects, "ClusterRole", "metallb-system:speaker") + Self.rules(objects, "Role", "speaker")
        #expect(!all.isEmpty)
        for rule in all where rule.groups.contains("") || rule.groups.contains("*") {
            let touched = rule.resources.filter { $0 == "*" || $0.hasPrefix("services") || $0.hasPrefix("secrets") }
            if !touched.isEmpty {
                #expect(rule.verbs.isDisjoint(with: Self.writeVerbs), "speaker may write \(touched): \(rule)")
            }
        }
        // Secrets are readable in the namespace only.
        let cluster = try Self.rules(objects, "ClusterRole", "metallb-system:speaker")
        #expect(!cluster.contains { $0.resources.contains("secrets") })
        for verb in ["get", "list", "watch"] {
            #expect(Self.allows(try Self.rules(objects, "Role", "speaker"), "", "secrets", verb))
        }
    }

    @Test func noWildcards() throws {
        let objects = try Fixture.render(nil)
        for (kind, name) in [("ClusterRole", "metallb-system:controller"), ("ClusterRole", "metallb-system:speaker"),
                             ("Role", "controller"), ("Role", "speaker")] {
            for rule in try Self.rules(objects, kind, name) {
                #expect(!rule.verbs.contains("*") && !rule.resources.contains("*") && !rule.groups.contains("*"), "\(name): \(rule)")
            }
        }
    }

    @Test func controllerHasWhatItsCodeUses() throws {
        let objects = try Fixture.render(nil)
        let cluster = try Self.rules(objects, "ClusterRole", "metallb-system:controller")
        let ns = try Self.rules(objects, "Role", "controller")
        #expect(Self.allows(cluster, "", "services/status", "patch"))
        #expect(Self.allows(cluster, "", "services", "watch"))
        #expect(!Self.allows(cluster, "", "services", "patch") && !Self.allows(cluster, "", "services", "update"))
        #expect(Self.allows(cluster, "", "events", "create") && Self.allows(cluster, "", "events", "patch"))
        #expect(Self.allows(cluster, "", "namespaces", "watch") && Self.allows(cluster, "", "nodes", "list"))
        #expect(Self.allows(ns, "metallb.io", "ipaddresspools/status", "patch"))
        #expect(Self.allows(ns, "coordination.k8s.io", "leases", "create") && Self.allows(ns, "coordination.k8s.io", "leases", "update"))
        #expect(ns.contains { $0.resources == ["leases"] && $0.verbs.contains("update") && $0.names == ["metallb-controller"] })
        #expect(Self.allows(ns, "", "secrets", "list") && !Self.allows(ns, "", "secrets", "get"))
        for r in RBACRules.configurationKinds { #expect(Self.allows(ns, "metallb.io", r, "watch"), "\(r)") }
        // Nothing of the controller writes Secrets (the operator creates the membership key) or Pods.
        for rule in cluster + ns where rule.resources.contains("secrets") || rule.resources.contains("pods") {
            #expect(rule.verbs.isDisjoint(with: Self.writeVerbs))
        }
    }

    @Test func speakerHasWhatItsCodeUses() throws {
        let objects = try Fixture.render(nil)
        let cluster = try Self.rules(objects, "ClusterRole", "metallb-system:speaker")
        let ns = try Self.rules(objects, "Role", "speaker")
        for (group, resource) in [("", "services"), ("discovery.k8s.io", "endpointslices"), ("", "nodes")] {
            #expect(Self.allows(cluster, group, resource, "list") && Self.allows(cluster, group, resource, "watch"), "\(resource)")
        }
        #expect(Self.allows(ns, "", "pods", "watch"))
        for verb in ["list", "watch", "create", "delete"] { #expect(Self.allows(ns, "metallb.io", "servicel2statuses", verb)) }
        #expect(Self.allows(ns, "metallb.io", "servicel2statuses/status", "patch"))
        #expect(Self.allows(ns, "metallb.io", "configurationstates", "create") && Self.allows(ns, "metallb.io", "configurationstates/status", "patch"))
        // The speaker has no leader election, writes no pool status and no Service status.
        #expect(!Self.allows(ns, "coordination.k8s.io", "leases", "create"))
        #expect(!Self.allows(ns, "metallb.io", "ipaddresspools/status", "patch"))
        #expect(!Self.allows(cluster, "", "services/status", "patch"))
    }

    @Test func bindings() throws {
        let objects = try Fixture.render(nil)
        for role in ["controller", "speaker"] {
            let crb = try #require(objects.one("ClusterRoleBinding", "metallb-system:\(role)"))
            #expect(crb["roleRef"] == ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string("metallb-system:\(role)")])
            #expect(crb["subjects"] == [["kind": "ServiceAccount", "name": .string(role), "namespace": "metallb-system"]])
            let rb = try #require(objects.one("RoleBinding", role))
            #expect(rb["roleRef"] == ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": .string(role)])
            #expect(rb["subjects"] == [["kind": "ServiceAccount", "name": .string(role), "namespace": "metallb-system"]])
        }
    }
}

// MARK: - YAML

@Suite("Operator renderer: YAML")
struct RenderYAMLTests {
    @Test func ambiguousStringsAreQuoted() throws {
        let value: JSONValue = [
            "bool": "true", "yes": "yes", "number": "7472", "octal": "0400", "float": "1.5", "null": "null", "empty": "",
            "negative": "-5", "point": ".5", "signedPoint": "-.5", "infinity": "-.inf", "dash": "-",
            "plain": "metallb", "label": "app=metallb,component=speaker", "flag": "--log-level=info",
            "int": 7472, "realBool": false, "list": ["ALL", "on"], "5": "numeric key",
        ]
        let text = try MetalLBRenderer.yaml(value)
        #expect(try YAMLDocuments.parse(text) == [value])
        #expect(text.contains("plain: metallb\n"))
        #expect(text.contains("flag: --log-level=info\n"))
        #expect(text.contains("int: 7472\n"))
        #expect(text.contains("bool: 'true'\n"))
        // Sorted keys.
        let keys = text.split(separator: "\n").filter { !$0.hasPrefix(" ") && !$0.hasPrefix("-") }
            .map { String($0.split(separator: ":")[0]).replacingOccurrences(of: "'", with: "") }
        #expect(keys.count == 19)
        #expect(keys == keys.sorted())
    }
}
