import API
import Kube

extension Configuration {
    /// Reads the whole configuration of `namespace` from the API server (the kinds the
    /// validation rules look at, plus the Secrets peers may reference: all of them, so that a Secret of the wrong type is reported as such).
    /// `includeNodes` also lists the cluster's Nodes, which the rules that depend on node
    /// selectors (conflicting localPref of advertisements reaching the same node) need.
    public static func list(from client: KubeClient, namespace: String, includeNodes: Bool = false) async throws -> Configuration {
        async let pools = client.resource(IPAddressPool.self, namespace: namespace).listAll().items
        async let l2 = client.resource(L2Advertisement.self, namespace: namespace).listAll().items
        async let bgpAdv = client.resource(BGPAdvertisement.self, namespace: namespace).listAll().items
        async let peers = client.resource(BGPPeer.self, namespace: namespace).listAll().items
        async let bfd = client.resource(BFDProfile.self, namespace: namespace).listAll().items
        async let communities = client.resource(Community.self, namespace: namespace).listAll().items
        async let metallbs = client.resource(MetalLB.self, namespace: namespace).listAll().items
        async let nodes = includeNodes ? client.resource(Node.self).listAll().items : nil
        async let secrets = client.resource(Secret.self, namespace: namespace).listAll().items
        return Configuration(
            operatorNamespace: namespace, ipAddressPools: try await pools, l2Advertisements: try await l2,
            bgpAdvertisements: try await bgpAdv, bgpPeers: try await peers, bfdProfiles: try await bfd,
            communities: try await communities, metalLBs: try await metallbs, secrets: try await secrets, nodes: try await nodes)
    }
}
