import NetAddress

/// Limits on ARP replies and solicited NAs, so that a storm of requests (anyone on the LAN can send them) cannot make
/// the speaker flood the LAN with answers — replies to forged source MACs are unknown unicast, which switches flood to
/// every port — nor spend its CPU sending them. The kernel has no such limit for ARP replies (its `arp` code answers
/// every request for a local address); this follows the per-destination spirit of its ICMP rate limiting
/// (`icmp_ratelimit`, a token bucket per peer) with fixed one-second windows.
///
/// Three budgets, all per second and per interface, checked in order; an answer must fit all three:
/// - `perRequesterPerAddress`: one requester (the MAC the answer goes to) asking for one IP. A host asks again only
///   when its cache entry expires or it retries (arping: 1/s; the kernel: `ucast_solicit` + `mcast_solicit`, 3 + 3 a
///   second apart), so 10 leaves ample room while one noisy host cannot use an IP's whole budget.
/// - `perAddress`: one IP, all requesters together: a storm for one IP leaves every other owned IP answered.
/// - `perInterface`: every answer on the interface: the bound on what a storm over many owned IPs costs.
/// Requesters tracked per window are at most `trackedRequesters` (memory is bounded whatever the source MACs); when
/// the table is full, further requesters are only subject to the per-IP and per-interface budgets.
public struct ReplyRateLimit: Hashable, Sendable {
    public var perRequesterPerAddress: Int
    public var perAddress: Int
    public var perInterface: Int
    public var trackedRequesters: Int

    public init(perRequesterPerAddress: Int = 10, perAddress: Int = 100, perInterface: Int = 1000,
                trackedRequesters: Int = 4096) {
        self.perRequesterPerAddress = perRequesterPerAddress
        self.perAddress = perAddress
        self.perInterface = perInterface
        self.trackedRequesters = trackedRequesters
    }
}

/// The pure state of `ReplyRateLimit` for one interface: counts in the current one-second window (time injected, in
/// monotonic nanoseconds).
public struct ReplyRateLimiter: Sendable {
    public let limit: ReplyRateLimit
    private struct Pair: Hashable { var requester: MACAddress; var address: IPAddress }
    private var windowStart: UInt64 = 0
    private var started = false
    private var perPair: [Pair: Int] = [:]
    private var perAddress: [IPAddress: Int] = [:]
    private var total = 0

    public init(limit: ReplyRateLimit) {
        self.limit = limit
    }

    /// Requesters currently tracked (≤ `trackedRequesters`).
    public var trackedCount: Int { perPair.count }

    /// True (and counted) if an answer to `requester` for `address` fits the budgets at `now`.
    public mutating func allow(requester: MACAddress, address: IPAddress, now: UInt64) -> Bool {
        if !started || now &- windowStart >= 1_000_000_000 {
            started = true
            windowStart = now
            perPair.removeAll(keepingCapacity: true)
            perAddress.removeAll(keepingCapacity: true)
            total = 0
        }
        guard total < limit.perInterface, perAddress[address, default: 0] < limit.perAddress else { return false }
        let pair = Pair(requester: requester, address: address)
        if let n = perPair[pair] {
            guard n < limit.perRequesterPerAddress else { return false }
            perPair[pair] = n + 1
        } else if perPair.count < limit.trackedRequesters {
            guard limit.perRequesterPerAddress > 0 else { return false }
            perPair[pair] = 1
        }
        perAddress[address, default: 0] += 1
        total += 1
        return true
    }
}
