import Testing
import TestSupport
import NetAddress
@testable import BGP


/// Mutated peer input must only ever produce a message or a BGPError (never a trap), and whatever decodes must
/// encode again and decode to the same message.
@Suite struct FuzzTests {
    static var seeds: [[UInt8]] {
        Vectors.files.flatMap { Vectors.load($0.name) } + [
            update(attrs: baseAttrs + hex("c0 11 06 02 01 fa56ea01 c0 12 08 fa56ea01 c0000201 40 06 00 c0 63 01 00"), nlri: someNLRI),
            OpenTests.openHexMessage,
        ]
    }

    static func mutate(_ m: [UInt8], _ rng: inout SplitMix64) -> [UInt8] {
        var b = m
        for _ in 0..<Int.random(in: 1...4, using: &rng) {
            guard b.count > 19 else { break }
            let i = Int.random(in: 19..<b.count, using: &rng)
            switch Int.random(in: 0..<6, using: &rng) {
            case 0: b[i] = UInt8.random(in: 0...255, using: &rng)
            case 1: b[i] ^= 1 << UInt8.random(in: 0...7, using: &rng)
            case 2: b.remove(at: i)
            case 3: b.insert(UInt8.random(in: 0...255, using: &rng), at: i)
            case 4: b[i] = [0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF].randomElement(using: &rng) ?? 0
            default: b = Array(b.prefix(i))
            }
        }
        // Mostly keep the header length consistent so the body parsers get exercised.
        if b.count >= 19, Int.random(in: 0..<8, using: &rng) != 0 {
            b[16] = UInt8(truncatingIfNeeded: b.count >> 8)
            b[17] = UInt8(truncatingIfNeeded: b.count)
        }
        return b
    }

    @Test func mutatedMessagesNeverTrap() {
        var rng = SplitMix64(seed: 0x5EED)
        let seeds = Self.seeds
        #expect(seeds.count > 50)
        var decoded = 0, rejected = 0
        for round in 0..<15_000 {
            let m = Self.mutate(seeds[round % seeds.count], &rng)
            for ctx in [CodecContext(fourOctetAS: true), CodecContext(fourOctetAS: false, isInternalPeer: true)] {
                do {
                    let d = try BGPMessage.decode(m, context: ctx)
                    decoded += 1
                    do {
                        let again = try d.message.encode(context: ctx)
                        let back = try BGPMessage.decode(again, context: ctx)
                        #expect(back.message == d.message, "\(Hex.encode(m))")
                    } catch {
                        Issue.record("re-encode failed: \(error) for \(Hex.encode(m))")
                    }
                } catch {
                    rejected += 1
                    #expect(error.notification.code == error.code.rawValue)
                }
            }
            var s = BGPFrameSplitter()
            s.append(m + m)
            _ = try? s.drain()
        }
        #expect(decoded > 1000)
        #expect(rejected > 1000)
    }

    /// Random bodies behind a valid header: every outcome is either a message that survives
    /// encode → decode, or a BGPError whose NOTIFICATION carries its own code; both outcomes
    /// occur for the message decoder, and every type is rejected at least once.
    @Test func randomBytesNeverTrap() {
        var rng = SplitMix64(seed: 42)
        var decoded: [UInt8: Int] = [:], rejected: [UInt8: Int] = [:]
        var bodies = (decoded: 0, rejected: 0)
        func check(_ error: BGPError, _ input: [UInt8]) {
            #expect(error.notification.code == error.code.rawValue, "\(error) for \(Hex.encode(input))")
            #expect(NotificationCode(rawValue: error.notification.code) != nil, "\(error) for \(Hex.encode(input))")
        }
        for _ in 0..<3_000 {
            let type = UInt8.random(in: 1...5, using: &rng)
            let body = (0..<Int.random(in: 0..<80, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let m = frame(type, body)
            do {
                let d = try BGPMessage.decode(m)
                decoded[type, default: 0] += 1
                do {
                    let back = try BGPMessage.decode(try d.message.encode())
                    #expect(back.message == d.message, "\(Hex.encode(m))")
                } catch {
                    Issue.record("re-encode failed: \(error) for \(Hex.encode(m))")
                }
            } catch {
                rejected[type, default: 0] += 1
                check(error, m)
            }
            do {
                _ = try UpdateMessage.decode(body: body[...])
                bodies.decoded += 1
            } catch {
                bodies.rejected += 1
                check(error, body)
            }
            do {
                _ = try OpenMessage.decode(body: body[...])
                bodies.decoded += 1
            } catch {
                bodies.rejected += 1
                check(error, body)
            }
        }
        let summary = "decoded by type \(decoded.sorted { $0.key < $1.key }), rejected by type \(rejected.sorted { $0.key < $1.key }), bodies \(bodies)"
        #expect(decoded.values.reduce(0, +) > 0, "\(summary)")
        for type in UInt8(1)...5 { #expect(rejected[type, default: 0] > 0, "type \(type) never rejected: \(summary)") }
        #expect(bodies.rejected > 0, "\(summary)")
        #expect(decoded.values.reduce(0, +) + rejected.values.reduce(0, +) == 3_000, "\(summary)")
    }
}
