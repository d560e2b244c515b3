import BGP
import Layer2
import Membership
import NetAddress
import RoleKit
import Speaker
import Testing

/// The speaker's /metrics text, from a snapshot.
struct SpeakerMetricsTests {
    @Test func exposesMetalLBNamesAndTheMembershipFigures() {
        var m = SpeakerMetricsSnapshot(node: "node-1", configured: true)
        let ip = IPAddress("10.250.0.210")!
        m.announced = [ServiceIP(serviceKey: "apps/web", ip: ip)]
        var c = Announcer.AddressCounters()
        c.requestsReceived = 7
        c.responsesSent = 6
        c.gratuitousSent = 3
        m.addressCounters = [ip: c]
        m.members = 3
        m.alive = 2
        var counters = MembershipCounters()
        counters.removals[.timeout] = 1
        counters.dropped[.unknownSource] = 12
        m.membership = counters
        m.scheduling = .nice(-10)
        m.placement = ThreadPlacement(primaryCPU: 0, standbyCPU: 1)
        m.takeovers = 4
        m.handBacksClaimed = 5
        m.bgpSessions = [
            BGPSessionSnapshot(peerName: "router", peerAddress: IPAddress("10.250.0.3")!, state: .established, bfd: .up,
                               lastError: nil, prefixesSent: 2, updatesSent: 3, prefixesWanted: 5, bfdUpEvents: 2, bfdDownEvents: 1),
            BGPSessionSnapshot(peerName: "down", peerAddress: IPAddress("10.250.0.4")!, state: .active, bfd: nil,
                               lastError: "connection refused", prefixesSent: 0, updatesSent: 0, prefixesWanted: 5),
        ]
        let text = m.exposition()
        for line in [
            "metallb_k8s_client_config_loaded_bool 1",
            #"metallb_speaker_announced{service="apps/web",protocol="layer2",node="node-1",ip="10.250.0.210"} 1"#,
            #"metallb_layer2_requests_received{ip="10.250.0.210"} 7"#,
            #"metallb_layer2_responses_sent{ip="10.250.0.210"} 6"#,
            #"metallb_layer2_gratuitous_sent{ip="10.250.0.210"} 3"#,
            "metallb_speaker_membership_members 3",
            "metallb_speaker_membership_members_alive 2",
            #"metallb_speaker_membership_removals_total{reason="timeout"} 1"#,
            #"metallb_speaker_membership_dropped_total{reason="unknownSource"} 12"#,
            "metallb_speaker_layer2_takeovers_total 4",
            #"metallb_speaker_membership_thread_info{policy="SCHED_OTHER",priority="nice -10",cpu="0",standby_cpu="1"} 1"#,
            "metallb_speaker_membership_realtime_bool 0",
            #"metallb_speaker_layer2_handbacks_total{result="claimed"} 5"#,
            #"metallb_speaker_layer2_handbacks_total{result="timeout"} 0"#,
            #"metallb_bgp_session_up{peer="10.250.0.3"} 1"#,
            #"metallb_bgp_session_up{peer="10.250.0.4"} 0"#,
            #"metallb_bgp_announced_prefixes_total{peer="10.250.0.3"} 2"#,
            #"metallb_bgp_pending_prefixes_total{peer="10.250.0.3"} 3"#,
            #"metallb_bgp_pending_prefixes_total{peer="10.250.0.4"} 5"#,
            #"metallb_bfd_session_up{peer="10.250.0.3"} 1"#,
            #"metallb_bfd_session_up_events{peer="10.250.0.3"} 2"#,
            #"metallb_bfd_session_down_events{peer="10.250.0.3"} 1"#,
            "# TYPE metallb_layer2_requests_received counter",
            "# TYPE metallb_speaker_announced gauge",
        ] {
            #expect(text.split(separator: "\n").contains(Substring(line)), "missing: \(line)\n\(text)")
        }
    }

    @Test func beforeTheMembershipSettledAndLabelEscaping() {
        var m = SpeakerMetricsSnapshot(node: "n\"1\\", configured: false)
        m.announced = [ServiceIP(serviceKey: "a/b", ip: IPAddress("fd00::1")!)]
        let text = m.exposition()
        #expect(text.contains("metallb_k8s_client_config_loaded_bool 0\n"))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("metallb_speaker_membership_members_alive") },
                "no figure before the membership settled")
        #expect(text.contains(#"node="n\"1\\",ip="fd00::1"} 1"#), "\(text)")
        // Every sample line is name{labels} value or name value.
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            #expect(line.split(separator: " ").count >= 2, "\(line)")
        }
    }

    @Test func memoryFiguresWhenRead() {
        var m = SpeakerMetricsSnapshot(node: "node-1", configured: true)
        #expect(!m.exposition().contains("process_resident_memory_bytes"), "nothing read, nothing shown")
        m.memory = DaemonMemory.Usage(heapInUse: 17_243_568, heapFree: 1_024, resident: 55_000_000)
        let lines = m.exposition().split(separator: "\n")
        for line in [
            "process_resident_memory_bytes 55000000",
            #"metallb_process_heap_bytes{state="in_use"} 17243568"#,
            #"metallb_process_heap_bytes{state="free"} 1024"#,
            "# TYPE process_resident_memory_bytes gauge",
        ] {
            #expect(lines.contains(Substring(line)), "missing: \(line)")
        }
    }
}
