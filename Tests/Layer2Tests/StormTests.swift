#if os(Linux)
import Foundation
import Glibc
import Synchronization
import Testing
import NetAddress
import TestSupport
@testable import Layer2

/// `ReplyRateLimiter` rules with injected time.
@Suite struct ReplyRateLimiterTests {
    static let a = IPAddress("10.254.0.10")!
    static let b = IPAddress("10.254.0.11")!
    static func mac(_ n: UInt64) -> MACAddress {
        MACAddress(rawValue: 0x02_00_00_00_00_00 | n)
    }

    @Test func perRequesterThenPerAddressThenPerInterface() {
        var l = ReplyRateLimiter(limit: ReplyRateLimit(perRequesterPerAddress: 3, perAddress: 5, perInterface: 8, trackedRequesters: 100))
        let t: UInt64 = 5_000_000_000
        // One requester: 3 per IP per second.
        var got: [Bool] = []
        for _ in 0 ..< 5 { got.append(l.allow(requester: Self.mac(1), address: Self.a, now: t)) }
        #expect(got == [true, true, true, false, false])
        // The same requester for another IP has its own budget.
        let other = l.allow(requester: Self.mac(1), address: Self.b, now: t)
        #expect(other)
        // Others for A: 2 more fit the per-IP budget of 5.
        got = []
        for n in 2 ..< 6 { got.append(l.allow(requester: Self.mac(UInt64(n)), address: Self.a, now: t)) }
        #expect(got == [true, true, false, false])
        // B still answered up to the interface budget of 8 (3 + 2 for A, 1 + 2 for B).
        got = []
        for n in 10 ..< 14 { got.append(l.allow(requester: Self.mac(UInt64(n)), address: Self.b, now: t)) }
        #expect(got == [true, true, false, false])
        // A new second: everything again.
        let later = l.allow(requester: Self.mac(1), address: Self.a, now: t + 1_000_000_000)
        #expect(later)
    }

    @Test func trackedRequestersAreBounded() {
        var l = ReplyRateLimiter(limit: ReplyRateLimit(perRequesterPerAddress: 1, perAddress: 1_000_000, perInterface: 1_000_000, trackedRequesters: 50))
        var rng = SplitMix64(seed: 16)
        var allowed = 0
        for _ in 0 ..< 10_000 where l.allow(requester: Self.mac(rng.next() & 0xFFFF_FFFF), address: Self.a, now: 1) { allowed += 1 }
        #expect(l.trackedCount == 50)
        #expect(allowed == 10_000, "untracked requesters fall back to the per-IP and per-interface budgets")
    }
}

/// An ARP/NDP storm against the announcer in a namespace: answers stay within the limits, another owned IP is still
/// answered during the storm, and the reader's CPU is measured (docs/BENCHMARKS.md, "Hostile peers").
@Suite("Layer2 storm", .serialized)
struct Layer2StormTests {
    static let stormed = IPAddress("10.254.0.10")!
    static let stormedV6 = IPAddress("fd00:254::10")!
    static let other = IPAddress("10.254.0.11")!
    static let frames = Int(ProcessInfo.processInfo.environment["L2_STORM_FRAMES"] ?? "") ?? 20_000

    /// CPU time (user + system) of this process's thread named `name`, from /proc (nil if not found).
    static func threadCPU(named name: String) -> Duration? {
        for tid in (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? [] {
            let comm = (try? String(contentsOfFile: "/proc/self/task/\(tid)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            guard comm == name, let stat = try? String(contentsOfFile: "/proc/self/task/\(tid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let f = stat[stat.index(after: close)...].split(separator: " ")
            guard f.count > 13, let u = Int64(f[11]), let s = Int64(f[12]) else { continue }
            return .milliseconds((u + s) * 1000 / Int64(sysconf(Int32(_SC_CLK_TCK))))
        }
        return nil
    }

    @Test func stormIsRateLimitedAndOtherIPsAreAnswered() throws {
        if let problem = TestNetwork.requirements() {
            Issue.record(Comment(rawValue: problem))
            return
        }
        let network = try TestNetwork()
        defer { network.destroy() }
        let limit = ReplyRateLimit()
        let configuration = Announcer.Configuration(announcementRounds: 1, announcementInterval: .milliseconds(100),
                                                    maximumRequestAge: nil, replyRateLimit: limit)
        let announcer = try network.inNode { try Announcer(interfaces: [TestNetwork.nodeInterface], configuration: configuration) }
        defer { announcer.stop() }
        let mac = try #require(announcer.hardwareAddress(of: TestNetwork.nodeInterface))
        announcer.setOwned(ips: [Self.stormed, Self.stormedV6, Self.other])
        #expect(network.arping(Self.other.description, count: 1).macs == [mac])
        let heavy = HeavyTestLock.acquireBlocking()
        defer { heavy.unlock() }
        let before = announcer.totalCounters()
        let cpu0 = Self.threadCPU(named: "l2-" + TestNetwork.nodeInterface)

        // The flooder: a packet socket in the client namespace sending a bounded number of frames as fast as it can:
        // ARP requests for the stormed IP from one MAC and from random MACs, for an unowned IP, and NS for the stormed
        // IPv6 address. Seeded, so every run sends the same frames.
        let started = ContinuousClock.now
        let result = Mutex<Result<(sent: Int, took: Duration), any Error>?>(nil)
        let client = network.client
        let flooder = try TestThread.start {
            let r = Result { try TestNetwork.inNamespace(client) { () throws -> (sent: Int, took: Duration) in
                let socket = try PacketSocket(interface: TestNetwork.clientInterface)
                defer { socket.close() }
                var rng = SplitMix64(seed: 0x5701)
                let fixed = MACAddress("02:00:00:00:be:ef")!
                let t0 = ContinuousClock.now
                var sent = 0
                for i in 0 ..< Self.frames where ContinuousClock.now - t0 < .seconds(20) {
                    let random = MACAddress(bytes: [0x02] + (0 ..< 5).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })!
                    let frame: [UInt8]
                    switch i % 4 {
                    case 0, 1:
                        let from = i % 4 == 0 ? fixed : random
                        frame = EthernetFrame(arp: .request(senderHardwareAddress: from, senderProtocolAddress: IPv4Address("10.254.0.2")!,
                                                            targetProtocolAddress: IPv4Address("10.254.0.10")!),
                                              destination: .broadcast, source: from).encoded(padToMinimum: true)
                    case 2:
                        frame = EthernetFrame(arp: .request(senderHardwareAddress: random, senderProtocolAddress: IPv4Address("10.254.0.2")!,
                                                            targetProtocolAddress: IPv4Address("10.254.0.77")!),
                                              destination: .broadcast, source: random).encoded(padToMinimum: true)
                    default:
                        let target = IPv6Address("fd00:254::10")!
                        let ns = NDPPacket.solicitation(for: target, from: IPv6Address("fd00:254::2")!, sourceLinkLayerAddress: random)
                        frame = EthernetFrame(ndp: ns, destination: MACAddress(ipv6Multicast: target.solicitedNodeMulticast), source: random).encoded()
                    }
                    // A full transmit queue is not the test's business: try the next one.
                    if (try? socket.send(frame)) != nil { sent += 1 }
                }
                return (sent, ContinuousClock.now - t0)
            } }
            result.withLock { $0 = r }
        }
        // During the storm (the reader has seen a good part of it), the other owned IP is answered.
        let deadline = ContinuousClock.now + .seconds(20)
        while announcer.totalCounters().framesReceived - before.framesReceived < Self.frames / 10, ContinuousClock.now < deadline { usleep(2_000) }
        let during = network.arping(Self.other.description, count: 1)
        flooder.join()
        let (sent, took) = try #require(result.withLock { $0 }).get()
        // After the storm: a request queued behind it is answered once the reader got through everything before it.
        #expect(network.arping(Self.other.description, count: 1).macs == [mac], "after the storm")
        let elapsed = ContinuousClock.now - started
        let after = announcer.totalCounters()
        let cpu1 = Self.threadCPU(named: "l2-" + TestNetwork.nodeInterface)
        let received = after.framesReceived - before.framesReceived
        let answered = after.requestsAnswered - before.requestsAnswered
        let limited = after.repliesRateLimited - before.repliesRateLimited
        var cpu: Duration?
        if let cpu0, let cpu1 { cpu = cpu1 - cpu0 }
        print("Layer2 storm: \(sent) frames sent in \(took), \(received) read by the announcer, \(answered) answered, \(limited) rate-limited; reader CPU \(cpu.map { "\($0)" } ?? "?") over \(elapsed)")
        #expect(during.macs == [mac], "another owned IP is answered during the storm: \(during.output)")
        #expect(sent > Self.frames / 2)
        #expect(limited > 0)
        // At most perAddress answers per second for each stormed IP (IPv4 and IPv6), plus the two probes of `other`,
        // over every one-second window the storm touched.
        let windows = Int(elapsed.components.seconds) + 2
        #expect(answered <= windows * 2 * limit.perAddress + 2, "answered \(answered) in \(elapsed)")
    }
}
#endif
