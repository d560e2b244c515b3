import NetAddress

extension IPPrefix {
    /// Octets carried in NLRI encoding: ceil(length / 8) (RFC 4271 §4.3).
    public var encodedAddressSize: Int { (length + 7) / 8 }
    /// Size of the whole NLRI tuple <length, prefix> (RFC 4271 §4.3).
    public var encodedSize: Int { 1 + encodedAddressSize }
}

/// NLRI <length, prefix> tuples (RFC 4271 §4.3 Withdrawn Routes / NLRI, RFC 4760 §5 for MP_(UN)REACH_NLRI).
enum NLRICodec {
    /// Decodes a run of prefixes filling `bytes` entirely. Trailing bits past the prefix length are ignored
    /// ("the value of trailing bits is irrelevant", RFC 4271 §4.3) and cleared. Throws a bare description on a
    /// syntax error; the caller maps it to the right NOTIFICATION.
    static func decode(_ bytes: ArraySlice<UInt8>, family: AddressFamily) -> Result<[IPPrefix], NLRISyntaxError> {
        var r = ByteReader(bytes)
        var out: [IPPrefix] = []
        while let len = r.u8() {
            let bits = Int(len)
            guard bits <= family.maxPrefixLength else {
                return .failure(NLRISyntaxError(reason: "prefix length \(bits) exceeds \(family.maxPrefixLength)"))
            }
            let n = (bits + 7) / 8
            guard let raw = r.read(n) else {
                return .failure(NLRISyntaxError(reason: "prefix /\(bits) needs \(n) octets, \(r.remaining) left"))
            }
            var full = Array(raw)
            full.append(contentsOf: repeatElement(0, count: family.addressSize - n))
            let addr: IPAddress
            switch family {
            case .ipv4: addr = .v4(IPv4Address(bytes: full) ?? .any)
            case .ipv6: addr = .v6(IPv6Address(bytes: full) ?? .any)
            }
            out.append(IPPrefix(masking: addr, length: bits))
        }
        return .success(out)
    }

    /// Writes <length, prefix> with the minimum number of octets (RFC 4271 §4.3).
    static func encode(_ p: IPPrefix, into w: inout ByteWriter) {
        w.u8(UInt8(p.length))
        // Octet by octet from the integer form: no temporary array per prefix (a full table is 100,000 of them).
        let n = p.encodedAddressSize
        switch p.address {
        case .v4(let a):
            for k in 0..<n { w.u8(UInt8(truncatingIfNeeded: a.rawValue >> UInt32(24 - 8 * k))) }
        case .v6(let a):
            for k in 0..<n {
                let word = k < 8 ? a.high : a.low
                w.u8(UInt8(truncatingIfNeeded: word >> UInt64(56 - 8 * (k % 8))))
            }
        }
    }
}

/// A syntax error inside an NLRI field or AS_PATH (RFC 4271 §6.3), mapped to a NOTIFICATION by the caller.
struct NLRISyntaxError: Error { var reason: String }
