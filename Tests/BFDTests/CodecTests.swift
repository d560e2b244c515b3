import Testing
@testable import BFD

/// Decodes hex ("20c0 0318 …"), ignoring spaces.
func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count - 1, by: 2).compactMap { UInt8(String(digits[$0 ... $0 + 1]), radix: 16) }
}

@Suite("BFD control packet codec (RFC 5880 §4.1, §6.8.6)")
struct CodecTests {
    static let sample = BFDControlPacket(
        diagnostic: .controlDetectionTimeExpired, state: .up, poll: true, final: false, detectMultiplier: 3,
        myDiscriminator: 0x1122_3344, yourDiscriminator: 0xA0B0_C0D0, desiredMinTxInterval: 100_000,
        requiredMinRxInterval: 300_000, requiredMinEchoRxInterval: 50_000)

    @Test func encodesFieldsAtTheirOffsets() {
        let bytes = Self.sample.encoded()
        #expect(bytes == hexBytes("21e00318 11223344 a0b0c0d0 000186a0 000493e0 0000c350"))
    }

    @Test(arguments: [BFDState.adminDown, .down, .`init`, .up])
    func roundTripsEveryState(state: BFDState) throws {
        var packet = Self.sample
        packet.state = state
        packet.poll = false
        packet.final = true
        packet.controlPlaneIndependent = true
        packet.diagnostic = .administrativelyDown
        let decoded = try BFDControlPacket.decode(packet.encoded())
        #expect(decoded == packet)
    }

    @Test func roundTripsEveryDiagnosticIncludingReserved() throws {
        for raw in UInt8(0) ... 31 {
            var packet = Self.sample
            packet.diagnostic = BFDDiagnostic(rawValue: raw)
            let decoded = try BFDControlPacket.decode(packet.encoded())
            #expect(decoded.diagnostic.rawValue == raw)
        }
    }

    @Test func acceptsPayloadLongerThanLengthField() throws {
        let decoded = try BFDControlPacket.decode(Self.sample.encoded() + [0xFF, 0xFF])
        #expect(decoded == Self.sample)
    }

    // Each §6.8.6 check, applied to an otherwise valid packet.

    @Test func rejectsTruncatedPacket() {
        #expect(throws: BFDPacketError.truncated(received: 23)) { try BFDControlPacket.decode(Self.sample.encoded().dropLast()) }
        #expect(throws: BFDPacketError.truncated(received: 0)) { try BFDControlPacket.decode([UInt8]()) }
    }

    @Test(arguments: [UInt8(0), 2, 7])
    func rejectsOtherVersions(version: UInt8) {
        var packet = Self.sample
        packet.version = version
        #expect(throws: BFDPacketError.unsupportedVersion(version)) { try BFDControlPacket.decode(packet.encoded()) }
    }

    @Test func rejectsShortLengthField() {
        var packet = Self.sample
        packet.length = 23
        #expect(throws: BFDPacketError.lengthTooShort(length: 23, minimum: 24)) { try BFDControlPacket.decode(packet.encoded()) }
        // With the A bit the minimum is 26 (mandatory section plus the authentication header).
        packet.length = 24
        packet.authenticationPresent = true
        #expect(throws: BFDPacketError.lengthTooShort(length: 24, minimum: 26)) { try BFDControlPacket.decode(packet.encoded()) }
    }

    @Test func rejectsLengthBeyondPayload() {
        var packet = Self.sample
        packet.length = 25
        #expect(throws: BFDPacketError.lengthExceedsPayload(length: 25, payload: 24)) { try BFDControlPacket.decode(packet.encoded()) }
    }

    @Test func rejectsZeroDetectMultiplier() {
        var packet = Self.sample
        packet.detectMultiplier = 0
        #expect(throws: BFDPacketError.zeroDetectMultiplier) { try BFDControlPacket.decode(packet.encoded()) }
    }

    @Test func rejectsMultipointBit() {
        var packet = Self.sample
        packet.multipoint = true
        #expect(throws: BFDPacketError.multipointBitSet) { try BFDControlPacket.decode(packet.encoded()) }
    }

    @Test func rejectsZeroMyDiscriminator() {
        var packet = Self.sample
        packet.myDiscriminator = 0
        #expect(throws: BFDPacketError.zeroMyDiscriminator) { try BFDControlPacket.decode(packet.encoded()) }
    }

    @Test(arguments: [BFDState.adminDown, .down, .`init`, .up])
    func yourDiscriminatorZeroOnlyWhileDown(state: BFDState) throws {
        var packet = Self.sample
        packet.state = state
        packet.yourDiscriminator = 0
        if state == .down || state == .adminDown {
            let decoded = try BFDControlPacket.decode(packet.encoded())
            #expect(decoded.yourDiscriminator == 0)
        } else {
            #expect(throws: BFDPacketError.zeroYourDiscriminator(state: state)) { try BFDControlPacket.decode(packet.encoded()) }
        }
    }

    @Test func rejectsAuthenticationBecauseNoneIsConfigured() {
        var packet = Self.sample
        packet.authenticationPresent = true
        packet.length = 28
        // A Simple Password section: type 1, length 4, key ID 1, one password byte.
        let bytes = packet.encoded() + [1, 4, 1, 0x61]
        #expect(throws: BFDPacketError.authenticationNotSupported) { try BFDControlPacket.decode(bytes) }
    }

    @Test func checksRunInTheRFCOrder() {
        var packet = Self.sample
        packet.version = 0
        packet.detectMultiplier = 0
        packet.multipoint = true
        #expect(throws: BFDPacketError.unsupportedVersion(0)) { try BFDControlPacket.decode(packet.encoded()) }
        packet.version = 1
        #expect(throws: BFDPacketError.zeroDetectMultiplier) { try BFDControlPacket.decode(packet.encoded()) }
        packet.detectMultiplier = 3
        packet.myDiscriminator = 0
        #expect(throws: BFDPacketError.multipointBitSet) { try BFDControlPacket.decode(packet.encoded()) }
    }
}

/// Control packets captured with tcpdump between two FRR 8.4.4 bfdd (Debian bookworm `frr`) in network namespaces:
/// bring-up, the Poll/Final after the session came Up, an interval change (200 ms TX, 250 ms RX) while Up, detection
/// expiry after SIGSTOP, `shutdown` (AdminDown) and the peer's reaction. UDP payloads, in capture order.
@Suite("BFD golden vectors from FRR bfdd")
struct GoldenVectorTests {
    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var hex: String
        var state: BFDState
        var diagnostic: UInt8
        var poll: Bool
        var final: Bool
        var my: UInt32
        var your: UInt32
        var tx: UInt32
        var rx: UInt32
        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "down, slow 1 s while not Up", hex: "2040031855c4f39900000000000f4240000f42400000c350",
               state: .down, diagnostic: 0, poll: false, final: false, my: 0x55C4_F399, your: 0, tx: 1_000_000, rx: 1_000_000),
        Vector(name: "init", hex: "20800318dd56fbe755c4f399000f4240000f42400000c350",
               state: .`init`, diagnostic: 0, poll: false, final: false, my: 0xDD56_FBE7, your: 0x55C4_F399, tx: 1_000_000, rx: 1_000_000),
        Vector(name: "up with poll (faster timers)", hex: "20e0031855c4f399dd56fbe7000186a0000186a00000c350",
               state: .up, diagnostic: 0, poll: true, final: false, my: 0x55C4_F399, your: 0xDD56_FBE7, tx: 100_000, rx: 100_000),
        Vector(name: "up with final", hex: "20d0031855c4f399dd56fbe7000186a0000186a00000c350",
               state: .up, diagnostic: 0, poll: false, final: true, my: 0x55C4_F399, your: 0xDD56_FBE7, tx: 100_000, rx: 100_000),
        Vector(name: "up steady", hex: "20c0031855c4f399dd56fbe7000186a0000186a00000c350",
               state: .up, diagnostic: 0, poll: false, final: false, my: 0x55C4_F399, your: 0xDD56_FBE7, tx: 100_000, rx: 100_000),
        Vector(name: "up, poll for 200/250 ms", hex: "20e00318dd56fbe755c4f39900030d400003d0900000c350",
               state: .up, diagnostic: 0, poll: true, final: false, my: 0xDD56_FBE7, your: 0x55C4_F399, tx: 200_000, rx: 250_000),
        Vector(name: "down, detection time expired", hex: "2140031855c4f39900000000000186a0000186a00000c350",
               state: .down, diagnostic: 1, poll: false, final: false, my: 0x55C4_F399, your: 0, tx: 100_000, rx: 100_000),
        Vector(name: "init, diag kept from the expiry", hex: "21800318dd56fbe755c4f399000f4240000f42400000c350",
               state: .`init`, diagnostic: 1, poll: false, final: false, my: 0xDD56_FBE7, your: 0x55C4_F399, tx: 1_000_000, rx: 1_000_000),
        Vector(name: "admin down (FRR sends diag 0)", hex: "2000031855c4f399dd56fbe7000186a0000186a00000c350",
               state: .adminDown, diagnostic: 0, poll: false, final: false, my: 0x55C4_F399, your: 0xDD56_FBE7, tx: 100_000, rx: 100_000),
        Vector(name: "down, neighbor signaled session down", hex: "23400318dd56fbe70000000000030d400003d0900000c350",
               state: .down, diagnostic: 3, poll: false, final: false, my: 0xDD56_FBE7, your: 0, tx: 200_000, rx: 250_000),
    ]

    @Test(arguments: vectors)
    func decodesAndReencodes(vector: Vector) throws {
        let bytes = hexBytes(vector.hex)
        #expect(bytes.count == 24)
        let packet = try BFDControlPacket.decode(bytes)
        #expect(packet.state == vector.state)
        #expect(packet.diagnostic.rawValue == vector.diagnostic)
        #expect(packet.poll == vector.poll)
        #expect(packet.final == vector.final)
        #expect(packet.detectMultiplier == 3)
        #expect(packet.myDiscriminator == vector.my)
        #expect(packet.yourDiscriminator == vector.your)
        #expect(packet.desiredMinTxInterval == vector.tx)
        #expect(packet.requiredMinRxInterval == vector.rx)
        #expect(packet.requiredMinEchoRxInterval == 50_000)
        #expect(!packet.authenticationPresent && !packet.demand && !packet.controlPlaneIndependent)
        #expect(packet.encoded() == bytes)
    }

    /// Our session answers FRR's captured packets as the RFC says: Down → Init on its Down, Up on its Up, F for its P.
    @Test func sessionFollowsCapturedBringUp() throws {
        var session = BFDSession(localDiscriminator: 0xDD56_FBE7, parameters: BFDParameters(receiveInterval: 100, transmitInterval: 100),
                                 random: SeededRandom(seed: 1))
        _ = session.start(now: at(ms: 0))
        let down = try BFDControlPacket.decode(hexBytes(Self.vectors[0].hex))
        let first = session.receive(down, now: at(ms: 10))
        #expect(first.contains(.stateChanged(from: .down, to: .`init`, diagnostic: .none)))
        let upPoll = try BFDControlPacket.decode(hexBytes(Self.vectors[2].hex))
        let second = session.receive(upPoll, now: at(ms: 20))
        #expect(second.contains(.stateChanged(from: .`init`, to: .up, diagnostic: .none)))
        let finals = second.sentPackets.filter(\.final)
        #expect(finals.count == 1)
        #expect(finals.first?.poll == false)
        #expect(finals.first?.yourDiscriminator == 0x55C4_F399)
    }
}
