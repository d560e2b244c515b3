import NetAddress
/// A Service IP to place: the Service's key ("namespace/name") and one of its load-balancer IPs.
public struct ServiceIP: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var serviceKey: String
    public var ip: IPAddress

    public init(serviceKey: String, ip: IPAddress) {
        self.serviceKey = serviceKey
        self.ip = ip
    }

    public var description: String { "\(serviceKey)=\(ip)" }

    public static func < (lhs: ServiceIP, rhs: ServiceIP) -> Bool {
        (lhs.serviceKey.utf8.lexicographicallyPrecedes(rhs.serviceKey.utf8))
            || (lhs.serviceKey == rhs.serviceKey && lhs.ip < rhs.ip)
    }
}

/// One Service's announcement request: its IPs and the nodes allowed to announce them (ready, speaker alive, matching the L2Advertisement, endpoints for `externalTrafficPolicy: Local`).
public struct ElectionRequest: Hashable, Sendable {
    public var serviceKey: String
    public var ips: [IPAddress]
    public var eligibleNodes: Set<String>
    /// What the election hashes: the Service's first IP (as MetalLB does), so that Services sharing an IP
    /// (`metallb.io/allow-shared-ip`) elect the same node and the IP is answered from one MAC; the Service key
    /// for a request without IPs.
    public var key: String

    public init(serviceKey: String, ips: [IPAddress], eligibleNodes: Set<String>) {
        self.serviceKey = serviceKey
        self.ips = ips
        self.eligibleNodes = eligibleNodes
        self.key = ips.first.map { "\($0)" } ?? serviceKey
    }
}

/// Coordination-free owner election by rendezvous (highest-random-weight) hashing (Thaler & Ravishankar 1998).
///
/// Every speaker computes, for each eligible node, `weight(node, key)` = SipHash-2-4 (Aumasson & Bernstein 2012)
/// with the fixed key `Election.key` over the UTF-8 bytes of `node`, one 0x00 byte, then the UTF-8 bytes of `key`, the
/// request's key: its Service's first IP (`ElectionRequest.key`); the node with the highest weight owns every IP of that
/// Service (so both families of a dual-stack Service land on one node, and Services sharing an IP on the same node, as in
/// MetalLB); ties (practically impossible) go to the node name that sorts first bytewise.
/// The weight depends only on those bytes, so it is the same on every platform, process and run.
/// Removing a node moves only the Services it owned; adding one moves only the Services it now wins.
public enum Election {
    /// The fixed SipHash key: the 16 ASCII bytes "swift-metallb-l2", read as two little-endian 64-bit words (k0, k1).
    public static let key: (UInt64, UInt64) = (
        SipHash24.littleEndianWord(Array("swift-me".utf8)),
        SipHash24.littleEndianWord(Array("tallb-l2".utf8))
    )

    /// The rendezvous weight of `node` for `key` (higher wins).
    public static func weight(node: String, key: String) -> UInt64 {
        var message = Array(node.utf8)
        message.append(0)
        message.append(contentsOf: key.utf8)
        return SipHash24.hash(message, k0: Election.key.0, k1: Election.key.1)
    }

    /// `nodes` (deduplicated) in preference order for `key`: the owner first, then who takes over if it leaves.
    public static func ranking(key: String, nodes: some Sequence<String>) -> [String] {
        Set(nodes).map { (node: $0, weight: weight(node: $0, key: key)) }
            .sorted { a, b in
                a.weight != b.weight ? a.weight > b.weight : a.node.utf8.lexicographicallyPrecedes(b.node.utf8)
            }
            .map(\.node)
    }

    /// The owner for `key` among `nodes`, or nil if there is none.
    public static func owner(key: String, nodes: some Sequence<String>) -> String? {
        var best: (node: String, weight: UInt64)?
        for node in nodes {
            let w = weight(node: node, key: key)
            if let b = best, b.weight > w || (b.weight == w && !node.utf8.lexicographicallyPrecedes(b.node.utf8)) {
                continue
            }
            best = (node, w)
        }
        return best?.node
    }

    /// The owner among `nodes` that pass `isEligible` (e.g. per-Service endpoint or node-selector checks).
    public static func owner(key: String, nodes: some Sequence<String>,
                             where isEligible: (String) throws -> Bool) rethrows -> String? {
        owner(key: key, nodes: try nodes.filter(isEligible))
    }

    /// The owner of every Service IP; IPs of Services with no eligible node are absent.
    public static func assignments(_ requests: some Sequence<ElectionRequest>) -> [ServiceIP: String] {
        var result: [ServiceIP: String] = [:]
        for request in requests {
            guard let winner = owner(key: request.key, nodes: request.eligibleNodes) else { continue }
            for ip in request.ips {
                result[ServiceIP(serviceKey: request.serviceKey, ip: ip)] = winner
            }
        }
        return result
    }

    /// The Service IPs `node` must announce: the input to `Announcer.setOwned`.
    public static func owned(by node: String, _ requests: some Sequence<ElectionRequest>) -> Set<ServiceIP> {
        var result = Set<ServiceIP>()
        for request in requests where request.eligibleNodes.contains(node) {
            guard owner(key: request.key, nodes: request.eligibleNodes) == node else { continue }
            for ip in request.ips {
                result.insert(ServiceIP(serviceKey: request.serviceKey, ip: ip))
            }
        }
        return result
    }
}

/// SipHash-2-4 (Aumasson & Bernstein, "SipHash: a fast short-input PRF", 2012): 64-bit output, little-endian throughout.
public enum SipHash24 {
    /// The 64-bit little-endian word in `bytes[0..<8]` (missing bytes read as zero).
    static func littleEndianWord(_ bytes: [UInt8]) -> UInt64 {
        var word: UInt64 = 0
        for (i, byte) in bytes.prefix(8).enumerated() { word |= UInt64(byte) << (8 * UInt64(i)) }
        return word
    }

    /// SipHash-2-4 of `message` under the key (k0, k1).
    public static func hash(_ message: [UInt8], k0: UInt64, k1: UInt64) -> UInt64 {
        var v0: UInt64 = 0x736f_6d65_7073_6575 ^ k0
        var v1: UInt64 = 0x646f_7261_6e64_6f6d ^ k1
        var v2: UInt64 = 0x6c79_6765_6e65_7261 ^ k0
        var v3: UInt64 = 0x7465_6462_7974_6573 ^ k1

        func round() {
            v0 = v0 &+ v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32)
            v2 = v2 &+ v3; v3 = rotl(v3, 16); v3 ^= v2
            v0 = v0 &+ v3; v3 = rotl(v3, 21); v3 ^= v0
            v2 = v2 &+ v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32)
        }

        let fullWords = message.count / 8
        for w in 0 ..< fullWords {
            let m = littleEndianWord(Array(message[(w * 8) ..< (w * 8 + 8)]))
            v3 ^= m
            round(); round()
            v0 ^= m
        }
        var last = UInt64(truncatingIfNeeded: message.count) << 56
        for (i, byte) in message[(fullWords * 8)...].enumerated() { last |= UInt64(byte) << (8 * UInt64(i)) }
        v3 ^= last
        round(); round()
        v0 ^= last
        v2 ^= 0xFF
        round(); round(); round(); round()
        return v0 ^ v1 ^ v2 ^ v3
    }

    private static func rotl(_ x: UInt64, _ b: UInt64) -> UInt64 { (x << b) | (x >> (64 - b)) }
}
