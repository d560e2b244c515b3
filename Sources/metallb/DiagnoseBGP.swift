import NetAddress
import ArgumentParser
import BFD
import BGP
import Foundation
import Logging
import RoleKit
import Speaker
import Synchronization

/// `metallb diagnose bgp`: one BGP session with a router, told in plain words, before the cluster is involved.
struct DiagnoseBGP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bgp",
        abstract: "Open one BGP session with a router and tell what happens, in plain words.",
        discussion: """
            Connects to (or with --passive waits for) the peer, prints every state change, the capabilities
            both sides offered and what was negotiated, every NOTIFICATION with its code and subcode names,
            and the routes the peer sends. With --prefix and --prefix-file it advertises those prefixes (IPv4
            and IPv6, over one session with multiprotocol BGP) until interrupted (SIGINT/SIGTERM: Cease, then
            exit 0) or for --duration seconds.
            Exit status: 0 when the session was Established and still is (or we closed it), 1 when it never
            reached Established, 2 when it was Established but went down with an error.
            """)

    @Option(help: "The peer's address (IPv4 or IPv6).") var peer: String
    @Option(help: "The peer's AS number (4-octet ASNs are fine).") var peerAsn: UInt32
    @Option(help: "Our AS number.") var myAsn: UInt32
    @Option(help: "Our BGP identifier (default: --source when it is IPv4).") var routerId: String?
    @Option(help: "Source address of the session.") var source: String?
    @Option(help: "The peer's TCP port.") var peerPort: Int = 179
    @Option(help: "Port to listen on with --passive.") var listenPort: Int = 179
    @Option(help: "TCP MD5 password (RFC 2385).") var password: String?
    @Option(help: "Proposed hold time, seconds (0, or 3 and more).") var holdTime: UInt16 = 90
    @Option(help: "eBGP multihop: the TTL of our packets (default: 1 for eBGP, 255 for iBGP).") var multihop: Int?
    @Flag(help: "Do not connect; wait for the peer to connect to us.") var passive = false
    @Flag(help: "Advertise graceful restart (RFC 4724) with the forwarding-state bit, so the peer keeps our routes while we restart.")
    var gracefulRestart = false
    @Option(help: "Restart time advertised with --graceful-restart, seconds.") var restartTime: UInt16 = 120
    @Option(help: "A prefix to advertise (repeat for more; IPv4 and IPv6).") var prefix: [String] = []
    @Option(help: ArgumentHelp(
        "A file of prefixes to advertise besides --prefix: one per line; '#' starts a comment; blank lines are ignored.",
        valueName: "file"))
    var prefixFile: String?
    @Option(help: "A community for the advertised prefixes, AS:VALUE or a well-known name (repeatable).") var community: [String] = []
    @Option(help: "A large community for the advertised prefixes, A:B:C (repeatable).") var largeCommunity: [String] = []
    @Option(help: "LOCAL_PREF for the advertised prefixes (sent to iBGP peers only).") var localPref: UInt32?
    @Option(help: "Next hop for the advertised prefixes; give one IPv4 and/or one IPv6 (default: the session's local address).")
    var nextHop: [String] = []
    @Option(help: "Stop after this many seconds (default: until interrupted).") var duration: Double?
    @Option(help: "Log level of the BGP and BFD libraries: all, debug, info, warn, error or none.") var logLevel: LogLevelOption = .info
    @Flag(help: "Run BFD (RFC 5880/5881, single hop, UDP 3784) with the peer; when BFD goes down the BGP session is torn down at once. Needs --source.")
    var bfd = false
    @Option(help: "BFD: the slowest rate at which we want the peer's packets, ms.") var bfdReceiveInterval: UInt32 = 300
    @Option(help: "BFD: the fastest rate at which we send, ms.") var bfdTransmitInterval: UInt32 = 300
    @Option(help: "BFD: packets missed before the path counts as down.") var bfdDetectMultiplier: UInt8 = 3
    @Flag(help: "BFD: send nothing until the peer's BFD speaks first.") var bfdPassive = false
    @Option(help: "Seconds between connection attempts after a failure.") var connectRetry: Int = 5
    @Option(help: "Seconds a TCP connect may take before it counts as failed.") var connectTimeout: Int = 10
    @Option(help: "Withdraw the advertised prefixes after this many seconds and keep the session up (to watch the router remove them).")
    var withdrawAfter: Double?

    func validate() throws {
        guard IPAddress(peer) != nil else { throw ValidationError("--peer '\(peer)' is not an IP address") }
        if let source, IPAddress(source) == nil { throw ValidationError("--source '\(source)' is not an IP address") }
        if let routerId, IPv4Address(routerId) == nil { throw ValidationError("--router-id '\(routerId)' is not a dotted quad") }
        if routerId == nil, source.flatMap(IPv4Address.init) == nil {
            throw ValidationError("--router-id is needed when --source is not an IPv4 address")
        }
        if holdTime == 1 || holdTime == 2 { throw ValidationError("--hold-time must be 0 or at least 3") }
        if let m = multihop, !(1...255).contains(m) { throw ValidationError("--multihop must be a TTL in 1...255") }
        for p in prefix where IPPrefix(p) == nil { throw ValidationError("--prefix '\(p)' is not a prefix (host bits must be zero)") }
        // --prefix-file is read (and its lines checked) once, at the start of run(), before anything connects.
        for c in community where Community(c) == nil { throw ValidationError("--community '\(c)' is not AS:VALUE or a well-known name") }
        for c in largeCommunity where LargeCommunity(c) == nil { throw ValidationError("--large-community '\(c)' is not A:B:C") }
        for n in nextHop where IPAddress(n) == nil { throw ValidationError("--next-hop '\(n)' is not an IP address") }
        if restartTime > 4095 { throw ValidationError("--restart-time is at most 4095 seconds") }
        if bfd {
            guard source != nil else { throw ValidationError("--bfd needs --source (BFD packets go from that address)") }
            do { try bfdParameters.validate() } catch { throw ValidationError("BFD settings: \(error)") }
        }
    }

    var bfdParameters: BFDParameters {
        BFDParameters(receiveInterval: bfdReceiveInterval, transmitInterval: bfdTransmitInterval, detectMultiplier: bfdDetectMultiplier,
                      passiveMode: bfdPassive)
    }

    func run() async throws {
        logLevel.bootstrap()
        guard let peerAddr = IPAddress(peer) else { throw ValidationError("--peer") }
        let src = source.flatMap { IPAddress($0) }
        let rid = routerId.flatMap { IPv4Address($0) } ?? source.flatMap { IPv4Address($0) } ?? .any
        let isInternal = peerAsn == myAsn
        var session = BGPSessionConfig(
            localAS: myAsn, peerAS: .fixed(peerAsn), routerID: rid, holdTime: holdTime,
            connectRetryTime: .seconds(connectRetry),
            backoff: BackoffPolicy(initial: .seconds(1), maximum: .seconds(max(connectRetry, 1))),
            passive: passive, families: [.ipv4Unicast, .ipv6Unicast])
        if gracefulRestart {
            session.gracefulRestart = GracefulRestartConfig(restartTime: restartTime, forwardingStatePreserved: true)
        }
        let nh = nextHop.compactMap { IPAddress($0) }
        var cfg = BGPPeerConfig(session: session, peerAddress: peerAddr, peerPort: peerPort, localAddress: src, ttl: multihop,
                                password: password, connectTimeout: .seconds(max(connectTimeout, 1)),
                                receivedRoutes: .keep(maximum: 100_000))   // shown in the summary; bounded (docs/bgp.md)
        for a in nh {
            switch a {
            case .v4(let v): cfg.defaultNextHopIPv4 = v
            case .v6(let v): cfg.defaultNextHopIPv6 = v
            }
        }
        var prefixes = prefix.compactMap { IPPrefix($0) }
        if let prefixFile {
            do { prefixes += try PrefixFile.load(prefixFile) } catch { throw ValidationError("--prefix-file \(error)") }
        }
        let routes = prefixes.map {
            AdvertisedRoute(prefix: $0, localPref: localPref, communities: community.compactMap { Community($0) },
                            largeCommunities: largeCommunity.compactMap { LargeCommunity($0) })
        }

        let clock = ContinuousClock()
        let t0 = clock.now
        @Sendable func say(_ s: String) {
            let e = t0.duration(to: clock.now)
            let ms = e.components.seconds * 1000 + e.components.attoseconds / 1_000_000_000_000_000
            // Unbuffered, so a log file shows each line as it happens.
            writeStandardOutput(String(format: "[%4lld.%03lld] ", ms / 1000, ms % 1000) + s + "\n")
        }

        say("BGP session with \(peerAddr) AS \(peerAsn) (\(isInternal ? "iBGP" : "eBGP")), we are AS \(myAsn) router-id \(rid)"
            + (src.map { " from \($0)" } ?? "") + "; "
            + (passive ? "passive, listening on port \(listenPort)" : "connecting to port \(peerPort)")
            + "; TTL \(cfg.effectiveTTL)\(multihop != nil ? " (multihop)" : ""); hold time \(holdTime)s"
            + "; TCP MD5 \(password?.isEmpty == false ? "on" : "off")"
            + (gracefulRestart ? "; graceful restart, restart time \(restartTime)s" : ""))
        if routes.count > 20 {
            // A long list (a prefix file) is summarised: the attributes are the same for every route.
            say("will advertise \(routes.count) prefixes: \(routes[0]) … \(routes[routes.count - 1].prefix)")
        } else if !routes.isEmpty {
            say("will advertise: " + routes.map(\.description).joined(separator: "; "))
        }

        let speaker = BGPSpeaker()
        let onEvent: @Sendable (BGPPeerEvent) -> Void = { e in
            switch e {
            case .stateChanged(let c): say("state \(c.from) → \(c.to) (\(c.event)): \(c.reason)")
            case .established(let n): Self.printNegotiated(n, say)
            case .updateReceived(let u, let errors):
                for p in u.withdrawnPrefixes { say("peer withdrew \(p)") }
                let attrs = Self.describe(u.attributes)
                for p in u.announcedPrefixes { say("peer announced \(p) \(attrs)") }
                for err in errors { say("peer's UPDATE had an error handled per RFC 7606: \(err)") }
            default: say(e.description)
            }
        }

        if passive {
            let listenOn = src ?? (peerAddr.family == .ipv4 ? IPAddress.v4(.any) : IPAddress.v6(.any))
            do {
                let port = try await speaker.listen(address: listenOn, port: listenPort)
                say("listening on \(listenOn) port \(port)")
            } catch {
                say("error: \(error)")
                await speaker.close()
                throw ExitCode(1)
            }
        }
        let bgpPeer: BGPPeer
        do {
            bgpPeer = try await speaker.addPeer(cfg, onEvent: onEvent)
        } catch {
            say("error: \(error)")
            await speaker.close()
            throw ExitCode(1)
        }
        if !routes.isEmpty { bgpPeer.setRoutes(routes) }
        var bfdEndpoint: BFDEndpoint?
        if bfd, let source {
            do {
                let endpoint = try BFDEndpoint(localAddress: source)
                bfdEndpoint = endpoint
                // RFC 5882 §4.3: a path that BFD declares down takes the session down now, not after the hold time.
                _ = try await PeerWithBFD(peer: bgpPeer, endpoint: endpoint, peerAddress: peerAddr, parameters: bfdParameters) { change in
                    say("BFD \(change.old) → \(change.new) (\(change.diagnostic))")
                }
                let p = bfdParameters
                say("BFD with \(peer) from \(source): transmit \(p.transmitInterval) ms, receive \(p.receiveInterval) ms, multiplier \(p.detectMultiplier)\(p.passiveMode ? ", passive" : "")")
            } catch {
                say("error: BFD: \(error)")
                await bfdEndpoint?.stop()
                try? await bgpPeer.shutdown(shutdownCommunication: "metallb diagnose bgp: BFD failed to start")
                await speaker.close()
                throw ExitCode(1)
            }
        }
        if let withdrawAfter, !routes.isEmpty {
            Task {
                try? await Task.sleep(for: .milliseconds(Int(withdrawAfter * 1000)))
                say("--withdraw-after \(withdrawAfter)s: withdrawing \(routes.count) prefix(es)")
                bgpPeer.setRoutes([])
            }
        }

        // Until SIGINT/SIGTERM (the role kit's shutdown) or the duration.
        let duration = self.duration
        let why = Mutex("received SIGINT or SIGTERM")
        try? await Role.run([RoleService("bgp") {
            guard let duration else {
                while !Task.isCancelled { try await Task.sleep(for: .seconds(3600)) }
                return
            }
            try await Task.sleep(for: .milliseconds(Int(duration * 1000)))
            why.withLock { $0 = "--duration \(duration)s elapsed" }
        }], logger: Logger(label: "bgp"))
        let reason = why.withLock { $0 }

        let before = try? await bgpPeer.currentStatus()
        say("\(reason): stopping (Cease if a session is up)")
        try? await bgpPeer.shutdown(shutdownCommunication: "metallb diagnose bgp: \(reason)")
        await bfdEndpoint?.stop()
        let final = try? await bgpPeer.currentStatus()
        await speaker.close()
        if let final { say("summary: \(final)") }

        guard let st = before, st.establishedCount > 0 else {
            say("result: the session never reached Established" + (before?.lastError.map { "; last error: \($0)" } ?? ""))
            throw ExitCode(1)
        }
        if st.state != .established {
            say("result: the session was Established \(st.establishedCount) time(s) but is down: "
                + (st.lastDown?.description ?? st.lastError ?? "unknown reason"))
            throw ExitCode(2)
        }
        say("result: OK, Established \(st.establishedCount) time(s)")
    }

    static func describe(_ a: PathAttributes) -> String {
        var parts: [String] = []
        if let nh = a.nextHop { parts.append("next-hop \(nh)") }
        if let o = a.origin { parts.append("origin \(o)") }
        if let p = a.effectiveASPath { parts.append("as-path [\(p)]") }
        if let m = a.multiExitDisc { parts.append("med \(m)") }
        if let l = a.localPref { parts.append("local-pref \(l)") }
        if !a.communities.isEmpty { parts.append("communities \(a.communities.map(\.description).joined(separator: " "))") }
        if !a.largeCommunities.isEmpty { parts.append("large-communities \(a.largeCommunities.map(\.description).joined(separator: " "))") }
        return parts.joined(separator: ", ")
    }

    static func printNegotiated(_ n: NegotiatedSession, _ say: (String) -> Void) {
        func caps(_ o: OpenMessage) -> String {
            o.capabilities.map { c -> String in
                switch c {
                case .multiprotocol(let f): "multiprotocol \(f)"
                case .routeRefresh: "route refresh"
                case .enhancedRouteRefresh: "enhanced route refresh"
                case .fourOctetAS(let a): "4-octet AS (\(a))"
                case .extendedNextHop(let e): "extended next hop \(e.map(\.description).joined(separator: ","))"
                case .gracefulRestart(let g): "graceful restart (\(g))"
                case .unknown(let code, _): Self.capabilityName(code)
                }
            }.joined(separator: "; ")
        }
        say("peer OPEN: AS \(n.peerOpen.asNumber), hold time \(n.peerOpen.holdTime)s, BGP identifier \(n.peerOpen.bgpIdentifier)")
        say("peer capabilities: \(caps(n.peerOpen))")
        say("our capabilities: \(caps(n.localOpen))")
        say("negotiated: \(n)")
    }

    static func capabilityName(_ code: UInt8) -> String {
        switch code {
        case 6: "extended message (code 6)"
        case 9: "BGP role (code 9)"
        case 69: "ADD-PATH (code 69)"
        case 71: "long-lived graceful restart (code 71)"
        case 73: "FQDN (code 73)"
        case 128: "old-style route refresh (code 128)"
        default: "capability code \(code)"
        }
    }
}

/// `--prefix-file`: one prefix per line, `#` to the end of a line is a comment, blank lines are skipped.
enum PrefixFile {
    struct Unreadable: Error, CustomStringConvertible {
        var path: String
        var reason: String
        var description: String { "\(path): \(reason)" }
    }

    static func load(_ path: String) throws -> [IPPrefix] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Unreadable(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    static func parse(_ text: String, path: String) throws -> [IPPrefix] {
        try PrefixList.parse(text, source: path)
    }
}
