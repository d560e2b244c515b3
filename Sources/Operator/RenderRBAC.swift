import API
import Kube

/// One RBAC rule (rbac.authorization.k8s.io/v1 PolicyRule).
struct PolicyRule: Hashable {
    var apiGroups: [String]
    var resources: [String]
    var verbs: [String]
    /// Empty: every object of the resources.
    var resourceNames: [String] = []

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "apiGroups": .array(apiGroups.map { .string($0) }),
            "resources": .array(resources.map { .string($0) }),
            "verbs": .array(verbs.map { .string($0) }),
        ]
        if !resourceNames.isEmpty { o["resourceNames"] = .array(resourceNames.map { .string($0) }) }
        return .object(o)
    }
}

/// The least-privilege rules of the controller and the speakers, each derived from a code path that needs it
/// (docs/operator.md, "RBAC", has the same list with the reasons). Cluster-wide rules go in the ClusterRole
/// `<namespace>:<role>`, the rest in the Role `<role>` of the operator's namespace.
///
/// Notes that hold for every rule: informers only list and watch (`Informer` never GETs one object); server-side
/// apply of an object that may not exist yet needs `create` besides `patch` (the API server checks both when a PATCH
/// creates); RBAC does not tell API versions apart, so the EndpointSlice rule covers discovery.k8s.io v1 and v1beta1.
enum RBACRules {
    static let core = ""
    static let metallb = MetalLBAPI.group
    /// The configuration kinds and the MetalLB object, which `ConfigurationInformers` watches and the webhook's
    /// `Configuration.list` lists.
    static let configurationKinds = MetalLBRenderer.webhookResources + ["metallbs"]

    static let controllerCluster: [PolicyRule] = [
        // ServiceReconciler: the Service informer, every namespace.
        PolicyRule(apiGroups: [core], resources: ["services"], verbs: ["list", "watch"]),
        // ServiceReconciler.writeIngress: merge patch of status.loadBalancer.ingress.
        PolicyRule(apiGroups: [core], resources: ["services/status"], verbs: ["patch"]),
        // ControllerRuntime: the Namespace informer (pools' namespace selectors).
        PolicyRule(apiGroups: [core], resources: ["namespaces"], verbs: ["list", "watch"]),
        // The webhook: Configuration.list(includeNodes: true) for the rules that depend on node selectors.
        PolicyRule(apiGroups: [core], resources: ["nodes"], verbs: ["list"]),
        // EventRecorder: Events about Services in their own namespaces (a repeat merge-patches the count).
        PolicyRule(apiGroups: [core], resources: ["events"], verbs: ["create", "patch"]),
    ]

    static let controllerNamespaced: [PolicyRule] = [
        // ConfigurationInformers and the webhook's Configuration.list.
        PolicyRule(apiGroups: [metallb], resources: configurationKinds, verbs: ["list", "watch"]),
        // PoolStatusReconciler: merge patch of the pools' status.
        PolicyRule(apiGroups: [metallb], resources: ["ipaddresspools/status"], verbs: ["patch"]),
        // ConfigurationReconciler.writeState: its ConfigurationState "controller" is read, applied (created the
        // first time), then its status applied.
        PolicyRule(apiGroups: [metallb], resources: ["configurationstates"], verbs: ["create"]),
        PolicyRule(apiGroups: [metallb], resources: ["configurationstates"], verbs: ["get", "patch"],
                   resourceNames: [MetalLBAPI.controllerConfigurationStateName]),
        PolicyRule(apiGroups: [metallb], resources: ["configurationstates/status"], verbs: ["patch"],
                   resourceNames: [MetalLBAPI.controllerConfigurationStateName]),
        // LeaderElector: the Lease "metallb-controller" (created by the first replica, then read and renewed).
        PolicyRule(apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["create"]),
        PolicyRule(apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["get", "update"],
                   resourceNames: [MetalLBRenderer.controllerLeaseName]),
        // ConfigurationInformers (basic-auth Secrets of BGP passwords) and the webhook's Configuration.list.
        PolicyRule(apiGroups: [core], resources: ["secrets"], verbs: ["list", "watch"]),
    ]

    static let speakerCluster: [PolicyRule] = [
        // SpeakerRuntime: the Service informer, every namespace.
        PolicyRule(apiGroups: [core], resources: ["services"], verbs: ["list", "watch"]),
        // SpeakerRuntime: the EndpointSlice informer (which nodes have serving endpoints).
        PolicyRule(apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"]),
        // SpeakerRuntime: the Node informer (this node's address, NetworkUnavailable, labels for node selectors).
        PolicyRule(apiGroups: [core], resources: ["nodes"], verbs: ["list", "watch"]),
        // EventRecorder: nodeAssigned and the reasons nobody announces, on the Services.
        PolicyRule(apiGroups: [core], resources: ["events"], verbs: ["create", "patch"]),
    ]

    static let speakerNamespaced: [PolicyRule] = [
        // SpeakerRuntime: the speaker Pod informer (--ml-labels): the membership's members, and its own Pod, owner of
        // its ServiceL2Status objects.
        PolicyRule(apiGroups: [core], resources: ["pods"], verbs: ["list", "watch"]),
        // ConfigurationInformers: the basic-auth Secrets BGP peers name; get for the BGP side's passwords. Read only.
        PolicyRule(apiGroups: [core], resources: ["secrets"], verbs: ["get", "list", "watch"]),
        // ConfigurationInformers.
        PolicyRule(apiGroups: [metallb], resources: configurationKinds, verbs: ["list", "watch"]),
        // AnnounceReconciler: its ServiceL2Status objects (informer by the metallb.io/node label, created with
        // generateName, deleted when it stops announcing and on shutdown), then their status applied.
        PolicyRule(apiGroups: [metallb], resources: ["servicel2statuses"], verbs: ["list", "watch", "create", "delete"]),
        PolicyRule(apiGroups: [metallb], resources: ["servicel2statuses/status"], verbs: ["patch"]),
        // reconcileBGP: its ServiceBGPStatus objects (same life as the Layer 2 ones) and one BGPSessionState per session
        // ("<node>-<peer>", created by server-side apply, so patch as well as create).
        PolicyRule(apiGroups: [metallb], resources: ["servicebgpstatuses"], verbs: ["list", "watch", "create", "delete"]),
        PolicyRule(apiGroups: [metallb], resources: ["servicebgpstatuses/status"], verbs: ["patch"]),
        PolicyRule(apiGroups: [metallb], resources: ["bgpsessionstates"], verbs: ["list", "watch", "create", "patch", "delete"]),
        PolicyRule(apiGroups: [metallb], resources: ["bgpsessionstates/status"], verbs: ["patch"]),
        // ConfigurationReconciler.writeState: its ConfigurationState "speaker-<node>" (the node is not known here,
        // so no resourceNames).
        PolicyRule(apiGroups: [metallb], resources: ["configurationstates"], verbs: ["get", "create", "patch"]),
        PolicyRule(apiGroups: [metallb], resources: ["configurationstates/status"], verbs: ["patch"]),
    ]
}
