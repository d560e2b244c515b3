/// An IP prefix: network address plus prefix length (RFC 4632 §3.1 "address/length" notation, RFC 4291 §2.3 for
/// IPv6). The address never has bits set beyond the prefix length.
public struct IPPrefix: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let address: IPAddress
    public let length: Int

    /// Why a prefix could not be built from text or parts.
    public enum Error: Swift.Error, Hashable, Sendable {
        case invalidAddress(String)
        case invalidLength(String)
        /// Host bits are set; `canonical` is the prefix with them cleared (RFC 4632 §3.1).
        case hostBitsSet(canonical: IPPrefix)
    }

    /// Strict: throws `.hostBitsSet` when bits beyond `length` are set.
    public init(_ address: IPAddress, length: Int) throws(IPPrefix.Error) {
        guard length >= 0, length <= address.family.maxPrefixLength else {
            throw .invalidLength("\(length) is out of range for \(address.family)")
        }
        let masked = IPPrefix.mask(address, length)
        guard masked == address else { throw .hostBitsSet(canonical: IPPrefix(unchecked: masked, length: length)) }
        self.address = address
        self.length = length
    }

    /// Lenient: clears host bits; the length is clamped into range.
    public init(masking address: IPAddress, length: Int) {
        let l = max(0, min(length, address.family.maxPrefixLength))
        self.init(unchecked: IPPrefix.mask(address, l), length: l)
    }

    init(unchecked address: IPAddress, length: Int) {
        self.address = address
        self.length = length
    }

    /// Parses "a.b.c.d/n" or "x::y/n" strictly (host bits must be zero). A bare address is a host prefix.
    public init(parsing text: some StringProtocol) throws(IPPrefix.Error) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let addr = IPAddress(parts[0]) else { throw .invalidAddress(String(parts[0])) }
        var len = addr.family.maxPrefixLength
        if parts.count == 2 {
            let l = parts[1]
            guard !l.isEmpty, l.count <= 3, l.allSatisfy({ $0.isASCII && $0.isNumber }),
                  !(l.count > 1 && l.first == "0"), let n = Int(l) else { throw .invalidLength(String(l)) }
            len = n
        }
        try self.init(addr, length: len)
    }

    /// Parses strictly; `nil` on any error.
    public init?(_ text: some StringProtocol) {
        guard let p = try? IPPrefix(parsing: text) else { return nil }
        self = p
    }

    public var family: AddressFamily { address.family }

    /// Canonical text: RFC 5952 address (or dotted quad) + "/" + length.
    public var description: String { "\(address)/\(length)" }

    /// Whether `other` lies inside this prefix.
    public func contains(_ other: IPAddress) -> Bool {
        other.family == family && IPPrefix.mask(other, length) == address
    }

    /// Octets carried in NLRI encoding: ceil(length / 8) (RFC 4271 §4.3).
    public var encodedAddressSize: Int { (length + 7) / 8 }
    /// Size of the whole NLRI tuple <length, prefix> (RFC 4271 §4.3).
    public var encodedSize: Int { 1 + encodedAddressSize }

    public static func < (l: Self, r: Self) -> Bool { (l.address, l.length) < (r.address, r.length) }

    /// Clears the host bits beyond `length` (RFC 4632 §3.1).
    static func mask(_ a: IPAddress, _ length: Int) -> IPAddress {
        switch a {
        case .v4(let v):
            let m: UInt32 = length == 0 ? 0 : ~UInt32(0) << UInt32(32 - length)
            return .v4(IPv4Address(v.rawValue & m))
        case .v6(let v):
            let mh: UInt64 = length <= 0 ? 0 : (length >= 64 ? ~0 : ~UInt64(0) << UInt64(64 - length))
            let ml: UInt64 = length <= 64 ? 0 : (length >= 128 ? ~0 : ~UInt64(0) << UInt64(128 - length))
            return .v6(IPv6Address(high: v.high & mh, low: v.low & ml))
        }
    }
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
