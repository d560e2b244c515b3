import IPAM
import NetAddress
import TestSupport
// Micro-benchmark entry for `hack/bench ipam`: the indexed allocator versus a naive scanning baseline.

/// One measured configuration.
public struct IPAMBenchmarkResult: Sendable, CustomStringConvertible {
    /// What was measured, e.g. "indexed IPv4 /12".
    public var name: String
    /// Services allocated then released.
    public var n: Int
    /// Mean nanoseconds per assign.
    public var assignNsPerOp: Double
    /// Mean nanoseconds per release.
    public var releaseNsPerOp: Double

    public var description: String {
        func f(_ x: Double) -> String { IPAMBenchmark.oneDecimal(x) }
        return "\(name) n=\(n): assign \(f(assignNsPerOp)) ns/op, release \(f(releaseNsPerOp)) ns/op"
    }
}

/// BASELINE ONLY, deliberately naive: scans the range from its first address for every assignment (O(n) per assign).
struct NaiveScanAllocator {
    let first: UInt128
    let last: UInt128
    var used = Set<UInt128>()
    var byService: [ServiceKey: UInt128] = [:]

    init(range: IPRange) {
        self.first = range.first.value
        self.last = range.last.value
    }

    mutating func assign(_ service: ServiceKey) -> UInt128? {
        if let x = byService[service] { return x }
        var x = first
        while x <= last {
            if !used.contains(x) {
                used.insert(x)
                byService[service] = x
                return x
            }
            guard x < .max else { break }
            x += 1
        }
        return nil
    }

    mutating func release(_ service: ServiceKey) {
        if let x = byService.removeValue(forKey: service) { used.remove(x) }
    }
}

/// Allocate-then-release benchmark of the allocator in a /12 IPv4 and a /64 IPv6 pool.
public enum IPAMBenchmark {
    /// Indexed allocator at `n` (IPv4 /12, IPv6 /64), then indexed and naive baseline at `naiveN` for the ratio.
    ///
    /// Each run assigns n Services (one TCP port each, auto-assigned), then releases them in a seeded random
    /// order, so the used-address tree fragments before it drains.
    public static func run(n: Int = 100_000, naiveN: Int = 10_000) -> [IPAMBenchmarkResult] {
        [
            indexed(.ipv4, n: n),
            indexed(.ipv6, n: n),
            indexed(.ipv4, n: naiveN),
            naive(.ipv4, n: naiveN),
            indexed(.ipv6, n: naiveN),
            naive(.ipv6, n: naiveN),
        ]
    }

    /// Text report of `run`, with the naive/indexed assign ratio at equal n.
    public static func report(n: Int = 100_000, naiveN: Int = 10_000) -> String {
        let r = run(n: n, naiveN: naiveN)
        var lines = r.map(\.description)
        for (fast, slow) in [(r[2], r[3]), (r[4], r[5])] {
            let ratio = oneDecimal(slow.assignNsPerOp / fast.assignNsPerOp)
            lines.append("assign speed-up over naive scan (\(slow.name) vs \(fast.name), n=\(fast.n)): \(ratio)x")
        }
        return lines.joined(separator: "\n")
    }

    /// Non-negative value with one decimal (integer arithmetic: no libm needed).
    static func oneDecimal(_ x: Double) -> String {
        let tenths = Int(x * 10 + 0.5)
        return "\(tenths / 10).\(tenths % 10)"
    }

    static func range(_ family: IPFamily) -> IPRange {
        family == .ipv4
            ? IPPrefix(masking: IPAddress("10.0.0.0")!, length: 12).range
            : IPPrefix(masking: IPAddress("fd00:10::")!, length: 64).range
    }

    static func keys(_ n: Int) -> [ServiceKey] {
        (0..<n).map { ServiceKey(namespace: "bench", name: "svc-\($0)") }
    }

    static func nanoseconds(_ d: Duration) -> Double {
        let c = d.components
        return Double(c.seconds) * 1e9 + Double(c.attoseconds) / 1e9
    }

    static func indexed(_ family: IPFamily, n: Int) -> IPAMBenchmarkResult {
        let r = range(family)
        let prefix = family == .ipv4 ? "/12" : "/64"
        var alloc = Allocator()
        _ = try? alloc.setPools([Pool(name: "bench", addresses: AddressSet([r]))])
        let services = keys(n)
        var rng = SplitMix64(seed: 42)
        let releaseOrder = services.shuffled(using: &rng)
        let request = AllocationRequest(families: .single(family), ports: [AllocatedPort(.tcp, 80)])
        let clock = ContinuousClock()
        let t0 = clock.now
        for s in services {
            do { _ = try alloc.assign(s, request) } catch { preconditionFailure("benchmark assign failed: \(error)") }
        }
        let t1 = clock.now
        precondition(alloc.serviceCount == n)
        for s in releaseOrder { alloc.release(s) }
        let t2 = clock.now
        precondition(alloc.serviceCount == 0)
        return IPAMBenchmarkResult(
            name: "indexed \(family.rawValue) \(prefix)", n: n,
            assignNsPerOp: nanoseconds(t1 - t0) / Double(max(n, 1)),
            releaseNsPerOp: nanoseconds(t2 - t1) / Double(max(n, 1)))
    }

    static func naive(_ family: IPFamily, n: Int) -> IPAMBenchmarkResult {
        let r = range(family)
        let prefix = family == .ipv4 ? "/12" : "/64"
        var alloc = NaiveScanAllocator(range: r)
        let services = keys(n)
        var rng = SplitMix64(seed: 42)
        let releaseOrder = services.shuffled(using: &rng)
        let clock = ContinuousClock()
        let t0 = clock.now
        for s in services { precondition(alloc.assign(s) != nil) }
        let t1 = clock.now
        precondition(alloc.byService.count == n)
        for s in releaseOrder { alloc.release(s) }
        let t2 = clock.now
        precondition(alloc.used.isEmpty)
        return IPAMBenchmarkResult(
            name: "naive-scan baseline \(family.rawValue) \(prefix)", n: n,
            assignNsPerOp: nanoseconds(t1 - t0) / Double(max(n, 1)),
            releaseNsPerOp: nanoseconds(t2 - t1) / Double(max(n, 1)))
    }
}
