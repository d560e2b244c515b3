import NIOCore
import Testing
import TestSupport
@testable import BFD

/// Deterministic SplitMix64, so jitter is reproducible.
struct SeededRandom: RandomNumberGenerator, Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Test time: an arbitrary origin far from zero plus `ms`.
func at(ms: Int64) -> NIODeadline { .uptimeNanoseconds(1_000_000_000_000 + UInt64(ms * 1_000_000)) }
func at(us: Int64) -> NIODeadline { .uptimeNanoseconds(1_000_000_000_000 + UInt64(us * 1000)) }
func micros(_ deadline: NIODeadline) -> Int64 { (Int64(deadline.uptimeNanoseconds) - 1_000_000_000_000) / 1000 }

extension Array where Element == BFDSession.Action {
    var sentPackets: [BFDControlPacket] {
        compactMap { if case let .send(packet) = $0 { packet } else { nil } }
    }
    var stateChanges: [(BFDState, BFDState, BFDDiagnostic)] {
        compactMap { if case let .stateChanged(from, to, diag) = $0 { (from, to, diag) } else { nil } }
    }
}

/// Two sessions joined by a lossless wire with 1 ms latency, driven by their own deadlines.
struct Wire {
    var a: BFDSession
    var b: BFDSession
    var now: Int64 = 0 // µs
    /// In flight: (arrival µs, to b?, packet).
    var inFlight: [(Int64, Bool, BFDControlPacket)] = []
    var log: [(Int64, String, BFDState, BFDState, BFDDiagnostic)] = []
    var sentByA: [(Int64, BFDControlPacket)] = []
    var sentByB: [(Int64, BFDControlPacket)] = []
    /// Drop everything B sends (B "frozen").
    var bSilent = false

    init(a: BFDParameters, b: BFDParameters) {
        self.a = BFDSession(localDiscriminator: 0xA, parameters: a, random: SeededRandom(seed: 7))
        self.b = BFDSession(localDiscriminator: 0xB, parameters: b, random: SeededRandom(seed: 9))
        let actionsA = self.a.start(now: at(us: 0))
        let actionsB = self.b.start(now: at(us: 0))
        apply(actionsA, fromA: true)
        apply(actionsB, fromA: false)
    }

    mutating func apply(_ actions: [BFDSession.Action], fromA: Bool) {
        for action in actions {
            switch action {
            case let .send(packet):
                if fromA { sentByA.append((now, packet)) } else { sentByB.append((now, packet)) }
                if !fromA && bSilent { continue }
                inFlight.append((now + 1000, fromA, packet))
            case let .stateChanged(from, to, diag):
                log.append((now, fromA ? "a" : "b", from, to, diag))
            }
        }
    }

    /// Advances event by event until `until` µs.
    mutating func run(until end: Int64) {
        while true {
            var next = end
            if let d = a.nextDeadline { next = min(next, max(now, micros(d))) }
            if let d = b.nextDeadline { next = min(next, max(now, micros(d))) }
            if let arrival = inFlight.map(\.0).min() { next = min(next, arrival) }
            now = next
            let due = inFlight.filter { $0.0 <= now }
            inFlight.removeAll { $0.0 <= now }
            for (_, toB, packet) in due {
                if toB { apply(b.receive(packet, now: at(us: now)), fromA: false) } else { apply(a.receive(packet, now: at(us: now)), fromA: true) }
            }
            if let d = a.nextDeadline, micros(d) <= now { apply(a.tick(now: at(us: now)), fromA: true) }
            if let d = b.nextDeadline, micros(d) <= now { apply(b.tick(now: at(us: now)), fromA: false) }
            if now >= end { return }
        }
    }
}

@Suite("BFD session state machine (RFC 5880 §6)")
struct SessionTests {
    static let fast = BFDParameters(receiveInterval: 100, transmitInterval: 100, detectMultiplier: 3)

    @Test func parametersDefaultLikeMetalLB() throws {
        let p = BFDParameters()
        #expect(p.receiveInterval == 300 && p.transmitInterval == 300 && p.detectMultiplier == 3)
        #expect(!p.echoMode && !p.passiveMode && p.minimumTtl == 254)
        try p.validate()
        #expect(throws: BFDParameterError.echoModeNotSupported) { try BFDParameters(echoMode: true).validate() }
        #expect(throws: BFDParameterError.self) { try BFDParameters(receiveInterval: 5).validate() }
        #expect(throws: BFDParameterError.self) { try BFDParameters(detectMultiplier: 1).validate() }
        #expect(throws: BFDParameterError.self) { try BFDParameters(minimumTtl: 255).validate() }
    }

    @Test func bringUpDownInitUp() {
        var s = BFDSession(localDiscriminator: 42, parameters: Self.fast, random: SeededRandom(seed: 1))
        let first = s.start(now: at(ms: 0))
        // The first packet goes out at once: Down, your discriminator 0, slow 1 s TX while not Up (§6.8.3).
        let hello = first.sentPackets.first
        #expect(hello?.state == .down)
        #expect(hello?.yourDiscriminator == 0)
        #expect(hello?.myDiscriminator == 42)
        #expect(hello?.desiredMinTxInterval == 1_000_000)
        #expect(hello?.requiredMinRxInterval == 100_000)

        let peerDown = BFDControlPacket(state: .down, detectMultiplier: 3, myDiscriminator: 7, yourDiscriminator: 0,
                                        desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000)
        let r1 = s.receive(peerDown, now: at(ms: 5))
        #expect(r1.stateChanges.map(\.1) == [.`init`])
        #expect(s.state == .`init`)
        #expect(s.remoteDiscriminator == 7)
        #expect(s.makePacket(final: false).yourDiscriminator == 7)

        var peerInit = peerDown
        peerInit.state = .`init`
        peerInit.yourDiscriminator = 42
        let r2 = s.receive(peerInit, now: at(ms: 10))
        #expect(r2.stateChanges.map(\.1) == [.up])
        #expect(s.state == .up)
        // Going Up speeds TX up to the configured 100 ms, announced with a Poll Sequence.
        #expect(s.desiredMinTxInterval == 100_000)
        #expect(s.pollActive)
        #expect(s.makePacket(final: false).poll)
    }

    @Test func twoSessionsComeUpAndSettle() {
        var wire = Wire(a: Self.fast, b: Self.fast)
        wire.run(until: 5_000_000)
        #expect(wire.a.state == .up && wire.b.state == .up)
        #expect(!wire.a.pollActive && !wire.b.pollActive)
        #expect(wire.a.detectionTime == .milliseconds(300))
        #expect(wire.a.transmitInterval == 100_000)
        // One side went Down → Init → Up, the other Down → Up (or both via Init); none went Down again.
        #expect(!wire.log.contains { $0.3 == .down })
    }

    @Test func detectionExpiryGoesDownWithDiag1() {
        var wire = Wire(a: Self.fast, b: Self.fast)
        wire.run(until: 3_000_000)
        #expect(wire.a.state == .up)
        let silentFrom = wire.now
        wire.bSilent = true
        wire.run(until: 6_000_000)
        let down = wire.log.first { $0.1 == "a" && $0.3 == .down }
        #expect(down != nil)
        #expect(down?.4 == .controlDetectionTimeExpired)
        #expect(wire.a.state == .down)
        #expect(wire.a.localDiagnostic == .controlDetectionTimeExpired)
        // Down exactly one detection time (3 × 100 ms) after the last packet that arrived before B went silent.
        if let down {
            // Arrival at A of the last packet B put on the wire before falling silent.
            let lastArrival = (wire.sentByB.filter { $0.0 <= silentFrom }.map(\.0).max() ?? -1) + 1000
            #expect(down.0 - lastArrival == 300_000)
        }
        // §6.8.1: the remote discriminator is forgotten; §6.8.3: back to slow transmission.
        #expect(wire.a.remoteDiscriminator == 0)
        #expect(wire.a.desiredMinTxInterval == 1_000_000)
    }

    @Test func detectionTimeUsesRemoteMultiplierAndLargerInterval() {
        var s = BFDSession(localDiscriminator: 1, parameters: BFDParameters(receiveInterval: 100, transmitInterval: 100),
                           random: SeededRandom(seed: 2))
        _ = s.start(now: at(ms: 0))
        let peer = BFDControlPacket(state: .down, detectMultiplier: 5, myDiscriminator: 9, yourDiscriminator: 0,
                                    desiredMinTxInterval: 250_000, requiredMinRxInterval: 10_000)
        _ = s.receive(peer, now: at(ms: 1))
        #expect(s.state == .`init`)
        // 5 × max(100 ms, 250 ms) = 1.25 s.
        #expect(s.detectionTime == .milliseconds(1250))
        #expect(s.tick(now: at(ms: 1250)).stateChanges.isEmpty)
        let expired = s.tick(now: at(ms: 1251))
        #expect(expired.stateChanges.map(\.1) == [.down])
        #expect(expired.stateChanges.first?.2 == .controlDetectionTimeExpired)
    }

    @Test(arguments: [BFDState.down, .adminDown])
    func peerSignalsDown(peerState: BFDState) {
        var wire = Wire(a: Self.fast, b: Self.fast)
        wire.run(until: 3_000_000)
        #expect(wire.a.state == .up)
        let packet = BFDControlPacket(diagnostic: peerState == .adminDown ? .administrativelyDown : .none, state: peerState,
                                      detectMultiplier: 3, myDiscriminator: 0xB, yourDiscriminator: 0xA,
                                      desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000)
        let actions = wire.a.receive(packet, now: at(us: wire.now + 10))
        #expect(actions.stateChanges.count == 1)
        #expect(actions.stateChanges.first?.1 == .down)
        #expect(actions.stateChanges.first?.2 == .neighborSignaledSessionDown)
        #expect(wire.a.lastDownDiagnostic == .neighborSignaledSessionDown)
    }

    @Test func administrativelyDownTellsPeerAndIgnoresPackets() {
        var wire = Wire(a: Self.fast, b: Self.fast)
        wire.run(until: 3_000_000)
        let actions = wire.a.setAdministrativelyDown(true, now: at(us: wire.now))
        #expect(actions.stateChanges.first?.1 == .adminDown)
        #expect(actions.stateChanges.first?.2 == .administrativelyDown)
        #expect(actions.sentPackets.first?.state == .adminDown)
        #expect(actions.sentPackets.first?.diagnostic == .administrativelyDown)
        wire.apply(actions, fromA: true)
        wire.run(until: 4_000_000)
        // B went Down (diag 3) and stays there while A is AdminDown; A ignored B's packets.
        #expect(wire.a.state == .adminDown)
        #expect(wire.b.state == .down)
        #expect(wire.b.lastDownDiagnostic == .neighborSignaledSessionDown)
        // Re-enabled, both come back Up.
        wire.apply(wire.a.setAdministrativelyDown(false, now: at(us: wire.now)), fromA: true)
        wire.run(until: 8_000_000)
        #expect(wire.a.state == .up && wire.b.state == .up)
    }

    @Test func passiveSendsNothingUntilPeerSpeaks() {
        var s = BFDSession(localDiscriminator: 3, parameters: BFDParameters(passiveMode: true), random: SeededRandom(seed: 3))
        #expect(s.start(now: at(ms: 0)).isEmpty)
        #expect(s.nextDeadline == nil)
        #expect(s.tick(now: at(ms: 10_000)).isEmpty)
        let peer = BFDControlPacket(state: .down, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 0,
                                    desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 300_000)
        _ = s.receive(peer, now: at(ms: 10_001))
        #expect(s.state == .`init`)
        // Now it answers: a packet is due at once.
        #expect(s.nextDeadline == at(ms: 10_001))
        let sent = s.tick(now: at(ms: 10_001)).sentPackets
        #expect(sent.count == 1)
        #expect(sent.first?.yourDiscriminator == 9)
        // When the peer disappears (detection time 3 s), the passive side forgets it and falls silent again.
        let expired = s.tick(now: at(ms: 13_001))
        #expect(expired.stateChanges.first?.1 == .down)
        #expect(s.remoteDiscriminator == 0)
        #expect(s.nextDeadline == nil)
    }

    @Test func passivePairNeverStarts() {
        let passive = BFDParameters(passiveMode: true)
        var wire = Wire(a: passive, b: passive)
        wire.run(until: 10_000_000)
        #expect(wire.sentByA.isEmpty && wire.sentByB.isEmpty)
        #expect(wire.a.state == .down)
    }

    @Test func activeAndPassiveComeUp() {
        var wire = Wire(a: Self.fast, b: BFDParameters(receiveInterval: 100, transmitInterval: 100, passiveMode: true))
        wire.run(until: 5_000_000)
        #expect(wire.a.state == .up && wire.b.state == .up)
        #expect(wire.sentByB.first!.0 >= wire.sentByA.first!.0 + 1000)
    }

    @Test func pollFinalOnIntervalIncrease() {
        var wire = Wire(a: Self.fast, b: Self.fast)
        wire.run(until: 3_000_000)
        #expect(!wire.a.pollActive)
        // A slows its TX to 500 ms: it announces it with P, and keeps sending every ≤100 ms until B's F arrives.
        wire.a.update(parameters: BFDParameters(receiveInterval: 100, transmitInterval: 500), now: at(us: wire.now))
        #expect(wire.a.pollActive)
        #expect(wire.a.desiredMinTxInterval == 500_000)
        #expect(wire.a.transmitInterval == 100_000)
        let changeAt = wire.now
        wire.run(until: changeAt + 150_000)
        let polls = wire.sentByA.filter { $0.0 >= changeAt && $0.1.poll }
        #expect(!polls.isEmpty)
        #expect(polls.allSatisfy { $0.1.desiredMinTxInterval == 500_000 })
        let finals = wire.sentByB.filter { $0.0 >= changeAt && $0.1.final }
        #expect(!finals.isEmpty)
        #expect(finals.allSatisfy { !$0.1.poll })
        wire.run(until: changeAt + 3_000_000)
        #expect(!wire.a.pollActive)
        #expect(wire.a.transmitInterval == 500_000)
        // B's detection time follows A's slower TX: 3 × 500 ms.
        #expect(wire.b.detectionTime == .milliseconds(1500))
        let late = wire.sentByA.filter { $0.0 > changeAt + 1_000_000 }.map(\.0)
        let gaps = zip(late.dropFirst(), late).map { $0 - $1 }
        #expect(!gaps.isEmpty)
        #expect(gaps.allSatisfy { $0 >= 375_000 && $0 <= 500_000 })
        #expect(wire.a.state == .up && wire.b.state == .up)
        #expect(!wire.log.contains { $0.0 > changeAt })
    }

    @Test func reducedReceiveIntervalWaitsForFinal() {
        var s = BFDSession(localDiscriminator: 1, parameters: BFDParameters(receiveInterval: 300, transmitInterval: 100),
                           random: SeededRandom(seed: 4))
        _ = s.start(now: at(ms: 0))
        var peer = BFDControlPacket(state: .`init`, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 1,
                                    desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000)
        _ = s.receive(peer, now: at(ms: 1))
        #expect(s.state == .up)
        peer.state = .up
        peer.final = true
        _ = s.receive(peer, now: at(ms: 2))
        #expect(!s.pollActive)
        #expect(s.detectionTime == .milliseconds(900))
        s.update(parameters: BFDParameters(receiveInterval: 100, transmitInterval: 100), now: at(ms: 3))
        #expect(s.pollActive)
        #expect(s.requiredMinRxInterval == 100_000)
        // §6.8.3: the old, longer RX interval still governs detection until the Final.
        peer.final = false
        _ = s.receive(peer, now: at(ms: 4))
        #expect(s.detectionTime == .milliseconds(900))
        peer.final = true
        _ = s.receive(peer, now: at(ms: 5))
        #expect(!s.pollActive)
        #expect(s.detectionTime == .milliseconds(300))
    }

    @Test func slowRateWhileDown() {
        var s = BFDSession(localDiscriminator: 5, parameters: Self.fast, random: SeededRandom(seed: 5))
        var times: [Int64] = []
        var actions = s.start(now: at(ms: 0))
        var now: Int64 = 0
        while times.count < 20 {
            if !actions.sentPackets.isEmpty {
                #expect(actions.sentPackets.allSatisfy { $0.desiredMinTxInterval == 1_000_000 && $0.state == .down })
                times.append(now)
            }
            guard let next = s.nextDeadline else { break }
            now = micros(next)
            actions = s.tick(now: next)
        }
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        #expect(gaps.count == 19)
        #expect(gaps.allSatisfy { $0 >= 750_000 && $0 <= 1_000_000 })
    }

    @Test(arguments: [UInt8(3), 1])
    func jitterBounds(multiplier: UInt8) {
        // Up with a 100 ms TX; the peer asks for nothing slower.
        var s = BFDSession(localDiscriminator: 1, parameters: BFDParameters(receiveInterval: 100, transmitInterval: 100,
                                                                              detectMultiplier: multiplier),
                           random: SeededRandom(seed: UInt64(multiplier)))
        _ = s.start(now: at(ms: 0))
        let peer = BFDControlPacket(state: .`init`, final: true, detectMultiplier: 255, myDiscriminator: 9, yourDiscriminator: 1,
                                    desiredMinTxInterval: 100_000, requiredMinRxInterval: 100_000)
        _ = s.receive(peer, now: at(ms: 1))
        var last: Int64?
        var gaps: [Int64] = []
        var now = at(ms: 1)
        while gaps.count < 2000 {
            guard let next = s.nextDeadline else { break }
            now = next
            // Keep the session alive and the poll answered.
            var alive = peer
            alive.state = .up
            _ = s.receive(alive, now: now)
            let sent = s.tick(now: now).sentPackets
            if !sent.isEmpty {
                if let last { gaps.append(micros(now) - last) }
                last = micros(now)
            }
        }
        let upper: Int64 = multiplier == 1 ? 90_000 : 100_000
        #expect(gaps.count == 2000)
        #expect(gaps.allSatisfy { $0 >= 75_000 && $0 <= upper })
        // Spread over the whole window, not a constant.
        #expect(gaps.min()! < 76_000)
        #expect(gaps.max()! > upper - 1_000)
    }

    @Test func noPeriodicPacketsWhenPeerRequiresZeroRx() {
        var s = BFDSession(localDiscriminator: 1, parameters: Self.fast, random: SeededRandom(seed: 6))
        _ = s.start(now: at(ms: 0))
        let peer = BFDControlPacket(state: .down, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 0,
                                    desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 0)
        _ = s.receive(peer, now: at(ms: 1))
        #expect(s.tick(now: at(ms: 2000)).sentPackets.isEmpty)
        // Only the detection deadline remains.
        #expect(s.nextDeadline == at(ms: 3001))
    }

    @Test func ignoresPacketForAnotherDiscriminator() {
        var s = BFDSession(localDiscriminator: 1, parameters: Self.fast, random: SeededRandom(seed: 6))
        _ = s.start(now: at(ms: 0))
        let stray = BFDControlPacket(state: .`init`, detectMultiplier: 3, myDiscriminator: 9, yourDiscriminator: 2,
                                     desiredMinTxInterval: 1_000_000, requiredMinRxInterval: 100_000)
        #expect(s.receive(stray, now: at(ms: 1)).isEmpty)
        #expect(s.packetsReceived == 0 && s.remoteDiscriminator == 0)
    }

    @Test func snapshotReportsNegotiatedValues() {
        var wire = Wire(a: BFDParameters(receiveInterval: 200, transmitInterval: 100),
                        b: BFDParameters(receiveInterval: 300, transmitInterval: 150, detectMultiplier: 4))
        wire.run(until: 6_000_000)
        let snap = wire.a.snapshot(peer: "10.0.0.2", now: at(us: wire.now))
        #expect(snap.state == .up && snap.remoteState == .up)
        // TX = max(100, peer RX 300); RX = max(200, peer TX 150); detection = 4 × 200 ms.
        #expect(snap.transmitInterval == .milliseconds(300))
        #expect(snap.receiveInterval == .milliseconds(200))
        #expect(snap.detectionTime == .milliseconds(800))
        #expect(snap.localDiscriminator == 0xA && snap.remoteDiscriminator == 0xB)
        #expect(snap.packetsSent > 10 && snap.packetsReceived > 10)
        #expect((snap.uptime ?? .zero) > .zero)
    }
}
