/// A reading of a monotonic clock, in nanoseconds (the state machine never reads a clock itself).
public struct MonotonicTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static func < (a: Self, b: Self) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (a: Self, d: Duration) -> Self { Self(nanoseconds: a.nanoseconds + d.nanoseconds) }
    public static func - (a: Self, d: Duration) -> Self { Self(nanoseconds: a.nanoseconds - d.nanoseconds) }
    public static func - (a: Self, b: Self) -> Duration { .nanoseconds(a.nanoseconds - b.nanoseconds) }

    public var description: String { "\(Double(nanoseconds) / 1e6) ms" }
}

extension Duration {
    /// Whole nanoseconds (truncated); durations here are milliseconds to seconds.
    var nanoseconds: Int64 {
        let c = components
        return c.seconds * 1_000_000_000 + c.attoseconds / 1_000_000_000
    }
}

/// Timing and behaviour of the failure detector. The defaults are argued in docs/membership.md.
public struct MembershipConfig: Sendable, Equatable {
    /// How often a heartbeat goes to every member (100 datagrams/s to each peer).
    public var heartbeatInterval: Duration = .milliseconds(10)
    /// A member with no evidence of life for this long is dead. Detection after a crash takes between
    /// `timeout − heartbeatInterval` and `timeout` (120–130 ms), inside the 150 ms budget; a silence shorter than
    /// `timeout` is tolerated, so a peer whose CPU is taken away for up to 120 ms (measured here: hypervisor steal of
    /// 100–112 ms even for SCHED_FIFO threads) is not suspected. docs/membership.md has the numbers.
    public var timeout: Duration = .milliseconds(130)
    /// Pieces of evidence (heartbeats or peer reports), each within `timeout` of the previous, before a dead or new member counts
    /// as alive: one stray packet does not flip ownership back and forth.
    public var riseCount: Int = 2
    /// Use peers' reports ("I heard X n ms ago") to keep a member alive when its direct heartbeats do not reach us.
    public var indirectEvidence: Bool = true
    /// A member not heard directly for this long goes into our heartbeat's missing list (peers answer with evidence).
    /// 2.5 intervals: two lost heartbeats ask (one late one, common under load, does not), and answers still arrive
    /// with most of the timeout left.
    public var missingAfter: Duration = .milliseconds(25)
    /// After our own thread was late by more than `heartbeatInterval` (a stall: CPU starvation, VM pause), no member is
    /// declared dead before `stallGrace` has passed, so peers' heartbeats sent meanwhile can arrive.
    public var stallGrace: Duration = .milliseconds(20)
    /// A member silent for this long forgets its incarnation, so a restarted node whose clock went backwards can rejoin.
    public var forgetAfter: Duration = .seconds(30)
    /// Leave messages sent on graceful stop (each with its own sequence number; UDP may lose one).
    public var leaveRepeats: Int = 2
    /// Run a standby thread beside the node's thread, the two pinned to different CPUs (when the process may use two):
    /// the standby does the work of any deadline the first has missed by `standbySlack`. A hypervisor takes a vCPU away
    /// for ~100 ms at a time (measured here, one vCPU at a time, never both at once); without a standby that silences
    /// our heartbeats and delays our detection and takeover by as much. Off: one unpinned thread.
    public var standbyThread: Bool = true
    /// How late the node's thread may be at a deadline before the standby does the work: above the normal wake-up
    /// latency of a real-time thread, far below the timeout.
    public var standbySlack: Duration = .milliseconds(3)
    /// Drop, before computing any MAC, datagrams that do not come from a member's configured address and port (members
    /// send from the socket they bind, so genuine ones always do). Turn it off only when members bind a wildcard
    /// address, whose source address the kernel chooses per packet.
    public var checkSource: Bool = true
    /// Datagrams a second, per member address, that reach the MAC check (burst: one second's worth); the rest are dropped
    /// unverified. It bounds the CPU a forger spoofing a member's address can make us spend. 0: no limit. Default 2,000:
    /// twenty times the heartbeat rate, room for a stalled thread's backlog. See `MembershipSourceGate`.
    public var sourceRatePerSecond: Int = 2_000

    public init() {}

    /// Custom timing; `missingAfter` and `stallGrace` follow as 2.5 and 2 intervals, like the defaults.
    public init(heartbeatInterval: Duration, timeout: Duration) {
        self.heartbeatInterval = heartbeatInterval
        self.timeout = timeout
        self.missingAfter = heartbeatInterval * 5 / 2
        self.stallGrace = heartbeatInterval * 2
    }

    public enum ConfigError: Error, Equatable, CustomStringConvertible {
        case invalid(field: String, reason: String)

        public var description: String {
            switch self {
            case .invalid(let field, let reason): return "membership config \(field): \(reason)"
            }
        }
    }

    public func validate() throws(ConfigError) {
        guard heartbeatInterval >= .milliseconds(1) else {
            throw .invalid(field: "heartbeatInterval", reason: "must be at least 1 ms")
        }
        guard timeout >= heartbeatInterval * 2 else {
            throw .invalid(field: "timeout", reason: "must be at least twice heartbeatInterval, or every lost heartbeat is a death")
        }
        guard timeout <= .seconds(60) else { throw .invalid(field: "timeout", reason: "must be at most 60 s (ages travel as 16-bit ms)") }
        guard riseCount >= 1 else { throw .invalid(field: "riseCount", reason: "must be at least 1") }
        guard missingAfter > .zero, missingAfter < timeout else {
            throw .invalid(field: "missingAfter", reason: "must be between 0 and timeout")
        }
        guard stallGrace >= .zero else { throw .invalid(field: "stallGrace", reason: "must not be negative") }
        guard forgetAfter >= timeout else { throw .invalid(field: "forgetAfter", reason: "must be at least timeout") }
        guard leaveRepeats >= 0 else { throw .invalid(field: "leaveRepeats", reason: "must not be negative") }
        guard sourceRatePerSecond >= 0 else { throw .invalid(field: "sourceRatePerSecond", reason: "must not be negative") }
        if sourceRatePerSecond > 0, Duration.seconds(1) / heartbeatInterval * 2 > Double(sourceRatePerSecond) {
            throw .invalid(field: "sourceRatePerSecond", reason: "must be at least twice the heartbeat rate (or 0: no limit)")
        }
        guard standbySlack > .zero, standbySlack < timeout else {
            throw .invalid(field: "standbySlack", reason: "must be between 0 and timeout")
        }
    }
}
