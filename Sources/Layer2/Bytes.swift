// Internal big-endian helpers over `[UInt8]`. Every caller checks bounds first.

extension Array where Element == UInt8 {
    /// Big-endian (network order, RFC 1700) 16-bit read at `offset`; caller guarantees `offset + 2 <= count`.
    @inline(__always)
    func readUInt16(at offset: Int) -> UInt16 {
        UInt16(self[offset]) << 8 | UInt16(self[offset + 1])
    }

    /// Big-endian 32-bit read at `offset`; caller guarantees `offset + 4 <= count`.
    @inline(__always)
    func readUInt32(at offset: Int) -> UInt32 {
        UInt32(self[offset]) << 24 | UInt32(self[offset + 1]) << 16
            | UInt32(self[offset + 2]) << 8 | UInt32(self[offset + 3])
    }

    /// Big-endian 64-bit read at `offset`; caller guarantees `offset + 8 <= count`.
    @inline(__always)
    func readUInt64(at offset: Int) -> UInt64 {
        UInt64(readUInt32(at: offset)) << 32 | UInt64(readUInt32(at: offset + 4))
    }

    /// Copies `count` bytes starting at `offset`; caller guarantees the range is in bounds.
    @inline(__always)
    func copy(from offset: Int, count: Int) -> [UInt8] {
        Array(self[offset ..< offset + count])
    }

    /// Appends `value` in network byte order.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt16) {
        append(UInt8(truncatingIfNeeded: value >> 8))
        append(UInt8(truncatingIfNeeded: value))
    }

    /// Appends `value` in network byte order.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt32) {
        appendBigEndian(UInt16(truncatingIfNeeded: value >> 16))
        appendBigEndian(UInt16(truncatingIfNeeded: value))
    }

    /// Appends `value` in network byte order.
    @inline(__always)
    mutating func appendBigEndian(_ value: UInt64) {
        appendBigEndian(UInt32(truncatingIfNeeded: value >> 32))
        appendBigEndian(UInt32(truncatingIfNeeded: value))
    }
}

/// Lowercase hex with no separators, for diagnostics and test vectors.
func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Parses hex text, ignoring ASCII whitespace and `:`/`-` separators; nil on any other character or an odd digit count.
func bytes(fromHex text: String) -> [UInt8]? {
    var out = [UInt8]()
    var high: UInt8?
    for c in text.utf8 {
        guard let nibble = hexDigitValue(c) else {
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\n"), UInt8(ascii: "\r"),
                 UInt8(ascii: ":"), UInt8(ascii: "-"):
                continue
            default:
                return nil
            }
        }
        if let h = high {
            out.append(h << 4 | nibble)
            high = nil
        } else {
            high = nibble
        }
    }
    return high == nil ? out : nil
}

/// Value of one ASCII hex digit, or nil.
@inline(__always)
func hexDigitValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0") ... UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a") ... UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A") ... UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

/// Lowercase hex of `value` without leading zeros (RFC 5952 §4.1).
func shortHex(_ value: UInt16) -> String {
    String(value, radix: 16, uppercase: false)
}
