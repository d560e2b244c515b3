// IPv4 / IPv6 address value types: parsing (RFC 4291 text forms) and canonical formatting (RFC 5952).

/// Address family.
public enum IPFamily: String, Hashable, Comparable, Sendable, CaseIterable, CustomStringConvertible {
    case ipv4 = "IPv4"
    case ipv6 = "IPv6"

    public var description: String { rawValue }

    /// IPv4 sorts before IPv6 (the order MetalLB reports dual-stack addresses in).
    public static func < (a: IPFamily, b: IPFamily) -> Bool { a == .ipv4 && b == .ipv6 }

    /// The other family.
    public var other: IPFamily { self == .ipv4 ? .ipv6 : .ipv4 }

    /// Address width in bits.
    public var bitWidth: Int { self == .ipv4 ? 32 : 128 }
}

/// An IPv4 address.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// The address as a big-endian-ordered 32-bit number (10.0.0.1 is 0x0A000001).
    public var value: UInt32

    /// Builds an address from its 32-bit value.
    public init(_ value: UInt32) {
        self.value = value
    }

    /// Builds an address from its four octets.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.value = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Parses dotted-decimal text; rejects leading zeros (ambiguous octal, as Go's net.ParseIP does).
    public init?(_ text: String) {
        guard let v = Self.parse(Array(text.utf8)[...]) else { return nil }
        self.value = v
    }

    /// The four octets, most significant first.
    public var octets: [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    public var description: String {
        "\(value >> 24).\((value >> 16) & 0xff).\((value >> 8) & 0xff).\(value & 0xff)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.value < b.value }

    static func parse(_ bytes: ArraySlice<UInt8>) -> UInt32? {
        var result: UInt32 = 0
        var parts = 0
        var acc: UInt32 = 0
        var digits = 0
        for c in bytes {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | acc
                parts += 1
                acc = 0
                digits = 0
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                if digits == 1 && acc == 0 { return nil }
                guard digits < 3 else { return nil }
                acc = acc * 10 + UInt32(c - UInt8(ascii: "0"))
                digits += 1
                guard acc <= 255 else { return nil }
            } else {
                return nil
            }
        }
        guard digits > 0, parts == 3 else { return nil }
        return result << 8 | acc
    }
}

/// An IPv6 address as two 64-bit halves.
public struct IPv6Address: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    /// Most significant 64 bits.
    public var high: UInt64
    /// Least significant 64 bits.
    public var low: UInt64

    /// Builds an address from its two halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Builds an address from eight 16-bit groups, most significant first.
    public init(segments: [UInt16]) {
        precondition(segments.count == 8, "an IPv6 address has 8 segments")
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(segments[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(segments[i]) }
        self.high = h
        self.low = l
    }

    /// Parses any RFC 4291 §2.2 text form (hex groups, one "::", trailing dotted IPv4); zone ids are rejected.
    public init?(_ text: String) {
        guard let segs = Self.parse(Array(text.utf8)), segs.count == 8 else { return nil }
        self.init(segments: segs)
    }

    /// The eight 16-bit groups, most significant first.
    public var segments: [UInt16] {
        var s = [UInt16](repeating: 0, count: 8)
        for i in 0..<4 {
            s[i] = UInt16(truncatingIfNeeded: high >> UInt64(48 - 16 * i))
            s[4 + i] = UInt16(truncatingIfNeeded: low >> UInt64(48 - 16 * i))
        }
        return s
    }

    /// True for ::ffff:0:0/96, which RFC 5952 §5 prints with a dotted-quad tail.
    public var isIPv4Mapped: Bool { high == 0 && low >> 32 == 0xffff }

    /// RFC 5952 canonical text: lowercase, no leading zeros, "::" for the longest (first on ties) run of two or more zero groups.
    public var description: String {
        if isIPv4Mapped {
            return "::ffff:" + IPv4Address(UInt32(truncatingIfNeeded: low)).description
        }
        let g = segments
        var bestStart = -1
        var bestLen = 0
        var i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8 && g[j] == 0 { j += 1 }
                if j - i > bestLen {
                    bestStart = i
                    bestLen = j - i
                }
                i = j
            } else {
                i += 1
            }
        }
        if bestLen < 2 { bestStart = -1 }
        var s = ""
        i = 0
        while i < 8 {
            if i == bestStart {
                s += "::"
                i += bestLen
                continue
            }
            if !s.isEmpty && !s.hasSuffix(":") { s += ":" }
            s += String(g[i], radix: 16)
            i += 1
        }
        return s
    }

    public static func < (a: IPv6Address, b: IPv6Address) -> Bool {
        a.high != b.high ? a.high < b.high : a.low < b.low
    }

    static func parse(_ b: [UInt8]) -> [UInt16]? {
        if b.isEmpty || b.count > 45 { return nil }
        let colon = UInt8(ascii: ":")
        var doubleColon: Int? = nil
        var i = 0
        while i + 1 < b.count {
            if b[i] == colon && b[i + 1] == colon {
                if doubleColon != nil { return nil }
                doubleColon = i
            }
            i += 1
        }
        if let d = doubleColon {
            guard let head = parseGroups(b[0..<d], allowIPv4Tail: false),
                  let tail = parseGroups(b[(d + 2)...], allowIPv4Tail: true),
                  head.count + tail.count <= 7
            else { return nil }
            return head + [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let all = parseGroups(b[...], allowIPv4Tail: true), all.count == 8 else { return nil }
        return all
    }

    private static func parseGroups(_ part: ArraySlice<UInt8>, allowIPv4Tail: Bool) -> [UInt16]? {
        if part.isEmpty { return [] }
        let fields = part.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        var out: [UInt16] = []
        for (idx, field) in fields.enumerated() {
            if field.isEmpty { return nil }
            if field.contains(UInt8(ascii: ".")) {
                guard allowIPv4Tail, idx == fields.count - 1, let v4 = IPv4Address.parse(field) else { return nil }
                out.append(UInt16(v4 >> 16))
                out.append(UInt16(v4 & 0xffff))
                continue
            }
            guard field.count <= 4 else { return nil }
            var v: UInt16 = 0
            for c in field {
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt16(d)
            }
            out.append(v)
        }
        return out
    }
}

/// An IPv4 or IPv6 address (named IPAddr so it does not clash with the API module's IPAddress).
public enum IPAddr: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family; text containing ":" is IPv6 (so "::ffff:1.2.3.4" stays IPv6).
    public init?(_ text: String) {
        if text.utf8.contains(UInt8(ascii: ":")) {
            guard let a = IPv6Address(text) else { return nil }
            self = .v6(a)
        } else {
            guard let a = IPv4Address(text) else { return nil }
            self = .v4(a)
        }
    }

    /// The address family.
    public var family: IPFamily {
        switch self {
        case .v4: return .ipv4
        case .v6: return .ipv6
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): return a.description
        case .v6(let a): return a.description
        }
    }

    /// IPv4 before IPv6, then numeric order.
    public static func < (a: IPAddr, b: IPAddr) -> Bool {
        a.family != b.family ? a.family < b.family : a.bits < b.bits
    }

    /// The address as a 128-bit number (IPv4 in the low 32 bits).
    var bits: U128 {
        switch self {
        case .v4(let a): return U128(UInt64(a.value))
        case .v6(let a): return U128(hi: a.high, lo: a.low)
        }
    }

    /// Rebuilds an address from its family and number.
    init(family: IPFamily, bits: U128) {
        switch family {
        case .ipv4: self = .v4(IPv4Address(UInt32(truncatingIfNeeded: bits.lo)))
        case .ipv6: self = .v6(IPv6Address(high: bits.hi, low: bits.lo))
        }
    }

    /// True for IPv4 addresses ending in .0 or .255, which avoidBuggyIPs skips (MetalLB's ipConfusesBuggyFirmwares).
    public var isBuggyForOldFirmware: Bool {
        guard case .v4(let a) = self else { return false }
        let last = a.value & 0xff
        return last == 0 || last == 255
    }
}
