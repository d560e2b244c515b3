import Foundation
import Kube

/// metallb.io/v1beta1 MetalLB: how to run the controller and speakers; only "metallb" in the operator namespace counts.
public struct MetalLB: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "metallbs", "MetalLB")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: MetalLBSpec?
    public var status: MetalLBStatus?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: MetalLBSpec? = nil, status: MetalLBStatus? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// Log verbosity of the controller and the speakers.
public enum MetalLBLogLevel: String, Codable, Sendable, Hashable, CaseIterable {
    case all, debug, info, warn, error, none
}

/// Values of `bgpBackend` that MetalLB's operator knows; only native (or empty) is built in here.
public enum BGPBackend: String, Codable, Sendable, Hashable, CaseIterable {
    case native
    case frr
    case frrK8s = "frr-k8s"
    case frrK8sExternal = "frr-k8s-external"
}

/// MetalLB (operator) spec, with the operator's field names.
public struct MetalLBSpec: Codable, Sendable, Hashable {
    /// Deprecated and ignored: the image is chosen by the installation.
    public var image: String?
    /// Node selector of the speaker daemonset.
    public var nodeSelector: [String: String]?
    /// Tolerations of the speaker pods.
    public var speakerTolerations: [Toleration]?
    /// Node selector of the controller deployment.
    public var controllerNodeSelector: [String: String]?
    /// Tolerations of the controller pod.
    public var controllerTolerations: [Toleration]?
    /// all, debug, info (default), warn, error or none.
    public var logLevel: String?
    /// BGP implementation: empty or "native" (the built-in one, with BFD and graceful restart).
    public var bgpBackend: String?
    /// frr-k8s settings; refused, as no frr-k8s backend exists here.
    public var frrk8sConfig: JSONValue?
    /// The spec.loadBalancerClass of the services to handle; unset means services without a class.
    public var loadBalancerClass: String?
    /// Interval of repeated gratuitous ARP / unsolicited NA from the announcing speaker: "0" (off) or at least 1s.
    public var speakerGratuitousARPInterval: String?
    /// Extra settings of the speaker pods.
    public var speakerConfig: MetalLBComponentConfig?
    /// Extra settings of the controller pod.
    public var controllerConfig: MetalLBComponentConfig?

    public init(
        image: String? = nil, nodeSelector: [String: String]? = nil, speakerTolerations: [Toleration]? = nil,
        controllerNodeSelector: [String: String]? = nil, controllerTolerations: [Toleration]? = nil, logLevel: String? = nil,
        bgpBackend: String? = nil, frrk8sConfig: JSONValue? = nil, loadBalancerClass: String? = nil,
        speakerGratuitousARPInterval: String? = nil, speakerConfig: MetalLBComponentConfig? = nil,
        controllerConfig: MetalLBComponentConfig? = nil
    ) {
        self.image = image
        self.nodeSelector = nodeSelector
        self.speakerTolerations = speakerTolerations
        self.controllerNodeSelector = controllerNodeSelector
        self.controllerTolerations = controllerTolerations
        self.logLevel = logLevel
        self.bgpBackend = bgpBackend
        self.frrk8sConfig = frrk8sConfig
        self.loadBalancerClass = loadBalancerClass
        self.speakerGratuitousARPInterval = speakerGratuitousARPInterval
        self.speakerConfig = speakerConfig
        self.controllerConfig = controllerConfig
    }
}

/// Extra pod settings of the controller or the speakers (the operator's `Config`).
public struct MetalLBComponentConfig: Codable, Sendable, Hashable {
    public var priorityClassName: String?
    public var runtimeClassName: String?
    /// Annotations added to the pods.
    public var annotations: [String: String]?
    /// core/v1 ResourceRequirements, passed through.
    public var resources: JSONValue?
    /// core/v1 Affinity, passed through.
    public var affinity: JSONValue?

    public init(
        priorityClassName: String? = nil, runtimeClassName: String? = nil, annotations: [String: String]? = nil,
        resources: JSONValue? = nil, affinity: JSONValue? = nil
    ) {
        self.priorityClassName = priorityClassName
        self.runtimeClassName = runtimeClassName
        self.annotations = annotations
        self.resources = resources
        self.affinity = affinity
    }
}

/// Condition types of the MetalLB object, as the operator sets them.
public enum MetalLBConditionType: String, Codable, Sendable, Hashable, CaseIterable {
    case available = "Available"
    case progressing = "Progressing"
    case degraded = "Degraded"
    case upgradeable = "Upgradeable"
}

/// MetalLB (operator) status.
public struct MetalLBStatus: Codable, Sendable, Hashable {
    /// Available, Progressing, Degraded and Upgradeable.
    public var conditions: [Condition]?
    /// The generation of the spec this status describes.
    public var observedGeneration: Int64?
    /// Speaker pods that should run (one per selected node).
    public var speakersDesired: Int32?
    /// Speaker pods that are ready.
    public var speakersReady: Int32?
    /// "ready/desired" for `kubectl get`, e.g. "3/3".
    public var speakers: String?
    /// Whether the controller pod is ready.
    public var controllerReady: Bool?

    public init(
        conditions: [Condition]? = nil, observedGeneration: Int64? = nil, speakersDesired: Int32? = nil,
        speakersReady: Int32? = nil, speakers: String? = nil, controllerReady: Bool? = nil
    ) {
        self.conditions = conditions
        self.observedGeneration = observedGeneration
        self.speakersDesired = speakersDesired
        self.speakersReady = speakersReady
        self.speakers = speakers
        self.controllerReady = controllerReady
    }

    /// Sets both speaker counts and the "ready/desired" summary.
    public mutating func setSpeakers(ready: Int32, desired: Int32) {
        speakersReady = ready
        speakersDesired = desired
        speakers = "\(ready)/\(desired)"
    }

    /// The condition of the given type, if present.
    public func condition(_ type: MetalLBConditionType) -> Condition? {
        conditions?.first { $0.type == type.rawValue }
    }
}

extension MetalLBSpec {
    /// The log level, info when unset or unknown.
    public var effectiveLogLevel: MetalLBLogLevel { logLevel.flatMap(MetalLBLogLevel.init(rawValue:)) ?? .info }

    /// The gratuitous ARP interval, zero (off) when unset or invalid.
    public var effectiveGratuitousARPInterval: GoDuration {
        speakerGratuitousARPInterval.flatMap { try? GoDuration.parse($0) } ?? .zero
    }
}
