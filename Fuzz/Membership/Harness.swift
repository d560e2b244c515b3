// libFuzzer target for the membership wire format and failure detector (Sources/Membership without the socket and
// thread shell), built by `hack/fuzz membership`. Compiled together with the pure Membership files (and
// Fuzz/Common/Support.swift) as one module, linked against swift-crypto's Crypto built by SwiftPM.
//
// Octet 0 picks the mode (low two bits):
//   0  wire:     the rest is one received datagram, checked with the right key, a rotating keyring and a wrong key.
//                Only a datagram carrying a valid HMAC gets past the MAC check (the seeds have valid ones).
//   1  signed:   the rest is a datagram body; the harness appends the correct HMAC-SHA256, so every input reaches
//                the decoder behind the MAC check. Decoded messages go through a round trip and one state machine.
//   2, 3 script: the rest drives a state machine through a sequence of events (datagrams crafted from fuzzer fields
//                and signed, raw signed or unsigned datagrams, ticks, readiness, member-list changes, replays).
// Decode errors and drops are expected; a trap, a hang, a leak or a broken invariant is a bug, reported by
// `require` aborting so libFuzzer saves the input.

#if canImport(NetAddress)
import NetAddress
#endif

let fuzzTargetName = "Membership"

/// The key of Tests/MembershipTests (32 octets), so seeds and unit tests share datagrams.
let keyBytes = Array("0123456789abcdef0123456789abcdef".utf8)
let otherKeyBytes = Array("fedcba9876543210fedcba9876543210".utf8)
let ring = try! MembershipKeyring(primary: keyBytes)
/// Signs with another key and still accepts ours (a rotation in progress).
let rotatingRing = try! MembershipKeyring(primary: otherKeyBytes, additional: [keyBytes])
let wrongRing = try! MembershipKeyring(primary: otherKeyBytes)

/// We are `node-a`; `node-b`…`node-e` are the other members; `node-z` is a stranger.
let localName = "node-a"
let peerNames = ["node-b", "node-c", "node-d", "node-e"]
let allNames = [localName] + peerNames + ["node-z"]
let allIDs = allNames.map { MemberID(name: $0) }
let peerAddresses = (0 ..< peerNames.count).map { SocketEndpoint(address: .v4(IPv4Address(192, 0, 2, UInt8($0 + 2))), port: 7946) }

// MARK: - Codec

/// Why a datagram must be dropped before the MAC is even looked at, or nil if the MAC decides.
func preMACReason(_ d: [UInt8]) -> DropReason? {
    if d.count < MembershipCodec.fixedHeaderLength + 1 + MembershipCodec.macLength { return .truncated }
    if d[0] != 0x53 || d[1] != 0x4D { return .badMagic }
    if d[2] != Membership.wireVersion { return .unsupportedVersion }
    return nil
}

func decodeResult(_ d: [UInt8], _ r: MembershipKeyring) -> Result<MembershipMessage, MembershipDecodeError> {
    do { return .success(try MembershipCodec.decode(d, keyring: r)) } catch { return .failure(error) }
}

/// Checks one received datagram against the codec's rules; returns the message if it decodes with our key.
@discardableResult
func checkDatagram(_ d: [UInt8], input: [UInt8]) -> MembershipMessage? {
    let result = decodeResult(d, ring)
    let macValid = d.count >= MembershipCodec.macLength
        && ring.sign(d.dropLast(MembershipCodec.macLength)) == Array(d.suffix(MembershipCodec.macLength))
    switch result {
    case .failure(let e):
        _ = e.description
        if let early = preMACReason(d) {
            require(e.reason == early, "dropped as \(e) instead of \(early)", input)
        } else if !macValid {
            require(e.reason == .badMAC, "forged datagram dropped as \(e), not badMAC", input)
        } else {
            require(e.reason == .unknownKind || e.reason == .malformed, "authenticated datagram dropped as \(e)", input)
        }
    case .success(let m):
        require(preMACReason(d) == nil && macValid, "accepted a datagram whose MAC does not verify", input)
        checkRoundTrip(m, d, input: input)
    }
    // A keyring that also accepts our key decides alike; a keyring without it accepts nothing.
    let rotated = decodeResult(d, rotatingRing)
    switch (result, rotated) {
    case (.success(let a), .success(let b)): require(a == b, "rotating keyring decodes \(b), ours \(a)", input)
    case (.failure(let a), .failure(let b)): require(a.reason == b.reason, "rotating keyring drops as \(b), ours as \(a)", input)
    default: require(false, "rotating keyring disagrees: \(rotated) vs \(result)", input)
    }
    switch decodeResult(d, wrongRing) {
    case .success(let m): require(false, "accepted with the wrong key: \(m)", input)
    case .failure(let e): require(e.reason == (preMACReason(d) ?? .badMAC), "wrong key dropped as \(e)", input)
    }
    if case .success(let m) = result { return m }
    return nil
}

/// A decoded message encodes again, within one datagram, and decodes to itself (lists beyond the 60-entry cap are
/// cut by the encoder by design); with lists within the cap the octets are exactly the ones received.
func checkRoundTrip(_ m: MembershipMessage, _ d: [UInt8], input: [UInt8]) {
    require(!m.sender.isEmpty && m.sender.utf8.count <= MembershipCodec.maxNameLength, "decoded sender \(m.sender)", input)
    if m.kind == .leave { require(m.missing.isEmpty && m.evidence.isEmpty, "leave with lists", input) }
    let wire: [UInt8]
    do {
        wire = try MembershipCodec.encode(m, keyring: ring)
    } catch {
        return require(false, "decoded message does not encode: \(error)", input)
    }
    require(wire.count <= 1388, "encoding of \(wire.count) octets exceeds one datagram", input)
    var capped = m
    capped.missing = Array(m.missing.prefix(MembershipCodec.maxListEntries))
    capped.evidence = Array(m.evidence.prefix(MembershipCodec.maxListEntries))
    require((try? MembershipCodec.decode(wire, keyring: ring)) == capped, "round trip changed \(m)", input)
    if capped == m { require(wire == d, "re-encoding differs: \(fuzzHex(wire))", input) }
    _ = m.missing.map(\.description)
}

// MARK: - State machine driver

struct Driver {
    var machine: MembershipStateMachine
    var now: MonotonicTime
    let input: [UInt8]
    /// Members currently in the list, and readiness as we set it.
    var members: Set<String> = Set(peerNames)
    var ready: [String: Bool] = [:]
    /// What the shell has been told (the last published alive set), nil before the first view settles.
    var published: Set<String>?
    /// Our own sends: the last sequence number (must grow: peers drop anything else as a replay).
    var lastSentSequence: UInt64 = 0
    /// Accepted (incarnation, sequence) per sender and when its last datagram was accepted; an accepted pair must
    /// never be accepted again while the machine can still remember it.
    var accepted: [String: Set<[UInt64]>] = [:]
    var lastAcceptedAt: [String: MonotonicTime] = [:]
    var lastAcceptedDatagram: [UInt8]?
    /// Per sender, the incarnation and sequence the harness's honest peers use.
    var peerIncarnation: [String: UInt64] = [:]
    var peerSequence: [String: UInt64] = [:]

    init?(config: MembershipConfig, input: [UInt8]) {
        now = MonotonicTime(nanoseconds: 1_000_000_000_000)
        guard let m = try? MembershipStateMachine(config: config, name: localName, incarnation: 1_000, keyring: ring, now: now) else {
            return nil
        }
        machine = m
        self.input = input
    }

    var addresses: [String: SocketEndpoint] {
        var list: [String: SocketEndpoint] = [:]
        for (i, n) in peerNames.enumerated() where members.contains(n) { list[n] = peerAddresses[i] }
        return list
    }

    mutating func start() {
        apply(machine.setMembers(addresses, now: now), after: "setMembers")
    }

    /// Checks and records what the machine asked the shell to do.
    mutating func apply(_ actions: [MembershipAction], after what: String) {
        for a in actions {
            switch a {
            case .send(let bytes, let to):
                let m: MembershipMessage
                do { m = try MembershipCodec.decode(bytes, keyring: ring) } catch {
                    return require(false, "we sent a datagram we cannot decode (\(error)) after \(what)", input)
                }
                require(m.sender == localName && m.incarnation == machine.incarnation, "we sent as \(m.sender)/\(m.incarnation)", input)
                require(m.sequence > lastSentSequence, "our sequence \(m.sequence) after \(lastSentSequence): peers drop it as a replay", input)
                lastSentSequence = m.sequence
                require(bytes.count <= 1388, "we sent \(bytes.count) octets", input)
                require(m.missing.count <= MembershipCodec.maxListEntries && m.evidence.count <= MembershipCodec.maxListEntries, "lists over the cap", input)
                let expected = addresses.sorted { $0.key < $1.key }.map(\.value)
                require(to == expected, "sent to \(to), members are \(expected)", input)
                require(!to.isEmpty, "a datagram to nobody", input)
            case .aliveSetChanged(let c):
                checkChange(c, after: what)
            case .memberRestarted(let n):
                require(members.contains(n), "restart of non-member \(n)", input)
            }
        }
        if machine.settled {
            require(published == machine.aliveSet, "the shell was told \(published.map { "\($0.sorted())" } ?? "nothing"), the machine has \(machine.aliveSet.sorted()) after \(what)", input)
        } else {
            require(published == nil, "published before settling", input)
        }
        for n in peerNames { require((machine.status(of: n) != nil) == members.contains(n), "status of \(n) out of step with the list", input) }
    }

    mutating func checkChange(_ c: AliveSetChange, after what: String) {
        require(c.at == now, "change stamped \(c.at), now is \(now)", input)
        require(c.alive.isSubset(of: members.union([localName])), "alive set \(c.alive.sorted()) has non-members", input)
        require(c.alive.contains(localName) == (ready[localName] != false), "our own liveness \(c.alive.contains(localName)) with readiness \(String(describing: ready[localName]))", input)
        for (n, r) in ready where r == false { require(!c.alive.contains(n), "\(n) alive while not ready", input) }
        if let before = published {
            require(c.alive == before.union(c.added.keys).subtracting(c.removed.keys), "change \(c) does not lead from \(before.sorted())", input)
            require(Set(c.added.keys).isDisjoint(with: before) && Set(c.removed.keys).isSubset(of: before), "change \(c) from \(before.sorted())", input)
            require(c.alive != before, "empty change published after \(what)", input)
            require(!c.added.values.contains(.settled), "settled reason after settling", input)
        } else {
            require(c.removed.isEmpty && Set(c.added.keys) == c.alive && c.added.values.allSatisfy { $0 == .settled }, "first view \(c)", input)
        }
        published = c.alive
    }

    mutating func deliver(_ datagram: [UInt8]) {
        let decoded = try? MembershipCodec.decode(datagram, keyring: ring)
        let result = machine.receive(datagram, now: now)
        switch result {
        case .failure(let e):
            _ = e.description
            if let m = decoded {
                if m.sender == localName { require(e.reason == .fromSelf, "own name dropped as \(e)", input) }
                else if !members.contains(m.sender) { require(e.reason == .unknownSender, "stranger dropped as \(e)", input) }
                else { require([.staleIncarnation, .replayedSequence, .afterLeave].contains(e.reason), "member's datagram dropped as \(e)", input) }
            }
            apply([], after: "a dropped datagram")
        case .success(let actions):
            guard let m = decoded else { return require(false, "the machine accepted what the codec rejects", input) }
            require(members.contains(m.sender) && m.sender != localName, "accepted from \(m.sender)", input)
            let key = [m.incarnation, m.sequence]
            require(!(accepted[m.sender]?.contains(key) ?? false), "accepted \(m.sender) incarnation \(m.incarnation) sequence \(m.sequence) twice", input)
            accepted[m.sender, default: []].insert(key)
            lastAcceptedAt[m.sender] = now
            lastAcceptedDatagram = datagram
            apply(actions, after: "receiving \(m.kind) from \(m.sender)")
            if m.kind == .leave { require(!machine.aliveSet.contains(m.sender), "\(m.sender) still alive after it left", input) }
            // The same datagram again is a replay, whatever else happened.
            if case .success = machine.receive(datagram, now: now) { require(false, "the same datagram was accepted twice", input) }
            apply([], after: "a replay")
        }
    }

    /// Advances the clock (µs) and runs the timer as the shell would.
    mutating func advance(by nanoseconds: Int64) {
        now = now + .nanoseconds(nanoseconds)
        // The machine may forget a silent sender's sequence numbers after forgetAfter (a restart with an older clock).
        for (n, t) in lastAcceptedAt where now - t >= machine.config.forgetAfter { accepted[n] = nil }
    }

    mutating func tick() {
        apply(machine.tick(now: now), after: "tick")
        require(machine.nextDeadline > now, "after tick(now: \(now)) the next deadline is \(machine.nextDeadline): the shell would spin", input)
    }

    /// A datagram from `sender` with fields from the fuzzer, signed with our key.
    mutating func craft(kind: MembershipMessage.Kind, sender: String, r: inout FuzzReader) -> [UInt8] {
        let mode = r.u8()
        var incarnation = peerIncarnation[sender] ?? 1
        switch mode & 3 {
        case 0: break
        case 1: incarnation &+= 1; peerSequence[sender] = 0
        case 2: incarnation &-= 1
        default: incarnation = r.u64()
        }
        peerIncarnation[sender] = incarnation
        var sequence = peerSequence[sender] ?? 0
        switch (mode >> 2) & 3 {
        case 0: sequence &+= 1
        case 1: sequence &-= UInt64(r.u8() % 70)
        case 2: sequence &+= UInt64(r.u8())
        default: sequence = r.u64()
        }
        peerSequence[sender] = max(peerSequence[sender] ?? 0, sequence)
        var message = MembershipMessage(kind: kind, sender: sender, incarnation: incarnation, sequence: sequence)
        if kind == .heartbeat {
            func id(_ b: UInt8, _ r: inout FuzzReader) -> MemberID {
                b < 0xF0 ? allIDs[Int(b) % allIDs.count] : MemberID(rawValue: r.u64())
            }
            for _ in 0 ..< Int(mode >> 4 & 3) * 3 { message.missing.append(id(r.u8(), &r)) }
            for _ in 0 ..< Int(mode >> 6) * 3 {
                let member = id(r.u8(), &r)
                message.evidence.append(Evidence(member: member, ageMilliseconds: r.u16()))
            }
        }
        guard let bytes = try? MembershipCodec.encode(message, keyring: ring) else {
            require(false, "cannot encode \(message)", input)
            return []
        }
        return bytes
    }
}

/// A valid configuration from two fuzzer octets (the default when they make an invalid one).
func config(_ r: inout FuzzReader) -> MembershipConfig {
    let a = r.u8(), b = r.u8()
    var c = MembershipConfig(heartbeatInterval: .milliseconds(Int64(1 + a % 40)), timeout: .milliseconds(Int64(1 + a % 40) * Int64(2 + b % 16)))
    c.riseCount = 1 + Int(b >> 4 & 3)
    c.indirectEvidence = b & 0x40 == 0
    c.leaveRepeats = Int(a >> 6)
    c.forgetAfter = c.timeout * (b & 0x80 == 0 ? 2 : 40)
    c.standbySlack = .nanoseconds(1)
    return (try? c.validate()) != nil ? c : MembershipConfig()
}

func runScript(_ bytes: [UInt8]) {
    var r = FuzzReader(bytes)
    let cfg = config(&r)
    guard var d = Driver(config: cfg, input: bytes) else { return require(false, "valid config \(cfg) rejected", bytes) }
    d.start()
    var steps = 0
    while !r.isAtEnd && steps < 400 {
        steps += 1
        let op = r.u8()
        let who = allNames[Int(op >> 4) % allNames.count]
        switch op & 0x0F {
        case 0, 1, 2:
            d.deliver(d.craft(kind: .heartbeat, sender: who, r: &r))
        case 3:
            d.deliver(d.craft(kind: .leave, sender: who, r: &r))
        case 4:
            let body = r.chunk()
            d.deliver(body + ring.sign(body))
        case 5:
            d.deliver(r.chunk())
        case 6, 7:
            d.advance(by: Int64(r.u16()) * 10_000)   // 0 to 655 ms
            d.tick()
        case 8:
            // The timer fires at the deadline the machine asked for.
            let deadline = d.machine.nextDeadline
            if deadline > d.now { d.advance(by: deadline.nanoseconds - d.now.nanoseconds) }
            d.tick()
        case 9:
            d.advance(by: Int64(r.u16()) * 1_000_000)   // up to 65 s: forgetting, stalls
            d.tick()
        case 10:
            let v = r.u8() % 3
            let value: Bool? = v == 0 ? nil : v == 1
            d.ready[who] = value
            d.apply(d.machine.setReady(who, value, now: d.now), after: "setReady(\(who), \(String(describing: value)))")
        case 11:
            let mask = r.u8()
            let before = d.members
            d.members = Set(peerNames.enumerated().filter { mask >> $0.offset & 1 != 0 }.map(\.element))
            for gone in before.subtracting(d.members) { d.accepted[gone] = nil; d.lastAcceptedAt[gone] = nil }
            d.apply(d.machine.setMembers(d.addresses, now: d.now), after: "setMembers(\(d.members.sorted()))")
        case 12:
            // A replay of the last accepted datagram, later (deliver checks it is not accepted twice).
            if let last = d.lastAcceptedDatagram { d.deliver(last) }
        case 13:
            let actions = d.machine.leave()
            require(actions.count == (d.members.isEmpty ? 0 : cfg.leaveRepeats), "\(actions.count) leave datagrams", bytes)
            d.apply(actions, after: "leave()")
        default:
            _ = d.machine.status(of: who)
            _ = d.machine.memberNames
        }
    }
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func membershipFuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let mode = data[0] & 3
    let rest = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    switch mode {
    case 0:
        checkDatagram(rest, input: rest)
    case 1:
        let datagram = rest + ring.sign(rest)
        if let m = checkDatagram(datagram, input: rest) {
            // One datagram into a fresh machine that knows every peer.
            guard var d = Driver(config: MembershipConfig(), input: rest) else { return 0 }
            d.start()
            d.deliver(datagram)
            _ = m
        }
    default:
        runScript(rest)
    }
    return 0
}
