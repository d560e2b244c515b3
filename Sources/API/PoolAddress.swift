import Foundation
import NetAddress

/// One entry of an IPAddressPool's `addresses`: a CIDR prefix or a first-last range.
public struct PoolAddress: Sendable, Hashable, CustomStringConvertible {
    /// The text as written in the pool.
    public var text: String
    /// All addresses the entry covers.
    public var range: IPRange
    /// The prefix, when the entry was written as a CIDR.
    public var prefix: IPPrefix?
    /// True when a CIDR was written with host bits set (e.g. 198.51.100.10/24); it is normalised.
    public var hostBitsSet: Bool
    /// The address part of a CIDR as written (198.51.100.10 for 198.51.100.10/24).
    public var writtenAddress: IPAddress?

    /// Parses a CIDR ("192.168.10.0/24") or a range ("192.168.9.1-192.168.9.5"): the one parser of pool text, used by
    /// the webhook, `metallb validate` and the allocator alike.
    public static func parse(_ text: String) throws(IPParseError) -> PoolAddress {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.contains("-") {
            if trimmed.contains("/") {
                throw IPParseError(text, "a range is written first-last without a prefix length", kind: .range)
            }
            return PoolAddress(text: text, range: try IPRange.parse(trimmed), prefix: nil, hostBitsSet: false, writtenAddress: nil)
        }
        if trimmed.contains("/") {
            let (p, written) = try IPPrefix.parseDetailed(trimmed)
            return PoolAddress(text: text, range: p.range, prefix: p, hostBitsSet: written != p.address, writtenAddress: written)
        }
        throw IPParseError(text, "expected a CIDR prefix (like 192.168.10.0/24, or 192.168.10.7/32 for one address) or a range first-last (like 192.168.9.1-192.168.9.5)", kind: .prefix)
    }

    public var family: IPFamily { range.family }

    /// The CIDR prefixes covering the entry (one for a CIDR, the summary for a range).
    public var prefixes: [IPPrefix] { prefix.map { [$0] } ?? range.prefixes }

    /// The canonical text: the normalised CIDR, or "first-last" in RFC 5952 form.
    public var canonical: String { prefix?.description ?? "\(range.first)-\(range.last)" }

    public var description: String { canonical }
}
