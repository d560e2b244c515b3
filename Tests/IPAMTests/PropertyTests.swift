import Foundation
import Testing
import TestSupport
import Kube
import API
import NetAddress
@testable import IPAM

// Random operation sequences (assign / release / setPools / restore) on random pools, checked after every step
// against invariants and an independent brute-force model of the allocation rules. Seeded SplitMix64: a
// failure names its seed and step; set IPAM_PROPERTY_SEED=<seed> to replay a single seed.

private struct Gen {
    var rng: SplitMix64

    mutating func int(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
    mutating func chance(_ p: Double) -> Bool { Double(rng.next() % 10_000) < p * 10_000 }
    mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
}

/// The small world the random operations live in: 24 services, up to 4 pools inside 1024 addresses per family.
private enum World {
    static let namespaces = ["ns-a", "ns-b", "ns-c"]
    static let namespaceLabels: [String: [String: String]] = ["ns-a": ["env": "prod"], "ns-b": ["env": "dev"], "ns-c": [:]]
    static let services: [ServiceKey] = namespaces.flatMap { ns in (0..<8).map { ServiceKey(namespace: ns, name: "s\($0)") } }
    static let poolNames = ["p0", "p1", "p2", "p3", "p4"]
    static let ports = [AllocatedPort(.tcp, 80), AllocatedPort(.tcp, 443), AllocatedPort(.udp, 53), AllocatedPort(.tcp, 53)]
    static let blocks = 16
    static let blockSize = 64

    /// Address `offset` of the family's universe (10.0.0.0/22 or fc00::/118; offsets past 1023 fall outside every pool).
    static func address(_ f: IPFamily, _ offset: Int) -> IPAddress {
        f == .ipv4
            ? IPAddress(family: .ipv4, value: UInt128(0x0A00_0000 + UInt64(offset)))
            : IPAddress(family: .ipv6, value: UInt128(0xfc00_0000_0000_0000) << 64 | UInt128(offset))
    }

    static func randomPools(_ g: inout Gen) -> [Pool] {
        let n = 1 + g.int(4)
        var names = poolNames
        names.shuffle(using: &g.rng)
        var ranges = [[IPRange]](repeating: [], count: n)
        for f in IPFamily.allCases {
            for b in 0..<blocks where g.chance(0.4) {
                let off = g.int(blockSize)
                let len = 1 + g.int(min(12, blockSize - off))
                let lo = b * blockSize + off
                ranges[g.int(n)].append(IPRange(first: address(f, lo), last: address(f, lo + len - 1))!)
            }
        }
        return (0..<n).map { i in
            Pool(
                name: names[i], addresses: AddressSet(ranges[i]), autoAssign: g.chance(0.85), avoidBuggyIPs: g.chance(0.3),
                priority: g.pick([0, 0, 1, 2, 5]),
                namespaces: g.chance(0.2) ? [g.pick(namespaces)] : [],
                namespaceSelectors: g.chance(0.15) ? [LabelSelector(matchLabels: ["env": "prod"])] : [],
                serviceSelectors: g.chance(0.15) ? [LabelSelector(matchExpressions: [.init(key: "app", .in, ["web"])])] : [])
        }
    }

    /// A variation of `pools` (one attribute or range changed, or a rename) so that most allocations survive.
    static func mutatedPools(_ pools: [Pool], _ g: inout Gen) -> [Pool] {
        guard !pools.isEmpty else { return randomPools(&g) }
        var out = pools
        let i = g.int(out.count)
        switch g.int(7) {
        case 0: out[i].avoidBuggyIPs.toggle()
        case 1: out[i].autoAssign.toggle()
        case 2: out[i].priority = g.pick([0, 1, 2, 5, 7])
        case 3: out[i].namespaces = out[i].namespaces.isEmpty ? [g.pick(namespaces)] : []
        case 4: out[i].serviceSelectors = out[i].serviceSelectors.isEmpty ? [LabelSelector(matchExpressions: [.init(key: "app", .in, ["web"])])] : []
        case 5:
            // Drop one range, or shrink it by one address at either end.
            var ranges = out[i].addresses.ranges
            if !ranges.isEmpty {
                let k = g.int(ranges.count)
                let r = ranges[k]
                if r.first == r.last || g.chance(0.3) {
                    ranges.remove(at: k)
                } else if g.chance(0.5) {
                    ranges[k] = IPRange(first: IPAddress(family: r.family, value: r.first.value + 1), last: r.last)!
                } else {
                    ranges[k] = IPRange(first: r.first, last: IPAddress(family: r.family, value: r.last.value - 1))!
                }
                out[i].addresses = AddressSet(ranges)
            }
        default:
            let unused = poolNames.filter { n in !out.contains { $0.name == n } }
            if let n = unused.first { out[i].name = n }
        }
        return out
    }

    static func randomRequest(_ g: inout Gen, for s: ServiceKey, held: [IPAddress]) -> AllocationRequest {
        let families: FamilyRequest
        switch g.int(10) {
        case 0...3: families = .single(.ipv4)
        case 4, 5: families = .single(.ipv6)
        case 6, 7: families = .preferDualStack(primary: g.pick(IPFamily.allCases))
        default: families = .requireDualStack(primary: g.pick(IPFamily.allCases))
        }
        var addresses: [IPAddress] = []
        if g.chance(0.18) {
            let fams: [IPFamily]
            switch families {
            case .single(let f): fams = [f]
            case .preferDualStack(let p): fams = g.chance(0.3) ? [p] : [.ipv4, .ipv6]
            case .requireDualStack: fams = [.ipv4, .ipv6]
            }
            for f in fams {
                let mine = held.filter { $0.family == f }
                if !mine.isEmpty && g.chance(0.5) {
                    addresses.append(g.pick(mine))
                } else {
                    addresses.append(address(f, g.int(blocks * blockSize + 8)))
                }
            }
            if g.chance(0.05) { addresses.append(address(.ipv4, g.int(64))) }
        }
        var ports: [AllocatedPort] = [g.pick(World.ports)]
        if g.chance(0.5) {
            let p = g.pick(World.ports)
            if p != ports[0] { ports.append(p) }
        }
        return AllocationRequest(
            families: families, addresses: addresses, pool: g.chance(0.12) ? g.pick(poolNames + ["nope"]) : nil,
            sharingKey: g.pick([nil, nil, "", "x", "x", "y"]), ports: ports,
            externalTrafficPolicy: g.chance(0.3) ? .local : .cluster, podSelector: g.pick([["app": "web"], ["app": "db"]]),
            namespaceLabels: namespaceLabels[s.namespace]!, serviceLabels: g.pick([["app": "web"], ["app": "db"], [:]]))
    }
}

/// Independent, brute-force statement of the rules, evaluated on a snapshot of the allocator.
private struct Model {
    let state: Allocator
    let requests: [ServiceKey: AllocationRequest]

    static func key(_ r: AllocationRequest) -> String? {
        guard let k = r.sharingKey, !k.isEmpty else { return nil }
        return k
    }

    static func backend(_ r: AllocationRequest) -> String {
        r.externalTrafficPolicy == .local ? r.podSelector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") : ""
    }

    static func buggy(_ a: IPAddress) -> Bool {
        guard case .v4(let v) = a else { return false }
        return v.rawValue % 256 == 0 || v.rawValue % 256 == 255
    }

    static func shapeOK(_ fams: [IPFamily], _ f: FamilyRequest) -> Bool {
        switch f {
        case .single(let x): return fams == [x]
        case .preferDualStack: return fams == [.ipv4] || fams == [.ipv6] || fams == [.ipv4, .ipv6]
        case .requireDualStack: return fams == [.ipv4, .ipv6]
        }
    }

    /// Allocatable addresses of a pool, ascending, by enumeration.
    static func allocatable(_ p: Pool, _ f: IPFamily) -> [IPAddress] {
        var out: [IPAddress] = []
        for r in p.addresses.ranges where r.family == f {
            var x = r.first.value
            while true {
                let a = IPAddress(family: f, value: x)
                if !(p.avoidBuggyIPs && buggy(a)) { out.append(a) }
                if x == r.last.value { break }
                x = x + 1
            }
        }
        return out
    }

    static func inPool(_ p: Pool, _ a: IPAddress) -> Bool {
        p.addresses.ranges.contains { $0.family == a.family && !(a < $0.first) && !($0.last < a) }
    }

    static func admits(_ p: Pool, _ s: ServiceKey, _ r: AllocationRequest) -> Bool {
        if !p.namespaces.isEmpty || !p.namespaceSelectors.isEmpty {
            let byName = p.namespaces.contains(s.namespace)
            let byLabel = p.namespaceSelectors.contains { sel in (sel.matchLabels ?? [:]).allSatisfy { r.namespaceLabels[$0.key] == $0.value } }
            if !byName && !byLabel { return false }
        }
        if !p.serviceSelectors.isEmpty {
            let ok = p.serviceSelectors.contains { sel in
                (sel.matchExpressions ?? []).allSatisfy { e in r.serviceLabels[e.key].map { (e.values ?? []).contains($0) } ?? false }
            }
            if !ok { return false }
        }
        return true
    }

    static func order(_ pools: [Pool]) -> [Pool] {
        pools.sorted { a, b in
            let ka = a.priority > 0 ? a.priority : Int.max
            let kb = b.priority > 0 ? b.priority : Int.max
            let ra = a.isRestricted ? 0 : 1
            let rb = b.isRestricted ? 0 : 1
            return (ka, ra, a.name) < (kb, rb, b.name)
        }
    }

    /// Whether `s` with request `r` may (also) hold `a`.
    func usable(_ a: IPAddress, by s: ServiceKey, _ r: AllocationRequest) -> Bool {
        let others = state.holders(of: a).filter { $0 != s }
        if others.isEmpty { return true }
        guard let k = Self.key(r) else { return false }
        for o in others {
            guard let ro = requests[o], Self.key(ro) == k, Self.backend(ro) == Self.backend(r),
                  Set(ro.ports).isDisjoint(with: r.ports)
            else { return false }
        }
        return true
    }

    /// Pool placement rules only (what setPools re-checks).
    func placementOK(_ addresses: [IPAddress], _ s: ServiceKey, _ r: AllocationRequest) -> Bool {
        let owners = addresses.map { a in state.pools.first { Self.inPool($0, a) } }
        guard let first = owners.first, let p = first, owners.allSatisfy({ $0?.name == p.name }) else { return false }
        if p.avoidBuggyIPs && addresses.contains(where: Self.buggy) { return false }
        if let want = r.pool, want != p.name { return false }
        return Self.admits(p, s, r)
    }

    /// Whether `assign` should keep `addresses` for `s` under `r` (and `restore` accept them).
    func valid(_ addresses: [IPAddress], _ s: ServiceKey, _ r: AllocationRequest) -> Bool {
        let fams = addresses.map(\.family)
        guard (1...2).contains(addresses.count), Set(fams).count == fams.count, Self.shapeOK(fams.sorted(), r.families) else { return false }
        if !r.addresses.isEmpty && Set(r.addresses) != Set(addresses) { return false }
        guard placementOK(addresses, s, r) else { return false }
        return addresses.allSatisfy { usable($0, by: s, r) }
    }

    /// What a fresh allocation without requested addresses must produce.
    func expectedFresh(_ s: ServiceKey, _ r: AllocationRequest) -> Result<Assignment, AllocationError> {
        let candidates: [Pool]
        if let name = r.pool {
            guard let p = state.pools.first(where: { $0.name == name }) else { return .failure(.unknownPool(name)) }
            guard Self.admits(p, s, r) else { return .failure(.poolSelectorMismatch(pool: name, service: s)) }
            candidates = [p]
        } else {
            candidates = Self.order(state.pools).filter { $0.autoAssign && Self.admits($0, s, r) }
            if candidates.isEmpty { return .failure(.noMatchingPool(service: s)) }
        }
        func has(_ p: Pool, _ f: IPFamily) -> Bool { !Self.allocatable(p, f).isEmpty }
        func lowest(_ p: Pool, _ f: IPFamily) -> IPAddress? { Self.allocatable(p, f).first { usable($0, by: s, r) } }
        let names = candidates.map(\.name)
        switch r.families {
        case .single(let f):
            let withF = candidates.filter { has($0, f) }
            if withF.isEmpty { return .failure(.familyUnavailable(f, pools: names)) }
            for p in withF {
                if let a = lowest(p, f) { return .success(Assignment(addresses: [a], pool: p.name)) }
            }
            return .failure(.poolExhausted(pools: withF.map(\.name), family: f))
        case .requireDualStack:
            let both = candidates.filter { has($0, .ipv4) && has($0, .ipv6) }
            if both.isEmpty { return .failure(.dualStackUnavailable(pools: names)) }
            for p in both {
                if let a = lowest(p, .ipv4), let b = lowest(p, .ipv6) { return .success(Assignment(addresses: [a, b], pool: p.name)) }
            }
            return .failure(.poolExhausted(pools: both.map(\.name), family: nil))
        case .preferDualStack(let primary):
            var firstPrimary: Assignment? = nil
            var firstSecondary: Assignment? = nil
            for p in candidates {
                let a = lowest(p, primary)
                let b = lowest(p, primary.other)
                if let a, let b { return .success(Assignment(addresses: [a, b].sorted(), pool: p.name)) }
                if firstPrimary == nil, let a { firstPrimary = Assignment(addresses: [a], pool: p.name) }
                if firstSecondary == nil, let b { firstSecondary = Assignment(addresses: [b], pool: p.name) }
            }
            if let x = firstPrimary ?? firstSecondary { return .success(x) }
            return .failure(.poolExhausted(pools: names, family: nil))
        }
    }
}

/// Invariants of a live allocator, recomputed from scratch.
private func invariantViolations(_ a: Allocator, _ requests: [ServiceKey: AllocationRequest]) -> [String] {
    var bad: [String] = []
    let model = Model(state: a, requests: requests)
    var holders: [IPAddress: [ServiceKey]] = [:]
    let assignments = a.assignments
    for (s, asg) in assignments {
        guard let r = requests[s] else {
            bad.append("\(s) holds \(asg) without a known request")
            continue
        }
        if asg.addresses != asg.addresses.sorted() { bad.append("\(s): addresses not IPv4-first \(asg)") }
        if !model.placementOK(asg.addresses, s, r) { bad.append("\(s): \(asg) violates pool placement") }
        if a.pool(containing: asg.addresses[0]) != asg.pool { bad.append("\(s): pool name \(asg.pool) is not the owner") }
        if !Model.shapeOK(asg.addresses.map(\.family), r.families) { bad.append("\(s): \(asg) does not fit \(r.families)") }
        if !r.addresses.isEmpty && Set(r.addresses) != Set(asg.addresses) { bad.append("\(s): \(asg) is not the requested \(r.addresses)") }
        for ip in asg.addresses { holders[ip, default: []].append(s) }
    }
    for (ip, hs) in holders {
        let sorted = hs.sorted()
        if a.holders(of: ip) != sorted { bad.append("holders(of: \(ip)) = \(a.holders(of: ip)), want \(sorted)") }
        if a.isFree(ip) { bad.append("\(ip) is held but reported free") }
        if hs.count > 1 {
            let rs = hs.map { requests[$0]! }
            let keys = Set(rs.map { Model.key($0) ?? "<none>" })
            if keys.count != 1 || keys.contains("<none>") { bad.append("\(ip) shared by \(sorted) with keys \(keys)") }
            if Set(rs.map(Model.backend)).count != 1 { bad.append("\(ip) shared by \(sorted) with different backends") }
            let allPorts = rs.flatMap(\.ports)
            if Set(allPorts).count != allPorts.count { bad.append("\(ip) shared by \(sorted) with clashing ports") }
        }
    }
    if a.holdersByIP.count != holders.count { bad.append("holder table has \(a.holdersByIP.count) addresses, want \(holders.count)") }
    var shared: [String: Set<IPAddress>] = [:]
    for (ip, hs) in holders {
        if let k = Model.key(requests[hs[0]]!) { shared[k, default: []].insert(ip) }
    }
    if a.sharedIPs != shared { bad.append("sharing index \(a.sharedIPs) != \(shared)") }
    for p in a.pools {
        guard let c = a.counters(forPool: p.name) else {
            bad.append("no counters for \(p.name)")
            continue
        }
        let mine = Set(assignments.values.filter { $0.pool == p.name }.flatMap(\.addresses))
        let used4 = mine.filter { $0.family == .ipv4 }.count
        let used6 = mine.filter { $0.family == .ipv6 }.count
        let cap4 = Model.allocatable(p, .ipv4).count
        let cap6 = Model.allocatable(p, .ipv6).count
        let want = PoolCounters(assignedIPv4: used4, assignedIPv6: used6, capacityIPv4: AddressCount(cap4), capacityIPv6: AddressCount(cap6))
        if c != want { bad.append("counters(\(p.name)) = \(c), want \(want)") }
        if c.availableIPv4 != AddressCount(cap4 - used4) || c.availableIPv6 != AddressCount(cap6 - used6) {
            bad.append("available counts of \(p.name) wrong")
        }
    }
    for st in a.states where !st.used4.checkInvariants() || !st.used6.checkInvariants() {
        bad.append("run set of \(st.pool.name) broken")
    }
    return bad
}

/// Rebuilds a fresh allocator from the live table through `restore`, in a random order; returns differences.
private func rebuildDifferences(_ live: Allocator, _ requests: [ServiceKey: AllocationRequest], _ g: inout Gen) -> [String] {
    var fresh: Allocator
    do {
        fresh = try Allocator(pools: live.pools)
    } catch {
        return ["pools rejected on rebuild: \(error)"]
    }
    var bad: [String] = []
    var order = live.assignments.keys.sorted()
    order.shuffle(using: &g.rng)
    for s in order {
        do {
            try fresh.restore(s, addresses: live.assigned(s)!.addresses, request: requests[s]!)
        } catch {
            bad.append("restore(\(s), \(live.assigned(s)!)) failed: \(error)")
        }
    }
    if fresh.assignments != live.assignments { bad.append("rebuilt assignments differ") }
    if fresh.counters != live.counters { bad.append("rebuilt counters differ") }
    if fresh.holdersByIP.mapValues(\.all) != live.holdersByIP.mapValues(\.all) { bad.append("rebuilt holders differ") }
    if fresh.sharedIPs != live.sharedIPs { bad.append("rebuilt sharing index differs") }
    for (x, y) in zip(fresh.states, live.states) {
        let rx = x.used4.runs.map { [$0.lo, $0.hi] } + x.used6.runs.map { [$0.lo, $0.hi] }
        let ry = y.used4.runs.map { [$0.lo, $0.hi] } + y.used6.runs.map { [$0.lo, $0.hi] }
        if rx != ry { bad.append("rebuilt used-address runs of \(x.pool.name) differ") }
    }
    return bad
}

/// One random sequence; returns the first failure as text (with step and operation), or nil.
private func runSequence(seed: UInt64, steps: Int) -> String? {
    var g = Gen(rng: SplitMix64(seed: seed))
    var alloc = Allocator()
    var requests: [ServiceKey: AllocationRequest] = [:]
    do {
        try alloc.setPools(World.randomPools(&g))
    } catch {
        return "initial pools rejected: \(error)"
    }
    for step in 0..<steps {
        var bad: [String] = []
        let op = g.int(100)
        var what = ""
        let pre = alloc
        let preAssignments = alloc.assignments
        let model = Model(state: pre, requests: requests)
        switch op {
        case 0..<55:
            let s = g.pick(World.services)
            let r = (requests[s] != nil && g.chance(0.3))
                ? requests[s]! : World.randomRequest(&g, for: s, held: pre.holdersByIP.keys.sorted())
            what = "assign(\(s), \(r))"
            do {
                let res = try alloc.assign(s, r)
                requests[s] = r
                if alloc.assigned(s) != res.assignment { bad.append("result \(res.assignment) != assigned(s) \(String(describing: alloc.assigned(s)))") }
                var fresh = false
                switch res.change {
                case .unchanged:
                    if preAssignments[s] != res.assignment { bad.append("unchanged but \(String(describing: preAssignments[s])) -> \(res.assignment)") }
                    if let old = preAssignments[s], !model.valid(old.addresses, s, r) { bad.append("kept an invalid allocation \(old)") }
                case .extended(let added):
                    guard let old = preAssignments[s], case .preferDualStack = r.families, old.addresses.count == 1,
                          res.assignment.addresses == (old.addresses + [added]).sorted(), model.valid(old.addresses, s, r)
                    else {
                        bad.append("bad extension \(String(describing: preAssignments[s])) -> \(res.assignment)")
                        break
                    }
                    if !model.usable(added, by: s, r) { bad.append("extension \(added) not usable") }
                case .allocated:
                    fresh = true
                    if preAssignments[s] != nil { bad.append("allocated while holding \(preAssignments[s]!)") }
                case .replaced(let previous, _):
                    fresh = true
                    if preAssignments[s] != previous { bad.append("replaced \(previous) but held \(String(describing: preAssignments[s]))") }
                    if model.valid(previous.addresses, s, r) { bad.append("replaced a valid allocation \(previous)") }
                }
                if fresh {
                    if r.addresses.isEmpty {
                        let want = model.expectedFresh(s, r)
                        if want != .success(res.assignment) { bad.append("got \(res.assignment), model wants \(want)") }
                    } else if res.assignment.addresses != r.addresses.sorted() {
                        bad.append("got \(res.assignment), requested \(r.addresses)")
                    }
                }
                // Idempotent reconcile: the same request again changes nothing.
                let again = try alloc.assign(s, r)
                if again != AssignResult(assignment: res.assignment, change: .unchanged) { bad.append("second assign gave \(again)") }
            } catch let e {
                switch e {
                case .invalidRequest, .familyMismatch:
                    if alloc.assignments != preAssignments { bad.append("malformed request \(e) changed the table") }
                    if !(r.addresses.count > 2 || Set(r.addresses.map(\.family)).count != r.addresses.count
                        || !Model.shapeOK(r.addresses.map(\.family).sorted(), r.families)) {
                        bad.append("well-formed request rejected: \(e)")
                    }
                default:
                    requests[s] = nil
                    if alloc.assigned(s) != nil { bad.append("failed with \(e) but still holds \(alloc.assigned(s)!)") }
                    if let old = preAssignments[s], model.valid(old.addresses, s, r) { bad.append("valid \(old) dropped: \(e)") }
                    if r.addresses.isEmpty {
                        let want = model.expectedFresh(s, r)
                        if want != .failure(e) { bad.append("failed with \(e), model wants \(want)") }
                    } else if model.valid(r.addresses.sorted(), s, r) {
                        bad.append("valid requested \(r.addresses) refused: \(e)")
                    }
                }
            }
        case 55..<70:
            let s = g.pick(World.services)
            what = "release(\(s))"
            let got = alloc.release(s)
            requests[s] = nil
            if got != preAssignments[s] { bad.append("release returned \(String(describing: got)), held \(String(describing: preAssignments[s]))") }
        case 70..<76:
            var pools = g.chance(0.6) ? World.mutatedPools(alloc.pools, &g) : World.randomPools(&g)
            let overlap = pools.count >= 2 && g.chance(0.15) && !pools[0].addresses.isEmpty
            if overlap { pools[1].addresses = AddressSet(pools[1].addresses.ranges + [pools[0].addresses.ranges[0]]) }
            what = "setPools(\(pools.map { "\($0.name)\($0.addresses)" }))"
            do {
                let released = try alloc.setPools(pools)
                if overlap { bad.append("overlapping pools accepted") }
                let after = Model(state: alloc, requests: requests)
                for rel in released {
                    if preAssignments[rel.service] != rel.previous { bad.append("released \(rel) but held \(String(describing: preAssignments[rel.service]))") }
                    if after.placementOK(rel.previous.addresses, rel.service, requests[rel.service]!) { bad.append("released a still-valid \(rel)") }
                    requests[rel.service] = nil
                }
                for (s, asg) in preAssignments where !released.contains(where: { $0.service == s }) {
                    if alloc.assigned(s)?.addresses != asg.addresses { bad.append("\(s) moved by setPools: \(asg) -> \(String(describing: alloc.assigned(s)))") }
                }
            } catch {
                if !overlap { bad.append("valid pools rejected: \(error)") }
                if alloc.assignments != preAssignments || alloc.pools != pre.pools { bad.append("rejected config changed state") }
            }
        case 76..<86:
            let s = g.pick(World.services)
            let held = pre.holdersByIP.keys.sorted()
            var addresses = preAssignments[s]?.addresses ?? []
            if addresses.isEmpty || g.chance(0.5) {
                addresses = (0..<(1 + g.int(2))).map { _ in
                    !held.isEmpty && g.chance(0.5) ? g.pick(held) : World.address(g.pick(IPFamily.allCases), g.int(1030))
                }
            }
            let r = (requests[s] != nil && g.chance(0.5)) ? requests[s]! : World.randomRequest(&g, for: s, held: held)
            what = "restore(\(s), \(addresses), \(r))"
            let shouldWork = model.valid(addresses.sorted(), s, r)
            do {
                let got = try alloc.restore(s, addresses: addresses, request: r)
                requests[s] = r
                if !shouldWork { bad.append("restore accepted an invalid allocation") }
                if got.addresses != addresses.sorted() { bad.append("restored \(got)") }
            } catch {
                if shouldWork { bad.append("restore refused a valid allocation: \(error)") }
                if alloc.assignments != preAssignments { bad.append("failed restore changed the table") }
            }
        case 86..<94:
            what = "rebuild via restore"
            bad += rebuildDifferences(alloc, requests, &g)
        default:
            what = "re-assign every service"
            for s in alloc.assignments.keys.sorted() {
                let before = alloc.assigned(s)!
                do {
                    let res = try alloc.assign(s, requests[s]!)
                    switch res.change {
                    case .unchanged:
                        if res.assignment != before { bad.append("\(s) changed on re-assign") }
                    case .extended:
                        if before.addresses.count != 1 { bad.append("\(s) extended from \(before)") }
                    default:
                        bad.append("\(s) re-assign gave \(res.change)")
                    }
                } catch {
                    bad.append("\(s) re-assign failed: \(error)")
                }
            }
        }
        bad += invariantViolations(alloc, requests)
        if !bad.isEmpty {
            return "seed \(seed) step \(step) \(what):\n  " + bad.joined(separator: "\n  ")
        }
    }
    return nil
}

@Suite("Property tests (seeded random operation sequences)")
struct PropertyTests {
    static var seeds: [UInt64] {
        if let env = ProcessInfo.processInfo.environment["IPAM_PROPERTY_SEED"], let seed = UInt64(env) { return [seed] }
        return Array(1...48)
    }

    @Test(arguments: seeds)
    func randomOperationSequences(seed: UInt64) {
        if let failure = runSequence(seed: seed, steps: 250) {
            Issue.record("\(failure)\n(replay: IPAM_PROPERTY_SEED=\(seed))")
        }
    }
}
