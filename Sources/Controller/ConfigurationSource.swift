import API
import Kube

extension Configuration {
    /// Reads the whole configuration of `namespace` from the API server (the kinds the
    /// validation rules look at, plus the basic-auth Secrets peers may reference).
    public static func list(from client: KubeClient, namespace: String) async throws -> Configuration {
        async let pools = client.resource(IPAddressPool.self, namespace: namespace).listAll().items
        async let l2 = client.resource(L2Advertisement.self, namespace: namespace).listAll().items
        async let bgpAdv = client.resource(BGPAdvertisement.self, namespace: namespace).listAll().items
        async let peers = client.resource(BGPPeer.self, namespace: namespace).listAll().items
        async let bfd = client.resource(BFDProfile.self, namespace: namespace).listAll().items
        async let communities = client.resource(Community.self, namespace: namespace).listAll().items
        async let metallbs = client.resource(MetalLB.self, namespace: namespace).listAll().items
        async let secrets = client.resource(Secret.self, namespace: namespace).listAll(ListOptions(fieldSelector: "type=kubernetes.io/basic-auth")).items
        return Configuration(
            operatorNamespace: namespace, ipAddressPools: try await pools, l2Advertisements: try await l2,
            bgpAdvertisements: try await bgpAdv, bgpPeers: try await peers, bfdProfiles: try await bfd,
            communities: try await communities, metalLBs: try await metallbs, secrets: try await secrets, nodes: nil)
    }
}
