import API
import NetAddress
import IPAM
import Kube
import RoleKit

/// Why a Service cannot be turned into an allocation request; the text goes into an Event.
public struct ServiceRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Maps a Service to what the allocator needs, as MetalLB reads it: requested addresses from
/// the `loadBalancerIPs` annotation (comma-separated, at most one per family) or the legacy
/// `spec.loadBalancerIP` (not both), the pool annotation, the sharing key, ports, traffic
/// policy, pod selector, and the families from `ipFamilies`/`ipFamilyPolicy`.
public func allocationRequest(for service: Service, namespaceLabels: [String: String] = [:]) throws(ServiceRequestError) -> AllocationRequest {
    let ann = service.metadata.annotations ?? [:]
    func first(_ keys: [String]) -> String? {
        for k in keys { if let v = ann[k]?.trimmingSpaces, !v.isEmpty { return v } }
        return nil
    }
    let spec = service.spec ?? ServiceSpec()

    var addresses: [IPAddress] = []
    let annotated = first(ServiceAnnotations.loadBalancerIPs)
    let legacy = spec.loadBalancerIP.flatMap { $0.isEmpty ? nil : $0 }
    if annotated != nil && legacy != nil {
        throw ServiceRequestError(message: "both the \(ServiceAnnotations.loadBalancerIPs[0]) annotation and spec.loadBalancerIP are set; use only the annotation")
    }
    if let text = annotated ?? legacy {
        for part in text.split(separator: ",") {
            let s = part.trimmingSpaces
            guard let ip = IPAddress(s) else {
                throw ServiceRequestError(message: "requested address \"\(s)\" is not an IP address")
            }
            addresses.append(ip)
        }
        let v4 = addresses.filter { $0.family == .ipv4 }.count
        let v6 = addresses.count - v4
        if v4 > 1 || v6 > 1 {
            throw ServiceRequestError(message: "at most one requested address per family is allowed, got \"\(text)\"")
        }
    }

    var families: [IPFamily] = []
    for f in spec.ipFamilies ?? [] {
        switch f {
        case "IPv4": families.append(.ipv4)
        case "IPv6": families.append(.ipv6)
        default: throw ServiceRequestError(message: "unknown IP family \"\(f)\" in spec.ipFamilies")
        }
    }
    if families.isEmpty {
        // Before dual stack (or when the API server left it empty): the family of the
        // requested address, else of the cluster IP, else IPv4.
        if let a = addresses.first { families = [a.family] }
        else if let c = spec.clusterIP, let ip = IPAddress(c) { families = [ip.family] }
        else { families = [.ipv4] }
    }
    var policy: IPFamilyPolicy?
    if let p = spec.ipFamilyPolicy {
        guard let known = IPFamilyPolicy(rawValue: p) else {
            throw ServiceRequestError(message: "unknown spec.ipFamilyPolicy \"\(p)\"")
        }
        policy = known
    }

    var ports: [AllocatedPort] = []
    for p in spec.ports ?? [] {
        let proto: TransportProtocol
        switch p.protocol ?? "TCP" {
        case "TCP": proto = .tcp
        case "UDP": proto = .udp
        case "SCTP": proto = .sctp
        default: throw ServiceRequestError(message: "unknown protocol \"\(p.protocol ?? "")\" on port \(p.port)")
        }
        ports.append(AllocatedPort(proto, Int(p.port)))
    }

    return AllocationRequest(
        families: FamilyRequest(ipFamilies: families, policy: policy),
        addresses: addresses,
        pool: first(ServiceAnnotations.addressPool),
        sharingKey: first(ServiceAnnotations.allowSharedIP),
        ports: ports,
        externalTrafficPolicy: spec.externalTrafficPolicy == "Local" ? .local : .cluster,
        podSelector: spec.selector ?? [:],
        namespaceLabels: namespaceLabels,
        serviceLabels: service.metadata.labels ?? [:])
}

extension StringProtocol {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first?.isWhitespace == true { s.removeFirst() }
        while s.last?.isWhitespace == true { s.removeLast() }
        return String(s)
    }
}
