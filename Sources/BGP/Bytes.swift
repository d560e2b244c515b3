/// Bounds-checked big-endian reader over received octets (RFC 4271 §4: all fields are in network byte order).
/// Every read returns `nil` instead of trapping when the input is short, so peer input can never crash the codec.
struct ByteReader {
    private(set) var bytes: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { self.bytes = bytes }
    init(_ bytes: [UInt8]) { self.bytes = bytes[...] }

    var remaining: Int { bytes.count }
    var isAtEnd: Bool { bytes.isEmpty }

    mutating func u8() -> UInt8? {
        guard let b = bytes.first else { return nil }
        bytes = bytes.dropFirst()
        return b
    }

    mutating func u16() -> UInt16? {
        guard bytes.count >= 2 else { return nil }
        let i = bytes.startIndex
        let v = UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1])
        bytes = bytes.dropFirst(2)
        return v
    }

    mutating func u32() -> UInt32? {
        guard bytes.count >= 4 else { return nil }
        let i = bytes.startIndex
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 8 | UInt32(bytes[i + k]) }
        bytes = bytes.dropFirst(4)
        return v
    }

    mutating func read(_ n: Int) -> ArraySlice<UInt8>? {
        guard n >= 0, bytes.count >= n else { return nil }
        let s = bytes.prefix(n)
        bytes = bytes.dropFirst(n)
        return s
    }

    mutating func readAll() -> ArraySlice<UInt8> {
        let s = bytes
        bytes = bytes.suffix(0)
        return s
    }
}

/// Big-endian writer for encoding messages (RFC 4271 §4).
struct ByteWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 64) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(v >> 8)); bytes.append(UInt8(v & 0xff)) }
    mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(v >> 24)); bytes.append(UInt8((v >> 16) & 0xff))
        bytes.append(UInt8((v >> 8) & 0xff)); bytes.append(UInt8(v & 0xff))
    }
    mutating func append<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }

    /// Overwrites a previously written 16-bit field.
    mutating func patchU16(at index: Int, _ v: UInt16) {
        bytes[index] = UInt8(v >> 8)
        bytes[index + 1] = UInt8(v & 0xff)
    }
}

/// Hex helpers for diagnostics and golden vectors (RFC 4648 §8 base16, lower case).
public enum Hex {
    /// Lower-case hex of `bytes`.
    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits: [Character] = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 0xf)]) }
        return s
    }

    /// Parses hex text (whitespace ignored); `nil` on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        var out: [UInt8] = []
        var high: UInt8? = nil
        for ch in text.unicodeScalars {
            if ch == " " || ch == "\n" || ch == "\t" || ch == "\r" { continue }
            let v: UInt8
            switch ch.value {
            case 0x30...0x39: v = UInt8(ch.value - 0x30)
            case 0x61...0x66: v = UInt8(ch.value - 0x61 + 10)
            case 0x41...0x46: v = UInt8(ch.value - 0x41 + 10)
            default: return nil
            }
            if let h = high { out.append(h << 4 | v); high = nil } else { high = v }
        }
        return high == nil ? out : nil
    }
}
