import NetAddress
import ArgumentParser
import BGP
import Foundation
import Logging
import RoleKit

/// `metallb-bench bgp`: one `BGPSpeaker` with N peers (each from its own source address) advertising the same prefixes
/// to every peer, for the memory and session-setup numbers of `hack/bench bgp`. Prints one JSON line once every peer
/// has sent End-of-RIB and `--settle` seconds passed, then keeps the sessions up until SIGINT/SIGTERM or `--hold`.
struct BGPRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp",
        abstract: "One BGP speaker, N peers, the same prefixes to each: session set-up times, End-of-RIB time, RSS.")

    @Option(help: "PEER@SOURCE: the peer's address and our source address for it (repeat; one session each).")
    var peer: [String] = []
    @Option var peerAsn: UInt32
    @Option var myAsn: UInt32
    @Option(help: "Prefixes to advertise to every peer: one per line, '#' comments, blank lines ignored.")
    var prefixFile: String
    @Option(help: "Seconds to wait after the last End-of-RIB before measuring the steady RSS.") var settle: Double = 2
    @Option(help: "Seconds to keep the sessions up after the JSON line (SIGINT/SIGTERM end it earlier).") var hold: Double = 600
    @Option(help: "Give up when not every peer sent End-of-RIB after this many seconds.") var timeout: Double = 300

    func validate() throws {
        guard !peer.isEmpty else { throw ValidationError("give at least one --peer PEER@SOURCE") }
        for p in peer { _ = try Self.split(p) }
    }

    static func split(_ s: String) throws -> (peer: IPAddress, source: IPAddress) {
        let parts = s.split(separator: "@")
        guard parts.count == 2, let p = IPAddress(String(parts[0])), let src = IPAddress(String(parts[1])) else {
            throw ValidationError("--peer '\(s)' is not PEER@SOURCE with two IP addresses")
        }
        return (p, src)
    }

    func run() async throws {
        let text = try String(contentsOfFile: prefixFile, encoding: .utf8)
        let prefixes = try PrefixList.parse(text, source: prefixFile)
        let routes = prefixes.map { AdvertisedRoute(prefix: $0) }
        let pairs = try peer.map(Self.split)
        let rssBefore = ProcStatus.read()

        let rec = BGPTimeline(peers: pairs.map(\.peer))
        let speaker = BGPSpeaker()
        let start = ContinuousClock.now
        for (i, pair) in pairs.enumerated() {
            let routerID: IPv4Address
            if case .v4(let a) = pair.source { routerID = a } else { routerID = IPv4Address(UInt32(0x0A00_0001) + UInt32(i)) }
            let session = BGPSessionConfig(
                localAS: myAsn, peerAS: .fixed(peerAsn), routerID: routerID, holdTime: 90,
                connectRetryTime: .seconds(1), backoff: BackoffPolicy(initial: .seconds(1), maximum: .seconds(2)),
                families: [pair.peer.family == .ipv4 ? .ipv4Unicast : .ipv6Unicast])
            let cfg = BGPPeerConfig(session: session, peerAddress: pair.peer, localAddress: pair.source)
            let p = pair.peer
            let bgpPeer = try await speaker.addPeer(cfg) { e in rec.record(p, e) }
            bgpPeer.setRoutes(routes)
        }

        let deadline = start + .milliseconds(Int(timeout * 1000))
        while !rec.allEndOfRIBSent, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        let eorAll = rec.allEndOfRIBSent ? start.duration(to: rec.lastEndOfRIB ?? .now) : nil
        try await Task.sleep(for: .milliseconds(Int(settle * 1000)))
        let steady = ProcStatus.read()
        let statuses = (try? await speaker.allStatus()) ?? []

        var perPeer: [[String: Any]] = []
        for (p, t) in rec.snapshot() {
            var d: [String: Any] = ["peer": p.description]
            if let c = t.connect, let e = t.established { d["connect_to_established_ms"] = ms(c.duration(to: e)) }
            if let c = t.tcpUp, let e = t.established { d["tcp_up_to_established_ms"] = ms(c.duration(to: e)) }
            if let e = t.established, let r = t.endOfRIBSent { d["established_to_end_of_rib_sent_ms"] = ms(e.duration(to: r)) }
            if let st = statuses.first(where: { $0.peer == p }) {
                d["state"] = st.state.description
                d["prefixes_sent"] = st.prefixesSent
                d["updates_sent"] = st.messagesSent[.update] ?? 0
            }
            perPeer.append(d)
        }
        var out: [String: Any] = [
            "peers": pairs.count, "prefixes_per_peer": routes.count, "ok": eorAll != nil, "per_peer": perPeer,
            "rss_mb_before_sessions": rssBefore.rssMB, "rss_mb_steady": steady.rssMB, "rss_mb_peak": steady.hwmMB,
        ]
        if let eorAll { out["all_end_of_rib_sent_ms"] = ms(eorAll) }
        let json = try JSONSerialization.data(withJSONObject: out, options: [.sortedKeys])
        // Unbuffered: the harness reads it while we keep running.
        FileHandle.standardOutput.write(json + Data("\n".utf8))

        // Keep the sessions up (the harness reads our RSS and the peer's RIB meanwhile) until told to stop.
        let holdFor = hold
        try? await Role.run([RoleService("hold") { try await Task.sleep(for: .milliseconds(Int(holdFor * 1000))) }],
                            logger: Logger(label: "bench"))
        await speaker.close()
        if eorAll == nil { throw ExitCode(1) }
    }

    private func ms(_ d: Duration) -> Double {
        Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
    }
}

/// When each peer reached which point; written from the speaker's event loop, read by the command.
final class BGPTimeline: @unchecked Sendable {
    struct Times {
        var connect: ContinuousClock.Instant?
        var tcpUp: ContinuousClock.Instant?
        var established: ContinuousClock.Instant?
        var endOfRIBSent: ContinuousClock.Instant?
    }

    private let lock = NSLock()
    private var times: [IPAddress: Times]
    private let order: [IPAddress]

    init(peers: [IPAddress]) {
        order = peers
        times = Dictionary(uniqueKeysWithValues: peers.map { ($0, Times()) })
    }

    func record(_ peer: IPAddress, _ e: BGPPeerEvent) {
        let now = ContinuousClock.now
        lock.lock()
        defer { lock.unlock() }
        switch e {
        // The first attempt counts: a retry after a failure is part of the time to Established.
        case .stateChanged(let c) where c.to == .connect && times[peer]?.connect == nil: times[peer]?.connect = now
        case .stateChanged(let c) where c.to == .openSent && times[peer]?.established == nil: times[peer]?.tcpUp = now
        case .established where times[peer]?.established == nil: times[peer]?.established = now
        case .endOfRIBSent where times[peer]?.endOfRIBSent == nil: times[peer]?.endOfRIBSent = now
        default: break
        }
    }

    var allEndOfRIBSent: Bool {
        lock.lock()
        defer { lock.unlock() }
        return times.values.allSatisfy { $0.endOfRIBSent != nil }
    }

    var lastEndOfRIB: ContinuousClock.Instant? {
        lock.lock()
        defer { lock.unlock() }
        return times.values.compactMap(\.endOfRIBSent).max()
    }

    func snapshot() -> [(IPAddress, Times)] {
        lock.lock()
        defer { lock.unlock() }
        return order.map { ($0, times[$0] ?? Times()) }
    }
}

/// VmRSS / VmHWM of this process (Linux /proc/self/status).
struct ProcStatus {
    var rssMB: Double
    var hwmMB: Double

    static func read() -> ProcStatus {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return ProcStatus(rssMB: -1, hwmMB: -1) }
        func kB(_ key: String) -> Double {
            for line in s.split(separator: "\n") where line.hasPrefix(key + ":") {
                return Double(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
            }
            return -1
        }
        return ProcStatus(rssMB: kB("VmRSS") / 1024, hwmMB: kB("VmHWM") / 1024)
    }
}

