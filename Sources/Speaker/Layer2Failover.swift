import Dispatch
import Layer2
import Membership
import NetAddress
import Synchronization

/// One Service's Layer 2 announcement request: its IPs, which nodes may announce them, and on which interfaces.
public struct FailoverRequest: Hashable, Sendable {
    public var serviceKey: String
    public var ips: [IPAddress]
    /// Nodes allowed to announce (the planner's candidates); nil: any live member. Intersected with the live members
    /// on every membership change.
    public var candidates: Set<String>?
    /// Interfaces to answer on; nil: every interface the announcer serves.
    public var interfaces: Set<String>?
    /// How much each candidate is preferred (`preferredNodeSelectors` weights): the election is among the live
    /// candidates with the highest preference only; absent nodes count 0.
    public var preference: [String: Int]

    public init(serviceKey: String, ips: [IPAddress], candidates: Set<String>? = nil, interfaces: Set<String>? = nil,
                preference: [String: Int] = [:]) {
        self.serviceKey = serviceKey
        self.ips = ips
        self.candidates = candidates
        self.interfaces = interfaces
        self.preference = preference
    }
}

/// What `node` announces, given the live members: the election over each request's live candidates, mapped to
/// interfaces. Pure, so the decision is tested without sockets; `Layer2Failover` runs it on the membership thread.
public enum FailoverPlan {
    /// The Service IPs `node` owns. With `alive` nil (the membership has not settled) nothing is owned: claiming
    /// everything before hearing the others would answer next to the real owner.
    public static func owned(by node: String, requests: [FailoverRequest], alive: Set<String>?) -> Set<ServiceIP> {
        guard let alive else { return [] }
        let live = alive.union([node])
        return Election.owned(by: node, requests.map { r in
            let eligible = r.candidates.map { $0.intersection(live) } ?? live
            // Preferred nodes first: a lower tier takes over only when no live node of a higher one is left.
            let best = eligible.map { r.preference[$0] ?? 0 }.max() ?? 0
            return ElectionRequest(serviceKey: r.serviceKey, ips: r.ips, eligibleNodes: eligible.filter { (r.preference[$0] ?? 0) == best })
        })
    }

    /// The owned IPs per interface; a request without interfaces goes on every one of `allInterfaces`.
    public static func byInterface(_ owned: Set<ServiceIP>, requests: [FailoverRequest], allInterfaces: [String]) -> [String: Set<IPAddress>] {
        var interfacesOf: [String: Set<String>] = [:]
        for r in requests { interfacesOf[r.serviceKey] = r.interfaces ?? Set(allInterfaces) }
        var out: [String: Set<IPAddress>] = [:]
        for ip in owned {
            for name in interfacesOf[ip.serviceKey] ?? Set(allInterfaces) { out[name, default: []].insert(ip.ip) }
        }
        return out
    }
}

/// Layer 2 failover: membership change → election → announcer, run on the membership thread that decided the
/// change, so a takeover's first gratuitous ARP/NA leaves without waiting for Swift's cooperative pool (this is what
/// keeps node death → new owner under 150 ms; see docs/BENCHMARKS.md).
public final class Layer2Failover: Sendable {
    public let node: String
    public let announcer: Announcer
    public let membership: MembershipNode
    /// How long an IP given to a member that came (back) is still answered here while that member has not claimed it.
    public let handBackTimeout: Duration
    private let shared = Shared()
    private let handBackTask = Mutex<Task<Void, Never>?>(nil)

    struct State {
        var requests: [FailoverRequest] = []
        var alive: Set<String>?
        var owned: Set<ServiceIP> = []
        /// Service IPs this node started announcing because their owner died or left.
        var takeovers: UInt64 = 0
        /// Set by `handOver`/`stop`: no election changes what is answered any more.
        var leaving = false
        /// IPs an election gave to a member that just came (back), still answered here until that member claims them
        /// on the wire or the deadline passes: a returning speaker (a rolling update) takes over with no moment when
        /// nobody answers. Keyed by IP, with the time the hand-back began (`DispatchTime` ns) and its deadline.
        var handingBack: [ServiceIP: (since: UInt64, until: ContinuousClock.Instant)] = [:]
        /// Hand-backs that ended because the new owner claimed the IP, and because the deadline passed.
        var handBacksClaimed: UInt64 = 0
        var handBacksTimedOut: UInt64 = 0
    }

    /// The state the membership thread and callers share (a class, so the membership's handler can hold it).
    final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// Builds the membership node (not started: call `start()`); `announcer` answers nothing until the first election.
    public init(node: String, announcer: Announcer, membership config: MembershipConfig, bind: SocketEndpoint,
                keyring: MembershipKeyring, handBackTimeout: Duration = .seconds(2)) throws(MembershipNodeError) {
        let shared = self.shared
        self.node = node
        self.announcer = announcer
        self.handBackTimeout = handBackTimeout
        let timeout = handBackTimeout
        membership = try MembershipNode(config: config, name: node, bind: bind, keyring: keyring, onChange: { update in
            Layer2Failover.elect(node: node, shared: shared, announcer: announcer, alive: update.change.alive,
                                 membersCame: !update.change.added.isEmpty, membersWent: !update.change.removed.isEmpty,
                                 handBack: timeout)
        })
        startHandBackWatch()
    }

    deinit { handBackTask.withLock { $0?.cancel() } }

    /// Ends hand-backs: an IP leaves the answered set once another station claimed it or its deadline passed. Polls
    /// every 5 ms while a hand-back runs, every 50 ms otherwise (this is not the failover's fast path: the new owner
    /// already answers).
    private func startHandBackWatch() {
        let shared = self.shared, announcer = self.announcer
        let task = Task.detached {
            while !Task.isCancelled {
                let busy = Layer2Failover.endHandBacks(shared: shared, announcer: announcer)
                try? await Task.sleep(for: .milliseconds(busy ? 5 : 50))
            }
        }
        handBackTask.withLock { $0 = task }
    }

    /// Returns whether a hand-back is still running.
    private static func endHandBacks(shared: Shared, announcer: Announcer) -> Bool {
        shared.state.withLock { s in
            guard !s.handingBack.isEmpty else { return false }
            let now = ContinuousClock.now
            // One question to the announcer per hand-back start (an election starts all of its hand-backs at once).
            var claimedSince: [UInt64: Set<IPAddress>] = [:]
            var ended = false
            for (ip, h) in s.handingBack {
                let claimed = claimedSince[h.since] ?? announcer.claimedElsewhere(since: h.since)
                claimedSince[h.since] = claimed
                if claimed.contains(ip.ip) {
                    s.handingBack[ip] = nil; s.handBacksClaimed += 1; ended = true
                } else if now >= h.until {
                    s.handingBack[ip] = nil; s.handBacksTimedOut += 1; ended = true
                }
            }
            if ended, !s.leaving { apply(s, announcer: announcer) }
            return !s.handingBack.isEmpty
        }
    }

    /// Hands the announcer what this node answers for: what it owns, and what it is still handing back.
    private static func apply(_ s: State, announcer: Announcer) {
        announcer.setOwned(FailoverPlan.byInterface(s.owned.union(s.handingBack.keys), requests: s.requests,
                                                    allInterfaces: announcer.interfaceNames))
    }

    /// Hand-backs ended because the new owner claimed the IP, and because the deadline passed, since start.
    public var handBacks: (claimed: UInt64, timedOut: UInt64) {
        shared.state.withLock { ($0.handBacksClaimed, $0.handBacksTimedOut) }
    }

    /// Every IP answered now: the owned ones and those still being handed back.
    public var answered: Set<ServiceIP> { shared.state.withLock { $0.owned.union($0.handingBack.keys) } }

    public func setMembers(_ members: [String: SocketEndpoint]) { membership.setMembers(members) }

    public func start() throws(MembershipNodeError) { try membership.start() }

    /// Replaces the requests and elects again over the current live members.
    public func setRequests(_ requests: [FailoverRequest]) {
        let alive = shared.state.withLock { s -> Set<String>? in
            s.requests = requests
            return s.alive
        }
        Self.elect(node: node, shared: shared, announcer: announcer, alive: alive, membersCame: false, membersWent: false,
                   handBack: handBackTimeout)
    }

    /// Service IPs taken over from a node that died or left, since start.
    public var takeovers: UInt64 { shared.state.withLock { $0.takeovers } }

    /// The Service IPs this node announces now.
    public var owned: Set<ServiceIP> { shared.state.withLock { $0.owned } }

    /// The live members as last decided (nil before the membership settled).
    public var alive: Set<String>? { shared.state.withLock { $0.alive } }

    /// Stops answering at once, then tells the others it leaves (no hand-over: see `handOver`).
    public func stop() {
        shared.state.withLock { s in
            s.leaving = true
            s.owned = []
            s.handingBack = [:]
        }
        handBackTask.withLock { $0?.cancel() }
        announcer.setOwned(ips: [])
        membership.stop(graceful: true)
        announcer.stop()
    }

    /// What a hand-over did.
    public struct HandOver: Sendable, CustomStringConvertible {
        /// IPs this node answered for when it began.
        public var owned: Int
        /// IPs another live member was expected to take.
        public var expected: Int
        /// Expected IPs nobody claimed before the timeout.
        public var unclaimed: [IPAddress]
        public var took: Duration

        public var description: String {
            "\(owned) IP(s) owned, \(expected) for other nodes to take, " +
                (unclaimed.isEmpty ? "all claimed" : "not claimed: \(unclaimed.map(\.description).joined(separator: ", "))") +
                " in \(took)"
        }
    }

    /// Leaves without a moment when nobody answers (a rolling update, a drained node): tells the others it leaves
    /// while still answering, so they elect without this node at once and announce; keeps answering until every IP
    /// that another live member may take was claimed on the wire by another station (its gratuitous ARP or unsolicited
    /// NA) or `timeout` passed; then stops answering and stops. For a moment both nodes answer, which clients resolve
    /// to either: both forward the traffic. IPs no other member may announce are not waited for.
    public func handOver(timeout: Duration) async -> HandOver {
        let start = ContinuousClock.now
        let since = DispatchTime.now().uptimeNanoseconds
        let (owned, requests, alive) = shared.state.withLock { s in
            s.leaving = true
            // What is still being handed back belongs to a member that is alive and now owns it.
            let answered = s.owned.union(s.handingBack.keys)
            s.handingBack = [:]
            return (answered, s.requests, s.alive)
        }
        handBackTask.withLock { $0?.cancel() }
        // Whom the others elect once we are gone: only those IPs will be claimed.
        let others = (alive ?? []).subtracting([node])
        var expected: Set<IPAddress> = []
        for other in others {
            expected.formUnion(FailoverPlan.owned(by: other, requests: requests, alive: others).map(\.ip))
        }
        expected.formIntersection(owned.map(\.ip))
        membership.stop(graceful: true)
        // In a task of its own: a hand-over runs while the role shuts down, when the caller is already cancelled.
        let announcer = self.announcer, wanted = expected
        let unclaimed = await Task {
            var unclaimed = wanted
            while !unclaimed.isEmpty, ContinuousClock.now - start < timeout {
                unclaimed.subtract(announcer.claimedElsewhere(since: since))
                if unclaimed.isEmpty { break }
                try? await Task.sleep(for: .milliseconds(2))
            }
            return unclaimed
        }.value
        shared.state.withLock { $0.owned = [] }
        announcer.setOwned(ips: [])
        announcer.stop()
        return HandOver(owned: owned.count, expected: expected.count, unclaimed: unclaimed.sorted(), took: ContinuousClock.now - start)
    }

    private static func elect(node: String, shared: Shared, announcer: Announcer, alive: Set<String>?, membersCame: Bool,
                              membersWent: Bool, handBack: Duration) {
        // Decided and applied under the lock: two changes (one from setRequests, one from the membership thread)
        // must reach the announcer in the order they were decided.
        shared.state.withLock { s in
            guard !s.leaving else { return }
            s.alive = alive
            let now = FailoverPlan.owned(by: node, requests: s.requests, alive: alive)
            let kept = !s.owned.intersection(now).isEmpty
            if membersWent, s.alive != nil { s.takeovers += UInt64(now.subtracting(s.owned).count) }
            // A member came (back) and won IPs we answered: keep answering them until it claims them on the wire.
            // Only IPs still requested; a Service that changed or went is given up at once.
            let lost = s.owned.subtracting(now)
            if alive == nil {
                s.handingBack = [:]
            } else if !s.handingBack.isEmpty || (membersCame && handBack > .zero && !lost.isEmpty) {
                let requested = Set(s.requests.flatMap { r in r.ips.map { ServiceIP(serviceKey: r.serviceKey, ip: $0) } })
                s.handingBack = s.handingBack.filter { ip, _ in !now.contains(ip) && requested.contains(ip) }
                if membersCame, handBack > .zero {
                    // A claim up to 250 ms old counts: the newcomer may have announced just before we counted it alive.
                    let t = DispatchTime.now().uptimeNanoseconds
                    let start = t > 250_000_000 ? t - 250_000_000 : 0, until = ContinuousClock.now + handBack
                    for ip in lost where requested.contains(ip) { s.handingBack[ip] = (start, until) }
                }
            }
            s.owned = now
            apply(s, announcer: announcer)
            // A member came (back): announce what we keep too, so that hosts that learned another MAC during a
            // partition learn ours again.
            if membersCame && kept { announcer.reannounce() }
        }
    }
}
