#if os(Linux)
import Glibc
import NIOCore
import Testing
@testable import BFD

/// The endpoint on loopback (root namespace, 127.0.0.0/8 only): two endpoints on 127.0.0.1 and 127.0.0.2 with their
/// own random high ports talk to each other. No namespace needed, so these run everywhere.
@Suite("BFD endpoint on loopback")
struct EndpointTests {
    /// Two free-looking ports above the BFD source range's collision zone; retried on EADDRINUSE.
    static func makePair() throws -> (BFDEndpoint, BFDEndpoint) {
        var lastError: (any Error)?
        for _ in 0 ..< 20 {
            let portA = Int.random(in: 20000 ... 30000)
            let portB = portA + 1
            do {
                let a = try BFDEndpoint(localAddress: "127.0.0.1", port: portA, peerPort: portB)
                do {
                    let b = try BFDEndpoint(localAddress: "127.0.0.2", port: portB, peerPort: portA)
                    return (a, b)
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

    @Test func pairComesUpAndStopTellsThePeer() async throws {
        let (a, b) = try Self.makePair()
        #expect(BFD.sourcePortRange.contains(a.sourcePort))
        let changes = b.stateChanges()
        // 200 ms x 3: a stall of the loaded CI machine during bring-up must not expire the
        // detection time (CI once saw a bring-up Down taken for the AdminDown below).
        let fast = BFDParameters(receiveInterval: 200, transmitInterval: 200)
        do {
            try await a.addSession(peer: "127.0.0.2", parameters: fast)
            try await b.addSession(peer: "127.0.0.1", parameters: fast)
            let up = await eventually(.seconds(20)) {
                let sa = await a.snapshot(peer: "127.0.0.2")?.state
                let sb = await b.snapshot(peer: "127.0.0.1")?.state
                return sa == .up && sb == .up
            }
            #expect(up)
            let snap = try #require(await a.snapshot(peer: "127.0.0.2"))
            #expect(snap.packetsSent > 0 && snap.packetsReceived > 0)
            #expect(snap.remoteDiscriminator == (await b.snapshot(peer: "127.0.0.1"))?.localDiscriminator)
            #expect(await a.dropCounters() == BFDDropCounters())

            // Only changes from here on count: a detection-time expiry during bring-up, already
            // recovered from, is not what stop() sends.
            let stopping = NIODeadline.now()
            await a.stop()
            await a.stop() // idempotent
            // Calls after stop fail instead of hanging on a dead event loop.
            await #expect(throws: BFDEndpointError.stopped) { try await a.addSession(peer: "127.0.0.3") }
            #expect(await a.snapshot().isEmpty)
            // b hears our AdminDown: Down with "neighbor signaled session down" at once.
            var sawDown: BFDStateChange?
            for await change in changes where change.new == .down && change.at >= stopping {
                sawDown = change
                break
            }
            #expect(sawDown?.old == .up)
            #expect(sawDown?.diagnostic == .neighborSignaledSessionDown)
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
        await b.stop()
    }

    @Test func rejectsBadRequests() async throws {
        let (a, b) = try Self.makePair()
        do {
            await #expect(throws: BFDEndpointError.invalidAddress("nope")) { try await a.addSession(peer: "nope") }
            await #expect(throws: BFDEndpointError.addressFamilyMismatch(local: "127.0.0.1", peer: "::1")) {
                try await a.addSession(peer: "::1")
            }
            await #expect(throws: BFDEndpointError.invalidParameters(.echoModeNotSupported)) {
                try await a.addSession(peer: "127.0.0.2", parameters: BFDParameters(echoMode: true))
            }
            await #expect(throws: BFDEndpointError.unknownInterface("no-such-if0")) {
                try await a.addSession(peer: "127.0.0.2", interface: "no-such-if0")
            }
            try await a.addSession(peer: "127.0.0.2", interface: "lo")
            await #expect(throws: BFDEndpointError.duplicateSession(peer: "127.0.0.2")) { try await a.addSession(peer: "127.0.0.2") }
            await #expect(throws: BFDEndpointError.unknownSession(peer: "127.0.0.9")) { try await a.removeSession(peer: "127.0.0.9") }
            try await a.removeSession(peer: "127.0.0.2")
            #expect(await a.snapshot().isEmpty)
            #expect(throws: BFDEndpointError.self) { try BFDEndpoint(localAddress: "not-an-address") }
        } catch {
            await a.stop()
            await b.stop()
            throw error
        }
        await a.stop()
        await b.stop()
    }
}
#endif
