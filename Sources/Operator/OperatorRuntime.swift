import API
import Foundation
import Kube
import Logging

/// Any object the operator manages, kept as JSON, so that one informer type serves every kind (the kind comes from the
/// `ResourceType` given to the cache).
public struct ManagedObject: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)
    public var object: UnstructuredObject

    public init(from decoder: any Decoder) throws { object = try UnstructuredObject(from: decoder) }
    public func encode(to encoder: any Encoder) throws { try object.encode(to: encoder) }

    public var apiVersion: String? {
        get { object.apiVersion }
        set { object["apiVersion"] = newValue.map { .string($0) } }
    }
    public var kind: String? {
        get { object.kind }
        set { object["kind"] = newValue.map { .string($0) } }
    }
    public var metadata: ObjectMeta {
        get { object.metadata }
        set { object.metadata = newValue }
    }
}

/// The operator: reconciles the `MetalLB` named "metallb" in its namespace (see `MetalLBReconciler`).
public final class OperatorRuntime: Sendable {
    public let client: KubeClient
    public let settings: OperatorSettings
    let logger = Logger(label: "operator")

    /// Every kind the operator renders, and so watches and prunes.
    public static let managedKinds: [ResourceType] = [
        ResourceType(group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true),
        ResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterroles", kind: "ClusterRole", namespaced: false),
        ResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false),
        ResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "roles", kind: "Role", namespaced: true),
        ResourceType(group: "rbac.authorization.k8s.io", version: "v1", plural: "rolebindings", kind: "RoleBinding", namespaced: true),
        ResourceType(group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true),
        ResourceType(group: "", version: "v1", plural: "services", kind: "Service", namespaced: true),
        ResourceType(group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true),
        ResourceType(group: "apps", version: "v1", plural: "daemonsets", kind: "DaemonSet", namespaced: true),
        ResourceType(group: "admissionregistration.k8s.io", version: "v1", plural: "validatingwebhookconfigurations", kind: "ValidatingWebhookConfiguration", namespaced: false),
    ]

    public static let finalizer = "metallb.io/operator-cleanup"
    public static let managedByLabel = "app.kubernetes.io/managed-by"
    public static let operatorNamespaceLabel = "metallb.io/operator-namespace"
    /// The one key every change maps to: the reconcile looks at every `MetalLB` in the namespace at once.
    public static let key = ObjectKey(namespace: nil, name: "metallb")

    public init(client: KubeClient, settings: OperatorSettings) {
        self.client = client
        self.settings = settings
    }

    /// The selector of what this operator rendered: namespaced kinds are listed in its namespace, cluster-scoped ones
    /// carry the operator's namespace as a label.
    static func selector(namespaced: Bool, namespace: String) -> String {
        namespaced ? "\(managedByLabel)=\(MetalLBRenderer.fieldManager)"
            : "\(managedByLabel)=\(MetalLBRenderer.fieldManager),\(operatorNamespaceLabel)=\(namespace)"
    }

    /// Runs until the calling task is cancelled.
    public func run() async {
        let ns = settings.namespace
        let cache = InformerCache(client: client)
        let metallbs = await cache.informer(MetalLB.self, namespace: ns)
        let pods = await cache.informer(Pod.self, namespace: ns, options: ListOptions(labelSelector: "app=metallb"))
        var owned: [Informer<ManagedObject>] = []
        for kind in Self.managedKinds {
            owned.append(await cache.informer(ManagedObject.self, namespace: kind.namespaced ? ns : nil,
                                              options: ListOptions(labelSelector: Self.selector(namespaced: kind.namespaced, namespace: ns)),
                                              resource: kind))
        }
        let reconciler = MetalLBReconciler(runtime: self, metallbs: metallbs, pods: pods, logger: logger)
        let controller = Controller(name: "operator.metallb", reconciler: reconciler, workers: 1)
        let key = Self.key
        await controller.watch(metallbs) { _ in [key] }
        await controller.watch(pods) { _ in [key] }
        for informer in owned { await controller.watch(informer) { _ in [key] } }
        logger.info("reconciling", metadata: ["namespace": "\(ns)", "image": "\(settings.image)", "version": "\(settings.version)"])
        await cache.start()
        await controller.run()
        await cache.stop()
    }
}

/// Makes what runs match the `MetalLB` named "metallb": renders, applies (server-side apply, one field manager),
/// prunes what it no longer renders, keeps the webhook certificate valid, and writes the status. Any other `MetalLB`
/// in the namespace gets `Degraded` with what to do, and nothing is deployed for it.
struct MetalLBReconciler: Reconciler {
    let runtime: OperatorRuntime
    let metallbs: Informer<MetalLB>
    let pods: Informer<Pod>
    let logger: Logger

    var client: KubeClient { runtime.client }
    var settings: OperatorSettings { runtime.settings }

    func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        let ns = settings.namespace
        let all = await metallbs.list()
        for other in all where other.name != "metallb" {
            try await writeStatus(other, MetalLBStatus(conditions: [Condition(
                type: MetalLBConditionType.degraded.rawValue, status: "True", observedGeneration: other.metadata.generation,
                lastTransitionTime: other.status?.conditions?.first { $0.type == "Degraded" && $0.status == "True" }?.lastTransitionTime ?? KubeTime.time(),
                reason: "IgnoredName",
                message: "only the MetalLB named \"metallb\" in namespace \(ns) is used; nothing is deployed for \"\(other.name)\": rename it to metallb (or delete it)")]))
        }
        guard let metallb = all.first(where: { $0.name == "metallb" }) else {
            // No MetalLB (deleted without our finalizer, say): nothing may keep running.
            try await prune(keeping: [])
            return .done
        }
        if metallb.metadata.deletionTimestamp != nil {
            try await prune(keeping: [])
            try await setFinalizer(metallb, present: false)
            logger.info("MetalLB deleted: removed everything it ran")
            return .done
        }
        if !(metallb.metadata.finalizers ?? []).contains(OperatorRuntime.finalizer) {
            try await setFinalizer(metallb, present: true)
        }

        var observed = OperatorObservation()
        // The webhook's certificate, kept valid in its Secret.
        let secrets = client.resource(Secret.self, namespace: ns)
        var caBundle: String?
        do {
            let existing = try await secrets.getIfExists(MetalLBRenderer.webhookCertSecretName)
            let current = (existing?.data ?? [:]).compactMapValues { Data(base64Encoded: $0).map { String(decoding: $0, as: UTF8.self) } }
            let service = MetalLBRenderer.webhookServiceName
            let certs = try WebhookCertificates.ensure(current: current, dnsNames: ["\(service).\(ns).svc", "\(service).\(ns).svc.cluster.local"])
            if !certs.changes.isEmpty || existing == nil {
                var secret = Secret(metadata: ObjectMeta(name: MetalLBRenderer.webhookCertSecretName, namespace: ns,
                                                         labels: MetalLBRenderer.labels(settings: settings)))
                secret.setTypeMeta()
                secret.type = "kubernetes.io/tls"
                secret.data = certs.data.mapValues { Data($0.utf8).base64EncodedString() }
                secret.metadata.ownerReferences = [ownerReference(metallb)]
                _ = try await secrets.apply(secret, name: secret.name, fieldManager: MetalLBRenderer.fieldManager, force: true)
                logger.info("webhook certificate", metadata: ["changes": "\(certs.changes.joined(separator: "; "))"])
            }
            caBundle = certs.caBundle
        } catch {
            observed.certificateError = "\(error)"
        }

        // Register the webhook only once the controller serves it (else every configuration change would fail), and
        // keep it registered after that.
        let deployments = client.resource(Deployment.self, namespace: ns)
        let daemonSets = client.resource(DaemonSet.self, namespace: ns)
        let deployment = try await deployments.getIfExists("controller")
        let vwcType = OperatorRuntime.managedKinds.first { $0.kind == "ValidatingWebhookConfiguration" }!
        let vwcExists = try await client.resource(vwcType, namespace: nil).getIfExists(MetalLBRenderer.webhookConfigurationName) != nil
        var renderSettings = settings
        renderSettings.webhookCABundle = ((deployment?.status?.readyReplicas ?? 0) >= 1 || vwcExists) ? caBundle : nil
        observed.webhookRegistered = renderSettings.webhookCABundle != nil

        let rendered: Result<[RenderedObject], RenderError>
        do throws(RenderError) {
            rendered = .success(try MetalLBRenderer.render(metallb, settings: renderSettings, memberlistKey: Self.randomKey()))
        } catch {
            rendered = .failure(error)
        }
        switch rendered {
        case .success(let objects):
            for object in objects {
                do {
                    try await apply(object)
                } catch {
                    observed.applyErrors.append("\(object): \(error)")
                }
            }
            if observed.applyErrors.isEmpty { try await prune(keeping: objects) }
        case .failure(let error):
            observed.renderError = error
            logger.warning("MetalLB refused", metadata: ["reason": "\(error.reason)", "message": "\(error.message)"])
        }

        let d = try await deployments.getIfExists("controller")
        let ds = try await daemonSets.getIfExists("speaker")
        observed.deployment = d?.status
        observed.deploymentGeneration = d?.metadata.generation
        observed.daemonSet = ds?.status
        observed.daemonSetGeneration = ds?.metadata.generation
        observed.pods = await pods.list()
        let status = MetalLBStatusPlan.status(for: metallb, observed: observed, previous: metallb.status, now: KubeTime.time())
        if status != metallb.status { try await writeStatus(metallb, status) }
        // Pods and workloads report through their informers; the certificate is looked at again daily.
        return status.conditions?.contains { $0.type == "Available" && $0.status == "True" } == true ? .requeueAfter(.seconds(86_400)) : .requeueAfter(.seconds(30))
    }

    private func apply(_ rendered: RenderedObject) async throws {
        guard let type = OperatorRuntime.managedKinds.first(where: { $0.kind == rendered.kind }) else {
            throw RenderError(reason: "UnknownKind", message: "the operator does not manage \(rendered.kind)")
        }
        let resource = client.resource(type, namespace: rendered.namespace)
        if rendered.createOnly {
            if try await resource.getIfExists(rendered.name) == nil {
                do {
                    _ = try await resource.create(rendered.object)
                } catch let e as KubeError where e.isAlreadyExists {
                    // Created meanwhile by another replica: keep theirs.
                }
            }
            return
        }
        _ = try await resource.apply(rendered.object, name: rendered.name, fieldManager: MetalLBRenderer.fieldManager, force: true)
    }

    /// Deletes what this operator rendered and no longer renders (everything, with `keeping` empty).
    private func prune(keeping objects: [RenderedObject]) async throws {
        let ns = settings.namespace
        let wanted = Set(objects.map { "\($0.kind)/\($0.namespace ?? "")/\($0.name)" })
        let removeAll = objects.isEmpty
        for type in OperatorRuntime.managedKinds {
            let resource = client.resource(type, namespace: type.namespaced ? ns : nil)
            let items = try await resource.listAll(ListOptions(labelSelector: OperatorRuntime.selector(namespaced: type.namespaced, namespace: ns))).items
            for item in items {
                let name = item.metadata.name ?? ""
                let id = "\(type.kind)/\(item.metadata.namespace ?? "")/\(name)"
                if wanted.contains(id) { continue }
                // The certificate Secret is not rendered but written apart; it goes only with everything else.
                if !removeAll && type.kind == "Secret" && name == MetalLBRenderer.webhookCertSecretName { continue }
                if try await resource.deleteIfExists(name, options: DeleteOptions(propagationPolicy: .background)) {
                    logger.info("removed", metadata: ["object": "\(id)"])
                }
            }
        }
    }

    private func setFinalizer(_ metallb: MetalLB, present: Bool) async throws {
        var finalizers = (metallb.metadata.finalizers ?? []).filter { $0 != OperatorRuntime.finalizer }
        if present { finalizers.append(OperatorRuntime.finalizer) }
        _ = try await client.resource(MetalLB.self, namespace: metallb.namespace).mergePatch(
            metallb.name, patch: ["metadata": ["finalizers": .array(finalizers.map { .string($0) }), "resourceVersion": .string(metallb.metadata.resourceVersion ?? "")]])
    }

    private func writeStatus(_ metallb: MetalLB, _ status: MetalLBStatus) async throws {
        guard status != metallb.status else { return }
        _ = try await client.resource(MetalLB.self, namespace: metallb.namespace).mergePatch(
            metallb.name, patch: ["status": try JSONValue(encoding: status)], subresource: "status")
    }

    private func ownerReference(_ metallb: MetalLB) -> OwnerReference {
        OwnerReference(apiVersion: "metallb.io/v1beta1", kind: "MetalLB", name: metallb.name, uid: metallb.metadata.uid ?? "",
                       controller: true, blockOwnerDeletion: true)
    }

    /// 32 random bytes, base64: the membership key of a new installation.
    static func randomKey() -> String {
        var bytes = [UInt8](repeating: 0, count: 32)
        var g = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0 ... 255, using: &g) }
        return Data(bytes).base64EncodedString()
    }
}
