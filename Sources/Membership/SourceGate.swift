import NetAddress

/// What a datagram must pass before its HMAC is computed (the HMAC is the expensive part of rejecting a forgery).
///
/// Members send from the socket they are bound to, so every genuine datagram comes from a member's configured address
/// and port: anything else is dropped at the cost of a hash lookup (`DropReason.unknownSource`). Each member's
/// address then has a token bucket (`MembershipConfig.sourceRatePerSecond`, a burst of one second's worth): a forger
/// who spoofs a member's address can make us verify that many datagrams a second from it, no more
/// (`DropReason.sourceOverBudget`). A member sends one heartbeat per interval, so the default rate (20 times that)
/// leaves room for a stalled thread's backlog and leaves.
///
/// Pure: times come from the caller. Not thread-safe by itself (the node keeps it behind a lock).
public struct MembershipSourceGate: Sendable {
    /// Tokens per second and bucket size, per member address; 0 turns the rate limit off.
    public let ratePerSecond: Int
    /// Whether the source address is checked at all (off: every datagram goes to the HMAC check).
    public let checkSource: Bool

    private struct Bucket: Sendable {
        var tokens: Double
        var updated: MonotonicTime
        /// Members configured at this address (tests run many behind one socket): the rate is per member.
        var members: Int
    }

    private var buckets: [SocketEndpoint: Bucket] = [:]

    public init(checkSource: Bool, ratePerSecond: Int) {
        self.checkSource = checkSource
        self.ratePerSecond = max(0, ratePerSecond)
    }

    /// The addresses members send from; buckets of addresses that stay keep their tokens.
    public mutating func setMembers(_ endpoints: some Sequence<SocketEndpoint>) {
        var next: [SocketEndpoint: Bucket] = [:]
        for e in endpoints.map(Self.normalized) {
            if next[e] != nil {
                next[e]!.members += 1
            } else {
                next[e] = buckets[e] ?? Bucket(tokens: 0, updated: MonotonicTime(nanoseconds: .min), members: 1)
                next[e]!.members = 1
            }
        }
        buckets = next
    }

    /// nil when the datagram from `source` may be verified; otherwise why it is dropped unverified.
    public mutating func admit(from source: SocketEndpoint, now: MonotonicTime) -> DropReason? {
        guard checkSource else { return nil }
        let key = Self.normalized(source)
        guard var bucket = buckets[key] else { return .unknownSource }
        guard ratePerSecond > 0 else { return nil }
        let rate = Double(ratePerSecond * bucket.members)
        if bucket.updated.nanoseconds == .min {
            bucket.tokens = rate
        } else if now > bucket.updated {
            bucket.tokens = min(rate, bucket.tokens + Double(now.nanoseconds - bucket.updated.nanoseconds) / 1e9 * rate)
        }
        bucket.updated = max(now, bucket.updated)
        guard bucket.tokens >= 1 else {
            buckets[key] = bucket
            return .sourceOverBudget
        }
        bucket.tokens -= 1
        buckets[key] = bucket
        return nil
    }

    /// IPv4 peers seen through an IPv6 socket arrive v4-mapped; members are compared in their IPv4 form.
    static func normalized(_ e: SocketEndpoint) -> SocketEndpoint {
        if case .v6(let v6) = e.address, let v4 = v6.ipv4Mapped { return SocketEndpoint(address: .v4(v4), port: e.port) }
        return e
    }
}
