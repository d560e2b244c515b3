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
    private let shared = Shared()

    struct State {
        var requests: [FailoverRequest] = []
        var alive: Set<String>?
        var owned: Set<ServiceIP> = []
        /// Service IPs this node started announcing because their owner died or left.
        var takeovers: UInt64 = 0
        /// Set by `handOver`/`stop`: no election changes what is answered any more.
        var leaving = false
    }

    /// The state the membership thread and callers share (a class, so the membership's handler can hold it).
    final class Shared: Sendable {
        let state = Mutex(State())
    }

    /// Builds the membership node (not started: call `start()`); `announcer` answers nothing until the first election.
    public init(node: String, announcer: Announcer, membership config: MembershipConfig, bind: SocketEndpoint,
                keyring: MembershipKeyring) throws(MembershipNodeError) {
        let shared = self.shared
        self.node = node
        self.announcer = announcer
        membership = try MembershipNode(config: config, name: node, bind: bind, keyring: keyring, onChange: { update in
            Layer2Failover.elect(node: node, shared: shared, announcer: announcer, alive: update.change.alive,
                                 membersCame: !update.change.added.isEmpty, membersWent: !update.change.removed.isEmpty)
        })
    }

    public func setMembers(_ members: [String: SocketEndpoint]) { membership.setMembers(members) }

    public func start() throws(MembershipNodeError) { try membership.start() }

    /// Replaces the requests and elects again over the current live members.
    public func setRequests(_ requests: [FailoverRequest]) {
        let alive = shared.state.withLock { s -> Set<String>? in
            s.requests = requests
            return s.alive
        }
        Self.elect(node: node, shared: shared, announcer: announcer, alive: alive, membersCame: false, membersWent: false)
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
        }
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
            return (s.owned, s.requests, s.alive)
        }
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
                              membersWent: Bool) {
        // Decided and applied under the lock: two changes (one from setRequests, one from the membership thread)
        // must reach the announcer in the order they were decided.
        shared.state.withLock { s in
            guard !s.leaving else { return }
            s.alive = alive
            let now = FailoverPlan.owned(by: node, requests: s.requests, alive: alive)
            let kept = !s.owned.intersection(now).isEmpty
            if membersWent, s.alive != nil { s.takeovers += UInt64(now.subtracting(s.owned).count) }
            s.owned = now
            announcer.setOwned(FailoverPlan.byInterface(now, requests: s.requests, allInterfaces: announcer.interfaceNames))
            // A member came (back): announce what we keep too, so that hosts that learned another MAC during a
            // partition learn ours again.
            if membersCame && kept { announcer.reannounce() }
        }
    }
}
