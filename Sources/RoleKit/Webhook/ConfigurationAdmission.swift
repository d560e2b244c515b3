import API
import Kube

/// The admission decision for the metallb.io configuration kinds, with the one set of rules
/// `metallb validate` and the controller use: the configuration as it would be after the
/// request must be valid where it concerns the object written, and an IPAddressPool,
/// BFDProfile or Community that is still referenced cannot be deleted.
///
/// A reference to a BFDProfile, password Secret or Community alias that does not exist is
/// refused, as MetalLB's webhook does: admitting it would leave a peer running without the
/// BFD or password its author asked for. The message says which object to create first;
/// `kubectl apply -f` of a directory that lists the referenced object later succeeds when
/// applied again. (References to pools and peers that do not exist stay warnings: MetalLB
/// ignores them and so do we.)
public struct ConfigurationAdmission: Sendable {
    /// The current configuration (from the controller's caches, or listed from the API).
    public let current: @Sendable () async throws -> Configuration

    public init(current: @escaping @Sendable () async throws -> Configuration) {
        self.current = current
    }

    public func review(_ request: AdmissionRequest) async -> AdmissionResponse {
        let kind = request.kind.kind
        guard request.kind.group == MetalLBAPI.group else { return .allow(request.uid) }
        let config: Configuration
        do {
            config = try await current()
        } catch {
            // Failing closed would block every configuration change while the API server
            // blips; the controller validates again before it uses anything.
            return .allow(request.uid, warnings: ["metallb webhook: could not read the current configuration (\(error)); admitted without cross-object checks"])
        }
        switch request.operation {
        case "DELETE":
            let refs = references(to: kind, namespace: request.namespace ?? config.operatorNamespace, name: request.name ?? "", in: config)
            if refs.isEmpty { return .allow(request.uid) }
            return .deny(request.uid, code: 403, message: "\(kind) \(request.name ?? "") is still referenced by \(refs.joined(separator: ", ")); remove those references first")
        case "CREATE", "UPDATE":
            guard let object = request.object else { return .deny(request.uid, code: 400, message: "the request carries no object") }
            let loaded = config.upserting(document: object)
            let after = loaded.configuration.validate()
            let name = request.name ?? object["metadata"]?["name"]?.stringValue ?? ""
            let ns = request.namespace ?? object["metadata"]?["namespace"]?.stringValue
            let own = after.about(kind: kind, namespace: ns, name: name)
            // An error the change causes in another object (a peer's BFD profile turning echo
            // on while IPv6 pools reach it, say) refuses the change too; errors that other
            // objects had already are theirs to fix and do not block this one.
            let before = Set(config.validate().errors)
            let ownErrors = Set(own.errors)
            let caused = after.errors.filter { !before.contains($0) && !ownErrors.contains($0) }
            var errors = own.errors + loaded.issues.filter { $0.severity == .error }
            if request.operation == "UPDATE", let old = request.oldObject {
                errors += updateErrors(kind: kind, old: old, new: object)
            }
            let warnings = (own.warnings + loaded.issues.filter { $0.severity == .warning }).map(\.description)
            if errors.isEmpty && caused.isEmpty { return .allow(request.uid, warnings: warnings) }
            func line(_ e: API.ValidationError) -> String { e.field.isEmpty ? e.message : "\(e.field): \(e.message)" }
            var parts = errors.map(line)
            parts += caused.map { "it would make \($0.kind) \($0.name) invalid: \(line($0))" }
            return .deny(request.uid, message: "\(kind) \(name) is invalid: \(parts.joined(separator: "; "))", warnings: warnings)
        default:
            return .allow(request.uid)
        }
    }

    func updateErrors(kind: String, old: JSONValue, new: JSONValue) -> [API.ValidationError] {
        do {
            switch kind {
            case "BGPPeer": return Validation.validateUpdate(old: try old.decode(as: BGPPeer.self), new: try new.decode(as: BGPPeer.self)).errors
            case "ServiceL2Status": return Validation.validateUpdate(old: try old.decode(as: ServiceL2Status.self), new: try new.decode(as: ServiceL2Status.self)).errors
            case "ServiceBGPStatus": return Validation.validateUpdate(old: try old.decode(as: ServiceBGPStatus.self), new: try new.decode(as: ServiceBGPStatus.self)).errors
            default: return []
            }
        } catch {
            return []
        }
    }

    /// Objects that name the given one: advertisements naming a pool, peers naming a BFD
    /// profile, advertisements using a Community's aliases.
    public func references(to kind: String, namespace: String, name: String, in config: Configuration) -> [String] {
        func sameNS(_ m: ObjectMeta) -> Bool { (m.namespace ?? config.operatorNamespace) == namespace }
        switch kind {
        case "IPAddressPool":
            return config.l2Advertisements.filter { sameNS($0.metadata) && ($0.spec?.ipAddressPools ?? []).contains(name) }.map { "L2Advertisement \($0.name)" }
                + config.bgpAdvertisements.filter { sameNS($0.metadata) && ($0.spec?.ipAddressPools ?? []).contains(name) }.map { "BGPAdvertisement \($0.name)" }
        case "BFDProfile":
            return config.bgpPeers.filter { sameNS($0.metadata) && $0.spec.bfdProfile == name }.map { "BGPPeer \($0.name)" }
        case "Community":
            guard let c = config.communities.first(where: { sameNS($0.metadata) && $0.name == name }) else { return [] }
            let aliases = Set((c.spec?.communities ?? []).compactMap(\.name))
            // An alias defined by another Community object too stays resolvable.
            let elsewhere = Set(config.communities.filter { $0.name != name }.flatMap { ($0.spec?.communities ?? []).compactMap(\.name) })
            let lost = aliases.subtracting(elsewhere)
            return config.bgpAdvertisements.filter { sameNS($0.metadata) && !Set($0.spec?.communities ?? []).isDisjoint(with: lost) }
                .map { "BGPAdvertisement \($0.name)" }
        default:
            return []
        }
    }
}
