#if os(Linux)
import Foundation
import Glibc
import Synchronization
import NIOCore
import Testing
@testable import BFD

/// Every state change of an endpoint, stamped when the test saw it.
final class ChangeLog: Sendable {
    final class Storage: Sendable {
        let mutex = Mutex<[(ContinuousClock.Instant, BFDStateChange)]>([])
    }

    private let storage: Storage
    private let task: Task<Void, Never>

    init(_ stream: AsyncStream<BFDStateChange>) {
        let storage = Storage()
        self.storage = storage
        task = Task {
            for await change in stream {
                let now = ContinuousClock.now
                storage.mutex.withLock { $0.append((now, change)) }
                note("\(change)")
            }
        }
    }

    func first(after start: ContinuousClock.Instant, where match: (BFDStateChange) -> Bool) -> (ContinuousClock.Instant, BFDStateChange)? {
        storage.mutex.withLock { list in list.first { $0.0 >= start && match($0.1) } }
    }

    deinit { task.cancel() }
}

/// Progress lines on stderr (unbuffered, so a hung run still shows how far it got).
func note(_ text: String) {
    FileHandle.standardError.write(Data("[bfd-interop] \(text)\n".utf8))
}

/// Polls `condition` every 50 ms until it holds or `limit` passes.
func eventually(_ limit: Duration, _ condition: () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + limit
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return await condition()
}

/// Live tests: our endpoint in one namespace, FRR 8.4 bfdd (or a second endpoint) in the other, a veth between.
/// Deadlines are generous (the machine is a loaded 2-core box); measured times are printed, not asserted tightly.
@Suite("BFD live: namespaces + FRR bfdd", .serialized)
struct InteropTests {
    static func bfddConfig(peer: String, local: String, interval: Int = 100, multiplier: Int = 3) -> String {
        """
        bfd
         peer \(peer) local-address \(local)
          receive-interval \(interval)
          transmit-interval \(interval)
          detect-multiplier \(multiplier)
         !
        !
        """
    }

    /// Our session and FRR's both report Up.
    func bothUp(_ endpoint: BFDEndpoint, _ net: BFDTestNetwork, v6: Bool) async -> Bool {
        let ours = await endpoint.snapshot(peer: v6 ? net.theirV6 : net.theirV4)?.state
        let theirs = net.frrPeer(v6 ? net.ourV6 : net.ourV4)?["status"] as? String
        return ours == .up && theirs == "up"
    }

    func withNetwork(_ body: (BFDTestNetwork) async throws -> Void) async throws {
        if let problem = BFDTestNetwork.requirements() {
            Issue.record(Comment(rawValue: problem))
            return
        }
        let network = try BFDTestNetwork()
        defer { network.destroy() }
        try await body(network)
    }

    @Test func interoperatesWithFRRBfddOverIPv4() async throws {
        try await withNetwork { net in
            try net.startBFDD(config: Self.bfddConfig(peer: net.ourV4, local: net.theirV4))
            let endpoint = try BFDTestNetwork.inNamespace(net.ours) { try BFDEndpoint(localAddress: net.ourV4) }
            #expect(BFD.sourcePortRange.contains(endpoint.sourcePort))
            let log = ChangeLog(endpoint.stateChanges())
            // On the wire, from FRR's side: our packets (RFC 5881 §4/§5).
            let capture = try Capture(namespace: net.theirs, interface: "bff0", filter: "udp and src host \(net.ourV4)",
                                      directory: net.directory)
            defer { capture.stop() }
            do {
                let parameters = BFDParameters(receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3)
                try await endpoint.addSession(peer: net.theirV4, parameters: parameters)

                // 1. Up on both sides, with the negotiated 100 ms timers.
                let up = await eventually(.seconds(30)) { await bothUp(endpoint, net, v6: false) }
                let frr = net.frrPeer(net.ourV4)
                let oursNow = await endpoint.snapshot(peer: net.theirV4)
                #expect(up, "session not Up on both sides: ours \(String(describing: oursNow)), FRR \(String(describing: frr)); bfdd log: \(net.log())")
                guard up else {
                    await endpoint.stop()
                    return
                }
                // Let the post-Up Poll Sequence finish, then check what each side negotiated.
                _ = await eventually(.seconds(5)) { await endpoint.snapshot(peer: net.theirV4)?.pollActive == false }
                let snap = try #require(await endpoint.snapshot(peer: net.theirV4))
                #expect(snap.detectionTime == .milliseconds(300))
                #expect(snap.transmitInterval == .milliseconds(100))
                #expect(snap.remoteDiscriminator == UInt32(exactly: (frr?["id"] as? Int) ?? -1))
                #expect((frr?["remote-id"] as? Int).map(UInt32.init) == snap.localDiscriminator)
                #expect(frr?["remote-receive-interval"] as? Int == 100)
                #expect(frr?["remote-transmit-interval"] as? Int == 100)
                #expect(frr?["remote-detect-multiplier"] as? Int == 3)

                note("phase: 2. Freeze bfdd")
                let ours = capture.stop().compactMap(WireDatagram.init(frame:))
                #expect(!ours.isEmpty, "captured none of our packets")
                for datagram in ours {
                    #expect(datagram.ttl == 255)
                    #expect(datagram.trafficClass == 0xC0)
                    #expect(datagram.destinationPort == 3784)
                    #expect(datagram.sourcePort == endpoint.sourcePort)
                    #expect((try? BFDControlPacket.decode(datagram.payload)) != nil)
                }
                #expect(ours.first.flatMap { try? BFDControlPacket.decode($0.payload) }?.state == .down)
                note("captured \(ours.count) of our packets: TTL 255, TOS 0xC0, \(endpoint.sourcePort) → 3784")

                // 1b. Slow our TX to 200 ms while Up: a Poll Sequence, FRR answers with F and adopts the new value.
                try await endpoint.updateSession(peer: net.theirV4, parameters: BFDParameters(receiveInterval: 100, transmitInterval: 200))
                let adopted = await eventually(.seconds(10)) {
                    let polling = await endpoint.snapshot(peer: net.theirV4)?.pollActive
                    return polling == false && net.frrPeer(net.ourV4)?["remote-transmit-interval"] as? Int == 200
                }
                #expect(adopted, "FRR did not adopt 200 ms: \(String(describing: net.frrPeer(net.ourV4)))")
                #expect(await endpoint.snapshot(peer: net.theirV4)?.transmitInterval == .milliseconds(200))
                #expect(await endpoint.snapshot(peer: net.theirV4)?.state == .up)
                #expect((net.frrPeer(net.ourV4)?["status"] as? String) == "up")
                try await endpoint.updateSession(peer: net.theirV4, parameters: parameters)
                _ = await eventually(.seconds(10)) { net.frrPeer(net.ourV4)?["remote-transmit-interval"] as? Int == 100 }

                // 2. Freeze bfdd: we go Down with "control detection time expired".
                let pid = try #require(net.bfddPID())
                let frozenAt = ContinuousClock.now
                let frozenAtLoopClock = NIODeadline.now()
                kill(pid, SIGSTOP)
                let wentDown = await eventually(.seconds(10)) {
                    log.first(after: frozenAt) { $0.new == .down } != nil
                }
                #expect(wentDown, "no Down within 10 s of SIGSTOP")
                if let (_, change) = log.first(after: frozenAt, where: { $0.new == .down }) {
                    // Both instants on the monotonic clock NIO uses; the change is stamped on the endpoint's loop.
                    let elapsed = change.at - frozenAtLoopClock
                    note("SIGSTOP → our Down: \(Double(elapsed.nanoseconds) / 1e6) ms (detection time 300 ms, 100 ms × 3)")
                    #expect(change.diagnostic == .controlDetectionTimeExpired)
                    #expect(change.old == .up)
                    #expect(elapsed < .seconds(5))
                }

                note("phase: 3. Resume")
                // 3. Resume: both sides come Up again.
                let resumedAt = ContinuousClock.now
                kill(pid, SIGCONT)
                let upAgain = await eventually(.seconds(30)) { await bothUp(endpoint, net, v6: false) }
                #expect(upAgain, "not Up again after SIGCONT: FRR \(String(describing: net.frrPeer(net.ourV4)))")
                if let (when, _) = log.first(after: resumedAt, where: { $0.new == .up }) {
                    note("SIGCONT → our Up: \(when - resumedAt)")
                }

                note("phase: 4. Restart bfdd")
                // 4. Restart bfdd (new discriminator; its first packets carry Your Discriminator 0): Up again.
                try await restart(net)
                let restartedAt = ContinuousClock.now
                let upAfterRestart = await eventually(.seconds(30)) {
                    log.first(after: restartedAt) { $0.new == .up } != nil
                        && (net.frrPeer(net.ourV4)?["status"] as? String) == "up"
                }
                #expect(upAfterRestart, "not Up after bfdd restart: FRR \(String(describing: net.frrPeer(net.ourV4))); bfdd log: \(net.log())")
                let newID = (net.frrPeer(net.ourV4)?["id"] as? Int).map(UInt32.init)
                #expect(await endpoint.snapshot(peer: net.theirV4)?.remoteDiscriminator == newID)

                note("phase: 5. Stop our side")
                // 5. Stop our side: FRR sees Down (our AdminDown, or its detection time).
                let stoppingAt = ContinuousClock.now
                await endpoint.stop()
                note("stop() returned after \(ContinuousClock.now - stoppingAt)")
                let frrDown = await eventually(.seconds(10)) { (net.frrPeer(net.ourV4)?["status"] as? String) == "down" }
                #expect(frrDown, "FRR did not see Down: \(String(describing: net.frrPeer(net.ourV4)))")
                note("our stop → FRR Down observed after \(ContinuousClock.now - stoppingAt); FRR diagnostic: \(net.frrPeer(net.ourV4)?["diagnostic"] ?? "?")")
                // Our AdminDown reached it (not just its detection timer).
                #expect(net.frrPeer(net.ourV4)?["diagnostic"] as? String == "neighbor signaled session down")
            } catch {
                await endpoint.stop()
                throw error
            }
            await endpoint.stop()
        }
    }

    /// Kills the running bfdd and starts a fresh one with the same configuration.
    func restart(_ net: BFDTestNetwork) async throws {
        if let pid = net.bfddPID() {
            kill(pid, SIGKILL)
            _ = await eventually(.seconds(5)) { kill(pid, 0) != 0 }
        }
        // Foreground child: reap it.
        try net.startBFDD(config: Self.bfddConfig(peer: net.ourV4, local: net.theirV4), name: "bfdd2")
    }

    @Test func interoperatesWithFRRBfddOverIPv6() async throws {
        try await withNetwork { net in
            try net.startBFDD(config: Self.bfddConfig(peer: net.ourV6, local: net.theirV6, interval: 300))
            let endpoint = try BFDTestNetwork.inNamespace(net.ours) { try BFDEndpoint(localAddress: net.ourV6) }
            let log = ChangeLog(endpoint.stateChanges())
            do {
                // Passive (§6.1): FRR, active, speaks first.
                try await endpoint.addSession(peer: net.theirV6, interface: "bfa0", parameters: BFDParameters(passiveMode: true))
                let up = await eventually(.seconds(30)) { await bothUp(endpoint, net, v6: true) }
                let oursNow = await endpoint.snapshot(peer: net.theirV6)
                #expect(up, "IPv6 session not Up: ours \(String(describing: oursNow)), FRR \(String(describing: net.frrPeer(net.ourV6))); log \(net.log())")
                let pid = try #require(net.bfddPID())
                let frozenAt = ContinuousClock.now
                let frozenAtLoopClock = NIODeadline.now()
                kill(pid, SIGSTOP)
                let down = await eventually(.seconds(10)) { log.first(after: frozenAt) { $0.new == .down } != nil }
                kill(pid, SIGCONT)
                #expect(down)
                if let (_, change) = log.first(after: frozenAt, where: { $0.new == .down }) {
                    #expect(change.diagnostic == .controlDetectionTimeExpired)
                    note("IPv6 300 ms × 3: SIGSTOP → our Down: \(Double((change.at - frozenAtLoopClock).nanoseconds) / 1e6) ms (detection time 900 ms)")
                }
            } catch {
                await endpoint.stop()
                throw error
            }
            await endpoint.stop()
        }
    }

    /// Two of our endpoints (IPv6): Up, then RFC 5881 §5: a packet with hop limit 254 is dropped, one with 255 is not.
    @Test func ourEndpointsPairAndEnforceTTL255() async throws {
        try await withNetwork { net in
            let a = try BFDTestNetwork.inNamespace(net.ours) { try BFDEndpoint(localAddress: net.ourV6) }
            let b = try BFDTestNetwork.inNamespace(net.theirs) { try BFDEndpoint(localAddress: net.theirV6) }
            let parameters = BFDParameters(receiveInterval: 100, transmitInterval: 100)
            let changesA = ChangeLog(a.stateChanges())
            do {
                try await a.addSession(peer: net.theirV6, parameters: parameters)
                try await b.addSession(peer: net.ourV6, parameters: parameters)
                let up = await eventually(.seconds(20)) {
                    let sideA = await a.snapshot(peer: net.theirV6)?.state
                    let sideB = await b.snapshot(peer: net.ourV6)?.state
                    return sideA == .up && sideB == .up
                }
                #expect(up)
                let snapA = try #require(await a.snapshot(peer: net.theirV6))
                // A forged Down from b's address with the right discriminators would take the session down, were it
                // accepted; with hop limit 254 it must be dropped and counted.
                let forged = BFDControlPacket(state: .down, detectMultiplier: 3, myDiscriminator: snapA.remoteDiscriminator,
                                              yourDiscriminator: snapA.localDiscriminator, desiredMinTxInterval: 1_000_000,
                                              requiredMinRxInterval: 100_000).encoded()
                let before = await a.dropCounters()
                let forgedAt = ContinuousClock.now
                try BFDTestNetwork.inNamespace(net.theirs) {
                    try sendDatagram(forged, to: net.ourV6, port: UInt16(BFD.controlPort), ttl: 254, ipv6: true)
                }
                let counted = await eventually(.seconds(5)) { await a.dropCounters().badTTL > before.badTTL }
                #expect(counted)
                // Follows the positive signal `counted` (the forgery reached the endpoint and was
                // dropped for its TTL); the margin lets a wrongly delivered one show as a Down.
                try? await Task.sleep(for: .milliseconds(300))
                // No Down since: the packet never reached the session. (Not "no change at all": the change log is fed
                // by an async stream, and under load the Init → Up of the bring-up can be logged after forgedAt.)
                #expect(changesA.first(after: forgedAt) { $0.new == .down } == nil)
                #expect(await a.snapshot(peer: net.theirV6)?.state == .up)
                // The same packet with hop limit 255 is accepted: the session goes Down, neighbor signaled.
                try BFDTestNetwork.inNamespace(net.theirs) {
                    try sendDatagram(forged, to: net.ourV6, port: UInt16(BFD.controlPort), ttl: 255, ipv6: true)
                }
                let downed = await eventually(.seconds(5)) {
                    await a.snapshot(peer: net.theirV6)?.lastDownDiagnostic == .neighborSignaledSessionDown
                }
                #expect(downed)
                // Garbage is counted as invalid, not crashing anything.
                try BFDTestNetwork.inNamespace(net.theirs) {
                    try sendDatagram([0x20, 0x40, 0x00, 0x18] + [UInt8](repeating: 0, count: 20), to: net.ourV6,
                                     port: UInt16(BFD.controlPort), ttl: 255, ipv6: true)
                }
                #expect(await eventually(.seconds(5)) { await a.dropCounters().invalid > before.invalid })
                // And the pair recovers.
                #expect(await eventually(.seconds(20)) { await a.snapshot(peer: net.theirV6)?.state == .up })
                // Removing b's session tells a at once (AdminDown → Down, diag 3).
                try await b.removeSession(peer: net.ourV6)
                #expect(await eventually(.seconds(5)) { await a.snapshot(peer: net.theirV6)?.state == .down })
            } catch {
                await a.stop()
                await b.stop()
                throw error
            }
            await a.stop()
            await b.stop()
        }
    }
}
#endif
