/// A CIDR prefix (RFC 4632 §3.1, RFC 4291 §2.3): a network address with its host bits cleared and a length.
public struct IPPrefix: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible, Codable {
    /// The network address (host bits zero).
    public let address: IPAddress
    /// The prefix length: 0-32 for IPv4, 0-128 for IPv6.
    public let length: Int

    /// The prefix of `length` bits containing `address`: host bits are cleared and the length is clamped into range.
    public init(masking address: IPAddress, length: Int) {
        let width = address.family.bitWidth
        let len = max(0, min(length, width))
        self.address = IPAddress(family: address.family, value: address.value & ~IPPrefix.hostMask(width - len))
        self.length = len
    }

    /// Strict: refuses a length out of range and host bits set (the error names the canonical prefix).
    public init(_ address: IPAddress, length: Int) throws(IPParseError) {
        let width = address.family.bitWidth
        guard length >= 0, length <= width else {
            throw IPParseError("\(address)/\(length)", "the prefix length must be a number from 0 to \(width) for \(address.family)", kind: .prefixLength)
        }
        let canonical = IPPrefix(masking: address, length: length)
        guard canonical.address == address else {
            throw IPParseError("\(address)/\(length)", "host bits are set (did you mean \(canonical)?)", kind: .hostBitsSet(canonical: canonical))
        }
        self = canonical
    }

    /// The low `bits` bits set.
    static func hostMask(_ bits: Int) -> UInt128 {
        bits <= 0 ? 0 : (bits >= 128 ? .max : (UInt128(1) << UInt128(bits)) - 1)
    }

    /// Parses "address/length"; `written` is the address as given, the prefix has its host bits cleared
    /// (as Go's net.ParseCIDR does).
    public static func parseDetailed(_ text: some StringProtocol) throws(IPParseError) -> (prefix: IPPrefix, written: IPAddress) {
        let text = String(text)
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw IPParseError(String(text), "expected a CIDR prefix of the form address/length, like 192.168.10.0/24 or 2001:db8::/64", kind: .prefix)
        }
        let addr = try IPAddress.parse(parts[0])
        let l = parts[1]
        guard !l.isEmpty, l.count <= 3, l.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              !(l.count > 1 && l.first == "0"), let len = Int(l), len <= addr.family.bitWidth
        else {
            throw IPParseError(String(text), "the prefix length must be a number from 0 to \(addr.family.bitWidth) for \(addr.family)", kind: .prefixLength)
        }
        return (IPPrefix(masking: addr, length: len), addr)
    }

    /// Parses "address/length", clearing host bits set in the address.
    public static func parse(_ text: some StringProtocol) throws(IPParseError) -> IPPrefix { try parseDetailed(text).prefix }

    /// Parses strictly: host bits must be zero. A bare address is a host prefix (/32 or /128).
    public init(parsing text: some StringProtocol) throws(IPParseError) {
        if !text.contains("/") {
            let a = try IPAddress.parse(text)
            self.init(masking: a, length: a.family.bitWidth)
            return
        }
        let (p, written) = try IPPrefix.parseDetailed(text)
        guard p.address == written else {
            throw IPParseError(String(text), "host bits are set (did you mean \(p)?)", kind: .hostBitsSet(canonical: p))
        }
        self = p
    }

    /// Parses strictly; nil on any error.
    public init?(_ text: some StringProtocol) {
        guard let p = try? IPPrefix(parsing: text) else { return nil }
        self = p
    }

    public var family: IPFamily { address.family }

    /// The first address of the prefix (the network address).
    public var first: IPAddress { address }

    /// The last address of the prefix.
    public var last: IPAddress {
        IPAddress(family: family, value: address.value | IPPrefix.hostMask(family.bitWidth - length))
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
        } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}

/// An inclusive, non-empty range of addresses of one family.
public struct IPRange: Hashable, Comparable, Sendable, CustomStringConvertible {
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

    /// The single-address range.
    public init(_ address: IPAddress) { self.init(uncheckedFirst: address, last: address) }

    /// The addresses of a prefix.
    public init(_ prefix: IPPrefix) { self = prefix.range }

    public var family: IPFamily { first.family }

    /// Parses "first-last"; spaces and tabs around the dash are allowed, as MetalLB allows them.
    public static func parse(_ text: some StringProtocol) throws(IPParseError) -> IPRange {
        let text = String(text)
        let parts = text.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw IPParseError(String(text), "expected a range of the form first-last, like 192.168.9.1-192.168.9.5", kind: .range)
        }
        let start: IPAddress, end: IPAddress
        do { start = try IPAddress.parse(trimmed(parts[0])) } catch {
            throw IPParseError(String(text), "invalid start address: \(error.reason)", kind: .range)
        }
        do { end = try IPAddress.parse(trimmed(parts[1])) } catch {
            throw IPParseError(String(text), "invalid end address: \(error.reason)", kind: .range)
        }
        if start.family != end.family {
            throw IPParseError(String(text), "the range mixes \(start.family) and \(end.family); both ends must be of the same family", kind: .range)
        }
        if end < start {
            throw IPParseError(String(text), "the start address \(start) is after the end address \(end); write the lower address first", kind: .range)
        }
        return IPRange(uncheckedFirst: start, last: end)
    }

    public func contains(_ a: IPAddress) -> Bool { a.family == family && first <= a && a <= last }

    public func contains(_ r: IPRange) -> Bool { r.family == family && first <= r.first && r.last <= last }

    public func overlaps(_ other: IPRange) -> Bool {
        family == other.family && first <= other.last && other.first <= last
    }

    /// Number of addresses; exact except for ::/0 (2^128), which saturates at UInt128.max.
    public var count: UInt128 {
        let d = last.value - first.value
        return d == .max ? .max : d + 1
    }

    /// The smallest list of CIDR prefixes covering exactly this range, in order.
    public var prefixes: [IPPrefix] {
        let width = family.bitWidth
        var out: [IPPrefix] = []
        var cur = first.value
        let end = last.value
        while true {
            // The largest block aligned at `cur` that does not pass `end`.
            var size = min(cur == 0 ? 128 : cur.trailingZeroBitCount, width)
            let remaining = end - cur  // count - 1
            let fit = remaining == .max ? 128 : (UInt128.bitWidth - (remaining + 1).leadingZeroBitCount - 1)
            size = min(size, fit)
            out.append(IPPrefix(masking: IPAddress(family: family, value: cur), length: width - size))
            let blockLast = cur | IPPrefix.hostMask(size)
            if blockLast == end || blockLast == .max { break }
            cur = blockLast + 1
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

/// `s` without leading and trailing spaces and tabs.
func trimmed(_ s: Substring) -> Substring {
    var s = s
    while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
    while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
    return s
}
