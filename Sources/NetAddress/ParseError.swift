/// Why a piece of text is not an IP address, prefix, range, MAC address or socket endpoint.
///
/// The one parse error of the package: the webhook, `metallb validate`, the allocator and the protocol tools
/// all report the same reason for the same text.
public struct IPParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What kind of text was expected, for callers that word their own message.
    public enum Kind: Sendable, Hashable {
        case address
        case prefixLength
        /// A strict prefix had host bits set; `canonical` is the prefix with them cleared (RFC 4632 §3.1).
        case hostBitsSet(canonical: IPPrefix)
        case prefix
        case range
        case macAddress
        case endpoint
    }

    /// The text that was rejected.
    public var input: String
    /// A sentence saying what is wrong, for people.
    public var reason: String
    public var kind: Kind

    public init(_ input: String, _ reason: String, kind: Kind = .address) {
        self.input = input
        self.reason = reason
        self.kind = kind
    }

    public var description: String { "\"\(input)\" is not valid: \(reason)" }
}
