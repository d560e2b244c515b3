import NetAddress
/// Packs the RIB-out into UPDATE messages (RFC 4271 §9.2): routes with identical attributes and next hop share a
/// message, each message filled up to the maximum length, and each message carrying only one kind of NLRI
/// (RFC 7606 §5.1). IPv4 goes in the classic NLRI field when it has an IPv4 next hop and
/// `ipv4InMultiprotocol` is false; otherwise MP_REACH_NLRI / MP_UNREACH_NLRI (RFC 4760, RFC 8950 for IPv4 over an
/// IPv6 next hop).
public struct UpdatePacker: Sendable {
    /// One RIB-out entry (RFC 4271 §3.2 Adj-RIB-Out). `attributes.nextHop`, `.mpReach` and `.mpUnreach` are ignored: the packer sets them.
    public struct Route: Hashable, Sendable {
        public var prefix: IPPrefix
        public var nextHop: NextHop
        public var attributes: PathAttributes

        public init(prefix: IPPrefix, nextHop: NextHop, attributes: PathAttributes) {
            self.prefix = prefix
            self.nextHop = nextHop
            self.attributes = attributes
        }
    }

    public var context: CodecContext
    /// Send IPv4 unicast in MP attributes even with IPv4 next hops (e.g. an IPv6-transport session).
    public var ipv4InMultiprotocol: Bool

    public init(context: CodecContext = CodecContext(), ipv4InMultiprotocol: Bool = false) {
        self.context = context
        self.ipv4InMultiprotocol = ipv4InMultiprotocol
    }

    private enum Carrier: Hashable { case classic, multiprotocol(AFISAFI) }

    private struct GroupKey: Hashable {
        var carrier: Carrier
        var nextHop: NextHop
        var attributes: PathAttributes
    }

    private func carrier(prefix: IPPrefix, nextHop: NextHop) -> Carrier {
        if prefix.family == .ipv4, case .ipv4 = nextHop, !ipv4InMultiprotocol { return .classic }
        return .multiprotocol(.unicast(prefix.family))
    }

    /// Announcement UPDATEs for `routes` (a prefix listed twice keeps its last entry). Groups appear in order of
    /// their first route; prefixes keep input order within a group.
    public func announce(_ routes: [Route]) throws(EncodingError) -> [UpdateMessage] {
        var latest: [IPPrefix: Int] = [:]
        for (i, r) in routes.enumerated() { latest[r.prefix] = i }
        var order: [GroupKey] = []
        var groups: [GroupKey: [IPPrefix]] = [:]
        for (i, r) in routes.enumerated() where latest[r.prefix] == i {
            var attrs = r.attributes
            attrs.nextHop = nil
            attrs.mpReach = nil
            attrs.mpUnreach = nil
            let key = GroupKey(carrier: carrier(prefix: r.prefix, nextHop: r.nextHop), nextHop: r.nextHop, attributes: attrs)
            if groups[key] == nil { order.append(key); groups[key] = [] }
            groups[key]?.append(r.prefix)
        }
        var out: [UpdateMessage] = []
        for key in order {
            out += try pack(prefixes: groups[key] ?? [], carrier: key.carrier, nextHop: key.nextHop, attributes: key.attributes)
        }
        return out
    }

    /// Announcement UPDATEs for prefixes that share one next hop and attribute set, in the given order (duplicates
    /// are the caller's business). Every message is filled up to the maximum length; with IPv4 and IPv6 prefixes
    /// mixed, each family gets its own messages.
    public func announce(prefixes: [IPPrefix], nextHop: NextHop, attributes: PathAttributes) throws(EncodingError) -> [UpdateMessage] {
        var attrs = attributes
        attrs.nextHop = nil
        attrs.mpReach = nil
        attrs.mpUnreach = nil
        var v4: [IPPrefix] = [], v6: [IPPrefix] = []
        for p in prefixes { if p.family == .ipv4 { v4.append(p) } else { v6.append(p) } }
        var out: [UpdateMessage] = []
        for list in [v4, v6] where !list.isEmpty {
            out += try pack(prefixes: list, carrier: carrier(prefix: list[0], nextHop: nextHop), nextHop: nextHop, attributes: attrs)
        }
        return out
    }

    /// Fills messages with `prefixes` (one family) under one attribute template.
    private func pack(prefixes: [IPPrefix], carrier: Carrier, nextHop: NextHop, attributes: PathAttributes) throws(EncodingError) -> [UpdateMessage] {
        var out: [UpdateMessage] = []
        var template = attributes
        let v0: Int
        switch carrier {
        case .classic:
            guard case .ipv4(let nh) = nextHop else { return [] }
            template.nextHop = nh
            v0 = 0
        case .multiprotocol(let afiSafi):
            template.mpReach = MPReachNLRI(afiSafi: afiSafi, nextHop: nextHop, nlri: [])
            v0 = 5 + nextHop.encoded(forAFI: afiSafi.afi).count
        }
        let base = try UpdateMessage(attributes: template).encode(context: context).count
        func size(_ nlriBytes: Int) -> Int {
            // The MP_REACH_NLRI header grows by one octet once its value passes 255 (extended length).
            let grow = (carrier != .classic && v0 <= 255 && v0 + nlriBytes > 255) ? 1 : 0
            return base + nlriBytes + grow
        }
        var batch: [IPPrefix] = []
        var bytes = 0
        func flush() {
            guard !batch.isEmpty else { return }
            var m = UpdateMessage(attributes: template)
            switch carrier {
            case .classic: m.nlri = batch
            case .multiprotocol: m.attributes.mpReach?.nlri = batch
            }
            out.append(m)
            batch = []
            bytes = 0
        }
        for p in prefixes {
            if !batch.isEmpty, size(bytes + p.encodedSize) > context.maxMessageLength { flush() }
            guard size(bytes + p.encodedSize) <= context.maxMessageLength else {
                throw EncodingError("attributes too large: not even one prefix fits in \(context.maxMessageLength) octets")
            }
            batch.append(p)
            bytes += p.encodedSize
        }
        flush()
        return out
    }

    /// Withdrawal UPDATEs for `prefixes` (duplicates removed): classic Withdrawn Routes for IPv4 unless
    /// `ipv4InMultiprotocol`, MP_UNREACH_NLRI otherwise.
    public func withdraw(_ prefixes: [IPPrefix]) -> [UpdateMessage] {
        var seen = Set<IPPrefix>()
        var classic: [IPPrefix] = [], v4mp: [IPPrefix] = [], v6: [IPPrefix] = []
        for p in prefixes where seen.insert(p).inserted {
            switch p.family {
            case .ipv4: if ipv4InMultiprotocol { v4mp.append(p) } else { classic.append(p) }
            case .ipv6: v6.append(p)
            }
        }
        var out: [UpdateMessage] = []
        let limit = context.maxMessageLength
        // Header 19 + Withdrawn Routes Length 2 + Total Path Attribute Length 2.
        for chunk in UpdatePacker.chunks(classic, budget: limit - 23) {
            out.append(UpdateMessage(withdrawnRoutes: chunk))
        }
        for (afiSafi, list) in [(AFISAFI.ipv4Unicast, v4mp), (.ipv6Unicast, v6)] where !list.isEmpty {
            // Attribute header with extended length (4) + AFI/SAFI (3); short values save one octet, ignored.
            for chunk in UpdatePacker.chunks(list, budget: limit - 23 - 4 - 3) {
                out.append(UpdateMessage(attributes: PathAttributes(mpUnreach: MPUnreachNLRI(afiSafi: afiSafi, withdrawn: chunk))))
            }
        }
        return out
    }

    /// Withdrawals first, then announcements; a prefix both withdrawn and announced is only announced.
    public func pack(announce routes: [Route], withdraw prefixes: [IPPrefix]) throws(EncodingError) -> [UpdateMessage] {
        if prefixes.isEmpty { return try announce(routes) }
        let announced = Set(routes.map(\.prefix))
        return withdraw(prefixes.filter { !announced.contains($0) }) + (try announce(routes))
    }

    /// End-of-RIB marker (RFC 4724 §2).
    public func endOfRIB(_ afiSafi: AFISAFI) -> UpdateMessage { UpdateMessage.endOfRIB(afiSafi) }

    private static func chunks(_ prefixes: [IPPrefix], budget: Int) -> [[IPPrefix]] {
        var out: [[IPPrefix]] = []
        var cur: [IPPrefix] = []
        var used = 0
        for p in prefixes {
            if used + p.encodedSize > budget, !cur.isEmpty { out.append(cur); cur = []; used = 0 }
            cur.append(p)
            used += p.encodedSize
        }
        if !cur.isEmpty { out.append(cur) }
        return out
    }
}
