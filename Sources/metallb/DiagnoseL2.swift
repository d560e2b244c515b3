import NetAddress
import API
import ArgumentParser
import Foundation
import Synchronization
import Layer2
import Logging
import Membership
import RoleKit
import Speaker

#if canImport(Glibc)
import Glibc
#endif

/// `metallb diagnose l2`: one Layer 2 speaker without Kubernetes. Speakers find each other's
/// failures with the membership protocol, every speaker elects the owner of each Service IP
/// among the alive ones with the same rendezvous hash, and the owner answers ARP/NDP for it
/// (with a gratuitous ARP / unsolicited NA burst when it takes an IP over). For trying Layer 2
/// failover on a network before a cluster runs on it, and for the interop tests.
struct DiagnoseL2: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "l2",
        abstract: "Run one Layer 2 speaker without Kubernetes: answer ARP/NDP for the IPs this node owns among the alive speakers.",
        discussion: """
            Start one per machine with the same --member list, secret and services. Every speaker computes the \
            same owner for each Service IP (rendezvous hashing over the alive members); the owner answers ARP \
            (IPv4) and NDP (IPv6) for it with the interface's MAC and announces a takeover with gratuitous ARP \
            and unsolicited neighbor advertisements. Prints one line per change of the alive set or of what \
            this node owns. Stops on SIGINT/SIGTERM (telling the others it leaves) or after --duration.
            """)

    @Option(help: "This speaker's name (one of the --member names).")
    var node: String

    @Option(name: .customLong("member"), help: "A speaker: NAME=ADDRESS:PORT, IPv6 in brackets (repeat for each; may include this node).")
    var members: [String]

    @Option(help: "ADDRESS:PORT the membership protocol listens on (default: this node's --member address).")
    var bind: String?

    @Option(help: "File with the shared secret key (at least 16 bytes), as MetalLB's memberlist secretkey.")
    var secretFile: String

    @Option(name: .customLong("interface"), help: "Interface to answer on (repeat; default: every up interface that takes part in ARP: not loopback, not NOARP, not a bridge or bond port).")
    var interfaces: [String] = []

    @Option(name: .customLong("service"), help: "A Service: KEY=IP[,IP] (repeat).")
    var services: [String] = []

    @Option(name: .customLong("ips"), help: "A CIDR or FIRST-LAST range whose addresses are each a Service of their own (repeat; 4096 addresses at most in all).")
    var ipRanges: [String] = []

    @Option(help: "Gratuitous ARP / unsolicited NA rounds when an IP is taken over.")
    var announceRounds = 3

    @Option(help: "Time between those rounds (Go duration).")
    var announceInterval = "1s"

    @Option(help: "Membership heartbeat interval (Go duration).")
    var heartbeatInterval = "10ms"

    @Option(help: "A speaker not heard from for this long is dead (Go duration); an ARP/NDP request that waited longer than this before we read it is not answered (another speaker may have taken the IP over meanwhile).")
    var timeout = "130ms"

    @Option(help: "Rewrite this file with {\"node\", \"alive\", \"owned\"} as JSON on every change (for scripts).")
    var statusFile: String?

    @Option(help: "Stop after this many seconds (default: run until interrupted).")
    var duration: Double?

    @Option(help: "Log level: all, debug, info, warn, error or none.")
    var logLevel: LogLevelOption = .info

    func run() async throws {
        logLevel.bootstrap()
        let parsed = try parse()
        let announcer: Announcer
        do {
            announcer = try Announcer(
                interfaces: parsed.interfaces,
                configuration: Announcer.Configuration(announcementRounds: parsed.rounds, announcementInterval: parsed.roundInterval,
                                                      maximumRequestAge: parsed.config.timeout),
                onEvent: { event in
                    if case .conflict(let interface, let address, let mac) = event {
                        say("conflict: \(mac) also claims \(address) on \(interface)")
                    }
                })
        } catch {
            throw ArgumentParser.ValidationError("cannot open the interfaces \(parsed.interfaces.joined(separator: ", ")): \(error)")
        }
        let requests = parsed.requests.map { FailoverRequest(serviceKey: $0.serviceKey, ips: $0.ips) }
        let name = node
        // The takeover runs on the membership thread (Layer2Failover): the first gratuitous ARP/NA leaves as soon
        // as a change is decided, without waiting for the cooperative pool.
        let failover = try Layer2Failover(node: node, announcer: announcer, membership: parsed.config, bind: parsed.bind, keyring: parsed.keyring)
        failover.setRequests(requests)
        failover.setMembers(parsed.members)
        try failover.start()
        let membership = failover.membership
        say("speaker \(node): membership on \(membership.boundAddress.map(\.description) ?? "?"), \(parsed.requests.count) Services, answering on \(parsed.interfaces.joined(separator: ", ")); scheduling: \(membership.schedulingOutcome.map { "\($0)" } ?? "pending"); \(membership.threadPlacement.map { "\($0)" } ?? "")")

        let statusFile = self.statusFile
        // Reporting only: what to own was already acted on by the handler above.
        let follow = Task {
            var owned: Set<ServiceIP> = []
            for await update in membership.changes() {
                let alive = update.change.alive.union([name])
                let now = FailoverPlan.owned(by: name, requests: requests, alive: alive)
                let gained = now.subtracting(owned), lost = owned.subtracting(now)
                owned = now
                var line = "alive \(alive.sorted().joined(separator: ",")); owning \(now.count) of \(requests.reduce(0) { $0 + $1.ips.count }) IPs"
                if !gained.isEmpty || !lost.isEmpty { line += " (+\(gained.count) -\(lost.count))" }
                let why = (update.change.added.map { "\($0.key) up: \($0.value)" } + update.change.removed.map { "\($0.key) down: \($0.value)" }).sorted()
                if !why.isEmpty { line += " [\(why.joined(separator: "; "))]" }
                say(line)
                if gained.count + lost.count <= 8 {
                    for ip in gained.sorted() { say("  takes \(ip.ip) (\(ip.serviceKey))") }
                    for ip in lost.sorted() { say("  releases \(ip.ip) (\(ip.serviceKey))") }
                }
                if let path = statusFile {
                    let json: [String: Any] = ["node": name, "alive": alive.sorted(), "owned": now.map(\.ip.description).sorted()]
                    if let data = try? JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]) {
                        try? data.write(to: URL(fileURLWithPath: path), options: .atomic)
                    }
                }
            }
        }
        let duration = self.duration
        try? await Role.run([RoleService("l2") {
            if let d = duration {
                try await Task.sleep(for: .milliseconds(Int(d * 1000)))
            } else {
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
            }
        }], logger: Logger(label: "l2"))
        // Silence first, then tell the others: they take over after our last answer.
        failover.stop()
        await follow.value
        let c = announcer.totalCounters()
        say("stopped: answered \(c.arpRepliesSent) ARP and \(c.neighborAdvertisementsSent) NDP requests (\(c.staleRequestsIgnored) left unanswered: older than the timeout when read), sent \(c.announcementsSent) announcements, \(c.conflictsSeen) conflicts; membership: \(membership.counters.packetsSent) packets sent, \(membership.counters.packetsReceived) received, \(membership.counters.droppedTotal) dropped")
    }

    struct Parsed {
        var interfaces: [String]
        var members: [String: SocketEndpoint]
        var bind: SocketEndpoint
        var keyring: MembershipKeyring
        var config: MembershipConfig
        var requests: [(serviceKey: String, ips: [IPAddress])]
        var rounds: Int
        var roundInterval: Duration
    }

    func parse() throws -> Parsed {
        var members: [String: SocketEndpoint] = [:]
        for m in self.members {
            let parts = m.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ArgumentParser.ValidationError("--member \(m): write NAME=ADDRESS:PORT") }
            do { members[parts[0]] = try SocketEndpoint.parse(parts[1]) } catch { throw ArgumentParser.ValidationError("--member \(m): \(error)") }
        }
        let bindAddress: SocketEndpoint
        if let bind {
            do { bindAddress = try SocketEndpoint.parse(bind) } catch { throw ArgumentParser.ValidationError("--bind \(bind): \(error)") }
        } else if let own = members[node] {
            bindAddress = own
        } else {
            throw ArgumentParser.ValidationError("--node \(node) is not among the --member names and no --bind is given")
        }
        let secret: Data
        do { secret = try Data(contentsOf: URL(fileURLWithPath: secretFile)) } catch { throw ArgumentParser.ValidationError("--secret-file \(secretFile): \(error.localizedDescription)") }
        let keyring: MembershipKeyring
        do { keyring = try MembershipKeyring(primary: [UInt8](secret)) } catch { throw ArgumentParser.ValidationError("--secret-file \(secretFile): \(error)") }

        var config = MembershipConfig()
        config.heartbeatInterval = try DurationFlag.parse(heartbeatInterval, flag: "--heartbeat-interval")
        config.timeout = try DurationFlag.parse(timeout, flag: "--timeout")
        do { try config.validate() } catch { throw ArgumentParser.ValidationError("membership settings: \(error)") }

        var requests: [(serviceKey: String, ips: [IPAddress])] = []
        for s in services {
            let parts = s.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else { throw ArgumentParser.ValidationError("--service \(s): write KEY=IP[,IP]") }
            let ips = try parts[1].split(separator: ",").map { text -> IPAddress in
                guard let ip = IPAddress(String(text)) else { throw ArgumentParser.ValidationError("--service \(s): \"\(text)\" is not an IP address") }
                return ip
            }
            requests.append((parts[0], ips))
        }
        var total = 0
        for r in ipRanges {
            let ips = try expand(r)
            total += ips.count
            guard total <= 4096 else { throw ArgumentParser.ValidationError("--ips: more than 4096 addresses in all") }
            requests += ips.map { ("ip/\($0)", [$0]) }
        }
        guard !requests.isEmpty else { throw ArgumentParser.ValidationError("give at least one --service or --ips") }

        let names = interfaces.isEmpty ? Layer2Interfaces.suitable() : interfaces
        guard !names.isEmpty else { throw ArgumentParser.ValidationError("no interface to answer on: give --interface") }
        guard announceRounds >= 0 else { throw ArgumentParser.ValidationError("--announce-rounds must be 0 or more") }
        return Parsed(
            interfaces: names, members: members, bind: bindAddress, keyring: keyring, config: config, requests: requests,
            rounds: announceRounds, roundInterval: try DurationFlag.parse(announceInterval, flag: "--announce-interval"))
    }


    /// The addresses of a CIDR ("10.0.0.0/28", "fd00::/120") or range ("10.0.0.1-10.0.0.9").
    func expand(_ text: String) throws -> [IPAddress] {
        func bad(_ why: String) -> ArgumentParser.ValidationError { ArgumentParser.ValidationError("--ips \(text): \(why)") }
        let range: IPRange
        do { range = try PoolAddress.parse(text).range } catch { throw bad(error.reason) }
        guard range.count <= 4096 else { throw bad("more than 4096 addresses") }
        var out = [range.first]
        var a = range.first
        while a != range.last, let n = a.next { out.append(n); a = n }
        return out
    }
}

/// One timestamped line on standard output, flushed at once (scripts read it live).
func say(_ line: String) {
    let stamp = ISO8601DateFormatter.string(from: Date(), timeZone: .gmt, formatOptions: [.withInternetDateTime, .withFractionalSeconds])
    writeStandardOutput("\(stamp) \(line)\n")
}

/// Writes to standard output, unbuffered. A closed reader (`| head`) is not a crash: the write fails quietly (the
/// throwing API; the old `write(_:)` traps on EPIPE) and the command goes on to its orderly end.
func writeStandardOutput(_ text: String) {
    try? FileHandle.standardOutput.write(contentsOf: Data(text.utf8))
}

/// As `writeStandardOutput`, to standard error.
func writeStandardError(_ text: String) {
    try? FileHandle.standardError.write(contentsOf: Data(text.utf8))
}
