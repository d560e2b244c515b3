import Testing
@testable import BGP

@Suite struct FrameSplitterTests {
    static let stream: [[UInt8]] = [
        frame(4, []),
        OpenTests.openHexMessage,
        update(attrs: baseAttrs, nlri: someNLRI),
        frame(3, hex("0602 05 68656c6c6f")),
        frame(5, hex("0001 00 01")),
    ]

    func split(_ bytes: [UInt8], chunks sizes: [Int]) throws(BGPError) -> [[UInt8]] {
        var s = BGPFrameSplitter()
        var out: [[UInt8]] = []
        var i = 0, k = 0
        while i < bytes.count {
            let n = max(1, sizes[k % sizes.count])
            s.append(bytes[i..<min(bytes.count, i + n)])
            i += n
            k += 1
            out += try s.drain()
        }
        #expect(s.bufferedByteCount == 0)
        return out
    }

    @Test(arguments: [[1], [2, 3], [7], [19], [20, 1], [4096], [1, 50, 3, 17, 200]])
    func arbitraryChunking(sizes: [Int]) throws {
        let all = Self.stream.flatMap { $0 }
        #expect(try split(all, chunks: sizes) == Self.stream)
    }

    @Test func waitsForTheWholeMessage() throws {
        var s = BGPFrameSplitter()
        let m = update(attrs: baseAttrs, nlri: someNLRI)
        s.append(m.prefix(18))
        #expect(try s.next() == nil)
        s.append(m[18..<(m.count - 1)])
        #expect(try s.next() == nil)
        s.append(m.suffix(1))
        #expect(try s.next() == m)
        #expect(try s.next() == nil)
    }

    @Test func manyMessagesCompactTheBuffer() throws {
        var s = BGPFrameSplitter()
        let ka = frame(4, [])
        var n = 0
        for _ in 0..<2000 {
            s.append(ka + ka.prefix(5))
            while try s.next() != nil { n += 1 }
            s.append(ka.dropFirst(5))
        }
        n += try s.drain().count
        #expect(n == 4000)
        #expect(s.bufferedByteCount == 0)
    }

    func firstError(_ bytes: [UInt8]) -> BGPError? {
        var s = BGPFrameSplitter()
        s.append(bytes)
        do {
            _ = try s.drain()
            return nil
        } catch {
            // The stream is out of sync: it keeps failing with the same error.
            do {
                _ = try s.next()
                Issue.record("splitter recovered after an error")
            } catch let again {
                #expect(again == error)
            }
            return error
        }
    }

    @Test func badMarkerDetectedEarly() {
        let e = firstError([0xFF, 0xFF, 0x00])
        #expect(e?.code == .messageHeaderError)
        #expect(e?.subcode == MessageHeaderSubcode.connectionNotSynchronized.rawValue)
        #expect(firstError(frame(4, []) + [0xFF] + [0x01])?.subcode == 1)
    }

    @Test(arguments: [(UInt16(0), UInt8(4)), (18, 4), (4097, 2), (65535, 2), (20, 4), (28, 1), (22, 2), (20, 3), (22, 5)])
    func badLength(length: UInt16, type: UInt8) {
        let e = firstError(marker + [UInt8(length >> 8), UInt8(length & 0xff), type])
        #expect(e?.code == .messageHeaderError)
        #expect(e?.subcode == MessageHeaderSubcode.badMessageLength.rawValue)
        #expect(e?.data == [UInt8(length >> 8), UInt8(length & 0xff)])
    }

    @Test func badType() {
        let e = firstError(frame(4, []) + marker + [0, 19, 9])
        #expect(e?.subcode == MessageHeaderSubcode.badMessageType.rawValue)
        #expect(e?.data == [9])
    }

    @Test func customMaximum() throws {
        var s = BGPFrameSplitter(maxMessageLength: 65535)   // e.g. RFC 8654 extended messages
        let big = update(attrs: baseAttrs, nlri: [UInt8](repeating: 0, count: 5000))
        s.append(big)
        #expect(try s.next()?.count == big.count)
    }
}

extension OpenTests {
    static var openHexMessage: [UInt8] { marker + hex(openHex) }
}
