import NetAddress
// The allocation table: pools, who holds which address, and the MetalLB allocation rules.
//
// Choice of the next address (deterministic):
//   candidate pools = the requested pool, or every autoAssign pool admitting the Service, ordered by
//   priority (1 first, unset/0 last), then restricted pools (serviceAllocation namespaces/selectors)
//   before unrestricted ones (MetalLB tries "pinned" pools first), then name;
//   in a pool, the lowest address that is free or already shared compatibly under the same sharing key
//   (MetalLB scans the pool from its start and takes the first usable address, which is the same address).
//
// Data structures: per pool and family a RunSet of used ordinals (lowest free = one floor search),
// ip → holders and service → record dictionaries, and sharing key → addresses for co-location.

/// Per-pool usage, as IPAddressPool status and metallb_allocator_* metrics report it.
public struct PoolCounters: Hashable, Sendable {
    /// Distinct IPv4 addresses in use.
    public var assignedIPv4: Int
    /// Distinct IPv6 addresses in use.
    public var assignedIPv6: Int
    /// Allocatable IPv4 addresses (avoidBuggyIPs exclusions removed).
    public var capacityIPv4: AddressCount
    /// Allocatable IPv6 addresses.
    public var capacityIPv6: AddressCount

    /// IPv4 addresses still free.
    public var availableIPv4: AddressCount { capacityIPv4 - AddressCount(assignedIPv4) }
    /// IPv6 addresses still free.
    public var availableIPv6: AddressCount { capacityIPv6 - AddressCount(assignedIPv6) }
    /// metallb_allocator_addresses_in_use_total.
    public var assigned: Int { assignedIPv4 + assignedIPv6 }
    /// metallb_allocator_addresses_total.
    public var capacity: AddressCount { capacityIPv4 + capacityIPv6 }
}

/// The IP address allocator: a value type, mutated by the controller's single reconcile loop.
public struct Allocator: Sendable {
    struct PoolState: Sendable {
        var pool: Pool
        var v4: FamilySpace
        var v6: FamilySpace
        var used4 = RunSet()
        var used6 = RunSet()

        init(pool: Pool) {
            self.pool = pool
            self.v4 = FamilySpace(intervals: pool.addresses.v4, avoidBuggy: pool.avoidBuggyIPs)
            self.v6 = FamilySpace(intervals: pool.addresses.v6, avoidBuggy: false)
        }

        func space(_ f: IPFamily) -> FamilySpace { f == .ipv4 ? v4 : v6 }
        func used(_ f: IPFamily) -> RunSet { f == .ipv4 ? used4 : used6 }
    }

    struct Record: Sendable {
        var assignment: Assignment
        var poolIndex: Int
        var request: AllocationRequest
        var sharingKey: String?
        var backendKey: String
    }

    /// Holders of one address, sorted; the first is inline so the common unshared case allocates nothing.
    struct Holders: Sendable {
        var first: ServiceKey
        var rest: [ServiceKey] = []

        var all: [ServiceKey] { [first] + rest }

        mutating func insert(_ s: ServiceKey) {
            if s == first || rest.contains(s) { return }
            if s < first {
                rest.insert(first, at: 0)
                first = s
            } else {
                rest.insert(s, at: rest.firstIndex { s < $0 } ?? rest.count)
            }
        }

        /// Removes `s`; returns false when no holder is left.
        mutating func remove(_ s: ServiceKey) -> Bool {
            if s == first {
                if rest.isEmpty { return false }
                first = rest.removeFirst()
            } else {
                rest.removeAll { $0 == s }
            }
            return true
        }
    }

    struct LookupEntry: Sendable {
        var lo: UInt128
        var hi: UInt128
        var pool: Int
    }

    /// Pools sorted by name.
    private(set) var states: [PoolState] = []
    private var indexByName: [String: Int] = [:]
    /// Pool indices in allocation order.
    private(set) var order: [Int] = []
    private var lookup4: [LookupEntry] = []
    private var lookup6: [LookupEntry] = []
    private(set) var records: [ServiceKey: Record] = [:]
    private(set) var holdersByIP: [IPAddress: Holders] = [:]
    private(set) var sharedIPs: [String: Set<IPAddress>] = [:]

    /// An allocator with no pools.
    public init() {}

    /// An allocator with `pools`.
    public init(pools: [Pool]) throws(PoolConfigError) {
        _ = try setPools(pools)
    }

    // MARK: - Configuration

    /// The pools, sorted by name.
    public var pools: [Pool] { states.map(\.pool) }

    /// Pool names in the order automatic allocation tries them.
    public var allocationOrder: [String] { order.map { states[$0].pool.name } }

    /// Replaces the pools; allocations no longer inside a pool that admits their Service are released and returned.
    ///
    /// An allocation survives when all its addresses lie in one new pool (not skipped by avoidBuggyIPs), that pool
    /// admits the Service, and it is the pool the Service's annotation names, if any. autoAssign is not re-checked:
    /// like MetalLB, an existing address is kept rather than churned. O(P log P + I log I + A log A).
    @discardableResult
    public mutating func setPools(_ newPools: [Pool]) throws(PoolConfigError) -> [ReleasedAllocation] {
        var names = Set<String>()
        for p in newPools where !names.insert(p.name).inserted {
            throw .duplicatePoolName(p.name)
        }
        let sorted = newPools.sorted { $0.name < $1.name }
        var tables: [[LookupEntry]] = []
        for f in IPFamily.allCases {
            var entries: [LookupEntry] = []
            for (i, p) in sorted.enumerated() {
                for iv in p.addresses.intervals(f) { entries.append(LookupEntry(lo: iv.lo, hi: iv.hi, pool: i)) }
            }
            entries.sort { $0.lo < $1.lo }
            // Sorted by start, any overlap shows up between neighbours.
            for k in entries.indices.dropFirst() where entries[k].lo <= entries[k - 1].hi {
                let a = sorted[entries[k - 1].pool].name
                let b = sorted[entries[k].pool].name
                throw .overlappingPools(min(a, b), max(a, b))
            }
            tables.append(entries)
        }

        let old = records
        states = sorted.map(PoolState.init(pool:))
        indexByName = Dictionary(uniqueKeysWithValues: sorted.enumerated().map { ($1.name, $0) })
        lookup4 = tables[0]
        lookup6 = tables[1]
        order = states.indices.sorted { a, b in
            let pa = states[a].pool
            let pb = states[b].pool
            let ka = pa.priority > 0 ? pa.priority : Int.max
            let kb = pb.priority > 0 ? pb.priority : Int.max
            if ka != kb { return ka < kb }
            if pa.isRestricted != pb.isRestricted { return pa.isRestricted }
            return pa.name < pb.name
        }
        records = [:]
        holdersByIP = [:]
        sharedIPs = [:]

        var released: [ReleasedAllocation] = []
        for s in old.keys.sorted() {
            let rec = old[s]!
            switch locate(rec.assignment.addresses, service: s, request: rec.request) {
            case .success(let p):
                addRecord(s, ips: rec.assignment.addresses, pool: p, request: rec.request)
            case .failure(let reason):
                released.append(ReleasedAllocation(service: s, previous: rec.assignment, reason: reason))
            }
        }
        return released
    }

    // MARK: - Allocation

    /// Reconciles a Service: keeps a still-valid allocation (idempotent), otherwise releases it and allocates anew.
    ///
    /// A malformed request throws before anything changes. When the current allocation is invalid it is released
    /// first (as MetalLB's controller clears it), so a failing re-allocation leaves the Service with nothing.
    public mutating func assign(_ service: ServiceKey, _ request: AllocationRequest) throws(AllocationError) -> AssignResult {
        let requested = try Self.canonical(request.addresses)
        if !requested.isEmpty && !request.families.accepts(requested.map(\.family)) {
            throw .familyMismatch(addresses: requested, families: request.families)
        }
        var change = AssignResult.Change.allocated
        if let rec = records[service] {
            switch validate(rec.assignment.addresses, service: service, request: request) {
            case .success(let p):
                let current = rec.assignment.addresses
                removeRecord(service)
                addRecord(service, ips: current, pool: p, request: request)
                if case .preferDualStack = request.families, current.count == 1, requested.isEmpty,
                   let extra = candidate(pool: p, family: current[0].family.other, service: service, request: request) {
                    // MetalLB retries the missing family of a PreferDualStack Service from the same pool.
                    removeRecord(service)
                    let a = addRecord(service, ips: (current + [extra]).sorted(), pool: p, request: request)
                    return AssignResult(assignment: a, change: .extended(added: extra))
                }
                return AssignResult(assignment: records[service]!.assignment, change: .unchanged)
            case .failure(let reason):
                removeRecord(service)
                change = .replaced(previous: rec.assignment, reason: reason)
            }
        }
        let (ips, p) = try allocateFresh(service, request, requested)
        return AssignResult(assignment: addRecord(service, ips: ips, pool: p, request: request), change: change)
    }

    /// Records an allocation read back from a Service's status (controller start-up), if it is still valid.
    ///
    /// Valid means what `assign` would keep: families fit, requested addresses/pool match, one pool admits the
    /// Service, and sharing rules hold against what is already restored. On error nothing changes.
    @discardableResult
    public mutating func restore(_ service: ServiceKey, addresses: [IPAddress], request: AllocationRequest) throws(AllocationError) -> Assignment {
        let ips = try Self.canonical(addresses)
        guard !ips.isEmpty else { throw .invalidRequest("no addresses to restore") }
        switch validate(ips, service: service, request: request) {
        case .success(let p):
            removeRecord(service)
            return addRecord(service, ips: ips, pool: p, request: request)
        case .failure(let e):
            throw e
        }
    }

    /// Frees the Service's addresses (shared addresses stay with their other holders); returns what it held.
    @discardableResult
    public mutating func release(_ service: ServiceKey) -> Assignment? {
        removeRecord(service)?.assignment
    }

    // MARK: - Queries

    /// The Service's current allocation.
    public func assigned(_ service: ServiceKey) -> Assignment? { records[service]?.assignment }

    /// Every current allocation.
    public var assignments: [ServiceKey: Assignment] { records.mapValues(\.assignment) }

    /// Number of Services holding addresses.
    public var serviceCount: Int { records.count }

    /// Services holding `address`, sorted (more than one only when shared).
    public func holders(of address: IPAddress) -> [ServiceKey] { holdersByIP[address]?.all ?? [] }

    /// The first (by name) Service holding `address`.
    public func holder(of address: IPAddress) -> ServiceKey? { holdersByIP[address]?.first }

    /// True when `address` is allocatable in some pool and nobody holds it.
    public func isFree(_ address: IPAddress) -> Bool {
        guard let p = owner(of: address), states[p].pool.canHold(address) else { return false }
        return holdersByIP[address] == nil
    }

    /// The pool whose ranges contain `address` (even an avoidBuggyIPs hole).
    public func pool(containing address: IPAddress) -> String? {
        owner(of: address).map { states[$0].pool.name }
    }

    /// Usage of one pool; O(1).
    public func counters(forPool name: String) -> PoolCounters? {
        guard let i = indexByName[name] else { return nil }
        let s = states[i]
        return PoolCounters(
            assignedIPv4: s.used4.count, assignedIPv6: s.used6.count,
            capacityIPv4: AddressCount(s.v4.capacity), capacityIPv6: AddressCount(s.v6.capacity))
    }

    /// Usage of every pool, by name.
    public var counters: [String: PoolCounters] {
        Dictionary(uniqueKeysWithValues: states.map { ($0.pool.name, counters(forPool: $0.pool.name)!) })
    }

    // MARK: - Rules

    /// Sorts addresses IPv4 first and rejects more than two or two of one family.
    static func canonical(_ addresses: [IPAddress]) throws(AllocationError) -> [IPAddress] {
        if addresses.count > 2 {
            throw .invalidRequest("at most two addresses (one per family), got \(addresses.map(\.description).joined(separator: ","))")
        }
        let s = addresses.sorted()
        if s.count == 2 && s[0].family == s[1].family {
            throw .invalidRequest("\(s[0]) and \(s[1]) are of the same family")
        }
        return s
    }

    private func owner(of address: IPAddress) -> Int? {
        let table = address.family == .ipv4 ? lookup4 : lookup6
        let x = address.value
        var lo = 0
        var hi = table.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[mid].lo <= x { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0, x <= table[lo - 1].hi else { return nil }
        return table[lo - 1].pool
    }

    private func admits(_ p: Int, _ service: ServiceKey, _ request: AllocationRequest) -> Bool {
        states[p].pool.admits(namespace: service.namespace, namespaceLabels: request.namespaceLabels, serviceLabels: request.serviceLabels)
    }

    /// The one pool holding all `ips`, checked against avoidBuggyIPs, the pool annotation and the pool's selectors.
    private func locate(_ ips: [IPAddress], service: ServiceKey, request: AllocationRequest) -> Result<Int, AllocationError> {
        if let name = request.pool, indexByName[name] == nil { return .failure(.unknownPool(name)) }
        var pool: Int? = nil
        for ip in ips {
            guard let p = owner(of: ip) else { return .failure(.addressNotInAnyPool(ip)) }
            if states[p].pool.avoidBuggyIPs && ip.isBuggyForOldFirmware {
                return .failure(.addressAvoided(ip, pool: states[p].pool.name))
            }
            if let q = pool, q != p { return .failure(.addressesInDifferentPools(ips)) }
            pool = p
        }
        guard let p = pool else { return .failure(.invalidRequest("no addresses")) }
        if let name = request.pool, states[p].pool.name != name {
            return .failure(.addressNotInRequestedPool(ips[0], pool: name))
        }
        if !admits(p, service, request) {
            return .failure(.poolSelectorMismatch(pool: states[p].pool.name, service: service))
        }
        return .success(p)
    }

    /// Why `service` may not (also) hold `ip`, or nil; MetalLB's sharing rule.
    ///
    /// Other holders must carry the same non-empty sharing key and backend key (pod selector under Local), and no
    /// port of the request may be in use by another holder. A sole holder may change its own key.
    private func sharingError(_ service: ServiceKey, _ request: AllocationRequest, _ ip: IPAddress) -> AllocationError? {
        guard let holders = holdersByIP[ip] else { return nil }
        let others = holders.all.filter { $0 != service }
        guard let first = others.first, let rep = records[first] else { return nil }
        guard let key = request.effectiveSharingKey, let existing = rep.sharingKey else {
            return .addressInUse(ip, by: others)
        }
        if key != existing {
            return .sharingKeyMismatch(ip, requested: key, existing: existing, by: others)
        }
        if request.backendKey != rep.backendKey {
            return .sharingBackendMismatch(ip, by: others)
        }
        for o in others {
            guard let theirs = records[o]?.request.ports else { continue }
            for port in request.ports where theirs.contains(port) {
                return .portClash(ip, port: port, by: o)
            }
        }
        return nil
    }

    /// Full validity of `ips` for the request: shape, families, requested addresses, pool, sharing.
    private func validate(_ ips: [IPAddress], service: ServiceKey, request: AllocationRequest) -> Result<Int, AllocationError> {
        let families = ips.map(\.family)
        if ips.isEmpty || ips.count > 2 || (ips.count == 2 && families[0] == families[1]) {
            return .failure(.invalidRequest("bad address list \(ips.map(\.description).joined(separator: ","))"))
        }
        if !request.families.accepts(families) {
            return .failure(.familyMismatch(addresses: ips, families: request.families))
        }
        if !request.addresses.isEmpty && Set(request.addresses) != Set(ips) {
            return .failure(.requestedAddressesChanged(current: ips, requested: request.addresses.sorted()))
        }
        let p: Int
        switch locate(ips, service: service, request: request) {
        case .success(let q): p = q
        case .failure(let e): return .failure(e)
        }
        for ip in ips {
            if let e = sharingError(service, request, ip) { return .failure(e) }
        }
        return .success(p)
    }

    /// Lowest address of `family` in pool `p` that is free or shareable by the request; O(log runs + K).
    ///
    /// K is the number of addresses currently carrying the request's sharing key (usually a handful).
    private func candidate(pool p: Int, family: IPFamily, service: ServiceKey, request: AllocationRequest) -> IPAddress? {
        let space = family == .ipv4 ? states[p].v4 : states[p].v6
        if space.isEmpty { return nil }
        var best: UInt128? = nil
        let lowest = family == .ipv4 ? states[p].used4.lowestAbsent(atOrAfter: .zero) : states[p].used6.lowestAbsent(atOrAfter: .zero)
        if let ord = lowest, ord < space.capacity {
            best = space.address(at: ord)
        }
        if let key = request.effectiveSharingKey, let shared = sharedIPs[key] {
            for ip in shared where ip.family == family {
                let b = ip.value
                if let cur = best, !(b < cur) { continue }
                guard space.ordinal(of: b) != nil, sharingError(service, request, ip) == nil else { continue }
                best = b
            }
        }
        return best.map { IPAddress(family: family, value: $0) }
    }

    private func allocateFresh(_ service: ServiceKey, _ request: AllocationRequest, _ requested: [IPAddress]) throws(AllocationError) -> ([IPAddress], Int) {
        if !requested.isEmpty {
            switch validate(requested, service: service, request: request) {
            case .success(let p): return (requested, p)
            case .failure(let e): throw e
            }
        }
        if let name = request.pool {
            guard let p = indexByName[name] else { throw .unknownPool(name) }
            guard admits(p, service, request) else { throw .poolSelectorMismatch(pool: name, service: service) }
            return try allocate(from: [p], service, request)
        }
        let eligible = order.filter { states[$0].pool.autoAssign && admits($0, service, request) }
        if eligible.isEmpty { throw .noMatchingPool(service: service) }
        return try allocate(from: eligible, service, request)
    }

    /// First pool in `pools` able to serve the request's families (MetalLB's findBestPoolForService).
    private func allocate(from pools: [Int], _ service: ServiceKey, _ request: AllocationRequest) throws(AllocationError) -> ([IPAddress], Int) {
        func names(_ idx: [Int]) -> [String] { idx.map { states[$0].pool.name } }
        switch request.families {
        case .single(let f):
            let withFamily = pools.filter { !states[$0].space(f).isEmpty }
            if withFamily.isEmpty { throw .familyUnavailable(f, pools: names(pools)) }
            for p in withFamily {
                if let ip = candidate(pool: p, family: f, service: service, request: request) { return ([ip], p) }
            }
            throw .poolExhausted(pools: names(withFamily), family: f)
        case .requireDualStack:
            let both = pools.filter { !states[$0].v4.isEmpty && !states[$0].v6.isEmpty }
            if both.isEmpty { throw .dualStackUnavailable(pools: names(pools)) }
            for p in both {
                if let a = candidate(pool: p, family: .ipv4, service: service, request: request),
                   let b = candidate(pool: p, family: .ipv6, service: service, request: request) {
                    return ([a, b], p)
                }
            }
            throw .poolExhausted(pools: names(both), family: nil)
        case .preferDualStack(let primary):
            // Both families from the first pool that has both; else the first pool with the primary, else the secondary.
            var firstPrimary: (IPAddress, Int)? = nil
            var firstSecondary: (IPAddress, Int)? = nil
            for p in pools {
                let a = candidate(pool: p, family: primary, service: service, request: request)
                let b = candidate(pool: p, family: primary.other, service: service, request: request)
                if let a, let b { return ([a, b].sorted(), p) }
                if firstPrimary == nil, let a { firstPrimary = (a, p) }
                if firstSecondary == nil, let b { firstSecondary = (b, p) }
            }
            if let (ip, p) = firstPrimary ?? firstSecondary { return ([ip], p) }
            throw .poolExhausted(pools: names(pools), family: nil)
        }
    }

    // MARK: - Table maintenance

    @discardableResult
    private mutating func addRecord(_ service: ServiceKey, ips: [IPAddress], pool p: Int, request: AllocationRequest) -> Assignment {
        let key = request.effectiveSharingKey
        for ip in ips {
            if holdersByIP[ip]?.insert(service) == nil {
                holdersByIP[ip] = Holders(first: service)
                markUsed(ip, pool: p, true)
            }
            if let key { sharedIPs[key, default: []].insert(ip) }
        }
        let assignment = Assignment(addresses: ips, pool: states[p].pool.name)
        records[service] = Record(
            assignment: assignment, poolIndex: p, request: request, sharingKey: key, backendKey: request.backendKey)
        return assignment
    }

    @discardableResult
    private mutating func removeRecord(_ service: ServiceKey) -> Record? {
        guard let rec = records.removeValue(forKey: service) else { return nil }
        for ip in rec.assignment.addresses {
            if holdersByIP[ip]?.remove(service) == false {
                holdersByIP[ip] = nil
                markUsed(ip, pool: rec.poolIndex, false)
                if let key = rec.sharingKey {
                    sharedIPs[key]?.remove(ip)
                    if sharedIPs[key]?.isEmpty == true { sharedIPs[key] = nil }
                }
            }
        }
        return rec
    }

    private mutating func markUsed(_ ip: IPAddress, pool p: Int, _ used: Bool) {
        let ordinal = ip.family == .ipv4 ? states[p].v4.ordinal(of: ip.value) : states[p].v6.ordinal(of: ip.value)
        guard let ord = ordinal else {
            preconditionFailure("IPAM: \(ip) is not allocatable in pool \(states[p].pool.name)")
        }
        switch (ip.family, used) {
        case (.ipv4, true): states[p].used4.insert(ord)
        case (.ipv4, false): states[p].used4.remove(ord)
        case (.ipv6, true): states[p].used6.insert(ord)
        case (.ipv6, false): states[p].used6.remove(ord)
        }
    }
}
