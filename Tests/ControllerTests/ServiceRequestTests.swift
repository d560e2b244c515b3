import API
import IPAM
import Kube
import Testing
import NetAddress

@testable import Controller

func service(
    type: String = "LoadBalancer", annotations: [String: String]? = nil, lbIP: String? = nil,
    families: [String]? = nil, policy: String? = nil, ports: [ServicePort_]? = nil, lbClass: String? = nil
) -> Service {
    Service(
        metadata: ObjectMeta(name: "web", namespace: "team", labels: ["app": "web"], annotations: annotations),
        spec: ServiceSpec(
            type: type, ports: (ports ?? [.init("TCP", 80)]).map { Kube.ServicePort(protocol: $0.proto, port: $0.port) },
            selector: ["app": "web"], loadBalancerIP: lbIP, loadBalancerClass: lbClass, externalTrafficPolicy: "Local",
            ipFamilies: families, ipFamilyPolicy: policy))
}

struct ServicePort_ {
    var proto: String
    var port: Int32
    init(_ p: String, _ n: Int32) { proto = p; port = n }
}

@Suite struct ServiceRequestTests {
    @Test func classFilter() {
        #expect(isManaged(service(), loadBalancerClass: nil))
        #expect(!isManaged(service(type: "ClusterIP"), loadBalancerClass: nil))
        #expect(!isManaged(service(lbClass: "other"), loadBalancerClass: nil), "a Service with a class belongs to that class's implementation")
        #expect(isManaged(service(lbClass: "metallb"), loadBalancerClass: "metallb"))
        #expect(!isManaged(service(), loadBalancerClass: "metallb"), "with --lb-class, Services without a class are not ours")
        #expect(!isManaged(service(lbClass: "other"), loadBalancerClass: "metallb"))
    }

    @Test func annotationsCurrentAndLegacy() throws {
        let r = try allocationRequest(for: service(annotations: [
            "metallb.io/loadBalancerIPs": "192.168.1.10, fc00::10",
            "metallb.universe.tf/address-pool": "prod",
            "metallb.io/allow-shared-ip": "key1",
        ], families: ["IPv4", "IPv6"], policy: "RequireDualStack"))
        #expect(r.addresses == [IPAddress("192.168.1.10")!, IPAddress("fc00::10")!])
        #expect(r.pool == "prod")
        #expect(r.sharingKey == "key1")
        #expect(r.families == .requireDualStack(primary: .ipv4))
        #expect(r.externalTrafficPolicy == .local)
        #expect(r.podSelector == ["app": "web"])
        #expect(r.serviceLabels == ["app": "web"])
        #expect(r.ports == [AllocatedPort(.tcp, 80)])

        let legacy = try allocationRequest(for: service(annotations: ["metallb.universe.tf/loadBalancerIPs": "10.0.0.5"]))
        #expect(legacy.addresses == [IPAddress("10.0.0.5")!])
        let spec = try allocationRequest(for: service(lbIP: "10.0.0.6"))
        #expect(spec.addresses == [IPAddress("10.0.0.6")!])
        #expect(spec.families == .single(.ipv4))
    }

    @Test(arguments: [
        (["metallb.io/loadBalancerIPs": "10.0.0.1"], "10.0.0.2", "both"),
        (["metallb.io/loadBalancerIPs": "10.0.0.1,10.0.0.2"], nil, "at most one"),
        (["metallb.io/loadBalancerIPs": "not-an-ip"], nil, "not an IP"),
    ] as [([String: String], String?, String)])
    func badRequestsAreExplained(annotations: [String: String], lbIP: String?, expected: String) {
        do {
            _ = try allocationRequest(for: service(annotations: annotations, lbIP: lbIP))
            Issue.record("accepted")
        } catch {
            #expect(error.message.contains(expected), "\(error)")
        }
    }

    @Test func familiesAndProtocols() throws {
        let v6 = try allocationRequest(for: service(families: ["IPv6"], policy: "SingleStack", ports: [.init("UDP", 53), .init("TCP", 53)]))
        #expect(v6.families == .single(.ipv6))
        #expect(v6.ports == [AllocatedPort(.udp, 53), AllocatedPort(.tcp, 53)])
        let prefer = try allocationRequest(for: service(families: ["IPv6", "IPv4"], policy: "PreferDualStack"))
        #expect(prefer.families == .preferDualStack(primary: .ipv6))
        #expect(throws: ServiceRequestError.self) { try allocationRequest(for: service(families: ["IPv5"])) }
        #expect(throws: ServiceRequestError.self) { try allocationRequest(for: service(ports: [.init("ICMP", 1)])) }
    }
}
