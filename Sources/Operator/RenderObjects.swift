import API
import Kube

/// The ServiceAccounts, RBAC, Services, the membership Secret and the webhook configuration.
extension MetalLBRenderer {
    /// A namespaced object's metadata: the operator's labels and the controlling ownerReference to the `MetalLB`.
    static func namespacedMetadata(_ name: String, _ input: RenderInput) -> JSONValue {
        [
            "name": .string(name), "namespace": .string(input.namespace),
            "labels": .strings(labels(settings: input.settings)),
            "ownerReferences": [input.owner],
        ]
    }

    /// A cluster-scoped object's metadata: no ownerReference (one to a namespaced owner is not allowed), the
    /// operator's labels plus the operator's namespace.
    static func clusterMetadata(_ name: String, _ input: RenderInput) -> JSONValue {
        ["name": .string(name), "labels": .strings(clusterLabels(settings: input.settings))]
    }

    static func object(_ apiVersion: String, _ kind: String, _ metadata: JSONValue, _ rest: [String: JSONValue] = [:]) -> UnstructuredObject {
        var o = rest
        o["apiVersion"] = .string(apiVersion)
        o["kind"] = .string(kind)
        o["metadata"] = metadata
        return UnstructuredObject(o)
    }

    static func serviceAccount(_ name: String, _ input: RenderInput) -> UnstructuredObject {
        object("v1", "ServiceAccount", namespacedMetadata(name, input))
    }

    static func subjects(_ role: String, _ input: RenderInput) -> JSONValue {
        [["kind": "ServiceAccount", "name": .string(role), "namespace": .string(input.namespace)]]
    }

    static func clusterRole(_ role: String, rules: [PolicyRule], _ input: RenderInput) -> UnstructuredObject {
        object("rbac.authorization.k8s.io/v1", "ClusterRole", clusterMetadata(clusterRoleName(role, settings: input.settings), input),
               ["rules": .array(rules.map(\.json))])
    }

    static func clusterRoleBinding(_ role: String, _ input: RenderInput) -> UnstructuredObject {
        let name = clusterRoleName(role, settings: input.settings)
        return object("rbac.authorization.k8s.io/v1", "ClusterRoleBinding", clusterMetadata(name, input), [
            "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": .string(name)],
            "subjects": subjects(role, input),
        ])
    }

    static func role(_ role: String, rules: [PolicyRule], _ input: RenderInput) -> UnstructuredObject {
        object("rbac.authorization.k8s.io/v1", "Role", namespacedMetadata(role, input), ["rules": .array(rules.map(\.json))])
    }

    static func roleBinding(_ role: String, _ input: RenderInput) -> UnstructuredObject {
        object("rbac.authorization.k8s.io/v1", "RoleBinding", namespacedMetadata(role, input), [
            "roleRef": ["apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": .string(role)],
            "subjects": subjects(role, input),
        ])
    }

    /// The speakers' membership key. Created once, never overwritten: a new key on every reconcile would split the
    /// membership until every speaker restarted.
    static func memberlistSecret(_ input: RenderInput) -> UnstructuredObject {
        object("v1", "Secret", namespacedMetadata(memberlistSecretName, input), [
            "type": "Opaque",
            "stringData": [memberlistSecretKey: .string(input.memberlistKey)],
        ])
    }

    static func servicePort(_ name: String, port: Int64, targetPort: Int64) -> JSONValue {
        ["name": .string(name), "port": .int(port), "targetPort": .int(targetPort), "protocol": "TCP"]
    }

    /// The Service the API server calls the webhook through: 443 → the controller's 9443.
    static func webhookService(_ input: RenderInput) -> UnstructuredObject {
        object("v1", "Service", namespacedMetadata(webhookServiceName, input), [
            "spec": [
                "selector": .strings(controllerPodLabels),
                "ports": [servicePort("webhook", port: 443, targetPort: webhookPort)],
            ],
        ])
    }

    /// A headless Service for Prometheus to discover the pods' plain-HTTP /metrics.
    static func monitorService(_ name: String, selector: [String: String], _ input: RenderInput) -> UnstructuredObject {
        object("v1", "Service", namespacedMetadata(name, input), [
            "spec": [
                "clusterIP": "None",
                "selector": .strings(selector),
                "ports": [servicePort("monitoring", port: monitoringPort, targetPort: monitoringPort)],
            ],
        ])
    }

    /// The validating webhook for the configuration kinds, served by the controller.
    static func webhookConfiguration(caBundle: String, _ input: RenderInput) -> UnstructuredObject {
        object("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", clusterMetadata(webhookConfigurationName, input), [
            "webhooks": [[
                "name": .string(webhookName),
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Fail",
                "timeoutSeconds": 10,
                "clientConfig": [
                    "service": [
                        "namespace": .string(input.namespace), "name": .string(webhookServiceName),
                        "path": .string(webhookPath), "port": 443,
                    ],
                    "caBundle": .string(caBundle),
                ],
                "rules": [[
                    "apiGroups": [.string(MetalLBAPI.group)],
                    "apiVersions": ["*"],
                    "operations": ["CREATE", "UPDATE", "DELETE"],
                    "resources": .array(webhookResources.map { .string($0) }),
                    "scope": "Namespaced",
                ]],
            ]],
        ])
    }
}
