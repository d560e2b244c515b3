/// An IPv4 address (RFC 791 §3.1), stored in host order in `rawValue`.
public struct IPv4Address: Hashable, Comparable, Sendable, LosslessStringConvertible {
    /// The address as a 32-bit integer, first octet most significant.
    public let rawValue: UInt32

    /// Creates an address from a 32-bit integer, first octet most significant.
    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// Creates an address from its four octets, e.g. `IPv4Address(10, 254, 0, 1)`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        self.rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// Creates an address from exactly four octets; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        var value: UInt32 = 0
        for byte in bytes { value = value << 8 | UInt32(byte) }
        self.rawValue = value
    }

    /// Parses strict dotted-decimal `a.b.c.d` (RFC 6943 §3.1.1): four decimal parts 0–255, no leading zeros, nothing else.
    public init?(_ description: String) {
        guard let value = IPv4Address.parse(Array(description.utf8)[...]) else { return nil }
        self.rawValue = value
    }

    /// Dotted-quad parser shared with the IPv6 embedded-IPv4 form (RFC 4291 §2.2 item 3).
    static func parse(_ chars: ArraySlice<UInt8>) -> UInt32? {
        guard !chars.isEmpty, chars.count <= 15 else { return nil }
        var value: UInt32 = 0
        var parts = 0
        var part: UInt32 = 0
        var digits = 0
        var leadingZero = false
        for c in chars {
            if c == UInt8(ascii: ".") {
                guard digits > 0 else { return nil }
                value = value << 8 | part
                parts += 1
                part = 0
                digits = 0
                leadingZero = false
                continue
            }
            guard c >= UInt8(ascii: "0"), c <= UInt8(ascii: "9") else { return nil }
            if leadingZero { return nil }
            if digits == 0 && c == UInt8(ascii: "0") { leadingZero = true }
            part = part * 10 + UInt32(c - UInt8(ascii: "0"))
            digits += 1
            guard digits <= 3, part <= 255 else { return nil }
        }
        guard digits > 0, parts == 3 else { return nil }
        return value << 8 | part
    }

    /// Reads four octets at `offset`; caller guarantees bounds.
    init(reading bytes: [UInt8], at offset: Int) {
        self.rawValue = bytes.readUInt32(at: offset)
    }

    /// The four octets in network order.
    public var bytes: [UInt8] {
        [UInt8(truncatingIfNeeded: rawValue >> 24), UInt8(truncatingIfNeeded: rawValue >> 16),
         UInt8(truncatingIfNeeded: rawValue >> 8), UInt8(truncatingIfNeeded: rawValue)]
    }

    /// Dotted-decimal form.
    public var description: String {
        bytes.map { String($0) }.joined(separator: ".")
    }

    /// 0.0.0.0, the sender address of an ARP probe (RFC 5227 §2.1.1).
    public static let any = IPv4Address(rawValue: 0)

    /// True for 0.0.0.0.
    public var isUnspecified: Bool { rawValue == 0 }

    /// True for 224.0.0.0/4 (RFC 5771).
    public var isMulticast: Bool { rawValue >> 28 == 0xE }

    /// True for 255.255.255.255.
    public var isLimitedBroadcast: Bool { rawValue == 0xFFFF_FFFF }

    public static func < (lhs: IPv4Address, rhs: IPv4Address) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// An IPv6 address (RFC 4291 §2), stored as two 64-bit halves, first byte most significant.
public struct IPv6Address: Hashable, Comparable, Sendable, LosslessStringConvertible {
    /// Bytes 0–7.
    public let high: UInt64
    /// Bytes 8–15.
    public let low: UInt64

    /// Creates an address from its two 64-bit halves.
    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Creates an address from eight 16-bit groups, e.g. `IPv6Address(0xfd00, 0x254, 0, 0, 0, 0, 0, 1)`.
    public init(_ g0: UInt16, _ g1: UInt16, _ g2: UInt16, _ g3: UInt16,
                _ g4: UInt16, _ g5: UInt16, _ g6: UInt16, _ g7: UInt16) {
        self.high = UInt64(g0) << 48 | UInt64(g1) << 32 | UInt64(g2) << 16 | UInt64(g3)
        self.low = UInt64(g4) << 48 | UInt64(g5) << 32 | UInt64(g6) << 16 | UInt64(g7)
    }

    /// Creates an address from exactly sixteen octets; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (i, byte) in bytes.enumerated() {
            if i < 8 { high = high << 8 | UInt64(byte) } else { low = low << 8 | UInt64(byte) }
        }
        self.high = high
        self.low = low
    }

    /// Reads sixteen octets at `offset`; caller guarantees bounds.
    init(reading bytes: [UInt8], at offset: Int) {
        self.high = bytes.readUInt64(at: offset)
        self.low = bytes.readUInt64(at: offset + 8)
    }

    /// Parses the text forms of RFC 4291 §2.2 (full, `::`-compressed, trailing dotted IPv4); zone indices are rejected.
    public init?(_ description: String) {
        guard let groups = IPv6Address.parseGroups(Array(description.utf8)) else { return nil }
        self.init(groups[0], groups[1], groups[2], groups[3], groups[4], groups[5], groups[6], groups[7])
    }

    /// The sixteen octets in network order.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(16)
        out.appendBigEndian(high)
        out.appendBigEndian(low)
        return out
    }

    /// The eight 16-bit groups.
    public var groups: [UInt16] {
        (0 ..< 8).map { i in
            let half = i < 4 ? high : low
            return UInt16(truncatingIfNeeded: half >> (48 - 16 * UInt64(i % 4)))
        }
    }

    /// Canonical text form (RFC 5952 §4): lowercase, no leading zeros, longest (first on tie) run of two or more zero groups as `::`; IPv4-mapped as `::ffff:a.b.c.d` (§5).
    public var description: String {
        if let v4 = ipv4Mapped {
            return "::ffff:" + v4.description
        }
        let g = groups
        var bestStart = -1
        var bestLength = 0
        var i = 0
        while i < 8 {
            guard g[i] == 0 else { i += 1; continue }
            var j = i
            while j < 8 && g[j] == 0 { j += 1 }
            if j - i > bestLength {
                bestStart = i
                bestLength = j - i
            }
            i = j
        }
        if bestLength < 2 {
            return g.map(shortHex).joined(separator: ":")
        }
        let head = g[0 ..< bestStart].map(shortHex).joined(separator: ":")
        let tail = g[(bestStart + bestLength)...].map(shortHex).joined(separator: ":")
        return head + "::" + tail
    }

    /// Appends the sixteen octets to `buffer`.
    func write(to buffer: inout [UInt8]) {
        buffer.appendBigEndian(high)
        buffer.appendBigEndian(low)
    }

    /// `::`, the unspecified address (RFC 4291 §2.5.2), the source of DAD solicitations.
    public static let unspecified = IPv6Address(high: 0, low: 0)

    /// `::1` (RFC 4291 §2.5.3).
    public static let loopback = IPv6Address(high: 0, low: 1)

    /// `ff02::1`, link-local all-nodes (RFC 4291 §2.7.1).
    public static let allNodes = IPv6Address(high: 0xFF02_0000_0000_0000, low: 1)

    /// `ff02::2`, link-local all-routers (RFC 4291 §2.7.1).
    public static let allRouters = IPv6Address(high: 0xFF02_0000_0000_0000, low: 2)

    /// True for `::`.
    public var isUnspecified: Bool { high == 0 && low == 0 }

    /// True for ff00::/8 (RFC 4291 §2.7).
    public var isMulticast: Bool { high >> 56 == 0xFF }

    /// True for fe80::/10 (RFC 4291 §2.5.6).
    public var isLinkLocal: Bool { high >> 54 == 0xFE80 >> 6 }

    /// The IPv4 address of an IPv4-mapped address `::ffff:0:0/96` (RFC 4291 §2.5.5.2), else nil.
    public var ipv4Mapped: IPv4Address? {
        guard high == 0, low >> 32 == 0xFFFF else { return nil }
        return IPv4Address(rawValue: UInt32(truncatingIfNeeded: low))
    }

    /// The solicited-node multicast address ff02::1:ffXX:XXXX carrying the low 24 bits (RFC 4291 §2.7.1).
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x0000_0001_FF00_0000 | (low & 0xFF_FFFF))
    }

    /// True for ff02::1:ff00:0/104 (RFC 4291 §2.7.1).
    public var isSolicitedNodeMulticast: Bool {
        high == 0xFF02_0000_0000_0000 && low & 0xFFFF_FFFF_FF00_0000 == 0x0000_0001_FF00_0000
    }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }

    /// RFC 4291 §2.2 parser: returns the eight groups or nil.
    static func parseGroups(_ chars: [UInt8]) -> [UInt16]? {
        // Longest legal form: "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 characters).
        guard !chars.isEmpty, chars.count <= 45 else { return nil }
        let colon = UInt8(ascii: ":")
        var doubleColon: Int?
        var i = 0
        while i + 1 < chars.count {
            if chars[i] == colon && chars[i + 1] == colon {
                guard doubleColon == nil else { return nil }
                doubleColon = i
                i += 2
            } else {
                i += 1
            }
        }
        if let dc = doubleColon {
            guard let head = parsePart(chars[..<dc], allowIPv4: false),
                  let tail = parsePart(chars[(dc + 2)...], allowIPv4: true),
                  head.count + tail.count <= 7 // "::" stands for one or more zero groups
            else { return nil }
            return head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard let all = parsePart(chars[...], allowIPv4: true), all.count == 8 else { return nil }
        return all
    }

    /// Parses colon-separated groups of 1–4 hex digits; an empty slice is zero groups; a final dotted quad counts as two groups.
    private static func parsePart(_ chars: ArraySlice<UInt8>, allowIPv4: Bool) -> [UInt16]? {
        if chars.isEmpty { return [] }
        var groups: [UInt16] = []
        let fields = chars.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        for (index, field) in fields.enumerated() {
            guard !field.isEmpty else { return nil }
            if allowIPv4 && index == fields.count - 1 && field.contains(UInt8(ascii: ".")) {
                guard let v4 = IPv4Address.parse(field) else { return nil }
                groups.append(UInt16(truncatingIfNeeded: v4 >> 16))
                groups.append(UInt16(truncatingIfNeeded: v4))
                continue
            }
            guard field.count <= 4 else { return nil }
            var value: UInt16 = 0
            for c in field {
                guard let digit = hexDigitValue(c) else { return nil }
                value = value << 4 | UInt16(digit)
            }
            groups.append(value)
        }
        guard groups.count <= 8 else { return nil }
        return groups
    }
}

/// Either family of IP address; the element type of a responder's owned set.
public enum IPAddress: Hashable, Comparable, Sendable, LosslessStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses IPv4 dotted-decimal or IPv6 text (an IPv4-mapped IPv6 text stays `.v6`).
    public init?(_ description: String) {
        if let v4 = IPv4Address(description) {
            self = .v4(v4)
        } else if let v6 = IPv6Address(description) {
            self = .v6(v6)
        } else {
            return nil
        }
    }

    /// Dotted-decimal or RFC 5952 text.
    public var description: String {
        switch self {
        case .v4(let a): return a.description
        case .v6(let a): return a.description
        }
    }

    /// IPv4 sorts before IPv6; within a family, numeric order.
    public static func < (lhs: IPAddress, rhs: IPAddress) -> Bool {
        switch (lhs, rhs) {
        case (.v4(let a), .v4(let b)): return a < b
        case (.v6(let a), .v6(let b)): return a < b
        case (.v4, .v6): return true
        case (.v6, .v4): return false
        }
    }
}
