import API
import Kube

/// What a speaker's ServiceBGPStatus objects should be: one per Service whose prefixes this node sends to at least
/// one BGPPeer, listing those peers; none for the others (MetalLB deletes the object when the peer set is empty).
/// Pure: from the route table and the objects the node wrote to the writes that make them agree.
public enum BGPStatusPlan {
    public static let nodeLabel = Layer2StatusPlan.nodeLabel
    public static let serviceNameLabel = Layer2StatusPlan.serviceNameLabel
    public static let serviceNamespaceLabel = Layer2StatusPlan.serviceNamespaceLabel

    public struct Desired: Hashable, Sendable {
        public var serviceNamespace: String
        public var serviceName: String
        /// The BGPPeer names, sorted.
        public var peers: [String]

        public init(serviceNamespace: String, serviceName: String, peers: [String]) {
            self.serviceNamespace = serviceNamespace
            self.serviceName = serviceName
            self.peers = Array(Set(peers)).sorted()
        }
    }

    /// `.update` when the object exists but shows other peers (or no status yet).
    public typealias Write = StatusWrite<Desired>

    /// The objects this node wants: the Services of `plans` that `table` sends to some peer.
    public static func desired(_ table: BGPRouteTable, plans: [BGPPlan]) -> Set<Desired> {
        Set(plans.compactMap { plan in
            guard let peers = table.peers[plan.serviceKey], !peers.isEmpty else { return nil }
            return Desired(serviceNamespace: plan.serviceNamespace, serviceName: plan.serviceName, peers: peers)
        })
    }

    /// The writes that leave exactly one object per desired Service (among `existing`, the objects labelled with
    /// this node); duplicates and objects for Services no longer sent anywhere are deleted.
    public static func writes(desired: Set<Desired>, existing: [ServiceBGPStatus]) -> [Write] {
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
            let shown = (object.status?.peers ?? []).sorted()
            if shown != want.peers || object.status?.node == nil { out.append(.update(name: name, want)) }
        }
        for want in desired.subtracting(kept).sorted(by: { ($0.serviceNamespace, $0.serviceName) < ($1.serviceNamespace, $1.serviceName) }) {
            out.append(.create(want))
        }
        return out
    }

    /// The object for `desired` written by `node`, owned by the speaker's Pod when it is known.
    public static func object(_ desired: Desired, node: String, namespace: String, owner: OwnerReference?) -> ServiceBGPStatus {
        var o = ServiceBGPStatus(
            metadata: ObjectMeta(
                namespace: namespace,
                labels: [nodeLabel: node, serviceNameLabel: desired.serviceName, serviceNamespaceLabel: desired.serviceNamespace]),
            spec: .object([:]),
            status: status(desired, node: node))
        o.metadata.generateName = "bgp-"
        if let owner { o.metadata.ownerReferences = [owner] }
        o.setTypeMeta()
        return o
    }

    public static func status(_ desired: Desired, node: String) -> ServiceBGPStatusStatus {
        ServiceBGPStatusStatus(node: node, serviceName: desired.serviceName, serviceNamespace: desired.serviceNamespace, peers: desired.peers)
    }
}
