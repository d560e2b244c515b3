import Foundation
import Kube

// MARK: - ServiceL2Status

/// metallb.io/v1beta1 ServiceL2Status: which node and interfaces announce a service in layer 2 mode.
public struct ServiceL2Status: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "servicel2statuses", "ServiceL2Status")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: ServiceL2StatusStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: JSONValue? = nil, status: ServiceL2StatusStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// ServiceL2Status status; node, serviceName and serviceNamespace are immutable once set.
public struct ServiceL2StatusStatus: Codable, Sendable, Hashable {
    /// The node that answers ARP/NDP for the service's addresses.
    public var node: String?
    public var serviceName: String?
    public var serviceNamespace: String?
    /// The interfaces the node announces from.
    public var interfaces: [InterfaceInfo]?

    public init(node: String? = nil, serviceName: String? = nil, serviceNamespace: String? = nil, interfaces: [InterfaceInfo]? = nil) {
        self.node = node
        self.serviceName = serviceName
        self.serviceNamespace = serviceNamespace
        self.interfaces = interfaces
    }
}

/// A network interface name.
public struct InterfaceInfo: Codable, Sendable, Hashable {
    public var name: String?

    public init(name: String? = nil) {
        self.name = name
    }
}

// MARK: - ServiceBGPStatus

/// metallb.io/v1beta1 ServiceBGPStatus: the peers a node advertises a service to.
public struct ServiceBGPStatus: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "servicebgpstatuses", "ServiceBGPStatus")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: ServiceBGPStatusStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: JSONValue? = nil, status: ServiceBGPStatusStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// ServiceBGPStatus status; node, serviceName and serviceNamespace are immutable once set.
public struct ServiceBGPStatusStatus: Codable, Sendable, Hashable {
    public var node: String?
    public var serviceName: String?
    public var serviceNamespace: String?
    /// BGPPeer names the service is configured to be advertised to.
    public var peers: [String]?

    public init(node: String? = nil, serviceName: String? = nil, serviceNamespace: String? = nil, peers: [String]? = nil) {
        self.node = node
        self.serviceName = serviceName
        self.serviceNamespace = serviceNamespace
        self.peers = peers
    }
}

// MARK: - ConfigurationState

// Objects are named "controller" and "speaker-<node>" and labelled with `MetalLBAPI.componentTypeLabel`
// (and `MetalLBAPI.nodeNameLabel` for speakers). There is no spec.

/// metallb.io/v1beta1 ConfigurationState: whether a component (controller or a node's speaker) accepted the configuration.
public struct ConfigurationState: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "configurationstates", "ConfigurationState")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var status: ConfigurationStateStatus?

    public init(apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(), status: ConfigurationStateStatus? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.status = status
    }

    /// The controller's object, named and labelled as MetalLB does.
    public static func forController(namespace: String) -> ConfigurationState {
        ConfigurationState(metadata: ObjectMeta(
            name: MetalLBAPI.controllerConfigurationStateName, namespace: namespace,
            labels: [MetalLBAPI.componentTypeLabel: ConfigurationComponentType.controller.rawValue]))
    }

    /// A speaker's object, named and labelled as MetalLB does.
    public static func forSpeaker(node: String, namespace: String) -> ConfigurationState {
        ConfigurationState(metadata: ObjectMeta(
            name: MetalLBAPI.speakerConfigurationStateName(node: node), namespace: namespace,
            labels: [MetalLBAPI.componentTypeLabel: ConfigurationComponentType.speaker.rawValue, MetalLBAPI.nodeNameLabel: node]))
    }
}

/// Values of the `metallb.io/component-type` label.
public enum ConfigurationComponentType: String, Codable, Sendable, Hashable, CaseIterable {
    case controller
    case speaker
}

/// ConfigurationState.status.result: Valid, Invalid or Unknown (other strings are kept as they are).
public struct ConfigurationResult: RawRepresentable, Codable, Sendable, Hashable, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let valid = ConfigurationResult(rawValue: "Valid")
    public static let invalid = ConfigurationResult(rawValue: "Invalid")
    public static let unknown = ConfigurationResult(rawValue: "Unknown")
    /// The values the CRD allows.
    public static let allowed: [ConfigurationResult] = [.valid, .invalid, .unknown]

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// ConfigurationState status.
public struct ConfigurationStateStatus: Codable, Sendable, Hashable {
    public var result: ConfigurationResult?
    /// The aggregated error messages (MetalLB's field name); empty when the result is Valid.
    public var errorSummary: String?
    /// Conditions from the component's reconcilers (a map list keyed by type).
    public var conditions: [Condition]?

    public init(result: ConfigurationResult? = nil, errorSummary: String? = nil, conditions: [Condition]? = nil) {
        self.result = result
        self.errorSummary = errorSummary
        self.conditions = conditions
    }

    /// Alias of `errorSummary`.
    public var lastError: String? {
        get { errorSummary }
        set { errorSummary = newValue }
    }
}

// MARK: - BGPSessionState

/// metallb.io/v1beta1 BGPSessionState (this implementation's kind): one BGP session of one node.
public struct BGPSessionState: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "bgpsessionstates", "BGPSessionState")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: JSONValue?
    public var status: BGPSessionStateStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: JSONValue? = nil, status: BGPSessionStateStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// BGPSessionState status.
public struct BGPSessionStateStatus: Codable, Sendable, Hashable {
    /// The node the session runs on.
    public var node: String?
    /// The peer address (or interface for unnumbered sessions).
    public var peer: String?
    /// The VRF, empty for the default one.
    public var vrf: String?
    /// The BGP finite state machine state (RFC 4271 section 8.2.2), e.g. "Established".
    public var bgpStatus: String?
    /// The BFD session state (RFC 5880 section 4.1), e.g. "Up", or "N/A" without BFD.
    public var bfdStatus: String?
    /// Why the session is not Established, in plain words (ours; frr-k8s's type has no such field).
    public var lastError: String?

    public init(node: String? = nil, peer: String? = nil, vrf: String? = nil, bgpStatus: String? = nil, bfdStatus: String? = nil,
                lastError: String? = nil) {
        self.node = node
        self.peer = peer
        self.vrf = vrf
        self.bgpStatus = bgpStatus
        self.bfdStatus = bfdStatus
        self.lastError = lastError
    }
}

/// BGP finite state machine states (RFC 4271 section 8.2.2) as written in `bgpStatus`.
public enum BGPSessionFSMState: String, Codable, Sendable, Hashable, CaseIterable {
    case idle = "Idle"
    case connect = "Connect"
    case active = "Active"
    case openSent = "OpenSent"
    case openConfirm = "OpenConfirm"
    case established = "Established"
}

/// BFD session states (RFC 5880 section 4.1) as written in `bfdStatus`; `notConfigured` without a profile.
public enum BFDSessionStatus: String, Codable, Sendable, Hashable, CaseIterable {
    case adminDown = "AdminDown"
    case down = "Down"
    case initializing = "Init"
    case up = "Up"
    case notConfigured = "N/A"
}
