import Foundation

/// Why a piece of text is not an IP address, prefix or range.
public struct IPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var input: String
    public var reason: String

    public init(_ input: String, _ reason: String) {
        self.input = input
        self.reason = reason
    }

    public var description: String { "\"\(input)\" is not valid: \(reason)" }
}

/// A 128-bit unsigned integer as two halves (UInt128 needs macOS 15, the package targets 14).
struct U128: Sendable, Hashable, Comparable {
    var hi: UInt64
    var lo: UInt64

    static let zero = U128(hi: 0, lo: 0)
    static let max = U128(hi: .max, lo: .max)

    static func < (a: U128, b: U128) -> Bool { a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo }
    static func & (a: U128, b: U128) -> U128 { U128(hi: a.hi & b.hi, lo: a.lo & b.lo) }
    static func | (a: U128, b: U128) -> U128 { U128(hi: a.hi | b.hi, lo: a.lo | b.lo) }
    static prefix func ~ (a: U128) -> U128 { U128(hi: ~a.hi, lo: ~a.lo) }

    /// self + 1, or nil on overflow.
    var successor: U128? {
        if lo != .max { return U128(hi: hi, lo: lo + 1) }
        if hi != .max { return U128(hi: hi + 1, lo: 0) }
        return nil
    }

    /// self - 1, or nil below zero.
    var predecessor: U128? {
        if lo != 0 { return U128(hi: hi, lo: lo - 1) }
        if hi != 0 { return U128(hi: hi - 1, lo: .max) }
        return nil
    }

    /// a - b for a >= b.
    static func - (a: U128, b: U128) -> U128 {
        let (lo, borrow) = a.lo.subtractingReportingOverflow(b.lo)
        return U128(hi: a.hi &- b.hi &- (borrow ? 1 : 0), lo: lo)
    }

    /// The low `bits` bits set (bits in 0...128).
    static func lowMask(_ bits: Int) -> U128 {
        if bits <= 0 { return .zero }
        if bits >= 128 { return .max }
        if bits >= 64 { return U128(hi: bits == 64 ? 0 : (UInt64.max >> (128 - bits)), lo: .max) }
        return U128(hi: 0, lo: UInt64.max >> (64 - bits))
    }

    /// Number of trailing zero bits (128 for zero).
    var trailingZeroBitCount: Int {
        if lo != 0 { return lo.trailingZeroBitCount }
        if hi != 0 { return 64 + hi.trailingZeroBitCount }
        return 128
    }

    /// Bit length of the value (0 for zero).
    var bitLength: Int {
        if hi != 0 { return 128 - hi.leadingZeroBitCount }
        return 64 - lo.leadingZeroBitCount
    }
}

/// An IPv4 or IPv6 address (RFC 791, RFC 4291) with RFC 5952 canonical text form.
public struct IPAddress: Sendable, Hashable, Comparable, CustomStringConvertible, LosslessStringConvertible, Codable {
    /// The address family.
    public enum Family: String, Sendable, Hashable, Codable, CustomStringConvertible {
        case ipv4 = "IPv4"
        case ipv6 = "IPv6"

        /// Number of bits in an address of this family.
        public var bitWidth: Int { self == .ipv4 ? 32 : 128 }
        public var description: String { rawValue }
    }

    public let family: Family
    /// The address as a number; IPv4 uses the low 32 bits.
    let value: U128

    init(family: Family, value: U128) {
        self.family = family
        self.value = family == .ipv4 ? U128(hi: 0, lo: value.lo & 0xFFFF_FFFF) : value
    }

    /// An IPv4 address from its 32-bit value (network byte order as a number).
    public init(ipv4 value: UInt32) {
        self.init(family: .ipv4, value: U128(hi: 0, lo: UInt64(value)))
    }

    /// An IPv6 address from its high and low 64-bit halves.
    public init(ipv6High high: UInt64, low: UInt64) {
        self.init(family: .ipv6, value: U128(hi: high, lo: low))
    }

    /// An address from 4 (IPv4) or 16 (IPv6) bytes in network order.
    public init?(bytes: [UInt8]) {
        switch bytes.count {
        case 4:
            let v = bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            self.init(ipv4: v)
        case 16:
            let hi = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let lo = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            self.init(ipv6High: hi, low: lo)
        default:
            return nil
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 IPv6 text; nil if invalid.
    public init?(_ description: String) {
        guard let a = try? IPAddress.parse(description) else { return nil }
        self = a
    }

    /// Parses dotted-quad IPv4 or RFC 4291 section 2.2 IPv6 text, saying what is wrong when it fails.
    public static func parse(_ text: String) throws -> IPAddress {
        if text.isEmpty { throw IPParseError(text, "empty address") }
        if text.contains(":") { return try parseIPv6(text) }
        guard let v = parseIPv4(Substring(text)) else {
            throw IPParseError(text, "expected an IPv4 address (four decimal numbers 0-255 without leading zeros, like 192.168.1.10) or an IPv6 address (like 2001:db8::1)")
        }
        return IPAddress(ipv4: v)
    }

    /// Dotted-quad IPv4; leading zeros are refused (they are octal in some parsers).
    static func parseIPv4(_ s: Substring) -> UInt32? {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var v: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            if p.count > 1 && p.first == "0" { return nil }
            guard let n = UInt32(p), n <= 255 else { return nil }
            v = v << 8 | n
        }
        return v
    }

    static func parseIPv6(_ text: String) throws -> IPAddress {
        if text.contains("%") { throw IPParseError(text, "IPv6 zone identifiers (%...) are not allowed") }
        if text.hasPrefix("[") { throw IPParseError(text, "IPv6 addresses must not be written in brackets") }
        let halves = text.components(separatedBy: "::")
        if halves.count > 2 { throw IPParseError(text, "\"::\" may appear only once in an IPv6 address") }

        func groups(_ part: String, allowIPv4Tail: Bool) throws -> [UInt16] {
            if part.isEmpty { return [] }
            let fields = part.split(separator: ":", omittingEmptySubsequences: false)
            var out: [UInt16] = []
            for (i, f) in fields.enumerated() {
                if f.contains(".") {
                    guard allowIPv4Tail, i == fields.count - 1, let v4 = parseIPv4(f) else {
                        throw IPParseError(text, "an embedded IPv4 address is allowed only as the last 32 bits")
                    }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard !f.isEmpty else { throw IPParseError(text, "empty group in IPv6 address") }
                guard f.count <= 4, f.allSatisfy({ $0.isHexDigit && $0.isASCII }), let g = UInt16(f, radix: 16) else {
                    throw IPParseError(text, "IPv6 groups are 1 to 4 hexadecimal digits, got \"\(f)\"")
                }
                out.append(g)
            }
            return out
        }

        var all: [UInt16]
        if halves.count == 2 {
            let head = try groups(halves[0], allowIPv4Tail: false)
            let tail = try groups(halves[1], allowIPv4Tail: true)
            if head.count + tail.count > 7 {
                throw IPParseError(text, "too many groups for an IPv6 address with \"::\"")
            }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            all = try groups(text, allowIPv4Tail: true)
            if all.count != 8 {
                throw IPParseError(text, "an IPv6 address has 8 groups of 16 bits (or uses \"::\" for zeros), got \(all.count)")
            }
        }
        var hi: UInt64 = 0
        var lo: UInt64 = 0
        for g in all[0..<4] { hi = hi << 16 | UInt64(g) }
        for g in all[4..<8] { lo = lo << 16 | UInt64(g) }
        return IPAddress(ipv6High: hi, low: lo)
    }

    public var isIPv4: Bool { family == .ipv4 }
    public var isIPv6: Bool { family == .ipv6 }

    /// The 32-bit value of an IPv4 address.
    public var ipv4Value: UInt32? { isIPv4 ? UInt32(truncatingIfNeeded: value.lo) : nil }

    /// The high and low halves of an IPv6 address.
    public var ipv6Halves: (high: UInt64, low: UInt64)? { isIPv6 ? (value.hi, value.lo) : nil }

    /// The address bytes in network order (4 or 16).
    public var bytes: [UInt8] {
        if isIPv4 {
            let v = UInt32(truncatingIfNeeded: value.lo)
            return [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        var out: [UInt8] = []
        out.reserveCapacity(16)
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(value.hi >> UInt64(shift) & 0xFF)) }
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(value.lo >> UInt64(shift) & 0xFF)) }
        return out
    }

    /// True for ::ffff:0:0/96 (RFC 4291 section 2.5.5.2).
    public var isIPv4Mapped: Bool { isIPv6 && value.hi == 0 && value.lo >> 32 == 0xFFFF }

    /// True for 0.0.0.0 and ::.
    public var isUnspecified: Bool { value == .zero }

    /// True for 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        isIPv4 ? (value.lo >> 24) == 127 : (value.hi == 0 && value.lo == 1)
    }

    /// True for 224.0.0.0/4 and ff00::/8.
    public var isMulticast: Bool {
        isIPv4 ? (value.lo >> 28) == 0xE : (value.hi >> 56) == 0xFF
    }

    /// The next address, or nil past the end of the family's space.
    public var next: IPAddress? {
        guard let n = value.successor, n <= U128.lowMask(family.bitWidth) else { return nil }
        return IPAddress(family: family, value: n)
    }

    /// The previous address, or nil before the start of the family's space.
    public var previous: IPAddress? {
        value.predecessor.map { IPAddress(family: family, value: $0) }
    }

    /// RFC 5952 text: lowercase, no leading zeros, the longest run (>= 2) of zero groups as "::".
    public var description: String {
        if isIPv4 {
            return bytes.map(String.init).joined(separator: ".")
        }
        if isIPv4Mapped {
            let v = UInt32(truncatingIfNeeded: value.lo)
            return "::ffff:" + IPAddress(ipv4: v).description
        }
        var groups: [UInt16] = []
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(value.hi >> UInt64(shift) & 0xFFFF)) }
        for shift in stride(from: 48, through: 0, by: -16) { groups.append(UInt16(value.lo >> UInt64(shift) & 0xFFFF)) }
        var bestStart = -1, bestLen = 0, i = 0
        while i < 8 {
            if groups[i] == 0 {
                var j = i
                while j < 8 && groups[j] == 0 { j += 1 }
                if j - i > bestLen { bestStart = i; bestLen = j - i }
                i = j
            } else {
                i += 1
            }
        }
        let hex = groups.map { String($0, radix: 16) }
        if bestLen < 2 { return hex.joined(separator: ":") }
        let head = hex[0..<bestStart].joined(separator: ":")
        let tail = hex[(bestStart + bestLen)...].joined(separator: ":")
        return head + "::" + tail
    }

    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        if a.family != b.family { return a.family == .ipv4 }
        return a.value < b.value
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do {
            self = try IPAddress.parse(s)
        } catch let e as IPParseError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// A CIDR prefix (RFC 4632): a network address with its host bits cleared and a prefix length.
public struct IPPrefix: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The network address (host bits zero).
    public let address: IPAddress
    /// The prefix length: 0-32 for IPv4, 0-128 for IPv6.
    public let length: Int

    /// The prefix of `length` bits containing `address` (host bits are cleared).
    public init(address: IPAddress, length: Int) {
        let width = address.family.bitWidth
        let len = max(0, min(length, width))
        let hostMask = U128.lowMask(width - len)
        self.address = IPAddress(family: address.family, value: address.value & ~hostMask)
        self.length = len
    }

    public var family: IPAddress.Family { address.family }

    /// Parses "address/length", clearing host bits; `written` is the address as given.
    public static func parseDetailed(_ text: String) throws -> (prefix: IPPrefix, written: IPAddress) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw IPParseError(text, "expected a CIDR prefix of the form address/length, like 192.168.10.0/24 or 2001:db8::/64")
        }
        let addr = try IPAddress.parse(String(parts[0]))
        let lenText = parts[1]
        guard !lenText.isEmpty, lenText.count <= 3, lenText.allSatisfy({ $0.isASCII && $0.isNumber }), let len = Int(lenText),
              len <= addr.family.bitWidth
        else {
            throw IPParseError(text, "the prefix length must be a number from 0 to \(addr.family.bitWidth) for \(addr.family)")
        }
        return (IPPrefix(address: addr, length: len), addr)
    }

    /// Parses "address/length"; host bits set in the address are cleared (as Go's net.ParseCIDR does).
    public static func parse(_ text: String) throws -> IPPrefix { try parseDetailed(text).prefix }

    /// The first address of the prefix.
    public var first: IPAddress { address }

    /// The last address of the prefix.
    public var last: IPAddress {
        IPAddress(family: family, value: address.value | U128.lowMask(family.bitWidth - length))
    }

    /// The addresses of the prefix as a range.
    public var range: IPRange { IPRange(uncheckedFirst: first, last: last) }

    public func contains(_ a: IPAddress) -> Bool { a.family == family && first <= a && a <= last }

    public func overlaps(_ other: IPPrefix) -> Bool { range.overlaps(other.range) }

    public var description: String { "\(address)/\(length)" }

    public static func < (a: IPPrefix, b: IPPrefix) -> Bool {
        a.address != b.address ? a.address < b.address : a.length < b.length
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do {
            self = try IPPrefix.parse(s)
        } catch let e as IPParseError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An inclusive range of addresses of one family.
public struct IPRange: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let first: IPAddress
    public let last: IPAddress

    init(uncheckedFirst first: IPAddress, last: IPAddress) {
        self.first = first
        self.last = last
    }

    /// A range from `first` to `last`; nil if the families differ or `first` > `last`.
    public init?(first: IPAddress, last: IPAddress) {
        guard first.family == last.family, first <= last else { return nil }
        self.init(uncheckedFirst: first, last: last)
    }

    public var family: IPAddress.Family { first.family }

    /// Parses "first-last" (spaces around the dash allowed, as MetalLB does).
    public static func parse(_ text: String) throws -> IPRange {
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw IPParseError(text, "expected a range of the form first-last, like 192.168.9.1-192.168.9.5")
        }
        let startText = parts[0].trimmingCharacters(in: .whitespaces)
        let endText = parts[1].trimmingCharacters(in: .whitespaces)
        let start: IPAddress
        let end: IPAddress
        do { start = try IPAddress.parse(startText) } catch let e as IPParseError {
            throw IPParseError(text, "invalid start address: \(e.reason)")
        }
        do { end = try IPAddress.parse(endText) } catch let e as IPParseError {
            throw IPParseError(text, "invalid end address: \(e.reason)")
        }
        if start.family != end.family {
            throw IPParseError(text, "the range mixes \(start.family) and \(end.family); both ends must be of the same family")
        }
        if end < start {
            throw IPParseError(text, "the start address \(start) is after the end address \(end); write the lower address first")
        }
        return IPRange(uncheckedFirst: start, last: end)
    }

    public func contains(_ a: IPAddress) -> Bool { a.family == family && first <= a && a <= last }

    public func contains(_ r: IPRange) -> Bool { r.family == family && first <= r.first && r.last <= last }

    public func overlaps(_ other: IPRange) -> Bool {
        family == other.family && first <= other.last && other.first <= last
    }

    /// Number of addresses, saturating at UInt64.max.
    public var count: UInt64 {
        let d = last.value - first.value
        if d.hi != 0 || d.lo == .max { return .max }
        return d.lo + 1
    }

    /// The smallest list of CIDR prefixes covering exactly this range, in order.
    public var prefixes: [IPPrefix] {
        let width = family.bitWidth
        var out: [IPPrefix] = []
        var cur = first.value
        let end = last.value
        while true {
            // Largest block aligned at `cur` that does not pass `end`.
            var size = min(cur.trailingZeroBitCount, width)
            let remaining = end - cur  // count - 1
            let fit = remaining == .max ? 128 : (remaining.successor.map { $0.bitLength - 1 } ?? 128)
            size = min(size, fit)
            out.append(IPPrefix(address: IPAddress(family: family, value: cur), length: width - size))
            let blockLast = cur | U128.lowMask(size)
            if blockLast == end { break }
            guard let n = blockLast.successor else { break }
            cur = n
        }
        return out
    }

    /// The range as a single prefix, when it is exactly one.
    public var asPrefix: IPPrefix? {
        let p = prefixes
        return p.count == 1 ? p[0] : nil
    }

    public var description: String { first == last ? "\(first)" : "\(first)-\(last)" }

    public static func < (a: IPRange, b: IPRange) -> Bool {
        a.first != b.first ? a.first < b.first : a.last < b.last
    }
}

/// One entry of an IPAddressPool's `addresses`: a CIDR prefix or a first-last range.
public struct PoolAddress: Sendable, Hashable, CustomStringConvertible {
    /// The text as written in the pool.
    public var text: String
    /// All addresses the entry covers.
    public var range: IPRange
    /// The prefix, when the entry was written as a CIDR.
    public var prefix: IPPrefix?
    /// True when a CIDR was written with host bits set (e.g. 198.51.100.10/24); it is normalised.
    public var hostBitsSet: Bool
    /// The address part of a CIDR as written (198.51.100.10 for 198.51.100.10/24).
    public var writtenAddress: IPAddress?

    /// Parses a CIDR ("192.168.10.0/24") or a range ("192.168.9.1-192.168.9.5").
    public static func parse(_ text: String) throws -> PoolAddress {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.contains("-") {
            if trimmed.contains("/") {
                throw IPParseError(text, "a range is written first-last without a prefix length")
            }
            return PoolAddress(text: text, range: try IPRange.parse(trimmed), prefix: nil, hostBitsSet: false, writtenAddress: nil)
        }
        if trimmed.contains("/") {
            let (p, written) = try IPPrefix.parseDetailed(trimmed)
            return PoolAddress(text: text, range: p.range, prefix: p, hostBitsSet: written != p.address, writtenAddress: written)
        }
        throw IPParseError(text, "expected a CIDR prefix (like 192.168.10.0/24, or 192.168.10.7/32 for one address) or a range first-last (like 192.168.9.1-192.168.9.5)")
    }

    public var family: IPAddress.Family { range.family }

    /// The CIDR prefixes covering the entry (one for a CIDR, the summary for a range).
    public var prefixes: [IPPrefix] { prefix.map { [$0] } ?? range.prefixes }

    /// The canonical text: the normalised CIDR, or "first-last" in RFC 5952 form.
    public var canonical: String { prefix?.description ?? "\(range.first)-\(range.last)" }

    public var description: String { canonical }
}
