import BGP
import Layer2
import Membership
import NetAddress
import RoleKit

/// The Prometheus text exposition (format 0.0.4) of a speaker, built from its state at scrape time.
///
/// MetalLB's names where MetalLB has the figure (`metallb_speaker_announced`, `metallb_layer2_*{ip}`,
/// `metallb_k8s_client_config_loaded_bool`); `metallb_speaker_membership_*` for what only our membership has.
public struct SpeakerMetricsSnapshot: Sendable {
    public var node: String
    public var configured: Bool
    public var announced: [ServiceIP] = []
    public var addressCounters: [IPAddress: Announcer.AddressCounters] = [:]
    public var members: Int = 0
    public var alive: Int?
    public var membership: MembershipCounters?
    public var scheduling: SchedulingOutcome?
    public var placement: ThreadPlacement?
    public var takeovers: UInt64 = 0
    /// Hand-backs to a speaker that came (back): ended by its claim on the wire, and by the deadline.
    public var handBacksClaimed: UInt64 = 0
    public var handBacksTimedOut: UInt64 = 0
    /// Service IPs advertised over BGP from this node, and the sessions.
    public var bgpAnnounced: [ServiceIP] = []
    public var bgpSessions: [BGPSessionSnapshot] = []
    /// The process's memory (nil: not read, as in tests of the text alone).
    public var memory: DaemonMemory.Usage?

    public init(node: String, configured: Bool) {
        self.node = node
        self.configured = configured
    }

    public func exposition() -> String {
        var t = PrometheusText()
        t.family("metallb_k8s_client_config_loaded_bool", .gauge, "1 if the MetalLB configuration was successfully loaded at least once.")
        t.sample("metallb_k8s_client_config_loaded_bool", [], configured ? 1 : 0)

        t.family("metallb_speaker_announced", .gauge, "The service is announced from this node (1), by protocol.")
        for s in announced.sorted() {
            t.sample("metallb_speaker_announced", [("service", s.serviceKey), ("protocol", "layer2"), ("node", node), ("ip", s.ip.description)], 1)
        }
        for s in bgpAnnounced.sorted() {
            t.sample("metallb_speaker_announced", [("service", s.serviceKey), ("protocol", "bgp"), ("node", node), ("ip", s.ip.description)], 1)
        }
        let sessions = bgpSessions.sorted { $0.peerAddress < $1.peerAddress }
        t.family("metallb_bgp_session_up", .gauge, "BGP session state (1: Established), by peer address.")
        for x in sessions { t.sample("metallb_bgp_session_up", [("peer", x.peerAddress.description)], x.state == .established ? 1 : 0) }
        t.family("metallb_bgp_updates_total", .counter, "BGP UPDATE messages sent, by peer address.")
        for x in sessions { t.sample("metallb_bgp_updates_total", [("peer", x.peerAddress.description)], Double(x.updatesSent)) }
        t.family("metallb_bgp_announced_prefixes_total", .gauge, "Prefixes the peer has from us, by peer address.")
        for x in sessions { t.sample("metallb_bgp_announced_prefixes_total", [("peer", x.peerAddress.description)], Double(x.prefixesSent)) }
        t.family("metallb_bgp_pending_prefixes_total", .gauge,
                 "Prefixes the plan gives the session that the peer does not have yet (all of them while the session is down), by peer address.")
        for x in sessions {
            t.sample("metallb_bgp_pending_prefixes_total", [("peer", x.peerAddress.description)], Double(max(0, x.prefixesWanted - x.prefixesSent)))
        }
        t.family("metallb_bfd_session_up", .gauge, "BFD session state (1: Up), by peer address; only sessions with a BFD profile.")
        for x in sessions { if let b = x.bfd { t.sample("metallb_bfd_session_up", [("peer", x.peerAddress.description)], b == .up ? 1 : 0) } }
        t.family("metallb_bfd_session_up_events", .counter, "Times the BFD session came Up, by peer address.")
        for x in sessions where x.bfd != nil { t.sample("metallb_bfd_session_up_events", [("peer", x.peerAddress.description)], Double(x.bfdUpEvents)) }
        t.family("metallb_bfd_session_down_events", .counter, "Times the BFD session went from Up to down, by peer address.")
        for x in sessions where x.bfd != nil { t.sample("metallb_bfd_session_down_events", [("peer", x.peerAddress.description)], Double(x.bfdDownEvents)) }
        let ips = addressCounters.keys.sorted()
        t.family("metallb_layer2_requests_received", .counter, "Number of layer2 requests received for owned IPs.")
        for ip in ips { t.sample("metallb_layer2_requests_received", [("ip", ip.description)], Double(addressCounters[ip]!.requestsReceived)) }
        t.family("metallb_layer2_responses_sent", .counter, "Number of layer2 responses sent for owned IPs.")
        for ip in ips { t.sample("metallb_layer2_responses_sent", [("ip", ip.description)], Double(addressCounters[ip]!.responsesSent)) }
        t.family("metallb_layer2_gratuitous_sent", .counter, "Number of gratuitous ARP / unsolicited NA frames sent for owned IPs.")
        for ip in ips { t.sample("metallb_layer2_gratuitous_sent", [("ip", ip.description)], Double(addressCounters[ip]!.gratuitousSent)) }

        t.family("metallb_speaker_membership_members", .gauge, "Speakers in the member list (this one included).")
        t.sample("metallb_speaker_membership_members", [], Double(members))
        t.family("metallb_speaker_membership_members_alive", .gauge, "Speakers this node considers alive (absent before the membership settled).")
        if let alive { t.sample("metallb_speaker_membership_members_alive", [], Double(alive)) }
        t.family("metallb_speaker_layer2_takeovers_total", .counter, "Service IPs this node took over from a speaker that died or left.")
        t.sample("metallb_speaker_layer2_takeovers_total", [], Double(takeovers))
        t.family("metallb_speaker_layer2_handbacks_total", .counter,
                 "Service IPs given to a speaker that came (back), answered here until it claimed them (claimed) or the hand-over timeout passed (timeout).")
        t.sample("metallb_speaker_layer2_handbacks_total", [("result", "claimed")], Double(handBacksClaimed))
        t.sample("metallb_speaker_layer2_handbacks_total", [("result", "timeout")], Double(handBacksTimedOut))
        if let c = membership {
            t.family("metallb_speaker_membership_removals_total", .counter, "Members that left the alive set, by reason (timeout: suspected dead).")
            for (reason, n) in c.removals.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                t.sample("metallb_speaker_membership_removals_total", [("reason", reason.rawValue)], Double(n))
            }
            t.family("metallb_speaker_membership_packets_received_total", .counter, "Membership datagrams read.")
            t.sample("metallb_speaker_membership_packets_received_total", [], Double(c.packetsReceived))
            t.family("metallb_speaker_membership_packets_sent_total", .counter, "Membership datagrams sent.")
            t.sample("metallb_speaker_membership_packets_sent_total", [], Double(c.packetsSent))
            t.family("metallb_speaker_membership_send_errors_total", .counter, "Membership datagrams that could not be sent.")
            t.sample("metallb_speaker_membership_send_errors_total", [], Double(c.sendErrors))
            t.family("metallb_speaker_membership_dropped_total", .counter, "Membership datagrams dropped, by reason (docs/membership.md).")
            for (reason, n) in c.dropped.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                t.sample("metallb_speaker_membership_dropped_total", [("reason", reason.rawValue)], Double(n))
            }
            t.family("metallb_speaker_membership_standby_takeovers_total", .counter, "Deadlines the standby thread handled because the membership thread was late.")
            t.sample("metallb_speaker_membership_standby_takeovers_total", [], Double(c.standbyTakeovers))
        }
        if let scheduling {
            t.family("metallb_speaker_membership_thread_info", .gauge, "How the membership threads run: the scheduling the kernel granted and their CPUs (\"\" when not pinned).")
            let (policy, priority): (String, String) = switch scheduling {
            case .realtime(let p): ("SCHED_FIFO", "\(p)")
            case .nice(let n): ("SCHED_OTHER", "nice \(n)")
            case .unchanged(let why): ("default", why)
            }
            t.sample("metallb_speaker_membership_thread_info", [
                ("policy", policy), ("priority", priority),
                ("cpu", placement?.primaryCPU.map(String.init) ?? ""), ("standby_cpu", placement?.standbyCPU.map(String.init) ?? ""),
            ], 1)
            t.family("metallb_speaker_membership_realtime_bool", .gauge, "1 if the membership threads run with real-time priority (SCHED_FIFO).")
            if case .realtime = scheduling { t.sample("metallb_speaker_membership_realtime_bool", [], 1) } else {
                t.sample("metallb_speaker_membership_realtime_bool", [], 0)
            }
        }
        if let memory {
            if let rss = memory.resident {
                t.family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes (VmRSS: the heap, code and shared libraries).")
                t.sample("process_resident_memory_bytes", [], Double(rss))
            }
            t.family("metallb_process_heap_bytes", .gauge,
                     "The malloc heap: bytes in use, and bytes freed but still held from the kernel (returned after a burst once reconciles are quiet).")
            t.sample("metallb_process_heap_bytes", [("state", "in_use")], Double(memory.heapInUse))
            t.sample("metallb_process_heap_bytes", [("state", "free")], Double(memory.heapFree))
        }
        return t.text
    }
}

/// A minimal writer of the Prometheus text format.
public struct PrometheusText: Sendable {
    public enum Kind: String, Sendable { case counter, gauge }
    public private(set) var text = ""

    public init() {}

    public mutating func family(_ name: String, _ kind: Kind, _ help: String) {
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) \(kind.rawValue)\n"
    }

    public mutating func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + Self.format(value) + "\n"
    }

    static func format(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    static func escapeLabel(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func escapeHelp(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }
}

extension SpeakerRuntime {
    /// What `/metrics` shows now.
    public func metricsSnapshot() -> SpeakerMetricsSnapshot {
        let (configured, failover) = (isConfigured, failover)
        var m = SpeakerMetricsSnapshot(node: settings.node, configured: configured)
        m.memory = DaemonMemory.usage()
        guard let failover else { return m }
        m.announced = Array(failover.owned)
        m.addressCounters = failover.announcer.addressCounters()
        m.members = failover.membership.memberCount
        m.alive = failover.membership.aliveSet?.count
        m.membership = failover.membership.counters
        m.scheduling = failover.membership.schedulingOutcome
        m.placement = failover.membership.threadPlacement
        m.takeovers = failover.takeovers
        (m.handBacksClaimed, m.handBacksTimedOut) = failover.handBacks
        let bgp = bgpView
        m.bgpAnnounced = bgp.announced
        m.bgpSessions = bgp.sessions
        return m
    }
}
