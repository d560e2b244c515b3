import Foundation
import Glibc
import Synchronization
import Testing
import NetAddress
@testable import Membership

/// Measures packets/s per node on loopback at 3, 10 and 100 members (figures for docs/membership.md).
///
/// 3 and 10: that many real nodes in this process. 100: one real node and 99 simulated peers (one socket, one thread,
/// each peer sending a genuine signed heartbeat every interval), because 100 real nodes would be 495,000 packets/s on
/// this 2-core machine. The per-node figures are the same either way: what one node sends and receives.
@Suite("Membership load per node", .serialized)
struct MembershipLoadTests {
    static let window: Double = 3

    /// Datagrams per second each way for one node: one per interval to / from every other member.
    static func nominal(_ members: Int) -> Double {
        Double(members - 1) * 1e9 / Double(MembershipConfig().heartbeatInterval.nanoseconds)
    }

    struct Rates: CustomStringConvertible {
        var members: Int
        var sentPerSecond: Double
        var receivedPerSecond: Double
        var bytesOutPerSecond: Double
        var bytesInPerSecond: Double
        var cpuPercent: Double
        var description: String {
            String(format: "members %3d: sent %7.0f pkt/s (%8.0f B/s), received %7.0f pkt/s (%8.0f B/s); nominal %d pkt/s each way; thread CPU %.1f%%",
                   members, sentPerSecond, bytesOutPerSecond, receivedPerSecond, bytesInPerSecond, Int(MembershipLoadTests.nominal(members)), cpuPercent)
        }
    }

    static func measure(_ node: MembershipNode, members: Int) async throws -> Rates {
        let a = node.counters
        let cpu0 = node.threadCPUTime ?? .zero
        let t0 = Date()
        try await Task.sleep(for: .seconds(window))
        let b = node.counters
        let cpu1 = node.threadCPUTime ?? .zero
        let dt = Date().timeIntervalSince(t0)
        // Every heartbeat round sends one datagram to every other member: an exact relation, whatever the timing.
        #expect(b.packetsSent + b.sendErrors == b.heartbeatRounds * UInt64(members - 1))
        #expect(b.sendErrors == 0)
        return Rates(members: members,
                     sentPerSecond: Double(b.packetsSent - a.packetsSent) / dt,
                     receivedPerSecond: Double(b.packetsReceived - a.packetsReceived) / dt,
                     bytesOutPerSecond: Double(b.bytesSent - a.bytesSent) / dt,
                     bytesInPerSecond: Double(b.bytesReceived - a.bytesReceived) / dt,
                     cpuPercent: Double((cpu1 - cpu0).nanoseconds) / 1e9 / dt * 100)
    }

    @Test(arguments: [3, 10])
    func realNodes(count: Int) async throws {
        let names = (0 ..< count).map { "load\($0)" }
        let nodes = try MembershipSocketTests.startNodes(names, host: "127.0.0.1")
        defer { for n in nodes.values { n.stop(graceful: false) } }
        #expect(await MembershipSocketTests.eventually { nodes.values.allSatisfy { $0.aliveSet == Set(names) } })
        let rates = try await Self.measure(try #require(nodes["load0"]), members: count)
        print("membership load (real nodes) \(rates)")
        let nominal = Self.nominal(count)
        #expect(rates.sentPerSecond > nominal * 0.5 && rates.sentPerSecond < nominal * 1.5)
        #expect(rates.receivedPerSecond > nominal * 0.5 && rates.receivedPerSecond < nominal * 1.5)
        #expect(nodes.values.allSatisfy { $0.aliveSet == Set(names) }, "no false suspicion during the window")
    }

    @Test func hundredMembers() async throws {
        let peers = 99
        let sim = try SimulatedPeers(count: peers)
        let node = try MembershipNode(name: "real", bind: try SocketEndpoint(host: "127.0.0.1", port: 0), keyring: keyring())
        try node.start()
        defer { node.stop(graceful: false) }
        var list: [String: SocketEndpoint] = ["real": try #require(node.boundAddress)]
        for n in sim.names { list[n] = sim.address }
        node.setMembers(list)
        sim.start(target: try #require(node.boundAddress))
        defer { sim.stop() }
        #expect(await MembershipSocketTests.eventually { node.aliveSet?.count == peers + 1 })
        let rates = try await Self.measure(node, members: peers + 1)
        print("membership load (1 real node + 99 simulated peers) \(rates)")
        let nominal = Self.nominal(peers + 1)
        #expect(rates.sentPerSecond > nominal * 0.5 && rates.sentPerSecond < nominal * 1.5)
        #expect(rates.receivedPerSecond > nominal * 0.5 && rates.receivedPerSecond < nominal * 1.5)
        #expect(node.aliveSet?.count == peers + 1)
        // Foreign datagrams (other tests on loopback) are unknownSource, unknownSender or badMAC; none of the simulated
        // peers' own may be dropped.
        #expect(node.counters.dropped.filter { ![.unknownSource, .unknownSender, .badMAC].contains($0.key) }.isEmpty)
    }
}

/// 99 peers behind one UDP socket: every heartbeat interval each sends a signed heartbeat to the target; whatever arrives is drained.
final class SimulatedPeers: Sendable {
    let names: [String]
    let address: SocketEndpoint
    private let fd: Int32
    private let running = Atomic<Bool>(false)
    private let started = Atomic<Bool>(false)
    private let done = Mutex<Bool>(false)

    init(count: Int) throws {
        names = (0 ..< count).map { "sim\($0)" }
        let sock = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sock, $0, len) } }
        _ = withUnsafeMutablePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(sock, $0, &len) } }
        fd = sock
        address = try SocketEndpoint(host: "127.0.0.1", port: UInt16(bigEndian: sa.sin_port))
    }

    deinit { close(fd) }

    func start(target: SocketEndpoint) {
        running.store(true, ordering: .relaxed)
        started.store(true, ordering: .relaxed)
        let names = self.names
        let fd = self.fd
        let thread = Thread { [self] in
            // The simulated peers stand for 99 speakers, each with its own prioritised thread: same treatment here.
            _ = ThreadScheduling.apply(.default)
            var dest = sockaddr_in()
            dest.sin_family = sa_family_t(AF_INET)
            dest.sin_port = target.port.bigEndian
            dest.sin_addr.s_addr = inet_addr("127.0.0.1")
            let ring = keyring()
            var seq: UInt64 = 0
            var buffer = [UInt8](repeating: 0, count: 2048)
            var next = MembershipNode.monotonicNow()
            while running.load(ordering: .relaxed) {
                seq += 1
                for n in names {
                    let m = MembershipMessage(kind: .heartbeat, sender: n, incarnation: 1, sequence: seq)
                    guard let bytes = try? MembershipCodec.encode(m, keyring: ring) else { continue }
                    _ = withUnsafePointer(to: &dest) { p in
                        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                            bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, sa, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                        }
                    }
                }
                next = next + MembershipConfig().heartbeatInterval
                // Drain what the real node sent us until the next round is due.
                while true {
                    let now = MembershipNode.monotonicNow()
                    if now >= next { break }
                    var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                    let waitMs = Int32(max(1, (next - now).nanoseconds / 1_000_000))
                    if poll(&pfd, 1, waitMs) > 0 {
                        while buffer.withUnsafeMutableBytes({ recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }) > 0 {}
                    }
                }
            }
            done.withLock { $0 = true }
        }
        thread.start()
    }

    func stop() {
        running.store(false, ordering: .relaxed)
        guard started.load(ordering: .relaxed) else { return }
        while !done.withLock({ $0 }) { usleep(1000) }
    }
}
