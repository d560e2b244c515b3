/// An IPv4 address (RFC 791 §3.2), its 32 bits as a number: 10.0.0.1 is 0x0A000001.
public struct IPv4Address: Hashable, Comparable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public var rawValue: UInt32

    public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// From its four octets, e.g. `IPv4Address(10, 254, 0, 1)`.
    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    /// From exactly four octets in network order; nil for any other count.
    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 4 else { return nil }
        var v: UInt32 = 0
        for b in bytes { v = v << 8 | UInt32(b) }
        rawValue = v
    }

    /// Parses strict dotted-decimal text (RFC 6943 §3.1.1): four decimal parts 0–255 and no leading zeros
    /// (they mean octal to some parsers), nothing else.
    public init?(_ text: some StringProtocol) {
        var text = String(text)
        guard let v = text.withUTF8({ IPv4Address.parse($0[...]) }) else { return nil }
        rawValue = v
    }

    /// The dotted-quad parser, also used for the embedded IPv4 tail of IPv6 text (RFC 4291 §2.2 item 3).
    static func parse(_ chars: Slice<UnsafeBufferPointer<UInt8>>) -> UInt32? {
        guard !chars.isEmpty, chars.count <= 15 else { return nil }
        var result: UInt32 = 0, parts = 0, acc: UInt32 = 0, digits = 0
        for c in chars {
            if c == UInt8(ascii: ".") {
                guard digits > 0, parts < 3 else { return nil }
                result = result << 8 | acc
                parts += 1
                acc = 0
                digits = 0
            } else if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                if digits == 1 && acc == 0 { return nil }  // leading zero
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

    /// The four octets, most significant first.
    public var bytes: [UInt8] {
        [UInt8(rawValue >> 24), UInt8((rawValue >> 16) & 0xff), UInt8((rawValue >> 8) & 0xff), UInt8(rawValue & 0xff)]
    }

    public var description: String {
        "\(rawValue >> 24).\((rawValue >> 16) & 0xff).\((rawValue >> 8) & 0xff).\(rawValue & 0xff)"
    }

    public static func < (a: IPv4Address, b: IPv4Address) -> Bool { a.rawValue < b.rawValue }

    /// 0.0.0.0.
    public static let any = IPv4Address(0)

    /// 0.0.0.0 exactly.
    public var isUnspecified: Bool { rawValue == 0 }
    /// 0.0.0.0/8, "this network" (RFC 1122 §3.2.1.3): never a valid peer or next hop.
    public var isThisNetwork: Bool { rawValue >> 24 == 0 }
    /// 127.0.0.0/8 (RFC 1122 §3.2.1.3).
    public var isLoopback: Bool { rawValue >> 24 == 127 }
    /// 224.0.0.0/4 (RFC 5771).
    public var isMulticast: Bool { rawValue >> 28 == 0xE }
    /// 255.255.255.255 (RFC 919).
    public var isLimitedBroadcast: Bool { rawValue == .max }
}
