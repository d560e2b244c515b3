/// An IPv4 (RFC 791) or IPv6 (RFC 4291) address.
public enum IPAddress: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible, Codable {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Parses either family; text containing ":" is IPv6 (so "::ffff:1.2.3.4" stays IPv6). Nil if invalid.
    public init?(_ text: some StringProtocol) {
        guard let a = try? IPAddress.parse(text) else { return nil }
        self = a
    }

    /// An address from 4 (IPv4) or 16 (IPv6) octets in network order.
    public init?(bytes: some Collection<UInt8>) {
        if let a = IPv4Address(bytes: bytes) {
            self = .v4(a)
        } else if let a = IPv6Address(bytes: bytes) {
            self = .v6(a)
        } else {
            return nil
        }
    }

    /// An address of `family` from its number; IPv4 takes the low 32 bits.
    public init(family: IPFamily, value: UInt128) {
        switch family {
        case .ipv4: self = .v4(IPv4Address(UInt32(truncatingIfNeeded: value)))
        case .ipv6: self = .v6(IPv6Address(value))
        }
    }

    /// Parses dotted-quad IPv4 or RFC 4291 §2.2 IPv6 text, saying what is wrong when it fails.
    public static func parse(_ text: some StringProtocol) throws(IPParseError) -> IPAddress {
        var s = String(text)
        let result: Result<IPAddress, IPParseError> = s.withUTF8 { buf in
            if buf.isEmpty { return .failure(IPParseError(String(text), "empty address")) }
            if buf.contains(UInt8(ascii: ":")) { return parseIPv6(buf, text: String(text)) }
            guard let v = IPv4Address.parse(buf[...]) else {
                return .failure(IPParseError(String(text), "expected an IPv4 address (four decimal numbers 0-255 without leading zeros, like 192.168.1.10) or an IPv6 address (like 2001:db8::1)"))
            }
            return .success(.v4(IPv4Address(v)))
        }
        return try result.get()
    }

    private static func parseIPv6(_ b: UnsafeBufferPointer<UInt8>, text: String) -> Result<IPAddress, IPParseError> {
        func fail(_ reason: String) -> Result<IPAddress, IPParseError> { .failure(IPParseError(text, reason)) }
        if b.contains(UInt8(ascii: "%")) { return fail("IPv6 zone identifiers (%...) are not allowed") }
        if b.first == UInt8(ascii: "[") { return fail("IPv6 addresses must not be written in brackets") }
        let colon = UInt8(ascii: ":")
        // Non-overlapping "::" from the left, as a split on "::" sees them.
        var doubles: [Int] = []
        var i = 0
        while i + 1 < b.count {
            if b[i] == colon && b[i + 1] == colon { doubles.append(i); i += 2 } else { i += 1 }
        }
        if doubles.count > 1 { return fail("\"::\" may appear only once in an IPv6 address") }

        func groups(_ part: Slice<UnsafeBufferPointer<UInt8>>, allowIPv4Tail: Bool) -> Result<[UInt16], IPParseError> {
            if part.isEmpty { return .success([]) }
            var out: [UInt16] = []
            let fields = part.split(separator: colon, omittingEmptySubsequences: false)
            for (k, f) in fields.enumerated() {
                if f.contains(UInt8(ascii: ".")) {
                    guard allowIPv4Tail, k == fields.count - 1,
                          let v4 = IPv4Address.parse(f)
                    else { return .failure(IPParseError(text, "an embedded IPv4 address is allowed only as the last 32 bits")) }
                    out.append(UInt16(v4 >> 16))
                    out.append(UInt16(v4 & 0xFFFF))
                    continue
                }
                guard !f.isEmpty else { return .failure(IPParseError(text, "empty group in IPv6 address")) }
                var v: UInt16 = 0
                var ok = f.count <= 4
                if ok {
                    for c in f {
                        guard let d = Hex.digitValue(c) else { ok = false; break }
                        v = v << 4 | UInt16(d)
                    }
                }
                guard ok else {
                    return .failure(IPParseError(text, "IPv6 groups are 1 to 4 hexadecimal digits, got \"\(String(decoding: f, as: UTF8.self))\""))
                }
                out.append(v)
            }
            return .success(out)
        }

        let all: [UInt16]
        if let d = doubles.first {
            let head: [UInt16], tail: [UInt16]
            switch groups(b[0..<d], allowIPv4Tail: false) {
            case .success(let g): head = g
            case .failure(let e): return .failure(e)
            }
            switch groups(b[(d + 2)...], allowIPv4Tail: true) {
            case .success(let g): tail = g
            case .failure(let e): return .failure(e)
            }
            if head.count + tail.count > 7 { return fail("too many groups for an IPv6 address with \"::\"") }
            all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        } else {
            switch groups(b[...], allowIPv4Tail: true) {
            case .success(let g): all = g
            case .failure(let e): return .failure(e)
            }
            if all.count != 8 {
                return fail("an IPv6 address has 8 groups of 16 bits (or uses \"::\" for zeros), got \(all.count)")
            }
        }
        return .success(.v6(IPv6Address(groups: all)))
    }

    public var family: IPFamily {
        switch self {
        case .v4: .ipv4
        case .v6: .ipv6
        }
    }

    public var isIPv4: Bool { family == .ipv4 }
    public var isIPv6: Bool { family == .ipv6 }

    /// The address as a number (IPv4 in the low 32 bits), for arithmetic over ranges.
    public var value: UInt128 {
        switch self {
        case .v4(let a): UInt128(a.rawValue)
        case .v6(let a): a.rawValue
        }
    }

    /// The octets in network order (4 or 16).
    public var bytes: [UInt8] {
        switch self {
        case .v4(let a): a.bytes
        case .v6(let a): a.bytes
        }
    }

    public var isUnspecified: Bool { value == 0 }

    /// 127.0.0.0/8 and ::1.
    public var isLoopback: Bool {
        switch self {
        case .v4(let a): a.isLoopback
        case .v6(let a): a.isLoopback
        }
    }

    /// 224.0.0.0/4 and ff00::/8.
    public var isMulticast: Bool {
        switch self {
        case .v4(let a): a.isMulticast
        case .v6(let a): a.isMulticast
        }
    }

    public var isIPv4Mapped: Bool {
        if case .v6(let a) = self { return a.isIPv4Mapped }
        return false
    }

    /// The next address, or nil past the end of the family's space.
    public var next: IPAddress? {
        let v = value
        guard v < IPAddress.maxValue(family) else { return nil }
        return IPAddress(family: family, value: v + 1)
    }

    /// The previous address, or nil before the start of the family's space.
    public var previous: IPAddress? {
        let v = value
        guard v > 0 else { return nil }
        return IPAddress(family: family, value: v - 1)
    }

    static func maxValue(_ family: IPFamily) -> UInt128 { family == .ipv4 ? UInt128(UInt32.max) : .max }

    /// Dotted-decimal or RFC 5952 text.
    public var description: String {
        switch self {
        case .v4(let a): a.description
        case .v6(let a): a.description
        }
    }

    /// IPv4 sorts before IPv6; within a family, numeric order.
    public static func < (a: IPAddress, b: IPAddress) -> Bool {
        switch (a, b) {
        case let (.v4(x), .v4(y)): x < y
        case let (.v6(x), .v6(y)): x < y
        case (.v4, .v6): true
        case (.v6, .v4): false
        }
    }

    /// Encoded as its text (the form Kubernetes objects carry).
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do {
            self = try IPAddress.parse(s)
        } catch {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
