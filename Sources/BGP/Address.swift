import Foundation

/// An IPv4 address (RFC 791 §3.2: 32 bits; dotted-quad text form).
public struct IPv4Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// From exactly four octets in network order; `nil` otherwise.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 4 else { return nil }
        var v: UInt32 = 0
        for b in bytes { v = v << 8 | UInt32(b) }
        rawValue = v
    }

    /// Parses strict dotted-quad text ("192.0.2.1"); no leading zeros, no shorthand.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(p.count > 1 && p.first == "0"), let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        rawValue = v
    }

    public var bytes: [UInt8] {
        [UInt8(rawValue >> 24), UInt8((rawValue >> 16) & 0xff), UInt8((rawValue >> 8) & 0xff), UInt8(rawValue & 0xff)]
    }

    public var description: String {
        "\(rawValue >> 24).\((rawValue >> 16) & 0xff).\((rawValue >> 8) & 0xff).\(rawValue & 0xff)"
    }

    public static func < (l: Self, r: Self) -> Bool { l.rawValue < r.rawValue }

    public static let any = IPv4Address(0)

    /// 0.0.0.0/8 "this network" (RFC 1122 §3.2.1.3).
    public var isUnspecified: Bool { rawValue >> 24 == 0 }
    /// 127.0.0.0/8 (RFC 1122 §3.2.1.3).
    public var isLoopback: Bool { rawValue >> 24 == 127 }
    /// 224.0.0.0/4 (RFC 5771).
    public var isMulticast: Bool { rawValue >> 28 == 0xE }
    /// 255.255.255.255 (RFC 919).
    public var isLimitedBroadcast: Bool { rawValue == .max }
}

/// An IPv6 address (RFC 4291 §2.2 text input, RFC 5952 §4 canonical text output).
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) { self.high = high; self.low = low }

    /// From exactly sixteen octets in network order; `nil` otherwise.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var h: UInt64 = 0, l: UInt64 = 0
        for (i, b) in bytes.enumerated() {
            if i < 8 { h = h << 8 | UInt64(b) } else { l = l << 8 | UInt64(b) }
        }
        high = h; low = l
    }

    /// From eight 16-bit groups (missing groups are zero, extra ones ignored).
    public init(groups: [UInt16]) {
        let g = Array((groups + Array(repeating: 0, count: 8)).prefix(8))
        var h: UInt64 = 0, l: UInt64 = 0
        for i in 0..<4 { h = h << 16 | UInt64(g[i]) }
        for i in 4..<8 { l = l << 16 | UInt64(g[i]) }
        high = h; low = l
    }

    /// IPv4-mapped address ::ffff:a.b.c.d (RFC 4291 §2.5.5.2).
    public init(ipv4Mapped v4: IPv4Address) { high = 0; low = 0x0000_FFFF_0000_0000 | UInt64(v4.rawValue) }

    /// Parses RFC 4291 §2.2 text: full, "::"-compressed, and with an embedded dotted quad.
    public init?(_ text: some StringProtocol) {
        let s = String(text)
        guard !s.isEmpty, s.count <= 45, s.allSatisfy({ $0.isASCII }) else { return nil }
        func parseGroups(_ part: Substring, allowV4Tail: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (i, f) in fields.enumerated() {
                if i == fields.count - 1, allowV4Tail, f.contains(".") {
                    guard let v4 = IPv4Address(f) else { return nil }
                    out.append(UInt16(v4.rawValue >> 16)); out.append(UInt16(v4.rawValue & 0xffff))
                    continue
                }
                guard (1...4).contains(f.count), let v = UInt16(f, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        var groups: [UInt16]
        if let r = s.range(of: "::") {
            let head = s[s.startIndex..<r.lowerBound], tail = s[r.upperBound...]
            guard !tail.contains("::"), let h = parseGroups(head, allowV4Tail: false),
                  let t = parseGroups(tail, allowV4Tail: true), h.count + t.count <= 7 else { return nil }
            groups = h + Array(repeating: 0, count: 8 - h.count - t.count) + t
        } else {
            guard let g = parseGroups(s[...], allowV4Tail: true), g.count == 8 else { return nil }
            groups = g
        }
        self.init(groups: groups)
    }

    public var groups: [UInt16] {
        var out: [UInt16] = []
        out.reserveCapacity(8)
        for word in [high, low] {
            for k in 0..<4 {
                let shift = UInt64(48 - 16 * k)
                out.append(UInt16(truncatingIfNeeded: word >> shift))
            }
        }
        return out
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for word in [high, low] {
            for k in 0..<8 {
                let shift = UInt64(56 - 8 * k)
                out.append(UInt8(truncatingIfNeeded: word >> shift))
            }
        }
        return out
    }

    /// RFC 5952 §4: lower case, no leading zeros, the longest (first on a tie) run of two or more zero groups as
    /// "::", and §5 dotted-quad for IPv4-mapped addresses.
    public var description: String {
        if let v4 = ipv4Mapped { return "::ffff:\(v4)" }
        let g = groups
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if g[i] == 0 {
                var j = i
                while j < 8, g[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else { i += 1 }
        }
        if bestLen < 2 { return g.map { String($0, radix: 16) }.joined(separator: ":") }
        let head = g[0..<bestStart].map { String($0, radix: 16) }.joined(separator: ":")
        let tail = g[(bestStart + bestLen)...].map { String($0, radix: 16) }.joined(separator: ":")
        return head + "::" + tail
    }

    public static func < (l: Self, r: Self) -> Bool { (l.high, l.low) < (r.high, r.low) }

    public static let any = IPv6Address(high: 0, low: 0)

    /// fe80::/10 (RFC 4291 §2.5.6).
    public var isLinkLocal: Bool { high >> 54 == 0x3FA }
    /// ff00::/8 (RFC 4291 §2.7).
    public var isMulticast: Bool { high >> 56 == 0xFF }
    /// :: (RFC 4291 §2.5.2).
    public var isUnspecified: Bool { high == 0 && low == 0 }
    /// ::1 (RFC 4291 §2.5.3).
    public var isLoopback: Bool { high == 0 && low == 1 }
    /// The IPv4 address of an IPv4-mapped address ::ffff:0:0/96 (RFC 4291 §2.5.5.2).
    public var ipv4Mapped: IPv4Address? {
        guard high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPv4Address(UInt32(low & 0xffff_ffff))
    }
}

/// An IPv4 (RFC 791) or IPv6 (RFC 4291) address.
public enum IPAddress: Hashable, Sendable, Comparable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family's text form.
    public init?(_ text: some StringProtocol) {
        if text.contains(":") {
            guard let a = IPv6Address(text) else { return nil }
            self = .v6(a)
        } else {
            guard let a = IPv4Address(text) else { return nil }
            self = .v4(a)
        }
    }

    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    public var family: AddressFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    public static func < (l: Self, r: Self) -> Bool {
        switch (l, r) {
        case let (.v4(a), .v4(b)): a < b
        case let (.v6(a), .v6(b)): a < b
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }
}

/// AFI values for the two families this codec carries (RFC 4760 §3, IANA "Address Family Numbers").
public enum AddressFamily: UInt16, Hashable, Sendable, CaseIterable {
    case ipv4 = 1
    case ipv6 = 2

    /// Maximum prefix length in bits.
    public var maxPrefixLength: Int { self == .ipv4 ? 32 : 128 }
    /// Address size in octets.
    public var addressSize: Int { self == .ipv4 ? 4 : 16 }
}
