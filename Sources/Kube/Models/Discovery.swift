import Foundation

/// discovery.k8s.io EndpointSlice. One struct decodes both v1 and v1beta1 (Kubernetes < 1.21);
/// use `resourceType.withVersion("v1beta1")` for the older API.
public struct EndpointSlice: KubeObject, Hashable {
    public static let resourceType = ResourceType(group: "discovery.k8s.io", version: "v1", plural: "endpointslices", kind: "EndpointSlice", namespaced: true)
    /// The label that names a slice's Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var addressType: String?
    public var endpoints: [Endpoint]
    public var ports: [EndpointPort]?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        addressType: String? = nil, endpoints: [Endpoint] = [], ports: [EndpointPort]? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.addressType = addressType
        self.endpoints = endpoints
        self.ports = ports
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, addressType, endpoints, ports }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decode(ObjectMeta.self, forKey: .metadata)
        addressType = try c.decodeIfPresent(String.self, forKey: .addressType)
        // The API server sends `"endpoints": null` for a slice without endpoints.
        endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? []
        ports = try c.decodeIfPresent([EndpointPort].self, forKey: .ports)
    }
}

/// discovery.k8s.io Endpoint (v1 and v1beta1 fields).
public struct Endpoint: Codable, Sendable, Hashable {
    public var addresses: [String]
    public var conditions: EndpointConditions?
    public var hostname: String?
    public var targetRef: ObjectReference?
    /// The `nodeName` field exactly as sent (v1; v1beta1 only with a feature gate). Prefer `nodeName`.
    public var rawNodeName: String?
    public var zone: String?
    /// v1beta1 topology labels (`kubernetes.io/hostname`, `topology.kubernetes.io/zone`).
    public var topology: [String: String]?
    /// v1 copy of the v1beta1 topology, kept for compatibility.
    public var deprecatedTopology: [String: String]?
    public var hints: JSONValue?

    public init(
        addresses: [String], conditions: EndpointConditions? = nil, hostname: String? = nil,
        targetRef: ObjectReference? = nil, nodeName: String? = nil, zone: String? = nil,
        topology: [String: String]? = nil, deprecatedTopology: [String: String]? = nil, hints: JSONValue? = nil
    ) {
        self.addresses = addresses
        self.conditions = conditions
        self.hostname = hostname
        self.targetRef = targetRef
        self.rawNodeName = nodeName
        self.zone = zone
        self.topology = topology
        self.deprecatedTopology = deprecatedTopology
        self.hints = hints
    }

    enum CodingKeys: String, CodingKey {
        case addresses, conditions, hostname, targetRef, rawNodeName = "nodeName", zone, topology, deprecatedTopology, hints
    }

    /// The node hosting this endpoint: `nodeName` (v1), else the v1beta1 `kubernetes.io/hostname` topology label.
    public var nodeName: String? {
        get { rawNodeName ?? topology?["kubernetes.io/hostname"] ?? deprecatedTopology?["kubernetes.io/hostname"] }
        set { rawNodeName = newValue }
    }
}

/// discovery.k8s.io EndpointConditions.
public struct EndpointConditions: Codable, Sendable, Hashable {
    public var ready: Bool?
    public var serving: Bool?
    public var terminating: Bool?

    public init(ready: Bool? = nil, serving: Bool? = nil, terminating: Bool? = nil) {
        self.ready = ready
        self.serving = serving
        self.terminating = terminating
    }
}

/// discovery.k8s.io EndpointPort.
public struct EndpointPort: Codable, Sendable, Hashable {
    public var name: String?
    public var `protocol`: String?
    public var port: Int32?
    public var appProtocol: String?

    public init(name: String? = nil, protocol: String? = nil, port: Int32? = nil, appProtocol: String? = nil) {
        self.name = name
        self.protocol = `protocol`
        self.port = port
        self.appProtocol = appProtocol
    }
}
