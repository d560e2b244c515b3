// Address ranges and sets stored as merged intervals: a /8 or a /64 costs what a /24 costs.

/// Closed interval [lo, hi] of 128-bit address numbers within one family.
struct Interval: Hashable, Sendable {
    var lo: U128
    var hi: U128

    /// Number of addresses in the interval (saturates only for ::/0).
    var count: U128 { (hi - lo).saturatingAdding(.one) }
}

/// Why an address, CIDR or range text was rejected.
public struct AddressParseError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The text that was rejected.
    public var input: String
    /// A short human-readable reason.
    public var reason: String

    public init(input: String, reason: String) {
        self.input = input
        self.reason = reason
    }

    public var description: String { "invalid address \"\(input)\": \(reason)" }
}

/// A contiguous, non-empty range of addresses of one family.
public struct IPRange: Hashable, Sendable, CustomStringConvertible {
    /// Lowest address.
    public let first: IPAddr
    /// Highest address.
    public let last: IPAddr

    /// Builds a range; nil if the families differ or first > last.
    public init?(first: IPAddr, last: IPAddr) {
        guard first.family == last.family, !(last < first) else { return nil }
        self.first = first
        self.last = last
    }

    /// The single-address range.
    public init(_ address: IPAddr) {
        self.first = address
        self.last = address
    }

    /// The range a prefix covers; host bits of `base` are cleared (as Go's net.ParseCIDR does).
    public init?(cidr base: IPAddr, prefixLength: Int) {
        let width = base.family.bitWidth
        guard prefixLength >= 0, prefixLength <= width else { return nil }
        let host = U128.lowMask(width - prefixLength)
        let lo = base.bits & ~host
        self.first = IPAddr(family: base.family, bits: lo)
        self.last = IPAddr(family: base.family, bits: lo | host)
    }

    /// Parses a pool entry as MetalLB does: CIDR "10.0.0.0/24" or range "10.0.0.1-10.0.0.9" (spaces around "-" allowed).
    public init(parsing text: String) throws(AddressParseError) {
        if let dash = text.firstIndex(of: "-") {
            let a = text[..<dash].trimmingASCIISpaces
            let b = text[text.index(after: dash)...].trimmingASCIISpaces
            guard let start = IPAddr(a) else { throw AddressParseError(input: text, reason: "invalid start address \"\(a)\"") }
            guard let end = IPAddr(b) else { throw AddressParseError(input: text, reason: "invalid end address \"\(b)\"") }
            guard start.family == end.family else { throw AddressParseError(input: text, reason: "start and end are of different families") }
            guard let r = IPRange(first: start, last: end) else { throw AddressParseError(input: text, reason: "start is after end") }
            self = r
            return
        }
        guard let slash = text.firstIndex(of: "/") else {
            throw AddressParseError(input: text, reason: "expected a CIDR (a.b.c.d/n) or a range (a-b)")
        }
        let addrText = String(text[..<slash])
        let lenText = text[text.index(after: slash)...]
        guard let base = IPAddr(addrText) else { throw AddressParseError(input: text, reason: "invalid address \"\(addrText)\"") }
        guard !lenText.isEmpty, lenText.count <= 3, lenText.allSatisfy({ $0.isASCII && $0.isNumber }),
              !(lenText.count > 1 && lenText.hasPrefix("0")), let len = Int(lenText),
              let r = IPRange(cidr: base, prefixLength: len)
        else { throw AddressParseError(input: text, reason: "invalid prefix length \"\(lenText)\"") }
        self = r
    }

    /// The range's family.
    public var family: IPFamily { first.family }

    /// Number of addresses.
    public var count: AddressCount { AddressCount(interval.count) }

    /// Whether the range holds `address`.
    public func contains(_ address: IPAddr) -> Bool {
        address.family == family && !(address < first) && !(last < address)
    }

    /// "first-last", or the single address.
    public var description: String { first == last ? first.description : "\(first)-\(last)" }

    var interval: Interval { Interval(lo: first.bits, hi: last.bits) }
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

    /// Parses pool entries (CIDRs and ranges, see `IPRange(parsing:)`).
    public init(parsing entries: [String]) throws(AddressParseError) {
        var ranges: [IPRange] = []
        for e in entries { ranges.append(try IPRange(parsing: e)) }
        self.init(ranges)
    }

    /// True when the set holds no address.
    public var isEmpty: Bool { v4.isEmpty && v6.isEmpty }

    /// Whether the set holds any address of `family`.
    public func hasFamily(_ family: IPFamily) -> Bool { !intervals(family).isEmpty }

    /// Whether the set holds `address`; O(log r) in the number of ranges.
    public func contains(_ address: IPAddr) -> Bool {
        let iv = intervals(address.family)
        let x = address.bits
        guard let i = Self.floorIndex(iv, x) else { return false }
        return x <= iv[i].hi
    }

    /// Number of addresses of `family`.
    public func count(of family: IPFamily) -> AddressCount {
        var total = U128.zero
        for i in intervals(family) { total = total.saturatingAdding(i.count) }
        return AddressCount(total)
    }

    /// Number of addresses of both families (saturating).
    public var count: AddressCount { count(of: .ipv4) + count(of: .ipv6) }

    /// The merged ranges, IPv4 first, each ascending.
    public var ranges: [IPRange] {
        (v4.map { ($0, IPFamily.ipv4) } + v6.map { ($0, IPFamily.ipv6) }).map { iv, f in
            IPRange(first: IPAddr(family: f, bits: iv.lo), last: IPAddr(family: f, bits: iv.hi))!
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
    static func floorIndex(_ iv: [Interval], _ x: U128) -> Int? {
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
