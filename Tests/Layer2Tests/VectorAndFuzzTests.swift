import Testing
import TestSupport
import NetAddress
@testable import Layer2

@Suite("Vectors and robustness")
struct VectorAndFuzzTests {
    @Test func everyVectorRecordsItsProvenanceAndDecodes() throws {
        let names = try Vectors.all()
        #expect(names.count >= 20)
        for name in names {
            let comments = try Vectors.comments(name)
            #expect(comments.contains { $0.contains("tcpdump -nn -e -v:") }, "\(name) lacks the tcpdump decode")
            #expect(comments.count >= 3, "\(name) lacks a capture description")
            let bytes = try Vectors.load(name)
            let frame = try Layer2Frame(decoding: bytes)
            // Every captured frame re-encodes to itself at the Ethernet layer.
            #expect(frame.ethernet.encoded() == bytes, "\(name)")
        }
    }

    /// Decoding and responding never trap: every prefix, single-byte corruption and random input of captured frames.
    @Test func decodersNeverCrash() throws {
        let responder = Layer2Responder(hardwareAddress: Station.bMAC,
                                        addresses: [.v4(Station.bIPv4), .v6(Station.bIPv6), .v4(ip4("10.254.0.9")), .v6(ip6("fd00:254::9"))])
        var rng = SplitMix64(seed: 0x5EED)
        var inputs: [[UInt8]] = []
        for name in try Vectors.all() {
            let bytes = try Vectors.load(name)
            for n in 0 ... bytes.count { inputs.append(Array(bytes[..<n])) }
            for _ in 0 ..< 64 {
                var copy = bytes
                copy[Int.random(in: 0 ..< copy.count, using: &rng)] = UInt8.random(in: 0 ... 255, using: &rng)
                inputs.append(copy)
            }
            // Option area filled with random bytes (lengths 0, short, huge).
            if bytes.count > 78 {
                var copy = bytes
                for i in 78 ..< copy.count { copy[i] = UInt8.random(in: 0 ... 255, using: &rng) }
                inputs.append(copy)
            }
        }
        for _ in 0 ..< 500 {
            let n = Int.random(in: 0 ... 128, using: &rng)
            var bytes = (0 ..< n).map { _ in UInt8.random(in: 0 ... 255, using: &rng) }
            if n >= 14 {
                // Bias towards the EtherTypes we parse.
                let types: [[UInt8]] = [[0x08, 0x06], [0x86, 0xdd], [0x81, 0x00]]
                let t = types[Int.random(in: 0 ..< 3, using: &rng)]
                bytes[12] = t[0]; bytes[13] = t[1]
            }
            inputs.append(bytes)
        }
        var decoded = 0
        for input in inputs {
            if (try? Layer2Frame(decoding: input)) != nil { decoded += 1 }
            _ = try? ARPPacket(decoding: input)
            _ = try? IPv6Packet(decoding: input)
            _ = try? NDPPacket(decoding: input)
            _ = try? NDPOption.decodeList(input, from: 0)
            _ = responder.handle(input)
        }
        #expect(decoded > 0)
    }

    @Test func hexHelpers() {
        #expect(Hex.decode("0a:fe 00-01\n") == [0x0a, 0xfe, 0, 1])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
        #expect(Hex.encode([0, 0xab, 0x10]) == "00ab10")
    }
}
