import Testing
import NetAddress
@testable import Layer2

@Suite("Election: SipHash-2-4")
struct SipHashTests {
    /// Reference key 00 01 … 0f of the SipHash paper (Aumasson & Bernstein 2012, Appendix A / vectors.h).
    static let k0: UInt64 = 0x0706_0504_0302_0100
    static let k1: UInt64 = 0x0F0E_0D0C_0B0A_0908

    @Test func paperVectors() {
        // Appendix A: message 00 01 … 0e (15 bytes).
        #expect(SipHash24.hash(Array(0 ..< 15), k0: Self.k0, k1: Self.k1) == 0xA129_CA61_49BE_45E5)
        // vectors.h entries 0 (empty) and 8 (one full word, exercises the length-only final block).
        #expect(SipHash24.hash([], k0: Self.k0, k1: Self.k1) == 0x726F_DB47_DD0E_0E31)
        #expect(SipHash24.hash(Array(0 ..< 8), k0: Self.k0, k1: Self.k1) == 0x93F5_F579_9A93_2462)
    }

    @Test func fixedKeyIsTheDocumentedASCII() {
        #expect(Election.key.0 == 0x656D_2D74_6669_7773) // "swift-me" little-endian
        #expect(Election.key.1 == 0x326C_2D62_6C6C_6174) // "tallb-l2" little-endian
    }
}

@Suite("Election: rendezvous hashing")
struct ElectionTests {
    static let nodes = ["node-a", "node-b", "node-c"]

    /// 100 Services spread over 7 namespaces.
    static let services: [String] = (0 ..< 100).map { "ns-\($0 % 7)/svc-\($0)" }

    /// Golden values: any change of hash, key or encoding would move Services between nodes on upgrade, so it must show here.
    @Test func goldenWeights() {
        #expect(Election.weight(node: "node-a", key: "default/web") == 0x824E_9B4D_0FD9_8201)
        #expect(Election.weight(node: "node-b", key: "default/web") == 0xB0C7_AB11_110A_9305)
        #expect(Election.weight(node: "node-c", key: "default/web") == 0x1806_D1A9_1904_B7AA)
        #expect(Election.ranking(key: "default/web", nodes: Self.nodes) == ["node-b", "node-a", "node-c"])
        #expect(Election.owner(key: "default/web", nodes: Self.nodes) == "node-b")
    }

    @Test func deterministicAndOrderIndependent() {
        for service in Self.services {
            let owner = Election.owner(key: service, nodes: Self.nodes)
            #expect(Election.owner(key: service, nodes: Self.nodes.reversed()) == owner)
            #expect(Election.owner(key: service, nodes: ["node-c", "node-a", "node-b", "node-a"]) == owner)
            #expect(Election.ranking(key: service, nodes: Self.nodes).first == owner)
        }
        #expect(Election.owner(key: "default/web", nodes: [String]()) == nil)
        #expect(Election.owner(key: "default/web", nodes: ["only"]) == "only")
    }

    /// Each of 3 nodes gets 33 ± 13 of 100 Services (±2.8σ of the binomial, σ ≈ 4.7); observed 36/30/34.
    /// With 3000 Services each gets 1000 ± 10 %; observed 988/1001/1011.
    @Test func balance() {
        var counts: [String: Int] = [:]
        for service in Self.services {
            counts[Election.owner(key: service, nodes: Self.nodes)!, default: 0] += 1
        }
        #expect(counts == ["node-a": 36, "node-b": 30, "node-c": 34])
        for node in Self.nodes { #expect((20 ... 46).contains(counts[node] ?? 0), "\(node): \(counts[node] ?? 0)") }

        var large: [String: Int] = [:]
        for i in 0 ..< 3000 {
            large[Election.owner(key: "ns-\(i % 7)/svc-\(i)", nodes: Self.nodes)!, default: 0] += 1
        }
        for node in Self.nodes { #expect((900 ... 1100).contains(large[node] ?? 0), "\(node): \(large[node] ?? 0)") }
    }

    @Test func nodeLeavingMovesOnlyItsServices() {
        let before = Dictionary(uniqueKeysWithValues: Self.services.map { ($0, Election.owner(key: $0, nodes: Self.nodes)!) })
        let after = Dictionary(uniqueKeysWithValues: Self.services.map { ($0, Election.owner(key: $0, nodes: ["node-a", "node-c"])!) })
        var moved = 0
        for service in Self.services {
            if before[service] == "node-b" {
                #expect(after[service] != "node-b")
                moved += 1
            } else {
                #expect(after[service] == before[service], "\(service) moved without cause")
            }
        }
        #expect(moved == 30)
        // The new owner is the runner-up of the old ranking.
        for service in Self.services where before[service] == "node-b" {
            #expect(after[service] == Election.ranking(key: service, nodes: Self.nodes)[1])
        }
    }

    @Test func nodeJoiningTakesOnlyWhatItWins() {
        let four = Self.nodes + ["node-d"]
        var taken = 0
        for service in Self.services {
            let before = Election.owner(key: service, nodes: Self.nodes)!
            let after = Election.owner(key: service, nodes: four)!
            if after == "node-d" { taken += 1 } else { #expect(after == before, "\(service) moved between old nodes") }
        }
        // About a quarter moves to the newcomer; nothing moves among the others.
        #expect((12 ... 40).contains(taken), "node-d took \(taken)")
    }

    @Test func eligibilityFiltering() {
        let service = "default/web" // ranking: node-b, node-a, node-c
        #expect(Election.owner(key: service, nodes: Self.nodes, where: { $0 != "node-b" }) == "node-a")
        #expect(Election.owner(key: service, nodes: Self.nodes, where: { $0 == "node-c" }) == "node-c")
        #expect(Election.owner(key: service, nodes: Self.nodes, where: { _ in false }) == nil)

        let v4 = IPAddress("10.254.0.10")!
        let v6 = IPAddress("fd00:254::10")!
        let requests = [
            ElectionRequest(serviceKey: service, ips: [v4, v6], eligibleNodes: ["node-a", "node-c"]),
            ElectionRequest(serviceKey: "default/none", ips: [IPAddress("10.254.0.11")!], eligibleNodes: []),
        ]
        let assignments = Election.assignments(requests)
        // The election key is the first IP: ranking for "10.254.0.10" is node-b, node-c, node-a.
        #expect(Election.ranking(key: "10.254.0.10", nodes: Self.nodes) == ["node-b", "node-c", "node-a"])
        // Dual-stack: both families go to the same node; a Service with no eligible node is not announced.
        #expect(assignments == [ServiceIP(serviceKey: service, ip: v4): "node-c", ServiceIP(serviceKey: service, ip: v6): "node-c"])
        #expect(Election.owned(by: "node-c", requests) == [ServiceIP(serviceKey: service, ip: v4), ServiceIP(serviceKey: service, ip: v6)])
        // node-b would win the hash but is not eligible, so it announces nothing.
        #expect(Election.owned(by: "node-b", requests).isEmpty)
        #expect(Election.owned(by: "node-a", requests).isEmpty)
    }

    /// Services that share an IP (`metallb.io/allow-shared-ip`: a TCP and a UDP Service, say) elect the same node, so
    /// one MAC answers for the IP; the key is the first IP, as MetalLB's hash of node and IP. Before, the key was the
    /// Service's name, and two nodes answered ARP for one shared IP (found by e2e `l2-mixed-protocols`).
    @Test func servicesSharingAnIPElectOneNode() {
        var owners: Set<String> = []
        for i in 0..<64 {
            let ip = IPAddress.v4(IPv4Address(10, 250, 0, UInt8(i)))
            let requests = [
                ElectionRequest(serviceKey: "default/tcp-\(i)", ips: [ip], eligibleNodes: Set(Self.nodes)),
                ElectionRequest(serviceKey: "other/udp-\(i)", ips: [ip], eligibleNodes: Set(Self.nodes)),
            ]
            let a = Election.assignments(requests)
            let tcp = a[ServiceIP(serviceKey: "default/tcp-\(i)", ip: ip)]
            #expect(tcp != nil && tcp == a[ServiceIP(serviceKey: "other/udp-\(i)", ip: ip)], "\(ip): \(a)")
            #expect(requests.allSatisfy { $0.key == "\(ip)" })
            if let tcp { owners.insert(tcp) }
            // Exactly one node owns the IP, for both Services.
            let byNode = Self.nodes.map { Election.owned(by: $0, requests).count }
            #expect(byNode.sorted() == [0, 0, 2], "\(ip): \(byNode)")
        }
        // Still spread over the nodes (not everything on one).
        #expect(owners.count == Self.nodes.count)
    }

    /// Every node computes the same owner from the same view, so exactly one node announces each Service IP.
    @Test func everyNodeAgrees() {
        let requests = Self.services.enumerated().map { i, key in
            ElectionRequest(serviceKey: key, ips: [.v4(IPv4Address(10, 254, 1, UInt8(i)))], eligibleNodes: Set(Self.nodes))
        }
        var union = Set<ServiceIP>()
        var total = 0
        for node in Self.nodes {
            let owned = Election.owned(by: node, requests)
            total += owned.count
            union.formUnion(owned)
        }
        #expect(total == 100)
        #expect(union.count == 100)
    }
}
