#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A member's UDP endpoint: an IPv4 or IPv6 address and a port.
///
/// Link-local IPv6 addresses are not supported (they need a scope id); speakers use their node addresses.
public struct MemberAddress: Hashable, Sendable, CustomStringConvertible {
    /// 4 bytes (IPv4) or 16 bytes (IPv6), network order.
    public let bytes: [UInt8]
    public let port: UInt16

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case invalid(String)

        public var description: String {
            switch self {
            case .invalid(let s): return "not an IP address with port: \(s)"
            }
        }
    }

    public var isIPv6: Bool { bytes.count == 16 }

    /// From raw address bytes (4 or 16).
    public init(bytes: [UInt8], port: UInt16) throws(ParseError) {
        guard bytes.count == 4 || bytes.count == 16 else { throw .invalid("\(bytes.count)-byte address") }
        self.bytes = bytes
        self.port = port
    }

    /// From a literal host ("10.0.0.1", "fd00::1" or "[fd00::1]") and a port.
    public init(host: String, port: UInt16) throws(ParseError) {
        var h = Substring(host)
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        if let v4 = Self.parse(String(h), family: AF_INET, size: 4) {
            self.bytes = v4
        } else if let v6 = Self.parse(String(h), family: AF_INET6, size: 16) {
            self.bytes = v6
        } else {
            throw .invalid(host)
        }
        self.port = port
    }

    /// From "10.0.0.1:7946" or "[fd00::1]:7946".
    public init(_ string: String) throws(ParseError) {
        guard let colon = string.lastIndex(of: ":"),
              let port = UInt16(string[string.index(after: colon)...]) else { throw .invalid(string) }
        let host = String(string[..<colon])
        // An unbracketed IPv6 literal with a port is ambiguous ("fd00::1:80"): require brackets.
        if host.contains(":"), !(host.hasPrefix("[") && host.hasSuffix("]")) { throw .invalid(string) }
        try self.init(host: host, port: port)
    }

    public var host: String {
        var buffer = [CChar](repeating: 0, count: 64)
        let family = isIPv6 ? AF_INET6 : AF_INET
        let ok = bytes.withUnsafeBytes { raw in
            inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil
        }
        guard ok else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    private static func parse(_ s: String, family: Int32, size: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: size)
        let r = out.withUnsafeMutableBytes { inet_pton(family, s, $0.baseAddress) }
        return r == 1 ? out : nil
    }
}
