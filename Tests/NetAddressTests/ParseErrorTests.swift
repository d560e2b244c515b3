import Foundation
import Testing
import NetAddress

@Suite struct ParseErrorTests {
    @Test(arguments: [
        ("192.168.1.10", "192.168.1.10"),
        ("0.0.0.0", "0.0.0.0"),
        ("255.255.255.255", "255.255.255.255"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("1::", "1::"),
        ("fc00:f853:0ccd:e799::", "fc00:f853:ccd:e799::"),
        // RFC 5952 section 4.2.2: a single zero group is not shortened.
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        // Section 4.2.3: the longest run is shortened; on a tie the first.
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        // Embedded IPv4 and IPv4-mapped (section 5).
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("2002:2:2::100", "2002:2:2::100"),
    ])
    func parsesAndFormatsCanonically(input: String, canonical: String) throws {
        let a = try IPAddress.parse(input)
        #expect(a.description == canonical)
        #expect(try IPAddress.parse(canonical) == a)
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.-1", "1.2.3.4 ", " 1.2.3.4", "a.b.c.d",
        "1:2:3:4:5:6:7", "1:2:3:4:5:6:7:8:9", "1::2::3", "12345::", "g::1", "fe80::1%eth0", "[::1]",
        "1:2:3:4:5:6:7::8", "::1.2.3", "1.2.3.4::", ":1::", "1:::2",
    ])
    func rejectsInvalidAddresses(input: String) {
        #expect(throws: IPParseError.self) { try IPAddress.parse(input) }
        #expect(IPAddress(input) == nil)
    }

    @Test func bytesAndValues() throws {
        let v4 = try IPAddress.parse("10.1.2.3")
        #expect(v4.bytes == [10, 1, 2, 3])
        #expect(v4.value == 0x0A01_0203)
        #expect(IPAddress(bytes: [10, 1, 2, 3]) == v4)
        let v6 = try IPAddress.parse("2001:db8::ff")
        #expect(v6.bytes.count == 16)
        #expect(v6.bytes[0] == 0x20 && v6.bytes[1] == 0x01 && v6.bytes[15] == 0xff)
        #expect(IPAddress(bytes: v6.bytes) == v6)
        #expect(v6.value >> 64 == 0x2001_0db8_0000_0000)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
        #expect(try IPAddress.parse("::ffff:1.2.3.4").isIPv4Mapped)
        #expect(try IPAddress.parse("127.0.0.1").isLoopback)
        #expect(try IPAddress.parse("::1").isLoopback)
        #expect(try IPAddress.parse("224.0.0.5").isMulticast)
        #expect(try IPAddress.parse("ff02::5").isMulticast)
        #expect(try IPAddress.parse("0.0.0.0").isUnspecified)
    }

    @Test func orderingAndNeighbours() throws {
        let a = try IPAddress.parse("10.0.0.255")
        #expect(a.next?.description == "10.0.1.0")
        #expect(try IPAddress.parse("255.255.255.255").next == nil)
        #expect(try IPAddress.parse("0.0.0.0").previous == nil)
        #expect(try IPAddress.parse("::ffff:ffff:ffff:ffff").next?.description == "0:0:0:1::")
        #expect(try IPAddress.parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").next == nil)
        #expect(try IPAddress.parse("1.2.3.4") < IPAddress.parse("::1"))  // IPv4 sorts first
        #expect(try IPAddress.parse("10.0.0.2") < IPAddress.parse("10.0.0.10"))
    }

    @Test func codableAsString() throws {
        let a = try IPAddress.parse("2001:DB8::1")
        let data = try JSONEncoder().encode([a])
        #expect(String(decoding: data, as: UTF8.self) == #"["2001:db8::1"]"#)
        #expect(try JSONDecoder().decode([IPAddress].self, from: data) == [a])
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([IPAddress].self, from: Data(#"["1.2.3"]"#.utf8)) }
    }

    @Test func prefixes() throws {
        let (p, written) = try IPPrefix.parseDetailed("198.51.100.10/24")
        #expect(p.description == "198.51.100.0/24")
        #expect(written.description == "198.51.100.10")
        #expect(p.last.description == "198.51.100.255")
        #expect(p.contains(try IPAddress.parse("198.51.100.77")))
        #expect(!p.contains(try IPAddress.parse("198.51.101.0")))
        #expect(try IPPrefix.parse("fc00:f853:0ccd:e799::/124").last.description == "fc00:f853:ccd:e799::f")
        #expect(try IPPrefix.parse("0.0.0.0/0").range.count == 1 << 32)
        #expect(try IPPrefix.parse("::/0").range.count == .max)
        #expect(try IPPrefix.parse("2001:db8::/64").range.count == 1 << 64)
        #expect(try IPPrefix.parse("2001:db8::/65").range.count == 1 << 63)
        #expect(try IPPrefix.parse("10.0.0.0/8").overlaps(IPPrefix.parse("10.20.0.0/16")))
        #expect(try !IPPrefix.parse("10.0.0.0/16").overlaps(IPPrefix.parse("10.1.0.0/16")))
        for bad in ["10.0.0.0", "10.0.0.0/33", "::/129", "10.0.0.0/-1", "10.0.0.0/", "/24", "10.0.0.0/2a", "10.0.0.0/8/8"] {
            #expect(throws: IPParseError.self, "\(bad)") { try IPPrefix.parse(bad) }
        }
    }

    @Test func rangesAndSummaries() throws {
        let r = try IPRange.parse("192.168.9.1-192.168.9.5")
        #expect(r.count == 5)
        #expect(r.prefixes.map(\.description) == ["192.168.9.1/32", "192.168.9.2/31", "192.168.9.4/31"])
        #expect(try IPRange.parse("192.168.1.240 - 192.168.1.250").prefixes.map(\.description)
            == ["192.168.1.240/29", "192.168.1.248/31", "192.168.1.250/32"])
        #expect(try IPRange.parse("10.0.0.0-10.0.0.255").asPrefix?.description == "10.0.0.0/24")
        #expect(try IPRange.parse("0.0.0.0-255.255.255.255").asPrefix?.description == "0.0.0.0/0")
        #expect(try IPRange.parse("::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff").asPrefix?.description == "::/0")
        #expect(try IPRange.parse("2002:2:2::1-2002:2:2::100").prefixes.first?.description == "2002:2:2::1/128")
        #expect(try IPRange.parse("2002:2:2::1-2002:2:2::100").count == 256)
        #expect(try IPRange.parse("10.0.0.5-10.0.0.5").description == "10.0.0.5")
        #expect(try IPRange.parse("10.0.0.1-10.0.0.10").overlaps(IPRange.parse("10.0.0.10-10.0.0.20")))
        #expect(try !IPRange.parse("10.0.0.1-10.0.0.9").overlaps(IPRange.parse("10.0.0.10-10.0.0.20")))
        #expect(try !IPRange.parse("10.0.0.1-10.0.0.9").overlaps(IPRange.parse("::-::ff")))

        // Summaries cover the range exactly, with no gaps.
        let odd = try IPRange.parse("10.0.0.3-10.0.3.17")
        let ps = odd.prefixes
        #expect(ps.first?.first == odd.first && ps.last?.last == odd.last)
        for (a, b) in zip(ps, ps.dropFirst()) { #expect(a.last.next == b.first) }
        #expect(ps.reduce(UInt128(0)) { $0 + $1.range.count } == odd.count)
    }

    @Test func rangeErrorsSayWhatIsWrong() throws {
        #expect {
            try IPRange.parse("192.168.9.5-192.168.9.1")
        } throws: { ($0 as? IPParseError)?.reason.contains("is after the end address") == true }
        #expect {
            try IPRange.parse("192.168.9.1-2001:db8::1")
        } throws: { ($0 as? IPParseError)?.reason.contains("mixes IPv4 and IPv6") == true }
        #expect {
            try IPRange.parse("192.168.9.1-192.168.9")
        } throws: { ($0 as? IPParseError)?.reason.contains("invalid end address") == true }
    }
}
