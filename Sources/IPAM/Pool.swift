import API
import Kube
import NetAddress
// Address pools (IPAddressPool spec) and the per-family ordinal space the allocator searches.

/// One IPAddressPool as the allocator sees it.
public struct Pool: Hashable, Sendable {
    /// metadata.name; also the value of the metallb.io/address-pool annotation.
    public var name: String
    /// spec.addresses.
    public var addresses: AddressSet
    /// spec.autoAssign (default true); false pools serve only explicit pool or address requests.
    public var autoAssign: Bool
    /// spec.avoidBuggyIPs: never hand out IPv4 addresses ending in .0 or .255.
    public var avoidBuggyIPs: Bool
    /// spec.serviceAllocation.priority: lower is preferred; 0 (unset) sorts after every set priority.
    public var priority: Int
    /// spec.serviceAllocation.namespaces.
    public var namespaces: [String]
    /// spec.serviceAllocation.namespaceSelectors (any may match).
    public var namespaceSelectors: [LabelSelector]
    /// spec.serviceAllocation.serviceSelectors (any may match).
    public var serviceSelectors: [LabelSelector]

    public init(
        name: String,
        addresses: AddressSet,
        autoAssign: Bool = true,
        avoidBuggyIPs: Bool = false,
        priority: Int = 0,
        namespaces: [String] = [],
        namespaceSelectors: [LabelSelector] = [],
        serviceSelectors: [LabelSelector] = []
    ) {
        self.name = name
        self.addresses = addresses
        self.autoAssign = autoAssign
        self.avoidBuggyIPs = avoidBuggyIPs
        self.priority = priority
        self.namespaces = namespaces
        self.namespaceSelectors = namespaceSelectors
        self.serviceSelectors = serviceSelectors
    }

    /// True when serviceAllocation restricts the pool to some namespaces or services ("pinned" in MetalLB).
    public var isRestricted: Bool {
        !namespaces.isEmpty || !namespaceSelectors.isEmpty || !serviceSelectors.isEmpty
    }

    /// Whether the pool's namespace and service selectors admit a service.
    ///
    /// Namespaces: listed by name or matched by any namespace selector. MetalLB resolves selectors to names at
    /// config time; matching the labels the controller passes in is the same test without that snapshot.
    public func admits(namespace: String, namespaceLabels: [String: String], serviceLabels: [String: String]) -> Bool {
        if !namespaces.isEmpty || !namespaceSelectors.isEmpty {
            let ok = namespaces.contains(namespace) || namespaceSelectors.contains { $0.matches(namespaceLabels) }
            if !ok { return false }
        }
        if !serviceSelectors.isEmpty && !serviceSelectors.contains(where: { $0.matches(serviceLabels) }) {
            return false
        }
        return true
    }

    /// Whether `address` is in the pool and not skipped by avoidBuggyIPs.
    public func canHold(_ address: IPAddress) -> Bool {
        addresses.contains(address) && !(avoidBuggyIPs && address.isBuggyForOldFirmware)
    }

    /// Allocatable addresses of `family` (avoidBuggyIPs exclusions removed).
    public func capacity(of family: IPFamily) -> AddressCount {
        AddressCount(FamilySpace(intervals: addresses.intervals(family), avoidBuggy: avoidBuggyIPs && family == .ipv4).capacity)
    }
}

/// A pool's allocatable addresses of one family numbered 0..<capacity in address order.
///
/// Why: with avoidBuggyIPs the .0/.255 holes are skipped arithmetically, so the free search
/// never steps over them one by one and never materialises them.
struct FamilySpace: Sendable {
    /// Merged intervals with at least one allocatable address.
    let intervals: [Interval]
    /// Allocatable addresses in intervals[0..<i].
    let before: [UInt128]
    /// Total allocatable addresses (saturates only for ::/0).
    let capacity: UInt128
    /// True for IPv4 spaces of avoidBuggyIPs pools.
    let avoidBuggy: Bool

    init(intervals input: [Interval], avoidBuggy: Bool) {
        self.avoidBuggy = avoidBuggy
        var kept: [Interval] = []
        var before: [UInt128] = []
        var total: UInt128 = 0
        for iv in input {
            let n = avoidBuggy ? UInt128(Self.nonBuggyBelow(iv.hi.low64 + 1) - Self.nonBuggyBelow(iv.lo.low64)) : iv.count
            if n == .zero { continue }
            kept.append(iv)
            before.append(total)
            total = total.saturatingAdding(n)
        }
        self.intervals = kept
        self.before = before
        self.capacity = total
    }

    var isEmpty: Bool { intervals.isEmpty }

    /// Count of IPv4 addresses in [0, x) whose last octet is neither 0 nor 255.
    static func nonBuggyBelow(_ x: UInt64) -> UInt64 {
        let last = x & 0xff
        return (x >> 8) * 254 + (last == 0 ? 0 : min(last - 1, 254))
    }

    /// The ordinal of an allocatable address, nil if outside the space or skipped; O(log intervals).
    func ordinal(of x: UInt128) -> UInt128? {
        guard let i = AddressSet.floorIndex(intervals, x), x <= intervals[i].hi else { return nil }
        let lo = intervals[i].lo
        if avoidBuggy {
            let last = x.low64 & 0xff
            if last == 0 || last == 255 { return nil }
            return before[i] + UInt128(Self.nonBuggyBelow(x.low64) - Self.nonBuggyBelow(lo.low64))
        }
        return before[i] + (x - lo)
    }

    /// The address with ordinal `ord` (< capacity); O(log intervals).
    func address(at ord: UInt128) -> UInt128 {
        var lo = 0
        var hi = before.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if before[mid] <= ord { lo = mid + 1 } else { hi = mid }
        }
        let i = lo - 1
        let offset = ord - before[i]
        if avoidBuggy {
            let k = Self.nonBuggyBelow(intervals[i].lo.low64) + offset.low64
            return UInt128((k / 254) * 256 + k % 254 + 1)
        }
        return intervals[i].lo + offset
    }
}
