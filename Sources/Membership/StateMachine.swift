import NetAddress
/// Why a member entered or left the alive set.
public enum MemberChangeReason: String, Hashable, Sendable {
    /// First published view after start (every member in it).
    case settled
    /// Heard (directly or through peers) `riseCount` times.
    case heard
    /// No evidence of life within `timeout`.
    case timeout
    /// It said leave (graceful shutdown).
    case left
    /// Readiness was set to false / back to true or cleared.
    case notReady, ready
    /// Removed from / added to the member list (a removed member leaves the set at once).
    case removed
}

/// A published change of the alive set. `alive` always contains the whole new set.
public struct AliveSetChange: Hashable, Sendable {
    public var alive: Set<String>
    public var added: [String: MemberChangeReason]
    public var removed: [String: MemberChangeReason]
    public var at: MonotonicTime

    public init(alive: Set<String>, added: [String: MemberChangeReason], removed: [String: MemberChangeReason], at: MonotonicTime) {
        self.alive = alive
        self.added = added
        self.removed = removed
        self.at = at
    }
}

/// What the state machine asks its shell to do.
public enum MembershipAction: Hashable, Sendable {
    /// Send the same datagram to each address.
    case send([UInt8], to: [SocketEndpoint])
    /// The alive set changed (only after the first view has settled; the first one carries every member as `.settled`).
    case aliveSetChanged(AliveSetChange)
    /// A member came back with a new incarnation before we ever saw it dead (a fast restart).
    case memberRestarted(String)
}

/// A member's liveness as this node sees it (for status and debugging).
public struct MemberStatus: Hashable, Sendable {
    public var address: SocketEndpoint
    /// Liveness alone, without readiness.
    public var up: Bool
    public var ready: Bool?
    public var incarnation: UInt64?
    public var lastDirect: MonotonicTime?
    public var lastIndirect: MonotonicTime?
    /// Longest gap between two direct heartbeats while the member was up: the margin left before `timeout` shows
    /// how close this link came to a false suspicion.
    public var longestDirectGap: Duration
}

/// The failure detector's core: a synchronous value fed with datagrams, caller commands and the time, returning actions.
///
/// Rules (see docs/membership.md for why):
/// - Every `heartbeatInterval` one heartbeat (new sequence number) goes to every member but us.
/// - A member is alive while some evidence of life is younger than `timeout`: its own heartbeat (direct), or a peer's report
///   that it heard it directly, backdated by the reported age plus one `heartbeatInterval` (so a report can never make a
///   silent member look fresher than the peer's last real hearing, even if the report itself was delayed up to an interval).
/// - A dead or new member becomes alive after `riseCount` pieces of evidence, each within `timeout` of the previous one.
/// - Leave: dead at once; that incarnation's later heartbeats and peers' reports about it are ignored until a newer one speaks.
/// - Readiness false takes a member (or us) out of the alive set at once; true/cleared only lets liveness decide again.
/// - We are alive unless our own readiness is false.
/// - Nothing is published until the view settles: every member up, or one `timeout` since start, so a restarting node does
///   not briefly believe it is alone (and claim every IP).
public struct MembershipStateMachine: Sendable {
    public let config: MembershipConfig
    public let name: String
    public let incarnation: UInt64
    private let keyring: MembershipKeyring
    private let selfID: MemberID

    private struct Member: Sendable {
        var id: MemberID
        var address: SocketEndpoint
        var up = false
        var incarnation: UInt64?
        var lastSequence: UInt64 = 0
        /// Bit i set: sequence `lastSequence - i` was accepted (bit 0 is `lastSequence` itself).
        var sequenceWindow: UInt64 = 0
        var leftIncarnation: UInt64?
        var lastDirect: MonotonicTime?
        var lastIndirect: MonotonicTime?
        var lastAccepted: MonotonicTime?
        var rise = 0
        var longestDirectGap: Duration = .zero
        /// The member's latest missing list: ids it asks peers about.
        var requested: [MemberID] = []
    }

    private var members: [String: Member] = [:]
    private var idToName: [MemberID: String] = [:]
    private var ambiguousIDs: Set<MemberID> = []
    private var readiness: [String: Bool] = [:]
    private var sequence: UInt64 = 0
    private var nextHeartbeat: MonotonicTime
    private let startedAt: MonotonicTime
    public private(set) var settled = false
    private var published: Set<String> = []
    private var reasons: [String: MemberChangeReason] = [:]
    private var suppressExpiryUntil: MonotonicTime
    private var rotation = 0
    /// Lower bound of the earliest `freshest + timeout` among up members: exact after a full evaluation; receiving only
    /// makes members fresher, so between full evaluations it may be early (an extra wake-up), never late.
    private var earliestExpiry: MonotonicTime?
    /// Heartbeat destinations in name order, rebuilt when the list changes.
    private var destinations: [SocketEndpoint] = []

    /// - Parameters:
    ///   - incarnation: must grow across restarts of this node (the shell uses the wall clock in nanoseconds at start).
    ///   - now: the start time; the first heartbeat is due at once.
    public init(config: MembershipConfig, name: String, incarnation: UInt64, keyring: MembershipKeyring,
                now: MonotonicTime) throws(MembershipConfig.ConfigError) {
        try config.validate()
        guard !name.utf8.isEmpty, name.utf8.count <= MembershipCodec.maxNameLength else {
            throw .invalid(field: "name", reason: "must be 1 to \(MembershipCodec.maxNameLength) bytes of UTF-8")
        }
        self.config = config
        self.name = name
        self.incarnation = incarnation
        self.keyring = keyring
        self.selfID = MemberID(name: name)
        self.nextHeartbeat = now
        self.startedAt = now
        self.suppressExpiryUntil = now
    }

    // MARK: - Views

    /// The current alive set (our name included unless we are not ready). Meaningful once `settled`.
    public var aliveSet: Set<String> { computeAlive() }

    public var memberNames: Set<String> { Set(members.keys) }

    public func status(of member: String) -> MemberStatus? {
        guard let m = members[member] else { return nil }
        return MemberStatus(address: m.address, up: m.up, ready: readiness[member], incarnation: m.incarnation,
                            lastDirect: m.lastDirect, lastIndirect: m.lastIndirect, longestDirectGap: m.longestDirectGap)
    }

    /// When `tick` must be called next at the latest (sooner is harmless). O(1): the shell asks on every wake-up.
    public var nextDeadline: MonotonicTime {
        var d = nextHeartbeat
        if !settled { d = min(d, startedAt + config.timeout) }
        if let e = earliestExpiry { d = min(d, max(e, suppressExpiryUntil)) }
        return d
    }

    // MARK: - Commands

    /// Replaces the member list (names → UDP endpoints). Our own name, if present, is ignored.
    public mutating func setMembers(_ list: [String: SocketEndpoint], now: MonotonicTime) -> [MembershipAction] {
        for name in members.keys where list[name] == nil {
            members[name] = nil
            reasons[name] = .removed
        }
        for (name, address) in list where name != self.name {
            if members[name] != nil {
                members[name]?.address = address
            } else {
                members[name] = Member(id: MemberID(name: name), address: address)
            }
        }
        rebuildIDs()
        destinations = members.keys.sorted().compactMap { members[$0]?.address }
        return evaluate(now: now, forcePublish: true)
    }

    /// Kubernetes readiness of a member (or of us): false takes it out of the alive set at once; nil forgets the signal.
    public mutating func setReady(_ member: String, _ ready: Bool?, now: MonotonicTime) -> [MembershipAction] {
        readiness[member] = ready
        reasons[member] = ready == false ? .notReady : .ready
        return evaluate(now: now, forcePublish: true)
    }

    /// Leave datagrams for a graceful stop (`leaveRepeats` of them, each with a fresh sequence number).
    public mutating func leave() -> [MembershipAction] {
        guard !destinations.isEmpty else { return [] }
        var actions: [MembershipAction] = []
        for _ in 0 ..< config.leaveRepeats {
            sequence += 1
            let message = MembershipMessage(kind: .leave, sender: name, incarnation: incarnation, sequence: sequence)
            if let bytes = try? MembershipCodec.encode(message, keyring: keyring) {
                actions.append(.send(bytes, to: destinations))
            }
        }
        return actions
    }

    // MARK: - Input

    /// One received datagram. `.failure` carries the drop reason to count.
    public mutating func receive(_ datagram: some Collection<UInt8>, now: MonotonicTime) -> Result<[MembershipAction], MembershipDecodeError> {
        let message: MembershipMessage
        do {
            message = try MembershipCodec.decode(datagram, keyring: keyring)
        } catch {
            return .failure(error)
        }
        return receive(message, now: now)
    }

    /// One authenticated message (exposed for tests of the rules apart from the codec).
    public mutating func receive(_ message: MembershipMessage, now: MonotonicTime) -> Result<[MembershipAction], MembershipDecodeError> {
        guard message.sender != name else { return .failure(MembershipDecodeError(.fromSelf, message.sender)) }
        guard var m = members[message.sender] else { return .failure(MembershipDecodeError(.unknownSender, message.sender)) }
        var actions: [MembershipAction] = []
        var touched = [message.sender]
        var leftNow = false
        // Replay protection: incarnations only grow; within one, each sequence number is accepted once, in any order
        // within a window of the last 64 (as IPsec's anti-replay window, RFC 4303 §3.4.3): UDP may reorder, and so may
        // the sender's two threads (node and standby) when both send a round at nearly the same moment.
        var sameIncarnation = false
        if let known = m.incarnation {
            if message.incarnation < known {
                return .failure(MembershipDecodeError(.staleIncarnation, "\(message.sender): \(message.incarnation) < \(known)"))
            }
            if message.incarnation == known {
                sameIncarnation = true
                if message.sequence <= m.lastSequence {
                    let back = m.lastSequence - message.sequence
                    if back >= 64 || m.sequenceWindow & (1 << back) != 0 {
                        return .failure(MembershipDecodeError(.replayedSequence,
                                                              "\(message.sender): \(message.sequence) already seen or older than the window (latest \(m.lastSequence))"))
                    }
                }
            }
            if message.incarnation > known, m.up, message.kind == .heartbeat {
                actions.append(.memberRestarted(message.sender))
            }
        }
        if message.kind == .heartbeat, let left = m.leftIncarnation, message.incarnation <= left {
            return .failure(MembershipDecodeError(.afterLeave, "\(message.sender) incarnation \(message.incarnation) left"))
        }
        if !sameIncarnation {
            m.lastSequence = message.sequence
            m.sequenceWindow = 1
        } else if message.sequence > m.lastSequence {
            let shift = message.sequence - m.lastSequence
            m.sequenceWindow = (shift >= 64 ? 0 : m.sequenceWindow << shift) | 1
            m.lastSequence = message.sequence
        } else {
            m.sequenceWindow |= 1 << (m.lastSequence - message.sequence)
        }
        m.incarnation = message.incarnation
        m.lastAccepted = now
        switch message.kind {
        case .leave:
            m.leftIncarnation = message.incarnation
            m.lastDirect = nil
            m.lastIndirect = nil
            m.rise = 0
            m.requested = []
            if m.up {
                m.up = false
                reasons[message.sender] = .left
                leftNow = true
            }
            members[message.sender] = m
        case .heartbeat:
            m.leftIncarnation = nil
            if m.up, let last = m.lastDirect { m.longestDirectGap = max(m.longestDirectGap, now - last) }
            m.lastDirect = now
            m.requested = message.missing
            if !m.up { m.rise += 1 }
            members[message.sender] = m
            if config.indirectEvidence {
                for e in message.evidence {
                    if let target = applyEvidence(e, now: now) { touched.append(target) }
                }
            }
        }
        // Only the members this message speaks about can change: O(message), not O(cluster), per datagram.
        actions += evaluate(now: now, only: touched, forcePublish: leftNow)
        return .success(actions)
    }

    /// Advances time: sends the heartbeat when due, expires silent members, settles the first view.
    public mutating func tick(now: MonotonicTime) -> [MembershipAction] {
        // Our own lateness means our view is stale, not that peers died: give their heartbeats a chance first.
        // The shell wakes by `nextHeartbeat` at the latest, so being later than that by an interval is a stall.
        if now - nextHeartbeat > config.heartbeatInterval {
            suppressExpiryUntil = max(suppressExpiryUntil, now + config.stallGrace)
        }
        var actions: [MembershipAction] = []
        if now >= nextHeartbeat {
            if let hb = heartbeat(now: now) { actions.append(hb) }
            let next = nextHeartbeat + config.heartbeatInterval
            nextHeartbeat = next > now ? next : now + config.heartbeatInterval
            forgetSilent(now: now)
        }
        actions += evaluate(now: now)
        return actions
    }

    // MARK: - Internals

    private func freshest(_ m: Member) -> MonotonicTime? {
        guard config.indirectEvidence, let indirect = m.lastIndirect else { return m.lastDirect }
        guard let direct = m.lastDirect else { return indirect }
        return max(direct, indirect)
    }

    /// Records a peer's report; returns the member it concerns if it was used.
    private mutating func applyEvidence(_ e: Evidence, now: MonotonicTime) -> String? {
        guard e.member != selfID, !ambiguousIDs.contains(e.member), let target = idToName[e.member],
              var m = members[target], m.leftIncarnation == nil else { return nil }
        let heardAt = now - .milliseconds(Int64(e.ageMilliseconds)) - config.heartbeatInterval
        guard now < heardAt + config.timeout else { return nil }
        if m.lastIndirect.map({ heardAt > $0 }) ?? true { m.lastIndirect = heardAt }
        if !m.up { m.rise += 1 }
        members[target] = m
        return target
    }

    private func isReady(_ member: String) -> Bool { readiness[member] != false }

    private func computeAlive() -> Set<String> {
        var alive: Set<String> = []
        if isReady(name) { alive.insert(name) }
        for (n, m) in members where m.up && isReady(n) { alive.insert(n) }
        return alive
    }

    /// Applies expiries and rises at `now` (to `only` those members, or all), settles, and publishes the alive set if it
    /// changed. A full pass also recomputes `earliestExpiry`.
    private mutating func evaluate(now: MonotonicTime, only: [String]? = nil, forcePublish: Bool = false) -> [MembershipAction] {
        let expiryAllowed = now >= suppressExpiryUntil
        var changed = forcePublish
        var earliest: MonotonicTime?
        for n in only ?? Array(members.keys) {
            guard var m = members[n] else { continue }
            defer {
                if m.up, let last = freshest(m) {
                    let e = last + config.timeout
                    earliest = min(earliest ?? e, e)
                }
            }
            let last = freshest(m)
            let fresh = last.map { now < $0 + config.timeout } ?? false
            if m.up {
                if !fresh, expiryAllowed {
                    m.up = false
                    m.rise = 0
                    m.requested = []
                    reasons[n] = .timeout
                    members[n] = m
                    changed = true
                }
            } else if !fresh {
                if m.rise != 0 { m.rise = 0; members[n] = m }
            } else if m.rise >= config.riseCount {
                m.up = true
                m.rise = 0
                reasons[n] = .heard
                members[n] = m
                changed = true
            }
        }
        if only == nil {
            earliestExpiry = earliest
        } else if let e = earliest {
            earliestExpiry = min(earliestExpiry ?? e, e)
        }
        if !settled {
            guard only == nil || changed else { return [] }
            // Early only when there is someone to hear: an empty list at start usually means "not known yet".
            if now >= startedAt + config.timeout || (!members.isEmpty && members.values.allSatisfy(\.up)) {
                settled = true
                let alive = computeAlive()
                published = alive
                reasons = [:]
                return [.aliveSetChanged(AliveSetChange(alive: alive, added: Dictionary(uniqueKeysWithValues: alive.map { ($0, .settled) }),
                                                        removed: [:], at: now))]
            }
            return []
        }
        guard changed else {
            reasons = [:]
            return []
        }
        let alive = computeAlive()
        defer { reasons = [:] }
        guard alive != published else { return [] }
        var added: [String: MemberChangeReason] = [:]
        var removed: [String: MemberChangeReason] = [:]
        for n in alive.subtracting(published) { added[n] = reasons[n] ?? .heard }
        for n in published.subtracting(alive) { removed[n] = reasons[n] ?? .timeout }
        published = alive
        return [.aliveSetChanged(AliveSetChange(alive: alive, added: added, removed: removed, at: now))]
    }

    private mutating func heartbeat(now: MonotonicTime) -> MembershipAction? {
        guard !members.isEmpty else { return nil }
        sequence += 1
        // Members we have not heard directly lately: peers who do hear them answer with evidence.
        var missing: [MemberID] = []
        var requested: Set<MemberID> = []
        for m in members.values {
            if m.leftIncarnation == nil, m.lastDirect.map({ now - $0 >= config.missingAfter }) ?? true {
                missing.append(m.id)
            }
            if m.up { requested.formUnion(m.requested) }
        }
        var evidence: [Evidence] = []
        if config.indirectEvidence {
            for id in requested.sorted(by: { $0.rawValue < $1.rawValue }) {
                guard !ambiguousIDs.contains(id), let n = idToName[id], let m = members[n],
                      m.leftIncarnation == nil, let direct = m.lastDirect, now < direct + config.timeout else { continue }
                let ageNs = (now - direct).nanoseconds
                let ageMs = min(Int64(UInt16.max), (ageNs + 999_999) / 1_000_000)
                evidence.append(Evidence(member: id, ageMilliseconds: UInt16(ageMs)))
            }
        } else {
            missing = []
        }
        // Lists longer than one datagram allows rotate, so every entry gets its turn.
        rotation &+= 1
        missing.sort { $0.rawValue < $1.rawValue }
        missing = Self.window(missing, rotation: rotation)
        evidence = Self.window(evidence, rotation: rotation)
        let message = MembershipMessage(kind: .heartbeat, sender: name, incarnation: incarnation, sequence: sequence,
                                        missing: missing, evidence: evidence)
        guard let bytes = try? MembershipCodec.encode(message, keyring: keyring) else { return nil }
        return .send(bytes, to: destinations)
    }

    private static func window<T>(_ list: [T], rotation: Int) -> [T] {
        let cap = MembershipCodec.maxListEntries
        guard list.count > cap else { return list }
        let start = (rotation * cap) % list.count
        return (0 ..< cap).map { list[(start + $0) % list.count] }
    }

    private mutating func forgetSilent(now: MonotonicTime) {
        for (n, m) in members where !m.up && m.incarnation != nil {
            if m.lastAccepted.map({ now - $0 >= config.forgetAfter }) ?? true {
                members[n]?.incarnation = nil
                members[n]?.leftIncarnation = nil
                members[n]?.lastSequence = 0
                members[n]?.sequenceWindow = 0
            }
        }
    }

    private mutating func rebuildIDs() {
        idToName = [:]
        ambiguousIDs = []
        for (n, m) in members {
            if idToName[m.id] != nil || m.id == selfID { ambiguousIDs.insert(m.id) }
            idToName[m.id] = n
        }
    }
}
