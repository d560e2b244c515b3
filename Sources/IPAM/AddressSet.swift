import API
import NetAddress

// Address ranges and sets stored as merged intervals: a /8 or a /64 costs what a /24 costs.

/// Closed interval [lo, hi] of 128-bit address numbers within one family.
struct Interval: Hashable, Sendable {
    var lo: UInt128
    var hi: UInt128

    /// Number of addresses in the interval (saturates only for ::/0).
    var count: UInt128 { (hi - lo).saturatingAdding(1) }
}

extension IPRange {
    var interval: Interval { Interval(lo: first.value, hi: last.value) }
}

/// A set of addresses of both families kept as sorted, merged intervals (never one entry per address).
public struct AddressSet: Hashable, Sendable, CustomStringConvertible {
    var v4: [Interval]
    var v6: [Interval]

    /// Builds the union of `ranges`.
    public init(_ ranges: [IPRange] = []) {
        v4 = Self.normalize(ranges.filter { $0.family == .ipv4 }.map(\.interval))
        v6 = Self.normalize(ranges.filter { $0.family == .ipv6 }.map(\.interval))
    }

    /// Parses pool entries (CIDRs and ranges) with `PoolAddress`, the parser the webhook uses.
    public init(parsing entries: [String]) throws(IPParseError) {
        var ranges: [IPRange] = []
        for e in entries { ranges.append(try PoolAddress.parse(e).range) }
        self.init(ranges)
    }

    /// True when the set holds no address.
    public var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    /// Whether the set holds any address of `family`.
    public func hasFamily(_ family: IPFamily) -> Bool { !intervals(family).isEmpty }

    /// Whether the set holds `address`; O(log r) in the number of ranges.
    public func contains(_ address: IPAddress) -> Bool {
        let iv = intervals(address.family)
        let x = address.value
        guard let i = Self.floorIndex(iv, x) else { return false }
        return x <= iv[i].hi
    }

    /// Number of addresses of `family`.
    public func count(of family: IPFamily) -> AddressCount {
        var total: UInt128 = 0
        for i in intervals(family) { total = total.saturatingAdding(i.count) }
        return AddressCount(total)
    }

    /// Number of addresses of both families (saturating).
    public var count: AddressCount { count(of: .ipv4) + count(of: .ipv6) }

    /// The merged ranges, IPv4 first, each ascending.
    public var ranges: [IPRange] {
        (v4.map { ($0, IPFamily.ipv4) } + v6.map { ($0, IPFamily.ipv6) }).map { iv, f in
            IPRange(first: IPAddress(family: f, value: iv.lo), last: IPAddress(family: f, value: iv.hi))!
        }
    }

    /// Whether the two sets share an address.
    public func overlaps(_ other: AddressSet) -> Bool {
        for f in IPFamily.allCases {
            let a = intervals(f)
            let b = other.intervals(f)
            var i = 0
            var j = 0
            while i < a.count && j < b.count {
                if a[i].hi < b[j].lo {
                    i += 1
                } else if b[j].hi < a[i].lo {
                    j += 1
                } else {
                    return true
                }
            }
        }
        return false
    }

    public var description: String { "[" + ranges.map(\.description).joined(separator: ", ") + "]" }

    func intervals(_ family: IPFamily) -> [Interval] { family == .ipv4 ? v4 : v6 }

    /// Sorts and merges overlapping or adjacent intervals.
    static func normalize(_ input: [Interval]) -> [Interval] {
        let sorted = input.sorted { $0.lo < $1.lo }
        var out: [Interval] = []
        for iv in sorted {
            if var last = out.last, let next = last.hi.successor, iv.lo <= next {
                if last.hi < iv.hi { last.hi = iv.hi }
                out[out.count - 1] = last
            } else if let last = out.last, last.hi == .max {
                continue
            } else {
                out.append(iv)
            }
        }
        return out
    }

    /// Index of the last interval whose lo ≤ x.
    static func floorIndex(_ iv: [Interval], _ x: UInt128) -> Int? {
        var lo = 0
        var hi = iv.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if iv[mid].lo <= x { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : lo - 1
    }
}

extension Substring {
    var trimmingASCIISpaces: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
