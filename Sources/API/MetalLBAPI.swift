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
}

/// Builds a metallb.io resource type.
func metallbResource(_ version: String, _ plural: String, _ kind: String) -> ResourceType {
    ResourceType(group: MetalLBAPI.group, version: version, plural: plural, kind: kind, namespaced: true)
}
