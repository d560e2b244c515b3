import Foundation
import Glibc
import Synchronization
import Testing
import NetAddress
import TestSupport
@testable import Membership

/// A flood of forged datagrams at one node while 3 real nodes run (issue 16): wrong keys, broken MACs, garbage, replays
/// of real members' names with other keys. Nobody is ever suspected, and the flooded node's CPU is measured. Twice:
/// from an address that is no member's (dropped before any MAC is computed), and from a member's own address, as a
/// forger who spoofs it (only the per-address budget reaches the MAC check, the rest is dropped unverified).
@Suite("Membership flood", .serialized)
struct MembershipFloodTests {
    static let datagrams = Int(ProcessInfo.processInfo.environment["MEMBERSHIP_FLOOD_DATAGRAMS"] ?? "") ?? 50_000
    /// Datagrams per second (0: as fast as the flooder can).
    static let rate = Int(ProcessInfo.processInfo.environment["MEMBERSHIP_FLOOD_RATE"] ?? "") ?? 25_000
    static let maxDuration: Duration = .seconds(4)

    /// The forged datagrams, seeded: a quarter each of random garbage, valid-looking heartbeats in real members' names
    /// signed with another key, the same with one MAC bit flipped… signed with the right key (tampered), and messages
    /// with the right magic and version but random rest.
    static func forgeries(names: [String], count: Int) throws -> [[UInt8]] {
        var rng = SplitMix64(seed: 0xF100D)
        let wrong = try keyring(otherKey)
        let right = try keyring(testKey)
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        for i in 0 ..< count {
            let name = names[Int(rng.next() % UInt64(names.count))]
            let message = MembershipMessage(kind: .heartbeat, sender: name, incarnation: rng.next(), sequence: rng.next())
            switch i % 4 {
            case 0:
                out.append((0 ..< Int(rng.next() % 200 + 1)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
            case 1:
                out.append(try MembershipCodec.encode(message, keyring: wrong))
            case 2:
                var b = try MembershipCodec.encode(message, keyring: right)
                b[b.count - 1 - Int(rng.next() % 32)] ^= 1 << UInt8(rng.next() % 8)
                out.append(b)
            default:
                out.append([0x53, 0x4D, 1] + (0 ..< Int(rng.next() % 120 + 40)).map { _ in UInt8.random(in: 0 ... 255, using: &rng) })
            }
        }
        return out
    }

    @Test(arguments: [false, true]) func forgedFloodNeverChangesTheAliveSet(fromAMembersAddress: Bool) async throws {
        let names = ["fl0", "fl1", "fl2"]
        let nodes = try MembershipSocketTests.startNodes(names, host: "127.0.0.1")
        defer { for n in nodes.values { n.stop(graceful: false) } }
        let target = try #require(nodes["fl0"])

        // The flooder: another address on loopback. Spoofing a member: the flooder's address is configured as the
        // address of member "fl3" (which never runs), exactly what a forger who can spoof a member's source achieves.
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        #expect(fd >= 0)
        defer { close(fd) }
        var src = sockaddr_in()
        src.sin_family = sa_family_t(AF_INET)
        src.sin_addr.s_addr = inet_addr("127.0.0.9")
        _ = withUnsafePointer(to: &src) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if fromAMembersAddress {
            var bound = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
            var list = try Dictionary(uniqueKeysWithValues: nodes.map { ($0.key, try #require($0.value.boundAddress)) })
            list["fl3"] = try SocketEndpoint(host: "127.0.0.9", port: UInt16(bigEndian: bound.sin_port))
            for node in nodes.values { node.setMembers(list) }
        }
        #expect(await MembershipSocketTests.eventually { nodes.values.allSatisfy { $0.aliveSet == Set(names) } })

        // Every change from here on is a failure.
        final class Log: Sendable { let m = Mutex<[String]>([]) }
        let log = Log()
        var readers: [Task<Void, Never>] = []
        for (name, node) in nodes {
            let stream = node.changes()
            readers.append(Task { [name] in
                var first = true
                for await update in stream {
                    if first { first = false; continue }   // the current set
                    log.m.withLock { $0.append("\(name): \(update.change)") }
                }
            })
        }
        let forged = try Self.forgeries(names: names, count: Self.datagrams)
        let port = try #require(target.boundAddress).port

        var dst = sockaddr_in()
        dst.sin_family = sa_family_t(AF_INET)
        dst.sin_port = port.bigEndian
        dst.sin_addr.s_addr = inet_addr("127.0.0.1")

        let heavy = await HeavyTestLock.acquire()
        defer { heavy.unlock() }
        let before = target.counters
        let peerBefore = nodes["fl1"]!.counters
        let cpu0 = target.threadCPUTime ?? .zero
        let t0 = ContinuousClock.now
        var sent = 0
        for d in forged where ContinuousClock.now - t0 < Self.maxDuration {
            let rc = withUnsafePointer(to: &dst) { p in
                p.withMemoryRebound(to: sockaddr.self, capacity: 1) { a in
                    d.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, a, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
            }
            if rc > 0 { sent += 1 }
            // Paced in bursts of 100 (a whole interval's worth at once, the harder case for the receiver).
            if Self.rate > 0, sent % 100 == 0 {
                let due = t0 + .nanoseconds(Int64(sent) * 1_000_000_000 / Int64(Self.rate))
                if ContinuousClock.now < due { try await Task.sleep(until: due, clock: .continuous) }
            }
        }
        let took = ContinuousClock.now - t0
        // Positive signals after the flood: the target read the flood's tail (its drops stop growing only once the
        // queue is empty, so wait for real heartbeats read after it), and it still hears and is heard by its peers.
        func accepted() -> UInt64 { let c = target.counters; return c.packetsReceived - c.droppedTotal }
        let acceptedAtEnd = accepted()
        #expect(await MembershipSocketTests.eventually(20) { accepted() >= acceptedAtEnd + 200 })
        let cpu = (target.threadCPUTime ?? .zero) - cpu0
        let after = target.counters
        let dropped = after.droppedTotal - before.droppedTotal
        let received = after.packetsReceived - before.packetsReceived
        let byReason = after.dropped.filter { ($0.value - (before.dropped[$0.key] ?? 0)) > 0 }
            .map { "\($0.key)=\($0.value - (before.dropped[$0.key] ?? 0))" }.sorted().joined(separator: " ")
        let seconds = Double(took.components.seconds) + Double(took.components.attoseconds) / 1e18
        print("Membership flood (\(fromAMembersAddress ? "from a member's address" : "from elsewhere")): \(sent) forged datagrams sent in \(took) (\(Int(Double(sent) / seconds))/s); target read \(received), dropped \(dropped) (\(byReason)), heartbeat rounds \(after.heartbeatRounds - before.heartbeatRounds); target thread CPU \(cpu); peer fl1 read \(nodes["fl1"]!.counters.packetsReceived - peerBefore.packetsReceived)")
        for r in readers { r.cancel() }
        #expect(log.m.withLock { $0 }.isEmpty, "\(log.m.withLock { $0 })")
        for node in nodes.values { #expect(node.aliveSet == Set(names)) }
        #expect(sent > Self.datagrams / 10)
        #expect(dropped > 0)
        let delta = { (r: DropReason) in (after.dropped[r] ?? 0) - (before.dropped[r] ?? 0) }
        if fromAMembersAddress {
            // At most the budget reached the MAC check: one second's burst plus the rate over the time the flood took
            // (generously: the time until the test read the counters), and the rest was dropped unverified.
            let verified = dropped - delta(.sourceOverBudget)
            let elapsed = ContinuousClock.now - t0
            let budget = Double(target.config.sourceRatePerSecond) * (1 + Double(elapsed.components.seconds + 1))
            #expect(Double(verified) <= budget, "verified \(verified) of \(dropped) in \(elapsed)")
            #expect(delta(.sourceOverBudget) > 0)
            #expect(delta(.unknownSource) == 0)
        } else {
            // Nothing from elsewhere reached the MAC check.
            #expect(delta(.unknownSource) == UInt64(sent), "\(byReason)")
        }
        // The target kept sending its heartbeats on time through the flood: one round per interval (10 ms), and its
        // peers kept accepting them (no suspicion above).
        #expect(Double(after.heartbeatRounds - before.heartbeatRounds) >= seconds * 100 * 0.5)
    }
}

