// libFuzzer target for BFD control packets and the session state machine (Sources/BFD without the UDP endpoint
// and sockets), built by `hack/fuzz bfd`. Compiled together with the pure BFD files (and Fuzz/Common/Support.swift)
// as one module, linked against swift-nio's NIOCore (for NIODeadline) built by SwiftPM.
//
// Octet 0, bit 0 picks the mode:
//   0  packet: the rest is one UDP payload. The decoder's verdict is compared with the RFC 5880 §6.8.6 checks
//      done here on the raw octets; a decoded packet goes through a round trip and into a session.
//   1  script: the rest drives two sessions, ours (A) and an honest peer (B), through events: packets from the
//      fuzzer (raw or from fields), the peers' own packets with loss, timer expiries, time jumps, AdminDown and
//      profile changes. Every packet a session sends and every state change it reports is checked.
// A trap, a hang, a leak or a broken invariant is a bug, reported by `require` aborting so libFuzzer saves the input.

import NIOCore
#if canImport(NetAddress)
import NetAddress
#endif

let fuzzTargetName = "BFD"

/// Deterministic jitter (libFuzzer needs an input to behave the same every time).
struct SplitMix: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Packet mode

func word(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
}

/// RFC 5880 §6.8.6, the checks that need no session, in the RFC's order, on the raw octets.
func expectedVerdict(_ b: [UInt8]) -> BFDPacketError? {
    guard b.count >= 24 else { return .truncated(received: b.count) }
    let version = b[0] >> 5, state = BFDState(rawValue: b[1] >> 6)!, auth = b[1] & 0x04 != 0, length = b[3]
    if version != 1 { return .unsupportedVersion(version) }
    let minimum = auth ? 26 : 24
    if Int(length) < minimum { return .lengthTooShort(length: length, minimum: minimum) }
    if Int(length) > b.count { return .lengthExceedsPayload(length: length, payload: b.count) }
    if b[2] == 0 { return .zeroDetectMultiplier }
    if b[1] & 0x01 != 0 { return .multipointBitSet }
    if word(b, 4) == 0 { return .zeroMyDiscriminator }
    if word(b, 8) == 0, state != .down, state != .adminDown { return .zeroYourDiscriminator(state: state) }
    if auth { return .authenticationNotSupported }
    return nil
}

func checkPacket(_ b: [UInt8]) {
    let result: Result<BFDControlPacket, BFDPacketError>
    do { result = .success(try BFDControlPacket.decode(b)) } catch { result = .failure(error) }
    switch (result, expectedVerdict(b)) {
    case (.failure(let e), let expected):
        require(e == expected, "decoder says \(e), RFC 5880 §6.8.6 says \(expected.map { "\($0)" } ?? "accept")", b)
        _ = e.description
        // What the decoder refuses from an ArraySlice it refuses from an Array alike.
        require((try? BFDControlPacket.decode(b[...])) == nil, "slice decodes what the array does not", b)
    case (.success(let p), let expected):
        require(expected == nil, "decoder accepts what RFC 5880 §6.8.6 discards (\(expected!))", b)
        // The mandatory section re-encodes octet for octet; with the rest of the Length it decodes alike.
        let wire = p.encoded()
        require(wire == Array(b.prefix(24)), "re-encodes as \(fuzzHex(wire))", b)
        let back = try? BFDControlPacket.decode(wire + b[24 ..< Int(p.length)])
        require(back == p, "round trip changed \(p) into \(String(describing: back))", b)
        require((try? BFDControlPacket.decode(b[...])) == p, "slice decodes differently", b)
        _ = "\(p.state) \(p.diagnostic)"
        // Into a session that is the addressee (or has not learnt the peer yet), in every state.
        for admin in [false, true] {
            var s = Checked(name: "A", local: p.yourDiscriminator == 0 ? 1 : p.yourDiscriminator,
                            parameters: BFDParameters(), seed: UInt64(b.count), input: b)
            var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
            s.start(now: now)
            if admin { s.setAdminDown(true, now: now) }
            s.receive(p, now: now)
            now = now + .milliseconds(5)
            s.receive(p, now: now)
            if let d = s.session.nextDeadline { s.tick(now: max(d, now)) }
        }
    }
}

// MARK: - A session with its invariants

/// A session plus what the harness knows it should look like from outside.
struct Checked {
    let name: String
    var session: BFDSession
    let input: [UInt8]
    var state: BFDState = .down
    var started = false
    /// A Poll whose Final was deferred to the next periodic packet (the session's rate limit on immediate Finals).
    var owesFinal = false

    init(name: String, local: UInt32, parameters: BFDParameters, seed: UInt64, input: [UInt8]) {
        self.name = name
        session = BFDSession(localDiscriminator: local, parameters: parameters, random: SplitMix(state: seed))
        self.input = input
    }

    /// The packets sent, after checking every action.
    @discardableResult
    mutating func check(_ actions: [BFDSession.Action], event: String, allowed: (BFDState, BFDState, BFDDiagnostic) -> Bool,
                        now: NIODeadline) -> [BFDControlPacket] {
        var sent: [BFDControlPacket] = []
        for a in actions {
            switch a {
            case .stateChanged(let from, let to, let diag):
                require(from == state, "\(name): change from \(from) but the state was \(state) (\(event))", input)
                require(from != to, "\(name): change \(from) → \(to) (\(event))", input)
                require(allowed(from, to, diag), "\(name): \(from) → \(to) (\(diag)) is not what RFC 5880 allows on \(event)", input)
                state = to
            case .send(let p):
                sent.append(p)
                require(p.myDiscriminator == session.localDiscriminator && p.myDiscriminator != 0, "\(name): sent My Discriminator \(p.myDiscriminator)", input)
                require(!(p.poll && p.final), "\(name): sent P and F together (§6.8.7) on \(event)", input)
                require(p.state == state, "\(name): sent state \(p.state) while \(state)", input)
                require(p.detectMultiplier == session.parameters.detectMultiplier, "\(name): sent multiplier \(p.detectMultiplier)", input)
                require(p.requiredMinRxInterval == session.parameters.receiveInterval * 1000, "\(name): sent Required Min RX \(p.requiredMinRxInterval)", input)
                require(p.requiredMinEchoRxInterval == 0 && !p.demand && !p.authenticationPresent, "\(name): sent echo/demand/auth", input)
                if p.state != .up { require(p.desiredMinTxInterval >= 1_000_000, "\(name): Desired Min TX \(p.desiredMinTxInterval) µs while \(p.state) (§6.8.3: at least 1 s)", input) }
                // The peer runs the §6.8.6 checks: what we send must pass them (and ours).
                let wire = p.encoded()
                require(wire.count == 24 && (try? BFDControlPacket.decode(wire)) == p, "\(name): sent \(fuzzHex(wire)), which the peer discards: \(expectedVerdict(wire).map { "\($0)" } ?? "?")", input)
            }
        }
        require(session.state == state, "\(name): state \(session.state), changes said \(state)", input)
        if state == .`init` || state == .up {
            require(session.nextDeadline != nil, "\(name): \(state) without a timer: a dead peer would never be detected", input)
        }
        _ = session.snapshot(peer: name, now: now)
        _ = session.transmitInterval
        _ = session.detectionTime
        return sent
    }

    mutating func start(now: NIODeadline) {
        started = true
        let actions = session.start(now: now)
        check(actions, event: "start", allowed: { _, _, _ in false }, now: now)
        afterTimer(now: now)
    }

    @discardableResult
    mutating func receive(_ p: BFDControlPacket, now: NIODeadline) -> [BFDControlPacket] {
        let before = state
        let deferredBefore = session.finalsDeferred
        let addressedToUs = p.yourDiscriminator == 0 || p.yourDiscriminator == session.localDiscriminator
        let actions = session.receive(p, now: now)
        // RFC 5880 §6.8.6 state table (AdminDown received: Down with diag 3; AdminDown here: discard).
        let sent = check(actions, event: "receiving \(p.state)", allowed: { from, to, diag in
            switch (from, to) {
            case (.down, .`init`): return p.state == .down
            case (.down, .up): return p.state == .`init`
            case (.`init`, .up): return p.state == .`init` || p.state == .up
            case (.up, .down): return (p.state == .down || p.state == .adminDown) && diag == .neighborSignaledSessionDown
            case (.`init`, .down): return p.state == .adminDown && diag == .neighborSignaledSessionDown
            default: return false
            }
        }, now: now)
        if !addressedToUs {
            require(actions.isEmpty, "\(name): acted on a packet for discriminator \(p.yourDiscriminator)", input)
        } else if p.poll && before != .adminDown {
            // §6.8.7: a Poll is answered at once with F (and without P), or, when an immediate Final went out less
            // than half RequiredMinRxInterval ago (the flood limit), by the next periodic packet.
            let answered = sent.contains { $0.final && !$0.poll }
            require(answered || session.finalsDeferred == deferredBefore + 1, "\(name): Poll neither answered with Final nor deferred", input)
            owesFinal = !answered
        }
        if addressedToUs && before == .adminDown { require(actions.isEmpty, "\(name): acted on a packet while AdminDown", input) }
        return sent
    }

    @discardableResult
    mutating func tick(now: NIODeadline) -> [BFDControlPacket] {
        let actions = session.tick(now: now)
        let sent = check(actions, event: "tick", allowed: { from, to, diag in
            (from == .up || from == .`init`) && to == .down && diag == .controlDetectionTimeExpired
        }, now: now)
        // §6.5: a deferred Final rides on the next periodic packet.
        if owesFinal, let first = sent.first {
            require(first.final, "\(name): the periodic packet after a deferred Poll carries no Final", input)
            owesFinal = false
        }
        afterTimer(now: now)
        return sent
    }

    /// The shell arms one timer for `nextDeadline`: it must lie ahead, or the shell would spin.
    func afterTimer(now: NIODeadline) {
        if let d = session.nextDeadline {
            require(d > now, "\(name): after tick(now: \(now.uptimeNanoseconds)) the next deadline is \(d.uptimeNanoseconds): the timer would spin", input)
        }
    }

    @discardableResult
    mutating func setAdminDown(_ down: Bool, now: NIODeadline) -> [BFDControlPacket] {
        let actions = session.setAdministrativelyDown(down, now: now)
        return check(actions, event: "setAdministrativelyDown(\(down))", allowed: { from, to, diag in
            down ? (to == .adminDown && diag == .administrativelyDown) : (from == .adminDown && to == .down)
        }, now: now)
    }

    mutating func update(_ parameters: BFDParameters, now: NIODeadline) {
        session.update(parameters: parameters, now: now)
        check([], event: "update", allowed: { _, _, _ in false }, now: now)
    }
}

// MARK: - Script mode

/// Valid profile values (the endpoint validates BFDProfile before a session sees it).
func parameters(_ r: inout FuzzReader) -> BFDParameters {
    let table: [UInt32] = [10, 50, 100, 300, 1000, 60000]
    func interval(_ r: inout FuzzReader) -> UInt32 {
        let b = r.u8()
        return b < 0xC0 ? table[Int(b) % table.count] : 10 + UInt32(r.u16()) % 59991
    }
    let rx = interval(&r), tx = interval(&r), flags = r.u8()
    let p = BFDParameters(receiveInterval: rx, transmitInterval: tx, detectMultiplier: max(2, flags >> 1),
                          passiveMode: flags & 1 != 0)
    return (try? p.validate()) != nil ? p : BFDParameters()
}

func runScript(_ bytes: [UInt8]) {
    var r = FuzzReader(bytes)
    let discA: UInt32 = 0xDD56_FBE7, discB: UInt32 = 0x55C4_F399   // the FRR captures' discriminators
    var a = Checked(name: "A", local: discA, parameters: parameters(&r), seed: 1, input: bytes)
    var b = Checked(name: "B", local: discB, parameters: parameters(&r), seed: 2, input: bytes)
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    var toB: [BFDControlPacket] = [], toA: [BFDControlPacket] = []
    a.start(now: now)
    b.start(now: now)
    var steps = 0
    while !r.isAtEnd && steps < 500 {
        steps += 1
        let op = r.u8()
        switch op & 0x0F {
        case 0:
            // A raw payload from the network.
            if let p = try? BFDControlPacket.decode(r.chunk()) { toB += a.receive(p, now: now) }
        case 1, 2:
            // A packet from fields: a spoofed or confused peer.
            let states: [BFDState] = [.adminDown, .down, .`init`, .up]
            let f = r.u8()
            let my = f & 0x10 != 0 ? discB : r.u32()
            let your: UInt32 = f & 0x20 != 0 ? discA : (f & 0x40 != 0 ? 0 : r.u32())
            let tables: [UInt32] = [0, 1, 10_000, 100_000, 1_000_000, 60_000_000]
            func interval(_ r: inout FuzzReader) -> UInt32 { let x = r.u8(); return x < 0xC0 ? tables[Int(x) % tables.count] : r.u32() }
            var p = BFDControlPacket(diagnostic: BFDDiagnostic(rawValue: r.u8()), state: states[Int(f & 3)], poll: f & 4 != 0, final: f & 8 != 0,
                                     detectMultiplier: max(1, r.u8()), myDiscriminator: my, yourDiscriminator: your,
                                     desiredMinTxInterval: interval(&r), requiredMinRxInterval: interval(&r))
            p.controlPlaneIndependent = f & 0x80 != 0
            if let q = try? BFDControlPacket.decode(p.encoded()) {
                require(q == p, "field-built packet changed in transit", bytes)
                toB += a.receive(q, now: now)
            }
        case 3, 4:
            // Time passes by up to 6.5 s; both timers run.
            now = now + .microseconds(Int64(r.u16()) * 100)
            toB += a.tick(now: now)
            toA += b.tick(now: now)
        case 5, 6:
            // The earlier of the two timers fires.
            let deadlines = [a.session.nextDeadline, b.session.nextDeadline].compactMap { $0 }
            if let d = deadlines.min(), d > now { now = d }
            toB += a.tick(now: now)
            toA += b.tick(now: now)
        case 7:
            // A long silence (up to 18 h): detection, rescheduling after a stall.
            now = now + .seconds(Int64(r.u16()))
            toB += a.tick(now: now)
            toA += b.tick(now: now)
        case 8, 9, 10:
            // The network delivers what is in flight, dropping packets whose bit in the mask is set.
            let mask = r.u8()
            for (i, p) in toB.enumerated() where mask >> (i % 8) & 1 == 0 { toA += b.receive(p, now: now) }
            toB = []
            for (i, p) in toA.enumerated() where mask >> (i % 8) & 1 == 0 { toB += a.receive(p, now: now) }
            toA = []
        case 11:
            let down = r.bool()
            if op & 0x10 != 0 { toB += a.setAdminDown(down, now: now) } else { toA += b.setAdminDown(down, now: now) }
        case 12:
            let p = parameters(&r)
            if op & 0x10 != 0 { a.update(p, now: now) } else { b.update(p, now: now) }
        case 13:
            // A replayed or duplicated packet in flight.
            if let p = toB.last { toB.append(p) }
            if let p = toA.first { toA.append(p) }
        default:
            _ = a.session.snapshot(peer: "a", now: now)
            _ = b.session.snapshot(peer: "b", now: now)
        }
        if toA.count > 64 { toA.removeFirst(toA.count - 64) }
        if toB.count > 64 { toB.removeFirst(toB.count - 64) }
    }
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func bfdFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    if data[0] & 1 == 0 { checkPacket(rest) } else { runScript(rest) }
    return 0
}
