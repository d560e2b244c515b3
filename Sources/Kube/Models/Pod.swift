import Foundation

// MARK: - Pod

/// core/v1 Pod.
public struct Pod: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: PodSpec?
    public var status: PodStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: PodSpec? = nil, status: PodStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// core/v1 PodTemplateSpec: the pod part of a Deployment or DaemonSet.
public struct PodTemplateSpec: Codable, Sendable, Hashable {
    public var metadata: ObjectMeta?
    public var spec: PodSpec?

    public init(metadata: ObjectMeta? = nil, spec: PodSpec? = nil) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// core/v1 PodSpec (scheduling and security sub-structures are passed through).
public struct PodSpec: Codable, Sendable, Hashable {
    public var containers: [Container]
    public var initContainers: [Container]?
    public var volumes: [Volume]?
    public var serviceAccountName: String?
    public var serviceAccount: String?
    public var automountServiceAccountToken: Bool?
    public var nodeName: String?
    public var nodeSelector: [String: String]?
    public var hostNetwork: Bool?
    public var hostPID: Bool?
    public var hostIPC: Bool?
    public var hostname: String?
    public var subdomain: String?
    public var dnsPolicy: String?
    public var dnsConfig: JSONValue?
    public var restartPolicy: String?
    public var terminationGracePeriodSeconds: Int64?
    public var activeDeadlineSeconds: Int64?
    public var schedulerName: String?
    public var priorityClassName: String?
    public var priority: Int32?
    public var runtimeClassName: String?
    public var tolerations: [Toleration]?
    public var affinity: JSONValue?
    public var topologySpreadConstraints: JSONValue?
    public var securityContext: JSONValue?
    public var imagePullSecrets: [LocalObjectReference]?
    public var shareProcessNamespace: Bool?
    public var enableServiceLinks: Bool?

    public init(
        containers: [Container] = [], initContainers: [Container]? = nil, volumes: [Volume]? = nil,
        serviceAccountName: String? = nil, serviceAccount: String? = nil, automountServiceAccountToken: Bool? = nil,
        nodeName: String? = nil, nodeSelector: [String: String]? = nil, hostNetwork: Bool? = nil,
        hostPID: Bool? = nil, hostIPC: Bool? = nil, hostname: String? = nil, subdomain: String? = nil,
        dnsPolicy: String? = nil, dnsConfig: JSONValue? = nil, restartPolicy: String? = nil,
        terminationGracePeriodSeconds: Int64? = nil, activeDeadlineSeconds: Int64? = nil,
        schedulerName: String? = nil, priorityClassName: String? = nil, priority: Int32? = nil,
        runtimeClassName: String? = nil, tolerations: [Toleration]? = nil, affinity: JSONValue? = nil,
        topologySpreadConstraints: JSONValue? = nil, securityContext: JSONValue? = nil,
        imagePullSecrets: [LocalObjectReference]? = nil, shareProcessNamespace: Bool? = nil,
        enableServiceLinks: Bool? = nil
    ) {
        self.containers = containers
        self.initContainers = initContainers
        self.volumes = volumes
        self.serviceAccountName = serviceAccountName
        self.serviceAccount = serviceAccount
        self.automountServiceAccountToken = automountServiceAccountToken
        self.nodeName = nodeName
        self.nodeSelector = nodeSelector
        self.hostNetwork = hostNetwork
        self.hostPID = hostPID
        self.hostIPC = hostIPC
        self.hostname = hostname
        self.subdomain = subdomain
        self.dnsPolicy = dnsPolicy
        self.dnsConfig = dnsConfig
        self.restartPolicy = restartPolicy
        self.terminationGracePeriodSeconds = terminationGracePeriodSeconds
        self.activeDeadlineSeconds = activeDeadlineSeconds
        self.schedulerName = schedulerName
        self.priorityClassName = priorityClassName
        self.priority = priority
        self.runtimeClassName = runtimeClassName
        self.tolerations = tolerations
        self.affinity = affinity
        self.topologySpreadConstraints = topologySpreadConstraints
        self.securityContext = securityContext
        self.imagePullSecrets = imagePullSecrets
        self.shareProcessNamespace = shareProcessNamespace
        self.enableServiceLinks = enableServiceLinks
    }
}

/// core/v1 Container (resources, probes and security context are passed through).
public struct Container: Codable, Sendable, Hashable {
    public var name: String
    public var image: String?
    public var imagePullPolicy: String?
    public var command: [String]?
    public var args: [String]?
    public var workingDir: String?
    public var env: [EnvVar]?
    public var envFrom: JSONValue?
    public var ports: [ContainerPort]?
    public var volumeMounts: [VolumeMount]?
    public var resources: JSONValue?
    public var securityContext: JSONValue?
    public var livenessProbe: JSONValue?
    public var readinessProbe: JSONValue?
    public var startupProbe: JSONValue?
    public var lifecycle: JSONValue?
    public var terminationMessagePath: String?
    public var terminationMessagePolicy: String?

    public init(
        name: String, image: String? = nil, imagePullPolicy: String? = nil, command: [String]? = nil,
        args: [String]? = nil, workingDir: String? = nil, env: [EnvVar]? = nil, envFrom: JSONValue? = nil,
        ports: [ContainerPort]? = nil, volumeMounts: [VolumeMount]? = nil, resources: JSONValue? = nil,
        securityContext: JSONValue? = nil, livenessProbe: JSONValue? = nil, readinessProbe: JSONValue? = nil,
        startupProbe: JSONValue? = nil, lifecycle: JSONValue? = nil, terminationMessagePath: String? = nil,
        terminationMessagePolicy: String? = nil
    ) {
        self.name = name
        self.image = image
        self.imagePullPolicy = imagePullPolicy
        self.command = command
        self.args = args
        self.workingDir = workingDir
        self.env = env
        self.envFrom = envFrom
        self.ports = ports
        self.volumeMounts = volumeMounts
        self.resources = resources
        self.securityContext = securityContext
        self.livenessProbe = livenessProbe
        self.readinessProbe = readinessProbe
        self.startupProbe = startupProbe
        self.lifecycle = lifecycle
        self.terminationMessagePath = terminationMessagePath
        self.terminationMessagePolicy = terminationMessagePolicy
    }
}

/// core/v1 EnvVar (`valueFrom` is passed through).
public struct EnvVar: Codable, Sendable, Hashable {
    public var name: String
    public var value: String?
    public var valueFrom: JSONValue?

    public init(name: String, value: String? = nil, valueFrom: JSONValue? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

/// core/v1 ContainerPort.
public struct ContainerPort: Codable, Sendable, Hashable {
    public var name: String?
    public var containerPort: Int32
    public var hostPort: Int32?
    public var `protocol`: String?
    public var hostIP: String?

    public init(name: String? = nil, containerPort: Int32, hostPort: Int32? = nil, protocol: String? = nil, hostIP: String? = nil) {
        self.name = name
        self.containerPort = containerPort
        self.hostPort = hostPort
        self.protocol = `protocol`
        self.hostIP = hostIP
    }
}

/// core/v1 VolumeMount.
public struct VolumeMount: Codable, Sendable, Hashable {
    public var name: String
    public var mountPath: String
    public var readOnly: Bool?
    public var subPath: String?

    public init(name: String, mountPath: String, readOnly: Bool? = nil, subPath: String? = nil) {
        self.name = name
        self.mountPath = mountPath
        self.readOnly = readOnly
        self.subPath = subPath
    }
}

/// core/v1 Volume: a name and its source, passed through (sources not listed here are dropped).
public struct Volume: Codable, Sendable, Hashable {
    public var name: String
    public var secret: JSONValue?
    public var configMap: JSONValue?
    public var emptyDir: JSONValue?
    public var hostPath: JSONValue?
    public var projected: JSONValue?

    public init(
        name: String, secret: JSONValue? = nil, configMap: JSONValue? = nil, emptyDir: JSONValue? = nil,
        hostPath: JSONValue? = nil, projected: JSONValue? = nil
    ) {
        self.name = name
        self.secret = secret
        self.configMap = configMap
        self.emptyDir = emptyDir
        self.hostPath = hostPath
        self.projected = projected
    }
}

/// core/v1 Toleration.
public struct Toleration: Codable, Sendable, Hashable {
    public var key: String?
    public var `operator`: String?
    public var value: String?
    public var effect: String?
    public var tolerationSeconds: Int64?

    public init(key: String? = nil, operator: String? = nil, value: String? = nil, effect: String? = nil, tolerationSeconds: Int64? = nil) {
        self.key = key
        self.operator = `operator`
        self.value = value
        self.effect = effect
        self.tolerationSeconds = tolerationSeconds
    }
}

// MARK: - Pod status

/// core/v1 PodStatus.
public struct PodStatus: Codable, Sendable, Hashable {
    public var phase: String?
    public var conditions: [PodCondition]?
    public var message: String?
    public var reason: String?
    public var hostIP: String?
    public var hostIPs: [PodIP]?
    public var podIP: String?
    public var podIPs: [PodIP]?
    public var startTime: String?
    public var initContainerStatuses: [ContainerStatus]?
    public var containerStatuses: [ContainerStatus]?
    public var qosClass: String?

    public init(
        phase: String? = nil, conditions: [PodCondition]? = nil, message: String? = nil, reason: String? = nil,
        hostIP: String? = nil, hostIPs: [PodIP]? = nil, podIP: String? = nil, podIPs: [PodIP]? = nil,
        startTime: String? = nil, initContainerStatuses: [ContainerStatus]? = nil,
        containerStatuses: [ContainerStatus]? = nil, qosClass: String? = nil
    ) {
        self.phase = phase
        self.conditions = conditions
        self.message = message
        self.reason = reason
        self.hostIP = hostIP
        self.hostIPs = hostIPs
        self.podIP = podIP
        self.podIPs = podIPs
        self.startTime = startTime
        self.initContainerStatuses = initContainerStatuses
        self.containerStatuses = containerStatuses
        self.qosClass = qosClass
    }
}

/// core/v1 PodCondition.
public struct PodCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastProbeTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?

    public init(
        type: String, status: String, lastProbeTime: String? = nil, lastTransitionTime: String? = nil,
        reason: String? = nil, message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastProbeTime = lastProbeTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

/// core/v1 PodIP (also used for HostIP, which has the same shape).
public struct PodIP: Codable, Sendable, Hashable {
    public var ip: String?

    public init(ip: String? = nil) {
        self.ip = ip
    }
}

/// core/v1 ContainerStatus (`state` and `lastState` are passed through).
public struct ContainerStatus: Codable, Sendable, Hashable {
    public var name: String
    public var ready: Bool
    public var restartCount: Int32
    public var image: String?
    public var imageID: String?
    public var containerID: String?
    public var started: Bool?
    public var state: JSONValue?
    public var lastState: JSONValue?

    public init(
        name: String, ready: Bool = false, restartCount: Int32 = 0, image: String? = nil, imageID: String? = nil,
        containerID: String? = nil, started: Bool? = nil, state: JSONValue? = nil, lastState: JSONValue? = nil
    ) {
        self.name = name
        self.ready = ready
        self.restartCount = restartCount
        self.image = image
        self.imageID = imageID
        self.containerID = containerID
        self.started = started
        self.state = state
        self.lastState = lastState
    }
}
