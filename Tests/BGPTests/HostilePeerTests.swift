import Foundation
import Glibc
import Synchronization
import Testing
import TestSupport
import NetAddress
@testable import BGP

/// A BGP peer written by hand (blocking socket on its own thread): connects to our passive speaker on 127.0.0.1,
/// opens a session and streams a table of /24s generated on the fly (nothing of it is kept on this side, so the
/// process memory measured is ours), then keeps the session alive with KEEPALIVEs until stopped.
final class CraftedBGPPeer: @unchecked Sendable {
    struct Progress: Sendable {
        var established = false
        var prefixesSent = 0
        var done = false
        var error: String?
    }

    let port: Int
    let localAS: UInt32
    let prefixes: Int
    let gracefulRestart: Bool
    let sendEndOfRIB: Bool
    let progress = Mutex(Progress())
    private let stopFlag = Mutex(false)
    private let finished = DispatchSemaphore(value: 0)
    /// Closes the socket without a NOTIFICATION when stopped (a crash, as graceful restart expects).
    let abrupt: Bool

    init(port: Int, localAS: UInt32 = 65002, prefixes: Int, gracefulRestart: Bool = false, sendEndOfRIB: Bool = true, abrupt: Bool = true) {
        self.port = port
        self.localAS = localAS
        self.prefixes = prefixes
        self.gracefulRestart = gracefulRestart
        self.sendEndOfRIB = sendEndOfRIB
        self.abrupt = abrupt
    }

    func start() {
        Thread.detachNewThread { [self] in
            defer { finished.signal() }
            do { try run() } catch { progress.withLock { $0.error = "\(error)" } }
        }
    }

    /// Stops the thread and closes the connection (no NOTIFICATION); returns when it is closed.
    func stop() {
        stopFlag.withLock { $0 = true }
        finished.wait()
    }

    private var stopped: Bool { stopFlag.withLock { $0 } }

    struct Failure: Error, CustomStringConvertible { var description: String }

    private func run() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard rc == 0 else { throw Failure(description: "connect: errno \(errno)") }

        var caps: [Capability] = [.multiprotocol(.ipv4Unicast), .routeRefresh]
        if gracefulRestart {
            caps.append(.gracefulRestart(GracefulRestartCapability(restartFlags: 0, restartTime: 60,
                                                                   families: [.init(afiSafi: .ipv4Unicast, forwardingStatePreserved: true)])))
        }
        let open = OpenMessage(asNumber: localAS, holdTime: 90, bgpIdentifier: IPv4Address("10.0.0.2")!, capabilities: caps)
        try write(fd, try BGPMessage.open(open).encode(context: CodecContext()))
        try write(fd, try BGPMessage.keepalive.encode(context: CodecContext()))
        // Wait for our side's OPEN and KEEPALIVE.
        var splitter = BGPFrameSplitter()
        var sawOpen = false, sawKeepalive = false
        let deadline = Date().addingTimeInterval(20)
        while !(sawOpen && sawKeepalive) {
            guard Date() < deadline, !stopped else { throw Failure(description: "no OPEN/KEEPALIVE from the speaker") }
            for f in try read(fd, &splitter, timeoutMs: 100) {
                if f[18] == 1 { sawOpen = true }
                if f[18] == 4 { sawKeepalive = true }
                if f[18] == 3 { throw Failure(description: "NOTIFICATION from the speaker: \(Hex.encode(f))") }
            }
        }
        progress.withLock { $0.established = true }

        // The table: /24s 10.0.0.0, 10.0.1.0, … in UPDATEs of 1,000 prefixes, each UPDATE with its own AS_PATH
        // (as a real table: many attribute sets).
        var next = 0
        var lastKeepalive = Date()
        while next < prefixes, !stopped {
            let n = min(1000, prefixes - next)
            var nlri: [UInt8] = []
            nlri.reserveCapacity(n * 4)
            for i in next ..< next + n {
                nlri += [24, UInt8(10 + (i >> 16)), UInt8((i >> 8) & 0xFF), UInt8(i & 0xFF)]
            }
            let origin = UInt32(64512 + (next / 1000) % 1000)
            let asPath: [UInt8] = [2, 2] + be32(localAS) + be32(origin)
            let attrs = attr(0x40, 1, [0]) + attr(0x40, 2, asPath) + attr(0x40, 3, [192, 0, 2, 1])
            try write(fd, update(attrs: attrs, nlri: nlri))
            next += n
            progress.withLock { $0.prefixesSent = next }
            // Read what the speaker sends (keepalives) so its writes never block.
            _ = try read(fd, &splitter, timeoutMs: 0)
            if Date().timeIntervalSince(lastKeepalive) > 1 {
                try write(fd, try BGPMessage.keepalive.encode(context: CodecContext()))
                lastKeepalive = Date()
            }
        }
        if sendEndOfRIB { try write(fd, try BGPMessage.update(.endOfRIB(.ipv4Unicast)).encode(context: CodecContext())) }
        progress.withLock { $0.done = true }
        while !stopped {
            for f in try read(fd, &splitter, timeoutMs: 100) where f[18] == 3 {
                throw Failure(description: "NOTIFICATION from the speaker: \(Hex.encode(f))")
            }
            if Date().timeIntervalSince(lastKeepalive) > 1 {
                try write(fd, try BGPMessage.keepalive.encode(context: CodecContext()))
                lastKeepalive = Date()
            }
        }
        if !abrupt {
            try? write(fd, try BGPMessage.notification(.cease(.administrativeShutdown)).encode(context: CodecContext()))
        }
    }

    private func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }

    private func write(_ fd: Int32, _ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes[off...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            off += n
        }
    }

    private func read(_ fd: Int32, _ splitter: inout BGPFrameSplitter, timeoutMs: Int32) throws -> [[UInt8]] {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, timeoutMs) > 0 else { return [] }
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n == 0 { throw Failure(description: "the speaker closed the connection") }
        if n < 0 { return [] }
        splitter.append(buf[0 ..< n])
        return try splitter.drain()
    }
}

/// Resource bounds against a peer that sends a full table (issue 16): the speaker keeps counts, not routes.
@Suite(.serialized) struct BGPHostilePeerTests {
    static let lo = IPAddress.v4(v4("127.0.0.1"))

    func eventually(_ timeout: Duration = .seconds(30), _ cond: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if try await cond() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await cond()
    }

    /// Resident set size of this process, bytes (/proc/self/statm, second field × page size).
    static func rss() -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let f = s.split(separator: " ")
        return f.count > 1 ? (Int(f[1]) ?? 0) * Int(sysconf(Int32(_SC_PAGESIZE))) : 0
    }

    func passiveConfig(_ policy: ReceivedRoutesPolicy, gr: Bool = false, holdTime: UInt16 = 9) -> BGPPeerConfig {
        var s = BGPSessionConfig(localAS: 65001, peerAS: .fixed(65002), routerID: v4("10.0.0.1"), holdTime: holdTime,
                                 connectRetryTime: .seconds(1), backoff: BackoffPolicy(initial: .milliseconds(200), maximum: .seconds(1)),
                                 passive: true, families: [.ipv4Unicast])
        if gr { s.gracefulRestart = GracefulRestartConfig(restartTime: 30, forwardingStatePreserved: true) }
        return BGPPeerConfig(session: s, peerAddress: Self.lo, receivedRoutes: policy)
    }

    static let tableSize = Int(ProcessInfo.processInfo.environment["BGP_HOSTILE_PREFIXES"] ?? "") ?? 200_000

    /// Sends `tableSize` prefixes to a speaker with `policy`; returns the final status and the RSS growth (bytes).
    func fullTable(_ policy: ReceivedRoutesPolicy) async throws -> (BGPPeerStatus, Int, Duration) {
        let speaker = BGPSpeaker()
        let port = try await speaker.listen(address: Self.lo, port: 0)
        let peer = try await speaker.addPeer(passiveConfig(policy))
        let crafted = CraftedBGPPeer(port: port, prefixes: Self.tableSize)
        let heavy = await HeavyTestLock.acquire()
        defer { heavy.unlock() }
        let rss0 = Self.rss()
        let t0 = ContinuousClock.now
        crafted.start()
        defer { crafted.stop() }
        let counted = try await eventually {
            try await peer.currentStatus().prefixesAnnouncedByPeer == Self.tableSize
        }
        let elapsed = ContinuousClock.now - t0
        let growth = Self.rss() - rss0
        let progressNow = crafted.progress.withLock { $0 }
        let statusNow = try await peer.currentStatus()
        #expect(counted, "\(statusNow) \(progressNow)")
        #expect(crafted.progress.withLock { $0.error } == nil, "\(crafted.progress.withLock { $0 })")
        let status = try await peer.currentStatus()
        await speaker.close()
        return (status, growth, elapsed)
    }

    /// The default keeps no route: the count is there, the Adj-RIB-In stays empty, the session stays up, and the
    /// process grows by far less than the routes would take (measured for docs/BENCHMARKS.md).
    @Test func fullTableIsCountedNotStored() async throws {
        let (status, growth, elapsed) = try await fullTable(.countOnly)
        #expect(status.state == .established)
        #expect(status.establishedCount == 1)
        #expect(status.prefixesAnnouncedByPeer == Self.tableSize)
        #expect(status.prefixesReceived == 0)
        #expect(status.receivedRoutesNotKept == 0)
        #expect(status.lastDown == nil)
        print("BGP hostile: count only, \(Self.tableSize) prefixes counted in \(elapsed), RSS growth \(growth / 1024) KiB")
        // Generous: other suites run in this process at the same time (swift test --parallel); storing the routes
        // costs far more (fullTableWithAMaximumKeepsOnlyThatMany prints it).
        #expect(growth < 48 << 20, "RSS grew by \(growth / 1024) KiB")
    }

    /// With an explicit maximum, the Adj-RIB-In holds that many, the rest is counted, and the session stays up.
    @Test func fullTableWithAMaximumKeepsOnlyThatMany() async throws {
        let (status, growth, elapsed) = try await fullTable(.keep(maximum: 1000))
        #expect(status.state == .established)
        #expect(status.establishedCount == 1)
        #expect(status.prefixesReceived == 1000)
        #expect(status.receivedRoutesNotKept == Self.tableSize - 1000)
        print("BGP hostile: keep up to 1000, \(Self.tableSize) prefixes in \(elapsed), RSS growth \(growth / 1024) KiB")
        if ProcessInfo.processInfo.environment["BGP_HOSTILE_KEEP_ALL"] != nil {
            let (all, allGrowth, allElapsed) = try await fullTable(.keepAll)
            print("BGP hostile: keep all, \(all.prefixesReceived) routes kept in \(allElapsed), RSS growth \(allGrowth / 1024) KiB")
        }
    }

    /// Graceful restart still works on a kept Adj-RIB-In: a peer that vanishes without a NOTIFICATION leaves its
    /// routes as stale; back, it sends fewer routes and End-of-RIB, and the stale rest is purged.
    @Test func gracefulRestartKeepsAndPurgesStaleRoutes() async throws {
        let speaker = BGPSpeaker()
        let port = try await speaker.listen(address: Self.lo, port: 0)
        // Hold time 90 s: under a loaded test run the crafted peer's keepalives can come late, and a hold timer
        // expiry (our NOTIFICATION) would purge the routes this test wants to see kept (CI saw it at 9 s).
        let peer = try await speaker.addPeer(passiveConfig(.keep(maximum: 100), gr: true, holdTime: 90))
        let first = CraftedBGPPeer(port: port, prefixes: 10, gracefulRestart: true)
        first.start()
        #expect(try await eventually { try await peer.adjRIBIn().count == 10 })
        first.stop()   // gone without a NOTIFICATION: a restart
        // The ten routes kept, every one stale (an empty RIB would satisfy "all stale": count them too).
        let kept = try await eventually {
            let rib = try await peer.adjRIBIn()
            let state = try await peer.currentStatus().state
            return rib.count == 10 && rib.allSatisfy(\.stale) && state == .active
        }
        let afterStop = try await peer.currentStatus()
        #expect(kept, "\(afterStop)")
        // (Reconnect once our side listens again: Active, after the IdleHold backoff.)
        let second = CraftedBGPPeer(port: port, prefixes: 4, gracefulRestart: true)
        second.start()
        defer { second.stop() }
        #expect(try await eventually {
            let rib = try await peer.adjRIBIn()
            return rib.count == 4 && rib.allSatisfy { !$0.stale }
        })
        let st = try await peer.currentStatus()
        #expect(st.establishedCount == 2, "\(st) \(second.progress.withLock { $0 })")
        await speaker.close()
    }
}

