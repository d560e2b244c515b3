import API
import Kube

/// The controller Deployment and the speaker DaemonSet.
extension MetalLBRenderer {
    /// The speakers' capabilities, each for a system call the speaker makes (docs/operator.md, "Capabilities"):
    /// - NET_RAW: AF_PACKET sockets that answer ARP and NDP and send the gratuitous announcements (`PacketSocket`).
    /// - NET_ADMIN: `SO_RCVBUFFORCE`, the membership socket's 4 MiB receive queue beyond `net.core.rmem_max`
    ///   (`MembershipNode.openSocket`; a stalled thread's backlog is the proof that peers live).
    /// - SYS_NICE: SCHED_FIFO (else a negative nice) for the membership and ARP/NDP reader threads (`Scheduling`,
    ///   `clinux_raise_current_thread`).
    /// - NET_BIND_SERVICE: the BGP side listens on TCP port 179 (`BGPSpeaker.listen`); a root process without the
    ///   capability cannot bind a port below 1024.
    public static let speakerCapabilities = ["NET_RAW", "NET_ADMIN", "SYS_NICE", "NET_BIND_SERVICE"]

    /// Grace period of the speaker pods: above the speaker's `--hand-over-timeout` (2 s), during which it keeps
    /// answering until the nodes that take its IPs over have announced them, with room for leaving the membership
    /// and removing its status objects.
    public static let speakerTerminationGracePeriodSeconds: Int64 = 10

    static func fieldEnv(_ name: String, _ path: String) -> JSONValue {
        ["name": .string(name), "valueFrom": ["fieldRef": ["fieldPath": .string(path)]]]
    }

    static func containerPort(_ name: String, _ port: Int64, _ proto: String = "TCP") -> JSONValue {
        ["name": .string(name), "containerPort": .int(port), "protocol": .string(proto)]
    }

    static func probes(into c: inout [String: JSONValue]) {
        c["readinessProbe"] = ["httpGet": ["path": "/readyz", "port": .int(monitoringPort)], "periodSeconds": 1, "failureThreshold": 3]
        c["livenessProbe"] = [
            "httpGet": ["path": "/healthz", "port": .int(monitoringPort)],
            "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 3,
        ]
    }

    /// The pod template: labels, the user's annotations, and the pod-level settings of `MetalLBComponentConfig`.
    static func podTemplate(labels: [String: String], pod: RenderInput.PodSettings, nodeSelector: [String: String],
                            tolerations: [JSONValue], spec: [String: JSONValue], container: [String: JSONValue]) -> JSONValue {
        var metadata: [String: JSONValue] = ["labels": .strings(labels)]
        if !pod.annotations.isEmpty { metadata["annotations"] = .strings(pod.annotations) }
        var s = spec
        s["nodeSelector"] = .strings(nodeSelector)
        if !tolerations.isEmpty { s["tolerations"] = .array(tolerations) }
        if let p = pod.priorityClassName { s["priorityClassName"] = .string(p) }
        if let r = pod.runtimeClassName { s["runtimeClassName"] = .string(r) }
        if let a = pod.affinity { s["affinity"] = a }
        var c = container
        if let r = pod.resources { c["resources"] = r }
        s["containers"] = [.object(c)]
        return ["metadata": .object(metadata), "spec": .object(s)]
    }

    /// The controller: one replica (a second would only wait for the Lease), the webhook on 9443 with the serving
    /// certificate mounted, metrics and probes on 7472, unprivileged.
    ///
    /// The certificate Secret is mounted with `optional: false`: the controller's `WebhookServer` refuses to start
    /// without `tls.crt`/`tls.key` (and takes the whole role down), so with an optional mount a controller started
    /// before the operator wrote the Secret would crash-loop, with the kubelet's growing back-off after the Secret
    /// appears. A required mount keeps the pod in ContainerCreating (event FailedMount naming the Secret) until the
    /// Secret exists, then it starts at once with the certificate in place.
    static func controllerDeployment(_ input: RenderInput) -> UnstructuredObject {
        var args: [JSONValue] = ["controller", .string("--log-level=\(input.logLevel.rawValue)"), .string("--webhook-cert-dir=\(webhookCertDirectory)")]
        if let c = input.loadBalancerClass { args.append(.string("--lb-class=\(c)")) }
        var container: [String: JSONValue] = [
            "name": .string(controllerName),
            "image": .string(input.settings.image),
            "imagePullPolicy": .string(input.settings.imagePullPolicy),
            "args": .array(args),
            // The leader election identity ($POD_NAME, LeaderElectionOptions.resolvedIdentity). The namespace comes
            // from the service-account mount (KubeConfig's in-cluster configuration).
            "env": [fieldEnv("POD_NAME", "metadata.name")],
            "ports": [containerPort("webhook", webhookPort), containerPort("monitoring", monitoringPort)],
            "securityContext": [
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": ["drop": ["ALL"]],
            ],
            "volumeMounts": [["name": "webhook-cert", "mountPath": .string(webhookCertDirectory), "readOnly": true]],
        ]
        probes(into: &container)
        let spec: [String: JSONValue] = [
            "serviceAccountName": .string(controllerName),
            "securityContext": [
                "runAsNonRoot": true, "runAsUser": 65534, "runAsGroup": 65534,
                "seccompProfile": ["type": "RuntimeDefault"],
            ],
            "volumes": [["name": "webhook-cert", "secret": ["secretName": .string(webhookCertSecretName), "optional": false]]],
        ]
        let template = podTemplate(labels: controllerPodLabels, pod: input.controllerPod, nodeSelector: input.controllerNodeSelector,
                                   tolerations: input.controllerTolerations, spec: spec, container: container)
        return object("apps/v1", "Deployment", namespacedMetadata(controllerName, input), [
            "spec": [
                "replicas": 1,
                "selector": ["matchLabels": .strings(controllerPodLabels)],
                "template": template,
            ],
        ])
    }

    /// The speakers: one per selected node, on the host's network (they answer ARP/NDP on the node's interfaces and
    /// their membership address is the node's), as root with only the capabilities they use.
    static func speakerDaemonSet(_ input: RenderInput) -> UnstructuredObject {
        let mlLabels = speakerPodLabels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
        var args: [JSONValue] = ["speaker", .string("--log-level=\(input.logLevel.rawValue)"), .string("--ml-labels=\(mlLabels)")]
        if let c = input.loadBalancerClass { args.append(.string("--lb-class=\(c)")) }
        if let i = input.gratuitousARPInterval { args.append(.string("--gratuitous-arp-interval=\(i)")) }
        var container: [String: JSONValue] = [
            "name": .string(speakerName),
            "image": .string(input.settings.image),
            "imagePullPolicy": .string(input.settings.imagePullPolicy),
            "args": .array(args),
            "env": [
                fieldEnv("METALLB_NODE_NAME", "spec.nodeName"),
                fieldEnv("METALLB_POD_NAME", "metadata.name"),
                fieldEnv("METALLB_ML_BIND_ADDR", "status.podIP"),
                ["name": "METALLB_ML_SECRET_KEY_PATH", "value": .string(memberlistKeyDirectory)],
            ],
            // The membership is UDP only (heartbeats and their acknowledgements).
            "ports": [containerPort("monitoring", monitoringPort), containerPort("memberlist-udp", memberlistPort, "UDP")],
            "securityContext": [
                "allowPrivilegeEscalation": false,
                "readOnlyRootFilesystem": true,
                "capabilities": ["drop": ["ALL"], "add": .array(speakerCapabilities.map { .string($0) })],
            ],
            "volumeMounts": [["name": "memberlist", "mountPath": .string(memberlistKeyDirectory), "readOnly": true]],
        ]
        probes(into: &container)
        let spec: [String: JSONValue] = [
            "serviceAccountName": .string(speakerName),
            "hostNetwork": true,
            "terminationGracePeriodSeconds": .int(speakerTerminationGracePeriodSeconds),
            // 0400: only the speaker (root in its container) reads the key.
            "volumes": [["name": "memberlist", "secret": ["secretName": .string(memberlistSecretName), "defaultMode": 0o400]]],
        ]
        let template = podTemplate(labels: speakerPodLabels, pod: input.speakerPod, nodeSelector: input.speakerNodeSelector,
                                   tolerations: input.speakerTolerations, spec: spec, container: container)
        return object("apps/v1", "DaemonSet", namespacedMetadata(speakerName, input), [
            "spec": [
                "selector": ["matchLabels": .strings(speakerPodLabels)],
                "updateStrategy": ["type": "RollingUpdate", "rollingUpdate": ["maxUnavailable": 1]],
                "template": template,
            ],
        ])
    }
}
