import Foundation
import Kube

/// Constants of the `metallb.io` API group shared by the controller, the speaker and the CLI.
public enum MetalLBAPI {
    /// The API group of every kind in this module.
    public static let group = "metallb.io"
    /// The namespace MetalLB is usually installed in.
    public static let defaultNamespace = "metallb-system"
    /// The only accepted name of the `MetalLB` (operator) object.
    public static let operatorObjectName = "metallb"
    /// Label on ConfigurationState objects: "controller" or "speaker".
    public static let componentTypeLabel = "metallb.io/component-type"
    /// Label on speaker ConfigurationState objects: the node name.
    public static let nodeNameLabel = "metallb.io/node-name"
    /// Name of the controller's ConfigurationState object.
    public static let controllerConfigurationStateName = "controller"
    /// The Secret type a BGPPeer's passwordSecret must have.
    public static let basicAuthSecretType = "kubernetes.io/basic-auth"
    /// The key of the password in a BGPPeer's password Secret.
    public static let passwordSecretKey = "password"

    /// Name of a speaker's ConfigurationState object.
    public static func speakerConfigurationStateName(node: String) -> String { "speaker-\(node)" }

    /// Every kind of the group with its resource type (BGPPeer at its storage version v1beta2).
    public static let resourceTypes: [ResourceType] = [
        IPAddressPool.resourceType, L2Advertisement.resourceType, BGPAdvertisement.resourceType,
        BGPPeer.resourceType, BFDProfile.resourceType, Community.resourceType,
        ServiceL2Status.resourceType, ServiceBGPStatus.resourceType, ConfigurationState.resourceType,
        BGPSessionState.resourceType, MetalLB.resourceType,
    ]

    /// The resource type of a document's apiVersion and kind: every served version of the
    /// group (BGPPeer also at v1beta1), plus the core kinds a configuration refers to
    /// (Secret, Node). Nil for anything else.
    public static func resourceType(apiVersion: String, kind: String) -> ResourceType? {
        switch (apiVersion, kind) {
        case ("v1", "Secret"): return Secret.resourceType
        case ("v1", "Node"): return Node.resourceType
        case (BGPPeer.v1beta1ResourceType.apiVersion, "BGPPeer"): return BGPPeer.v1beta1ResourceType
        default: return resourceTypes.first { $0.kind == kind && $0.apiVersion == apiVersion }
        }
    }
}

/// Builds a metallb.io resource type.
func metallbResource(_ version: String, _ plural: String, _ kind: String) -> ResourceType {
    ResourceType(group: MetalLBAPI.group, version: version, plural: plural, kind: kind, namespaced: true)
}
