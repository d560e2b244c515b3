import Kube

/// The annotations MetalLB reads on a Service, current and legacy spellings.
public enum ServiceAnnotations {
    public static let loadBalancerIPs = ["metallb.io/loadBalancerIPs", "metallb.universe.tf/loadBalancerIPs"]
    public static let addressPool = ["metallb.io/address-pool", "metallb.universe.tf/address-pool"]
    public static let allowSharedIP = ["metallb.io/allow-shared-ip", "metallb.universe.tf/allow-shared-ip"]
}

/// Whether our controller and speakers handle the Service at all: only `type: LoadBalancer`, and
/// `spec.loadBalancerClass` must equal the configured class (`--lb-class`); with no class
/// configured, only Services without a class are ours (another implementation owns the rest).
public func isManaged(_ service: Service, loadBalancerClass: String?) -> Bool {
    guard service.spec?.type == "LoadBalancer" else { return false }
    let cls = service.spec?.loadBalancerClass.flatMap { $0.isEmpty ? nil : $0 }
    return cls == loadBalancerClass.flatMap { $0.isEmpty ? nil : $0 }
}

extension Configuration {
    /// The indices of the pools an advertisement selects by name or label (all pools when it names none and selects
    /// none).
    public func poolIndices(named names: [String]?, selectedBy selectors: [LabelSelector]?) -> [Int] {
        let names = names ?? []
        let selectors = selectors ?? []
        if names.isEmpty && selectors.isEmpty { return Array(ipAddressPools.indices) }
        return ipAddressPools.indices.filter { i in
            let p = ipAddressPools[i]
            return names.contains(p.metadata.name ?? "") || selectors.contains { $0.matches(p.metadata.labels ?? [:]) }
        }
    }
}
