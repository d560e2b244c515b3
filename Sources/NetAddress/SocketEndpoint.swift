/// An IP address and a UDP or TCP port: "10.0.0.1:7946" or "[fd00::1]:7946".
public struct SocketEndpoint: Hashable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public var address: IPAddress
    public var port: UInt16

    public init(address: IPAddress, port: UInt16) {
        self.address = address
        self.port = port
    }

    /// From a literal host ("10.0.0.1", "fd00::1" or "[fd00::1]") and a port.
    public init(host: some StringProtocol, port: UInt16) throws(IPParseError) {
        var h = Substring(host)
        if h.hasPrefix("["), h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        let parsed: IPAddress
        do {
            parsed = try IPAddress.parse(h)
        } catch {
            throw IPParseError(String(host), error.reason, kind: .endpoint)
        }
        self.address = parsed
        self.port = port
    }

    /// Parses "10.0.0.1:7946" or "[fd00::1]:7946". An IPv6 literal must be in brackets: "fd00::1:80" is ambiguous.
    public static func parse(_ text: some StringProtocol) throws(IPParseError) -> SocketEndpoint {
        let s = String(text)
        let fail = IPParseError(s, "expected an address and a port, like 10.0.0.1:7946 or [fd00::1]:7946", kind: .endpoint)
        guard let colon = s.lastIndex(of: ":"), let port = UInt16(s[s.index(after: colon)...]) else { throw fail }
        let host = s[..<colon]
        if host.contains(":"), !(host.hasPrefix("[") && host.hasSuffix("]")) { throw fail }
        return try SocketEndpoint(host: host, port: port)
    }

    public init?(_ text: some StringProtocol) {
        guard let e = try? SocketEndpoint.parse(text) else { return nil }
        self = e
    }

    public var family: IPFamily { address.family }
    public var isIPv6: Bool { address.isIPv6 }

    public var description: String { address.isIPv6 ? "[\(address)]:\(port)" : "\(address):\(port)" }
}
