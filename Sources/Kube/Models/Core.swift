import Foundation

// MARK: - Namespace

/// core/v1 Namespace.
public struct Namespace: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: NamespaceSpec?
    public var status: NamespaceStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: NamespaceSpec? = nil, status: NamespaceStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// core/v1 NamespaceSpec.
public struct NamespaceSpec: Codable, Sendable, Hashable {
    public var finalizers: [String]?

    public init(finalizers: [String]? = nil) {
        self.finalizers = finalizers
    }
}

/// core/v1 NamespaceStatus.
public struct NamespaceStatus: Codable, Sendable, Hashable {
    public var phase: String?

    public init(phase: String? = nil) {
        self.phase = phase
    }
}

// MARK: - Node

/// core/v1 Node.
public struct Node: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: NodeSpec?
    public var status: NodeStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: NodeSpec? = nil, status: NodeStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// core/v1 NodeSpec.
public struct NodeSpec: Codable, Sendable, Hashable {
    public var podCIDR: String?
    public var podCIDRs: [String]?
    public var providerID: String?
    public var unschedulable: Bool?
    public var taints: [Taint]?

    public init(
        podCIDR: String? = nil, podCIDRs: [String]? = nil, providerID: String? = nil,
        unschedulable: Bool? = nil, taints: [Taint]? = nil
    ) {
        self.podCIDR = podCIDR
        self.podCIDRs = podCIDRs
        self.providerID = providerID
        self.unschedulable = unschedulable
        self.taints = taints
    }
}

/// core/v1 Taint.
public struct Taint: Codable, Sendable, Hashable {
    public var key: String
    public var value: String?
    public var effect: String
    public var timeAdded: String?

    public init(key: String, value: String? = nil, effect: String, timeAdded: String? = nil) {
        self.key = key
        self.value = value
        self.effect = effect
        self.timeAdded = timeAdded
    }
}

/// core/v1 NodeStatus (the parts we read; `nodeInfo` is passed through).
public struct NodeStatus: Codable, Sendable, Hashable {
    public var addresses: [NodeAddress]?
    public var conditions: [NodeCondition]?
    public var nodeInfo: JSONValue?
    public var capacity: [String: String]?
    public var allocatable: [String: String]?

    public init(
        addresses: [NodeAddress]? = nil, conditions: [NodeCondition]? = nil, nodeInfo: JSONValue? = nil,
        capacity: [String: String]? = nil, allocatable: [String: String]? = nil
    ) {
        self.addresses = addresses
        self.conditions = conditions
        self.nodeInfo = nodeInfo
        self.capacity = capacity
        self.allocatable = allocatable
    }
}

/// core/v1 NodeAddress (type is InternalIP, ExternalIP, Hostname, ...).
public struct NodeAddress: Codable, Sendable, Hashable {
    public var type: String
    public var address: String

    public init(type: String, address: String) {
        self.type = type
        self.address = address
    }
}

/// core/v1 NodeCondition.
public struct NodeCondition: Codable, Sendable, Hashable {
    public var type: String
    public var status: String
    public var lastHeartbeatTime: String?
    public var lastTransitionTime: String?
    public var reason: String?
    public var message: String?

    public init(
        type: String, status: String, lastHeartbeatTime: String? = nil, lastTransitionTime: String? = nil,
        reason: String? = nil, message: String? = nil
    ) {
        self.type = type
        self.status = status
        self.lastHeartbeatTime = lastHeartbeatTime
        self.lastTransitionTime = lastTransitionTime
        self.reason = reason
        self.message = message
    }
}

// MARK: - Service

/// core/v1 Service.
public struct Service: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "services", kind: "Service", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: ServiceSpec?
    public var status: ServiceStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: ServiceSpec? = nil, status: ServiceStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// core/v1 ServiceSpec.
public struct ServiceSpec: Codable, Sendable, Hashable {
    public var type: String?
    public var ports: [ServicePort]?
    public var selector: [String: String]?
    public var clusterIP: String?
    public var clusterIPs: [String]?
    public var externalIPs: [String]?
    public var externalName: String?
    public var loadBalancerIP: String?
    public var loadBalancerClass: String?
    public var loadBalancerSourceRanges: [String]?
    public var externalTrafficPolicy: String?
    public var internalTrafficPolicy: String?
    public var healthCheckNodePort: Int32?
    public var ipFamilies: [String]?
    public var ipFamilyPolicy: String?
    public var sessionAffinity: String?
    public var sessionAffinityConfig: JSONValue?
    public var allocateLoadBalancerNodePorts: Bool?
    public var publishNotReadyAddresses: Bool?
    public var trafficDistribution: String?

    public init(
        type: String? = nil, ports: [ServicePort]? = nil, selector: [String: String]? = nil,
        clusterIP: String? = nil, clusterIPs: [String]? = nil, externalIPs: [String]? = nil,
        externalName: String? = nil, loadBalancerIP: String? = nil, loadBalancerClass: String? = nil,
        loadBalancerSourceRanges: [String]? = nil, externalTrafficPolicy: String? = nil,
        internalTrafficPolicy: String? = nil, healthCheckNodePort: Int32? = nil, ipFamilies: [String]? = nil,
        ipFamilyPolicy: String? = nil, sessionAffinity: String? = nil, sessionAffinityConfig: JSONValue? = nil,
        allocateLoadBalancerNodePorts: Bool? = nil, publishNotReadyAddresses: Bool? = nil,
        trafficDistribution: String? = nil
    ) {
        self.type = type
        self.ports = ports
        self.selector = selector
        self.clusterIP = clusterIP
        self.clusterIPs = clusterIPs
        self.externalIPs = externalIPs
        self.externalName = externalName
        self.loadBalancerIP = loadBalancerIP
        self.loadBalancerClass = loadBalancerClass
        self.loadBalancerSourceRanges = loadBalancerSourceRanges
        self.externalTrafficPolicy = externalTrafficPolicy
        self.internalTrafficPolicy = internalTrafficPolicy
        self.healthCheckNodePort = healthCheckNodePort
        self.ipFamilies = ipFamilies
        self.ipFamilyPolicy = ipFamilyPolicy
        self.sessionAffinity = sessionAffinity
        self.sessionAffinityConfig = sessionAffinityConfig
        self.allocateLoadBalancerNodePorts = allocateLoadBalancerNodePorts
        self.publishNotReadyAddresses = publishNotReadyAddresses
        self.trafficDistribution = trafficDistribution
    }
}

/// core/v1 ServicePort.
public struct ServicePort: Codable, Sendable, Hashable {
    public var name: String?
    public var `protocol`: String?
    public var port: Int32
    public var targetPort: IntOrString?
    public var nodePort: Int32?
    public var appProtocol: String?

    public init(
        name: String? = nil, protocol: String? = nil, port: Int32, targetPort: IntOrString? = nil,
        nodePort: Int32? = nil, appProtocol: String? = nil
    ) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.targetPort = targetPort
        self.nodePort = nodePort
        self.appProtocol = appProtocol
    }
}

/// core/v1 ServiceStatus.
public struct ServiceStatus: Codable, Sendable, Hashable {
    public var loadBalancer: LoadBalancerStatus?
    public var conditions: [Condition]?

    public init(loadBalancer: LoadBalancerStatus? = nil, conditions: [Condition]? = nil) {
        self.loadBalancer = loadBalancer
        self.conditions = conditions
    }
}

/// core/v1 LoadBalancerStatus.
public struct LoadBalancerStatus: Codable, Sendable, Hashable {
    public var ingress: [LoadBalancerIngress]?

    public init(ingress: [LoadBalancerIngress]? = nil) {
        self.ingress = ingress
    }
}

/// core/v1 LoadBalancerIngress: one address of a load balancer.
public struct LoadBalancerIngress: Codable, Sendable, Hashable {
    public var ip: String?
    public var hostname: String?
    public var ipMode: String?
    public var ports: [PortStatus]?

    public init(ip: String? = nil, hostname: String? = nil, ipMode: String? = nil, ports: [PortStatus]? = nil) {
        self.ip = ip
        self.hostname = hostname
        self.ipMode = ipMode
        self.ports = ports
    }
}

/// core/v1 PortStatus.
public struct PortStatus: Codable, Sendable, Hashable {
    public var port: Int32
    public var `protocol`: String
    public var error: String?

    public init(port: Int32, protocol: String, error: String? = nil) {
        self.port = port
        self.protocol = `protocol`
        self.error = error
    }
}

// MARK: - Secret, ConfigMap, ServiceAccount

/// core/v1 Secret. `data` values are base64 as sent by the API server.
public struct Secret: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var type: String?
    public var data: [String: String]?
    public var stringData: [String: String]?
    public var immutable: Bool?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        type: String? = nil, data: [String: String]? = nil, stringData: [String: String]? = nil,
        immutable: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.type = type
        self.data = data
        self.stringData = stringData
        self.immutable = immutable
    }

    /// The decoded bytes of `key`, from `stringData` or else base64 `data`.
    public func decodedData(forKey key: String) -> Data? {
        if let s = stringData?[key] { return Data(s.utf8) }
        return data?[key].flatMap { Data(base64Encoded: $0) }
    }
}

/// core/v1 ConfigMap.
public struct ConfigMap: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var data: [String: String]?
    public var binaryData: [String: String]?
    public var immutable: Bool?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        data: [String: String]? = nil, binaryData: [String: String]? = nil, immutable: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.data = data
        self.binaryData = binaryData
        self.immutable = immutable
    }
}

/// core/v1 ServiceAccount.
public struct ServiceAccount: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "serviceaccounts", kind: "ServiceAccount", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var secrets: [ObjectReference]?
    public var imagePullSecrets: [LocalObjectReference]?
    public var automountServiceAccountToken: Bool?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        secrets: [ObjectReference]? = nil, imagePullSecrets: [LocalObjectReference]? = nil,
        automountServiceAccountToken: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.secrets = secrets
        self.imagePullSecrets = imagePullSecrets
        self.automountServiceAccountToken = automountServiceAccountToken
    }
}

// MARK: - Event

/// core/v1 Event. Times are RFC 3339 strings; `eventTime` is a MicroTime (often null).
public struct Event: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "", version: "v1", plural: "events", kind: "Event", namespaced: true)

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var involvedObject: ObjectReference
    public var reason: String?
    public var message: String?
    public var source: EventSource?
    public var firstTimestamp: String?
    public var lastTimestamp: String?
    public var count: Int32?
    public var type: String?
    public var eventTime: String?
    public var reportingComponent: String?
    public var reportingInstance: String?
    public var action: String?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        involvedObject: ObjectReference = ObjectReference(), reason: String? = nil, message: String? = nil,
        source: EventSource? = nil, firstTimestamp: String? = nil, lastTimestamp: String? = nil,
        count: Int32? = nil, type: String? = nil, eventTime: String? = nil,
        reportingComponent: String? = nil, reportingInstance: String? = nil, action: String? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.involvedObject = involvedObject
        self.reason = reason
        self.message = message
        self.source = source
        self.firstTimestamp = firstTimestamp
        self.lastTimestamp = lastTimestamp
        self.count = count
        self.type = type
        self.eventTime = eventTime
        self.reportingComponent = reportingComponent
        self.reportingInstance = reportingInstance
        self.action = action
    }
}

/// core/v1 EventSource.
public struct EventSource: Codable, Sendable, Hashable {
    public var component: String?
    public var host: String?

    public init(component: String? = nil, host: String? = nil) {
        self.component = component
        self.host = host
    }
}
