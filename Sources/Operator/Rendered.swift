import API
import Kube

/// What the operator needs besides the `MetalLB` object to render the objects it keeps in place.
public struct OperatorSettings: Sendable, Hashable {
    /// The operator's namespace: every namespaced object goes there, and only the `MetalLB` named "metallb" in it counts.
    public var namespace: String
    /// The image of every role (`METALLB_IMAGE`, default the operator's own).
    public var image: String
    public var imagePullPolicy: String
    /// PEM of the webhook's certificate authority, injected as the ValidatingWebhookConfiguration's caBundle; nil
    /// until the serving certificate exists (the webhook configuration is then not rendered: registering a webhook
    /// nobody can serve would block every configuration change).
    public var webhookCABundle: String?
    /// The operator's version, written as `app.kubernetes.io/version` on what it renders.
    public var version: String

    public init(namespace: String, image: String, imagePullPolicy: String = "IfNotPresent", webhookCABundle: String? = nil,
                version: String) {
        self.namespace = namespace
        self.image = image
        self.imagePullPolicy = imagePullPolicy
        self.webhookCABundle = webhookCABundle
        self.version = version
    }
}

/// One object the operator applies.
public struct RenderedObject: Sendable, Hashable, CustomStringConvertible {
    /// The whole object (apiVersion, kind, metadata with labels and, for namespaced objects, the ownerReference to the
    /// `MetalLB`), ready for server-side apply.
    public var object: UnstructuredObject
    /// Created when absent, never overwritten (the membership Secret: its random key must survive every reconcile).
    public var createOnly: Bool

    public init(_ object: UnstructuredObject, createOnly: Bool = false) {
        self.object = object
        self.createOnly = createOnly
    }

    public var apiVersion: String { object.apiVersion ?? "" }
    public var kind: String { object.kind ?? "" }
    public var name: String { object.metadata.name ?? "" }
    public var namespace: String? { object.metadata.namespace }
    public var description: String { "\(kind) \(namespace.map { "\($0)/" } ?? "")\(name)" }
}

/// Why a `MetalLB` cannot be rendered: shown in its `Degraded` condition (reason, message).
public struct RenderError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A CamelCase condition reason.
    public var reason: String
    public var message: String

    public init(reason: String, message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason): \(message)" }
}
