import Testing
import NetAddress
@testable import Membership

/// One machine "a" fed with hand-made messages from "b" (and "c"), ticked at every deadline like the shell does.
struct Harness {
    var a: MembershipStateMachine
    var now = MonotonicTime(nanoseconds: 0)
    var changes: [AliveSetChange] = []
    var sent: [[UInt8]] = []
    var seq: [String: UInt64] = [:]

    init(config: MembershipConfig = testConfig, members: [String] = ["a", "b", "c"]) throws {
        a = try MembershipStateMachine(config: config, name: "a", incarnation: 1, keyring: keyring(), now: now)
        var list: [String: SocketEndpoint] = [:]
        for (i, n) in members.enumerated() { list[n] = address(i) }
        record(a.setMembers(list, now: now))
    }

    mutating func record(_ actions: [MembershipAction]) {
        changes += actions.changes
        sent += actions.datagrams
    }

    /// Ticks at every deadline up to and including `t`.
    mutating func advance(to t: MonotonicTime) {
        while a.nextDeadline <= t {
            now = max(now, a.nextDeadline)
            record(a.tick(now: now))
        }
        now = max(now, t)
        record(a.tick(now: now))
    }

    @discardableResult
    mutating func deliver(_ message: MembershipMessage, at t: MonotonicTime) -> DropReason? {
        advance(to: t)
        let bytes = (try? MembershipCodec.encode(message, keyring: keyring())) ?? []
        switch a.receive(bytes, now: now) {
        case .success(let actions):
            record(actions)
            return nil
        case .failure(let e):
            return e.reason
        }
    }

    @discardableResult
    mutating func heartbeat(from sender: String, incarnation: UInt64 = 1, at t: MonotonicTime,
                            missing: [MemberID] = [], evidence: [Evidence] = []) -> DropReason? {
        let s = (seq[sender] ?? 0) + 1
        seq[sender] = s
        return deliver(MembershipMessage(kind: .heartbeat, sender: sender, incarnation: incarnation, sequence: s,
                                         missing: missing, evidence: evidence), at: t)
    }

    func lastRemoval(of member: String) -> (MonotonicTime, MemberChangeReason)? {
        changes.last { $0.removed[member] != nil }.map { ($0.at, $0.removed[member]!) }
    }

    func lastAddition(of member: String) -> (MonotonicTime, MemberChangeReason)? {
        changes.last { $0.added[member] != nil }.map { ($0.at, $0.added[member]!) }
    }
}

@Suite("Membership state machine")
struct MembershipStateMachineTests {
    @Test func settlesAfterTimeoutWithOnlyWhatItHeard() throws {
        var h = try Harness()
        h.heartbeat(from: "b", at: ms(1))
        h.heartbeat(from: "b", at: ms(21))
        h.advance(to: ms(99.999))
        #expect(h.changes.isEmpty, "nothing is published before the view settles")
        h.advance(to: ms(100))
        #expect(h.changes.count == 1)
        #expect(h.changes.first?.alive == ["a", "b"])
        #expect(h.changes.first?.added["b"] == .settled)
        #expect(h.a.settled)
    }

    @Test func settlesEarlyWhenEveryoneIsHeard() throws {
        var h = try Harness()
        for t in [1.0, 21] {
            h.heartbeat(from: "b", at: ms(t))
            h.heartbeat(from: "c", at: ms(t + 1))
        }
        #expect(h.changes.map(\.alive) == [["a", "b", "c"]])
        #expect(h.changes.first?.at == ms(22))
    }

    @Test func defaultsKeepTheirPromises() throws {
        let d = MembershipConfig()
        try d.validate()
        // Worst-case detection (timeout) stays well inside the 150 ms failover budget …
        #expect(d.timeout <= .milliseconds(135))
        // … while a peer may be silent for timeout − interval (a stolen vCPU, a lost burst) without suspicion.
        #expect(d.timeout - d.heartbeatInterval >= .milliseconds(120))
        #expect(d.missingAfter < d.timeout - d.heartbeatInterval * 2, "peers' answers must be able to arrive in time")
    }

    @Test func anEmptyListDoesNotSettleEarly() throws {
        var h = try Harness(members: [])
        h.advance(to: ms(50))
        #expect(!h.a.settled)
        h.record(h.a.setMembers(["a": address(0), "b": address(1)], now: ms(50)))
        h.heartbeat(from: "b", at: ms(60))
        h.heartbeat(from: "b", at: ms(80))
        #expect(h.changes.map(\.alive) == [["a", "b"]])
        #expect(h.changes.first?.at == ms(80))
    }

    @Test func sendsOneHeartbeatPerIntervalToEveryOtherMember() throws {
        var h = try Harness()
        h.advance(to: ms(1000))
        // t = 0, 20, ..., 1000.
        #expect(h.sent.count == 51)
        let decoded = h.sent.compactMap { try? MembershipCodec.decode($0, keyring: keyring()) }
        #expect(decoded.map(\.sequence) == Array(1 ... 51))
        #expect(decoded.allSatisfy { $0.kind == .heartbeat && $0.sender == "a" && $0.incarnation == 1 })
        // Nobody heard: both peers are in the missing list.
        #expect(Set(decoded.last?.missing ?? []) == [MemberID(name: "b"), MemberID(name: "c")])
    }

    @Test func deathIsDeclaredExactlyAtTheTimeout() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        #expect(h.a.aliveSet == ["a", "b"])
        h.advance(to: ms(120) - .nanoseconds(1))
        #expect(h.a.aliveSet.contains("b"))
        h.advance(to: ms(120))
        #expect(!h.a.aliveSet.contains("b"))
        let removal = h.lastRemoval(of: "b")
        #expect(removal?.0 == ms(120))
        #expect(removal?.1 == .timeout)
        // The shell is told to wake exactly then.
    }

    @Test func deadlineTellsTheShellWhenToWake() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(15))
        h.advance(to: ms(100))
        // Heartbeats are due on the 20 ms grid; b expires at 115.
        #expect(h.a.nextDeadline == ms(115))
    }

    @Test func heartbeatsDelayedByLessThanTimeoutMinusIntervalNeverCauseSuspicion() throws {
        var h = try Harness(members: ["a", "b"])
        var rng = SplitMix(seed: 7)
        // b sends every 20 ms; each heartbeat is delayed 0 ..< 80 ms (timeout − interval), so some arrive out of order:
        // within the 64-sequence window those are accepted too, once each.
        var deliveries: [(MonotonicTime, UInt64)] = []
        for k in 0 ..< 1500 {
            let delay = Double(rng.next() % 79_999) / 1000
            deliveries.append((ms(Double(k) * 20 + delay), UInt64(k + 1)))
        }
        deliveries.sort { $0.0 < $1.0 }
        var reordered = 0
        var highest: UInt64 = 0
        for (t, s) in deliveries {
            if s < highest { reordered += 1 }
            highest = max(highest, s)
            let r = h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 1, sequence: s), at: t)
            #expect(r == nil, "sequence \(s) refused: \(String(describing: r))")
        }
        #expect(h.changes.allSatisfy { $0.removed["b"] == nil }, "b was suspected")
        #expect(h.a.aliveSet.contains("b"))
        #expect(reordered > 0, "the delays should have reordered some heartbeats")
    }

    @Test func worstCaseDelayBoundary() throws {
        // Prompt heartbeat at 20, the next (sent at 40) delayed by just under / exactly timeout − interval.
        for (delay, survives) in [(79.999, true), (80.0, false)] {
            var h = try Harness(members: ["a", "b"])
            h.heartbeat(from: "b", at: ms(0))
            h.heartbeat(from: "b", at: ms(20))
            h.heartbeat(from: "b", at: ms(40 + delay))
            #expect(h.changes.allSatisfy { $0.removed["b"] == nil } == survives, "delay \(delay)")
        }
    }

    @Test func fourLostHeartbeatsAreToleratedFiveAreNot() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        // 40, 60, 80, 100 lost; 120 arrives a hair early.
        h.heartbeat(from: "b", at: ms(119.9))
        #expect(h.lastRemoval(of: "b") == nil)
        // 140..220 lost (five): dead at 219.9.
        h.advance(to: ms(240))
        #expect(h.lastRemoval(of: "b")?.0 == ms(219.9))
    }

    @Test func riseNeedsTwoPiecesOfEvidenceWithinTimeout() throws {
        var h = try Harness(members: ["a", "b"])
        h.advance(to: ms(100))
        h.heartbeat(from: "b", at: ms(200))
        #expect(!h.a.aliveSet.contains("b"), "one packet is not enough")
        h.heartbeat(from: "b", at: ms(400))
        #expect(!h.a.aliveSet.contains("b"), "the first piece expired")
        h.heartbeat(from: "b", at: ms(420))
        #expect(h.a.aliveSet.contains("b"))
        #expect(h.lastAddition(of: "b")?.0 == ms(420))
        #expect(h.lastAddition(of: "b")?.1 == .heard)
    }

    @Test func replaysAndOldIncarnationsAreRejected() throws {
        var h = try Harness(members: ["a", "b"])
        let first = try MembershipCodec.encode(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 10), keyring: keyring())
        h.advance(to: ms(1))
        #expect((try? h.a.receive(first, now: ms(1)).get()) != nil)
        #expect(h.a.receive(first, now: ms(2)).failureReason == .replayedSequence)
        // An older sequence not seen yet (reordered) is accepted once, inside the 64-wide window; not twice; and not
        // from before the window.
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 9), at: ms(3)) == nil)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 9), at: ms(3)) == .replayedSequence)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 80), at: ms(3)) == nil)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 17), at: ms(3)) == nil)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 17), at: ms(3)) == .replayedSequence)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 16), at: ms(3)) == .replayedSequence)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 80), at: ms(3)) == .replayedSequence)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 4, sequence: 100), at: ms(4)) == .staleIncarnation)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 81), at: ms(5)) == nil)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 6, sequence: 1), at: ms(6)) == nil)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 5, sequence: 12), at: ms(7)) == .staleIncarnation)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "zed", incarnation: 1, sequence: 1), at: ms(8)) == .unknownSender)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "a", incarnation: 1, sequence: 1), at: ms(9)) == .fromSelf)
        let wrongKey = try MembershipCodec.encode(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 7, sequence: 1), keyring: keyring(otherKey))
        #expect(h.a.receive(wrongKey, now: ms(10)).failureReason == .badMAC)
        #expect(h.a.status(of: "b")?.incarnation == 6, "nothing unauthenticated changed the state")
    }

    @Test func gracefulLeaveRemovesAtOnceAndNewIncarnationRejoins() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        h.advance(to: ms(50))
        #expect(h.deliver(MembershipMessage(kind: .leave, sender: "b", incarnation: 1, sequence: 3), at: ms(50)) == nil)
        #expect(h.lastRemoval(of: "b").map { $0.0 } == ms(50))
        #expect(h.lastRemoval(of: "b")?.1 == .left)
        // Late heartbeats of the incarnation that left (seq above the leave's) are ignored.
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 1, sequence: 4), at: ms(55)) == .afterLeave)
        #expect(h.deliver(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 1, sequence: 5), at: ms(56)) == .afterLeave)
        #expect(!h.a.aliveSet.contains("b"))
        // A new incarnation (restart) rejoins after riseCount heartbeats.
        h.heartbeat(from: "b", incarnation: 2, at: ms(300))
        h.heartbeat(from: "b", incarnation: 2, at: ms(320))
        #expect(h.a.aliveSet.contains("b"))
        #expect(h.lastAddition(of: "b")?.0 == ms(320))
    }

    @Test func fastRestartKeepsMemberAliveAndIsReported() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        h.advance(to: ms(30))
        let bytes = try MembershipCodec.encode(MembershipMessage(kind: .heartbeat, sender: "b", incarnation: 2, sequence: 1), keyring: keyring())
        let actions = try h.a.receive(bytes, now: ms(40)).get()
        #expect(actions.contains(.memberRestarted("b")))
        #expect(h.a.aliveSet.contains("b"))
    }

    @Test func restartAfterDeathRejoins() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        h.advance(to: ms(500))
        #expect(h.lastRemoval(of: "b")?.0 == ms(120))
        h.heartbeat(from: "b", incarnation: 9, at: ms(600))
        h.heartbeat(from: "b", incarnation: 9, at: ms(620))
        #expect(h.a.aliveSet.contains("b"))
    }

    @Test func silentMembersForgetTheirIncarnationSoABackwardsClockCanRejoin() throws {
        var config = testConfig
        config.forgetAfter = .seconds(1)
        var h = try Harness(config: config, members: ["a", "b"])
        h.heartbeat(from: "b", incarnation: 1000, at: ms(0))
        h.heartbeat(from: "b", incarnation: 1000, at: ms(20))
        h.advance(to: ms(500))
        #expect(h.heartbeat(from: "b", incarnation: 10, at: ms(510)) == .staleIncarnation)
        h.advance(to: ms(1600))
        #expect(h.heartbeat(from: "b", incarnation: 10, at: ms(1600)) == nil)
        #expect(h.heartbeat(from: "b", incarnation: 10, at: ms(1620)) == nil)
        #expect(h.a.aliveSet.contains("b"))
    }

    @Test func readinessFalseRemovesAtOnceAndTrueRestoresLiveness() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        h.advance(to: ms(30))
        h.record(h.a.setReady("b", false, now: ms(30)))
        #expect(h.lastRemoval(of: "b")?.0 == ms(30))
        #expect(h.lastRemoval(of: "b")?.1 == .notReady)
        h.heartbeat(from: "b", at: ms(40))
        h.heartbeat(from: "b", at: ms(60))
        #expect(!h.a.aliveSet.contains("b"), "heartbeats do not override Kubernetes saying not ready")
        h.record(h.a.setReady("b", true, now: ms(70)))
        #expect(h.a.aliveSet.contains("b"))
        #expect(h.lastAddition(of: "b")?.1 == .ready)
        // Ready but silent is still dead.
        h.advance(to: ms(200))
        #expect(!h.a.aliveSet.contains("b"))
        h.record(h.a.setReady("b", nil, now: ms(200)))
        #expect(!h.a.aliveSet.contains("b"))
        // Our own readiness.
        h.record(h.a.setReady("a", false, now: ms(210)))
        #expect(h.a.aliveSet.isEmpty)
        #expect(h.lastRemoval(of: "a")?.1 == .notReady)
    }

    @Test func memberListEdits() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        #expect(h.heartbeat(from: "c", at: ms(25)) == .unknownSender)
        h.record(h.a.setMembers(["a": address(0), "b": address(1), "c": address(2)], now: ms(30)))
        #expect(h.a.aliveSet == ["a", "b"], "a new member starts dead")
        h.heartbeat(from: "c", at: ms(35))
        h.heartbeat(from: "c", at: ms(55))
        #expect(h.a.aliveSet == ["a", "b", "c"])
        h.record(h.a.setMembers(["a": address(0), "c": address(2)], now: ms(60)))
        #expect(h.a.aliveSet == ["a", "c"])
        #expect(h.lastRemoval(of: "b")?.1 == .removed)
        #expect(h.lastRemoval(of: "b")?.0 == ms(60))
        // Address change keeps liveness and redirects heartbeats.
        let moved = try SocketEndpoint(host: "::1", port: 9)
        h.record(h.a.setMembers(["a": address(0), "c": moved], now: ms(61)))
        #expect(h.a.aliveSet == ["a", "c"])
        h.advance(to: ms(61))
        h.sent = []
        h.advance(to: ms(80))
        #expect(h.a.status(of: "c")?.address == moved)
        #expect(h.sent.count == 1)
        // A removed member's packets are dropped.
        #expect(h.heartbeat(from: "b", at: ms(90)) == .unknownSender)
    }

    @Test func ownStallDoesNotCondemnPeers() throws {
        var h = try Harness(members: ["a", "b"])
        h.heartbeat(from: "b", at: ms(0))
        h.heartbeat(from: "b", at: ms(20))
        h.advance(to: ms(40))
        // The whole machine pauses 300 ms: a does not tick, b does not send. a wakes first.
        h.now = ms(340)
        h.record(h.a.tick(now: ms(340)))
        #expect(h.a.aliveSet.contains("b"), "a was late itself: it waits stallGrace for b's news")
        h.heartbeat(from: "b", at: ms(345))
        h.advance(to: ms(400))
        #expect(h.lastRemoval(of: "b") == nil)
        // A dead peer is still found after a stall, stallGrace later than the timeout.
        h.now = ms(800)
        h.record(h.a.tick(now: ms(800)))
        #expect(h.a.aliveSet.contains("b"))
        h.advance(to: ms(900))
        #expect(h.lastRemoval(of: "b")?.0 == ms(840))
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Result where Failure == MembershipDecodeError {
    var failureReason: DropReason? {
        if case .failure(let e) = self { return e.reason }
        return nil
    }
}
