#if os(Linux)
import BFD
import BGP
import NetAddress
import Speaker
import Synchronization
import Testing

/// A BGP session on loopback tied to a BFD session: BFD going down takes BGP down at once (RFC 5882 §4.3), long
/// before the 9 s hold time would.
@Suite(.serialized) struct PeerWithBFDTests {
    static let lo = IPAddress.v4(IPv4Address(127, 0, 0, 1))

    func eventually(_ limit: Duration = .seconds(30), _ condition: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + limit
        while ContinuousClock.now < end {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    func config(localAS: UInt32, peerAS: UInt32, id: IPv4Address, passive: Bool, port: Int = 179) -> BGPPeerConfig {
        // Hold time 60 s: the session can only go down within the test's wait by BFD.
        let s = BGPSessionConfig(localAS: localAS, peerAS: .fixed(peerAS), routerID: id, holdTime: 60,
                                 connectRetryTime: .seconds(1), backoff: BackoffPolicy(initial: .milliseconds(200), maximum: .seconds(1)),
                                 passive: passive, families: [.ipv4Unicast])
        return BGPPeerConfig(session: s, peerAddress: Self.lo, peerPort: port, connectTimeout: .seconds(2),
                             defaultNextHopIPv4: IPv4Address(10, 201, 0, 1))
    }

    /// Two BFD endpoints on 127.0.0.1 and 127.0.0.2 with their own ports; retried when a port is taken.
    static func bfdPair() throws -> (BFDEndpoint, BFDEndpoint) {
        var lastError: (any Error)?
        for _ in 0..<20 {
            let portA = Int.random(in: 30001...40000)
            do {
                let a = try BFDEndpoint(localAddress: "127.0.0.1", port: portA, peerPort: portA + 1)
                do {
                    return (a, try BFDEndpoint(localAddress: "127.0.0.2", port: portA + 1, peerPort: portA))
                } catch {
                    lastError = error
                    Task { await a.stop() }
                }
            } catch {
                lastError = error
            }
        }
        throw lastError ?? BFDEndpointError.stopped
    }

    @Test func bfdDownTakesTheSessionDownAtOnce() async throws {
        let passive = BGPSpeaker()
        let active = BGPSpeaker()
        let port = try await passive.listen(address: Self.lo, port: 0)
        _ = try await passive.addPeer(config(localAS: 65001, peerAS: 65002, id: IPv4Address(10, 0, 0, 1), passive: true))
        // The session's events, in order: the test waits for "torn down by BFD, then down", not for a state a poll
        // can miss (the session comes back within milliseconds on loopback: the passive end still listens).
        let events = BGPEvents()
        let ours = try await active.addPeer(config(localAS: 65002, peerAS: 65001, id: IPv4Address(10, 0, 0, 2), passive: false, port: port)) {
            events.append($0)
        }
        let (bfdOurs, bfdTheirs) = try Self.bfdPair()
        // 1 s x 3: a stall of a loaded machine must not expire the detection time before the cut (a session that
        // flapped down before it would not be Up for the AdminDown to take down); the AdminDown acts at once anyway.
        let fast = BFDParameters(receiveInterval: 1000, transmitInterval: 1000)
        let seen = BFDChanges()
        let tied = try await PeerWithBFD(peer: ours, endpoint: bfdOurs, peerAddress: .v4(IPv4Address(127, 0, 0, 2)), parameters: fast) {
            seen.append($0)
        }
        try await bfdTheirs.addSession(peer: "127.0.0.1", parameters: fast)

        #expect(try await eventually {
            let bgp = try await ours.currentStatus().state
            let bfd = await bfdOurs.snapshot(peer: "127.0.0.2")?.state
            // The callback runs after the state is applied: wait for it too, not just the snapshot.
            return bgp == .established && bfd == .up && seen.all.contains { $0.new == .up }
        })

        // The peer's BFD stops (AdminDown, as a router whose BFD is shut): our session goes down now.
        let before = events.count
        await bfdTheirs.stop()
        // pathDown records why (the connection loss itself shows in lastDown as a closed connection), then the
        // session leaves Established.
        #expect(try await eventually(.seconds(30)) { events.pathDownThenDown(after: before) }, "\(events.descriptions(after: before))")
        // pathDown comes first, the callback right after it.
        #expect(try await eventually(.seconds(5)) { seen.all.contains { $0.old == .up && $0.new == .down } })

        await tied.stop()
        #expect(await bfdOurs.snapshot().isEmpty)
        try? await ours.shutdown()
        await bfdOurs.stop()
        await active.close()
        await passive.close()
    }
}

/// A BGP peer's events, from its event loop.
final class BGPEvents: Sendable {
    private let events = Mutex<[BGPPeerEvent]>([])
    func append(_ e: BGPPeerEvent) { events.withLock { $0.append(e) } }
    var count: Int { events.withLock { $0.count } }
    func descriptions(after index: Int) -> [String] { events.withLock { $0.dropFirst(index).map(\.description) } }
    /// A BFD path-down after `index`, and the session going down after it.
    func pathDownThenDown(after index: Int) -> Bool {
        events.withLock { all in
            let tail = Array(all.dropFirst(index))
            guard let p = tail.firstIndex(where: { if case .pathDown(let r) = $0 { r.contains("BFD session down") } else { false } }) else {
                return false
            }
            return tail[p...].contains { if case .down = $0 { true } else { false } }
        }
    }
}

/// The BFD changes a test saw, from any thread.
final class BFDChanges: Sendable {
    private let changes = Mutex<[BFDStateChange]>([])
    func append(_ c: BFDStateChange) { changes.withLock { $0.append(c) } }
    var all: [BFDStateChange] { changes.withLock { $0 } }
}
#endif
