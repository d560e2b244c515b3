import API
import BGP
import NetAddress

/// What one node sends on each of its BGP sessions, from the plans of all Services (pure), and which BGPPeers each
/// Service's prefixes reach (for ServiceBGPStatus).
public struct BGPRouteTable: Hashable, Sendable {
    /// Per session (`PlannedSession.id`), its routes sorted by prefix; every session has an entry.
    public var routes: [String: [AdvertisedRoute]]
    /// Per Service key ("namespace/name"), the names of the BGPPeers that receive one of its prefixes, sorted;
    /// Services sent to no peer have no entry.
    public var peers: [String: [String]]

    public init(sessions: [PlannedSession], plans: [BGPPlan]) {
        var routes: [String: [AdvertisedRoute]] = [:]
        // A prefix is the Services' that ask for it: a peer receiving it counts for all of them, as in MetalLB.
        var servicesOfPrefix: [IPPrefix: Set<String>] = [:]
        for plan in plans {
            for a in plan.announcements { servicesOfPrefix[a.prefix, default: []].insert(plan.serviceKey) }
        }
        var peers: [String: Set<String>] = [:]
        for session in sessions {
            let table = BGPPlanner.routes(for: session, plans: plans)
            routes[session.id] = table
            for r in table {
                for service in servicesOfPrefix[r.prefix] ?? [] { peers[service, default: []].insert(session.peerName) }
            }
        }
        self.routes = routes
        self.peers = peers.mapValues { $0.sorted() }
    }

    /// The routes of `session` (none for a session this table was not made with).
    public func routes(for session: PlannedSession) -> [AdvertisedRoute] { routes[session.id] ?? [] }
}

extension BGPPlanner {
    /// The routes one session carries, merged over all Services' announcements: those whose `peers` admit the
    /// session's BGPPeer and whose family the session carries; a prefix asked for by several Services or
    /// advertisements goes once, with the union of their communities (MetalLB's native mergeCommunities) and the
    /// highest of their LOCAL_PREFs; LOCAL_PREF only on iBGP sessions. Sorted by prefix.
    public static func routes(for session: PlannedSession, plans: [BGPPlan]) -> [AdvertisedRoute] {
        struct Merged {
            var localPref: UInt32?
            var communities: Set<BGPCommunity>
        }
        var merged: [IPPrefix: Merged] = [:]
        let families = Set(session.families)
        for plan in plans {
            for a in plan.announcements where a.goes(to: session.peerName) && families.contains(.unicast(a.prefix.family)) {
                var m = merged[a.prefix] ?? Merged(localPref: nil, communities: [])
                if let p = a.localPref { m.localPref = max(m.localPref ?? 0, p) }
                m.communities.formUnion(a.communities)
                merged[a.prefix] = m
            }
        }
        return merged.keys.sorted().map { prefix in
            let m = merged[prefix]!
            var standard: [BGP.Community] = []
            var large: [LargeCommunity] = []
            for c in m.communities.sorted() {
                switch c {
                case .standard(let asn, let value): standard.append(BGP.Community(asn: asn, value: value))
                case .large(let g, let l1, let l2): large.append(LargeCommunity(g, l1, l2))
                }
            }
            return AdvertisedRoute(prefix: prefix, localPref: session.isInternal ? m.localPref : nil,
                                   communities: standard, largeCommunities: large)
        }
    }
}
