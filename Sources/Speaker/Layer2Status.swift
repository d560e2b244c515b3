import API
import Kube

/// What a speaker's ServiceL2Status objects should be: one per Service this node announces, none for the others.
/// Pure: from what the node owns and the objects it wrote to the writes that make them agree.
public enum Layer2StatusPlan {
    public static let nodeLabel = "metallb.io/node"
    public static let serviceNameLabel = "metallb.io/service-name"
    public static let serviceNamespaceLabel = "metallb.io/service-namespace"

    public struct Desired: Hashable, Sendable {
        public var serviceNamespace: String
        public var serviceName: String
        /// The interfaces announced on; empty means every suitable interface (MetalLB writes none then).
        public var interfaces: [String]

        public init(serviceNamespace: String, serviceName: String, interfaces: [String]) {
            self.serviceNamespace = serviceNamespace
            self.serviceName = serviceName
            self.interfaces = interfaces.sorted()
        }
    }

    /// `.update` when the object exists but shows other interfaces.
    public typealias Write = StatusWrite<Desired>

    /// The writes that leave exactly one object per desired Service (among `existing`, the objects labelled with
    /// this node); duplicates and objects for Services no longer announced are deleted.
    public static func writes(desired: Set<Desired>, existing: [ServiceL2Status]) -> [Write] {
        var out: [Write] = []
        var kept: Set<Desired> = []
        for object in existing.sorted(by: { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }) {
            let name = object.metadata.name ?? ""
            let labels = object.metadata.labels ?? [:]
            guard let ns = labels[serviceNamespaceLabel], let svc = labels[serviceNameLabel],
                  let want = desired.first(where: { $0.serviceNamespace == ns && $0.serviceName == svc }), !kept.contains(want)
            else {
                out.append(.delete(name: name))
                continue
            }
            kept.insert(want)
            let shown = (object.status?.interfaces ?? []).compactMap(\.name).sorted()
            if shown != want.interfaces || object.status?.node == nil { out.append(.update(name: name, want)) }
        }
        for want in desired.subtracting(kept).sorted(by: { ($0.serviceNamespace, $0.serviceName) < ($1.serviceNamespace, $1.serviceName) }) {
            out.append(.create(want))
        }
        return out
    }

    /// Objects other nodes wrote for a Service `node` now announces, whose writer the membership says is gone (heard
    /// before and dead or left since, or no longer a member; a node not heard yet, as at start, is not gone): the new
    /// owner deletes them, so that a failover leaves one object although a cut-off node cannot delete its own. A
    /// writer that comes back writes its own again if it announces again.
    public static func staleOfGoneNodes(_ all: [ServiceL2Status], node: String, gone: Set<String>, announced: Set<Desired>) -> [String] {
        let services = Set(announced.map { "\($0.serviceNamespace)/\($0.serviceName)" })
        return all.compactMap { object in
            let labels = object.metadata.labels ?? [:]
            guard let writer = labels[nodeLabel], writer != node, gone.contains(writer),
                  let ns = labels[serviceNamespaceLabel], let svc = labels[serviceNameLabel], services.contains("\(ns)/\(svc)")
            else { return nil }
            return object.metadata.name
        }.sorted()
    }

    /// The object for `desired` written by `node`, owned by the speaker's Pod when it is known.
    public static func object(_ desired: Desired, node: String, namespace: String, owner: OwnerReference?) -> ServiceL2Status {
        var o = ServiceL2Status(
            metadata: ObjectMeta(
                namespace: namespace,
                labels: [nodeLabel: node, serviceNameLabel: desired.serviceName, serviceNamespaceLabel: desired.serviceNamespace]),
            spec: .object([:]),
            status: status(desired, node: node))
        o.metadata.generateName = "l2-"
        if let owner { o.metadata.ownerReferences = [owner] }
        o.setTypeMeta()
        return o
    }

    public static func status(_ desired: Desired, node: String) -> ServiceL2StatusStatus {
        ServiceL2StatusStatus(node: node, serviceName: desired.serviceName, serviceNamespace: desired.serviceNamespace,
                              interfaces: desired.interfaces.isEmpty ? nil : desired.interfaces.map { InterfaceInfo(name: $0) })
    }
}
