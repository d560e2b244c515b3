/// A bounds-checked big-endian reader over received octets (network byte order). Every read returns nil
/// instead of trapping when the input is short, so input from a peer can never crash a decoder.
public struct ByteReader {
    public private(set) var bytes: ArraySlice<UInt8>

    public init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    public init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    public var remaining: Int { bytes.count }
    public var isAtEnd: Bool { bytes.isEmpty }

    public mutating func u8() -> UInt8? {
        guard let b = bytes.first else { return nil }
        bytes = bytes.dropFirst()
        return b
    }

    public mutating func u16() -> UInt16? {
        guard bytes.count >= 2 else { return nil }
        let i = bytes.startIndex
        let v = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
        bytes = bytes.dropFirst(2)
        return v
    }

    public mutating func u32() -> UInt32? {
        guard bytes.count >= 4 else { return nil }
        let i = bytes.startIndex
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 8 | UInt32(bytes[i + k]) }
        bytes = bytes.dropFirst(4)
        return v
    }

    public mutating func u64() -> UInt64? {
        guard let h = u32(), let l = u32() else { return nil }
        return UInt64(h) << 32 | UInt64(l)
    }

    /// The next `n` octets, or nil (reading nothing) if fewer remain.
    public mutating func read(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, bytes.count >= n else { return nil }
        let s = bytes.prefix(n)
        bytes = bytes.dropFirst(n)
        return s
    }

    /// Skips `n` octets; false (skipping nothing) if fewer remain.
    public mutating func skip(_ n: Int) -> Bool { read(n) != nil }

    public mutating func ipv4Address() -> IPv4Address? { u32().map(IPv4Address.init) }

    public mutating func ipv6Address() -> IPv6Address? {
        guard let h = u64(), let l = u64() else { return nil }
        return IPv6Address(high: h, low: l)
    }

    public mutating func macAddress() -> MACAddress? { read(6).flatMap { MACAddress(bytes: $0) } }

    public mutating func readAll() -> ArraySlice<UInt8> {
        let s = bytes
        bytes = bytes.suffix(0)
        return s
    }
}

/// A big-endian writer for encoding messages.
public struct ByteWriter {
    public var bytes: [UInt8] = []

    public init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    public mutating func u8(_ v: UInt8) { bytes.append(v) }
    public mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    public mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24)); bytes.append(UInt8((v >> 16) & 0xff))
        bytes.append(UInt8((v >> 8) & 0xff)); bytes.append(UInt8(v & 0xff))
    }
    public mutating func u64(_ v: UInt64) { u32(UInt32(truncatingIfNeeded: v >> 32)); u32(UInt32(truncatingIfNeeded: v)) }
    public mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }
    public mutating func ipv4Address(_ a: IPv4Address) { u32(a.rawValue) }
    public mutating func ipv6Address(_ a: IPv6Address) { u64(a.high); u64(a.low) }
    public mutating func macAddress(_ m: MACAddress) { append(m.bytes) }

    /// Overwrites a 16-bit field written before; false if it lies outside what was written.
    @discardableResult
    public mutating func patchU16(at index: Int, _ v: UInt16) -> Bool {
        guard index >= 0, index + 1 < bytes.count else { return false }
        bytes[index] = UInt8(v >> 8)
        bytes[index + 1] = UInt8(v & 0xff)
        return true
    }
}

/// Hex text for diagnostics and test vectors (RFC 4648 §8 base16, lower case).
public enum Hex {
    /// Lower-case hex of `bytes`, no separators.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xf)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses hex text, ignoring ASCII white space and `:`/`-` separators; nil on any other character or an odd
    /// number of digits.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for c in text.utf8 {
            guard let v = digitValue(c) else {
                switch c {
                case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), UInt8(ascii: ":"), UInt8(ascii: "-"):
                    continue
                default:
                    return nil
                }
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return high == nil ? out : nil
    }

    /// The value of one ASCII hex digit, or nil.
    @inline(__always)
    public static func digitValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
