#if os(Linux)
import Foundation
import Glibc
import NIOCore
import NIOPosix
import Synchronization
import Testing
import TestSupport
@testable import BFD

/// A BFD peer written by hand: a UDP socket on 127.0.0.2 (TTL 255) sending control packets built with
/// `BFDControlPacket` to an endpoint on 127.0.0.1, and reading what the endpoint sends back.
final class CraftedBFDPeer: @unchecked Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw TestSetupError(description: "socket: errno \(errno)") }
        var ttl: Int32 = 255
        _ = setsockopt(fd, Int32(IPPROTO_IP), IP_TTL, &ttl, socklen_t(4))
        var bound: Int?
        for _ in 0 ..< 20 {
            let p = Int.random(in: 30001 ... 40000)
            var sa = Self.address("127.0.0.2", p)
            let rc = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            if rc == 0 { bound = p; break }
        }
        guard let bound else { close(fd); throw TestSetupError(description: "no free port on 127.0.0.2") }
        self.fd = fd
        port = bound
    }

    deinit { close(fd) }

    static func address(_ ip: String, _ port: Int) -> sockaddr_in {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = UInt16(port).bigEndian
        sa.sin_addr.s_addr = inet_addr(ip)
        return sa
    }

    func send(_ bytes: [UInt8], to port: Int) {
        var sa = Self.address("127.0.0.1", port)
        _ = withUnsafePointer(to: &sa) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, a, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
    }

    /// Every packet queued now (non-blocking).
    func receiveAll() -> [BFDControlPacket] {
        var out: [BFDControlPacket] = []
        var buf = [UInt8](repeating: 0, count: 512)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n <= 0 { return out }
            if let p = try? BFDControlPacket.decode(buf[0 ..< n]) { out.append(p) }
        }
    }
}

/// Resource bounds against a hostile BFD peer (issue 16).
@Suite("BFD hostile peer", .serialized)
struct BFDHostilePeerTests {
    static func freeEndpoint(peerPort: Int, eventLoop: (any EventLoop)? = nil) throws -> BFDEndpoint {
        var lastError: (any Error)?
        for _ in 0 ..< 20 {
            do {
                return try BFDEndpoint(localAddress: "127.0.0.1", port: Int.random(in: 20000 ... 30000), peerPort: peerPort, eventLoop: eventLoop)
            } catch { lastError = error }
        }
        throw lastError ?? BFDEndpointError.stopped
    }

    /// A peer that polls in every packet, with new random intervals and multiplier each time, 500 packets a second
    /// (50 times what our 100 ms RequiredMinRxInterval allows) for 3 s: the session stays Up, our answers are bounded
    /// (one immediate Final per 50 ms, the rest carried by periodic packets), and the timers follow the last packet's
    /// values exactly (RFC 5880 §6.8.4, §6.8.7).
    @Test func peerChangingParametersInEveryPacket() async throws {
        let heavy = await HeavyTestLock.acquire()
        defer { heavy.unlock() }
        let peer = try CraftedBFDPeer()
        let endpoint = try Self.freeEndpoint(peerPort: peer.port)
        let changes = endpoint.stateChanges()
        let log = Task { () -> [BFDStateChange] in
            var seen: [BFDStateChange] = []
            for await c in changes { seen.append(c) }
            return seen
        }
        let ours = BFDParameters(receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3)
        try await endpoint.addSession(peer: "127.0.0.2", parameters: ours)
        let myDiscriminator: UInt32 = 0x5EED

        // Bring the session up: Down/Init from our side until our discriminator is known and we are Up.
        var theirs: UInt32 = 0
        var up = false
        let bringUpDeadline = ContinuousClock.now + .seconds(20)
        while !up, ContinuousClock.now < bringUpDeadline {
            for p in peer.receiveAll() {
                theirs = p.myDiscriminator
                up = up || p.state == .up
            }
            // Multiplier 10 × 1 s: a stalled test task must not expire the detection time during bring-up.
            let p = BFDControlPacket(state: theirs == 0 ? .down : .`init`, detectMultiplier: 10, myDiscriminator: myDiscriminator,
                                     yourDiscriminator: theirs, desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000)
            peer.send(p.encoded(), to: endpoint.port)
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(up, "the session never came up")

        // The flood, from a thread of its own (not the cooperative pool, which a parallel test run can stall for
        // longer than a detection time). Detection times stay ≥ 5 × 300 ms whatever the random values.
        _ = peer.receiveAll()
        let cpu0 = Self.processCPU()
        let t0 = ContinuousClock.now
        struct FloodResult: Sendable { var sent = 0, polls = 0, received = 0, finals = 0; var maxTx: UInt32 = 0 }
        final class Box: Sendable { let m = Mutex(FloodResult()) }
        let box = Box()
        let port = endpoint.port
        let discriminator = theirs
        let thread = try TestThread.start {
            var rng = SplitMix64(seed: 5880)
            var r = FloodResult()
            let start = ContinuousClock.now
            while ContinuousClock.now - start < .seconds(3) {
                let poll = Int.random(in: 0 ..< 10, using: &rng) < 7
                let p = BFDControlPacket(state: .up, poll: poll, final: Int.random(in: 0 ..< 10, using: &rng) < 2,
                                         detectMultiplier: UInt8.random(in: 5 ... 10, using: &rng),
                                         myDiscriminator: myDiscriminator, yourDiscriminator: discriminator,
                                         desiredMinTxInterval: UInt32.random(in: 300_000 ... 1_000_000, using: &rng),
                                         requiredMinRxInterval: UInt32.random(in: 10_000 ... 1_000_000, using: &rng))
                r.maxTx = max(r.maxTx, p.requiredMinRxInterval)
                peer.send(p.encoded(), to: port)
                r.sent += 1
                if poll { r.polls += 1 }
                for got in peer.receiveAll() {
                    r.received += 1
                    if got.final { r.finals += 1 }
                }
                usleep(2000)
            }
            box.m.withLock { $0 = r }
        }
        try await Task.sleep(for: .milliseconds(1500))
        let midSnapshot = await endpoint.snapshot(peer: "127.0.0.2")
        thread.join()
        var (sent, polls, received, finals, maxTx) = box.m.withLock { ($0.sent, $0.polls, $0.received, $0.finals, $0.maxTx) }
        let flood = ContinuousClock.now - t0
        let cpu = Self.processCPU() - cpu0
        // A last packet with known values: the timers must follow it exactly.
        let last = BFDControlPacket(state: .up, detectMultiplier: 10, myDiscriminator: myDiscriminator, yourDiscriminator: theirs,
                                    desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 200_000)
        peer.send(last.encoded(), to: endpoint.port)
        let settled = await eventually(.seconds(10)) {
            let s = await endpoint.snapshot(peer: "127.0.0.2")
            return s?.transmitInterval == .milliseconds(200) && s?.detectionTime == .seconds(10)
        }
        let settledSnapshot = await endpoint.snapshot(peer: "127.0.0.2")
        #expect(settled, "\(String(describing: settledSnapshot))")
        let snap = try #require(await endpoint.snapshot(peer: "127.0.0.2"))
        for r in peer.receiveAll() {
            received += 1
            if r.final { finals += 1 }
        }
        await endpoint.stop()
        let seen = await log.value
        print("BFD hostile: \(sent) packets (\(polls) polls) in \(flood); we sent \(received) (\(finals) with F), deferred \(snap.finalsDeferred) Finals; process CPU \(cpu)")

        // Never down once Up (the last change before stop's AdminDown is Up).
        let downs = seen.filter { $0.old == .up }
        #expect(downs.allSatisfy { $0.new == .adminDown }, "\(seen)")
        #expect(snap.state == .up)
        #expect(snap.pollActive == false, "we changed nothing, so we never poll")
        #expect(snap.finalsDeferred > 0)
        // Bounded answers: at most one immediate Final per 50 ms, periodic packets at ≥ 75 ms (100 ms minus jitter).
        let seconds = Double(flood.components.seconds) + Double(flood.components.attoseconds) / 1e18 + 1
        let bound = Int(seconds * (1 / 0.05 + 1 / 0.075)) + 5
        #expect(received <= bound, "we sent \(received) packets for \(polls) polls in \(flood)")
        #expect(polls > 3 * received, "the flood polled far more often than we answered")
        if let mid = midSnapshot, mid.state == .up {
            // Our transmit interval is max(our desired TX, the peer's RequiredMinRx): within [100 ms, 1 s].
            #expect(mid.transmitInterval >= .milliseconds(100) && mid.transmitInterval <= .microseconds(Int64(maxTx)))
            #expect(mid.detectionTime.map { $0 >= .milliseconds(1500) && $0 <= .seconds(10) } ?? false)
        }
    }

    /// A flood while the event loop is busy: the reader keeps at most `maximumBacklog` datagrams waiting for the loop
    /// and drops (and counts) the rest, instead of growing the loop's queue without bound.
    @Test func readerBacklogIsBounded() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let peer = try CraftedBFDPeer()
        let endpoint = try Self.freeEndpoint(peerPort: peer.port, eventLoop: group.next())
        let release = DispatchSemaphore(value: 0)
        let blocked = DispatchSemaphore(value: 0)
        group.next().execute {
            blocked.signal()
            release.wait()
        }
        blocked.wait()
        let heavy = await HeavyTestLock.acquire()
        defer { heavy.unlock() }
        let count = 20 * BFDEndpoint.maximumBacklog
        let garbage = [UInt8](repeating: 0xEE, count: 24)
        var sa = CraftedBFDPeer.address("127.0.0.1", endpoint.port)
        for i in 0 ..< count {
            _ = withUnsafePointer(to: &sa) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                    garbage.withUnsafeBytes { sendto(peer.fd, $0.baseAddress, $0.count, 0, a, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            if i % 256 == 255 { usleep(1000) }   // let the reader drain the socket into the backlog
        }
        // The reader has dropped datagrams beyond the backlog (positive signal) before the loop runs again.
        let dropped = await eventually(.seconds(20)) {
            // dropCounters() needs the loop, which is blocked: read the reader's counter directly.
            endpoint.overloadedSoFar > 0
        }
        release.signal()
        #expect(dropped)
        let drops = await endpoint.dropCounters()
        let handled = drops.badTTL + drops.invalid + drops.noSession
        print("BFD backlog: \(count) datagrams sent while the loop was blocked: \(handled) handled, \(drops.overloaded) dropped by the reader")
        #expect(handled <= UInt64(BFDEndpoint.maximumBacklog))
        #expect(drops.overloaded > 0)
        await endpoint.stop()
        try await group.shutdownGracefully()
    }

    static func processCPU() -> Duration {
        var ru = rusage()
        getrusage(RUSAGE_SELF.rawValue, &ru)
        return .seconds(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + .microseconds(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec)
    }
}
#endif
