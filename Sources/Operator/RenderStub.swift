// TEMPORARY: replaced by the real renderer (Render*.swift) when it is merged.
import API
import Kube

public enum MetalLBRenderer {
    public static let fieldManager = "metallb-operator"
    public static let webhookCertSecretName = "metallb-webhook-cert"
    public static let webhookServiceName = "metallb-webhook-service"
    public static let webhookConfigurationName = "metallb-webhook-configuration"
    public static let memberlistSecretName = "metallb-memberlist"

    public static func render(_ metallb: MetalLB, settings: OperatorSettings, memberlistKey: String) throws(RenderError) -> [RenderedObject] {
        throw RenderError(reason: "NotImplemented", message: "renderer stub")
    }

    public static func labels(settings: OperatorSettings) -> [String: String] {
        ["app.kubernetes.io/managed-by": fieldManager, "app.kubernetes.io/name": "metallb", "app.kubernetes.io/part-of": "metallb",
         "app.kubernetes.io/version": settings.version]
    }
}
