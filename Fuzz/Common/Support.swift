// Shared by the libFuzzer harnesses that `hack/fuzz` builds (bfd, membership, layer2). Compiled into each
// harness module next to the target's own files; it uses nothing but the standard library and libc.

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Lowercase hex of `bytes`, for failure reports.
func fuzzHex(_ bytes: some Sequence<UInt8>) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes {
        out.append(digits[Int(b >> 4)])
        out.append(digits[Int(b & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
}

/// Reports a broken invariant with the offending input and aborts: libFuzzer catches SIGABRT and writes the input
/// as a crash artefact. `hack/fuzz` recognises the "fuzz invariant broken" line. (A trap on purpose: this is a test
/// harness, not peer-facing code.)
func require(_ ok: Bool, _ what: @autoclosure () -> String, _ input: [UInt8],
             file: StaticString = #fileID, line: UInt = #line) {
    guard !ok else { return }
    let text = "\(fuzzTargetName) fuzz invariant broken (\(file):\(line)): \(what())\n  input: \(fuzzHex(input))\n"
    var bytes = Array(text.utf8)
    _ = write(2, &bytes, bytes.count)   // fd 2 directly: `stderr` is a global var, not concurrency-safe
    abort()
}

/// Consumes the fuzzer's bytes front to back; past the end every read yields zeros (so a script never traps on a
/// short input, it just ends).
struct FuzzReader {
    let bytes: [UInt8]
    private(set) var at = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { at >= bytes.count }
    var remaining: Int { max(0, bytes.count - at) }

    mutating func u8() -> UInt8 {
        guard at < bytes.count else { return 0 }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func u16() -> UInt16 { UInt16(u8()) << 8 | UInt16(u8()) }

    mutating func u32() -> UInt32 { UInt32(u16()) << 16 | UInt32(u16()) }

    mutating func u64() -> UInt64 { UInt64(u32()) << 32 | UInt64(u32()) }

    mutating func bool() -> Bool { u8() & 1 != 0 }

    /// Up to `n` bytes (fewer at the end).
    mutating func take(_ n: Int) -> [UInt8] {
        let k = min(max(0, n), remaining)
        defer { at += k }
        return Array(bytes[at ..< at + k])
    }

    /// A length-prefixed chunk: one length octet, then that many bytes.
    mutating func chunk() -> [UInt8] { take(Int(u8())) }

    /// A length-prefixed chunk with a 16-bit length.
    mutating func chunk16() -> [UInt8] { take(Int(u16())) }
}
