import Testing
import TestSupport
import NetAddress

@Suite("IPv4 / IPv6 parsing and RFC 5952 formatting")
struct AddressTests {
    @Test(arguments: ["0.0.0.0", "255.255.255.255", "192.168.10.1", "10.0.0.0", "1.2.3.4"])
    func ipv4RoundTrip(_ text: String) {
        let a = IPv4Address(text)
        #expect(a?.description == text)
        #expect(IPAddress(text)?.family == .ipv4)
    }

    @Test func ipv4Value() {
        #expect(IPv4Address("10.0.0.1")?.rawValue == 0x0A00_0001)
        #expect(IPv4Address(192, 168, 1, 2).description == "192.168.1.2")
        #expect(IPv4Address("192.168.1.2")?.bytes == [192, 168, 1, 2])
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.", ".1.2.3",
        "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.-4", "1234.1.1.1", "1.2.3.4/24", "0x1.2.3.4", "1.2.3.256",
    ])
    func ipv4Invalid(_ text: String) {
        #expect(IPv4Address(text) == nil)
        #expect(IPAddress(text) == nil)
    }

    /// (input, RFC 5952 canonical form).
    static let ipv6Vectors: [(String, String)] = [
        ("2001:db8:0:0:0:0:2:1", "2001:db8::2:1"),
        ("2001:0db8::0001", "2001:db8::1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),  // §4.2.3: first of equal-length runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),  // §4.2.2: a single 0 group is not compressed
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),  // §4.2.3: longest run
        ("2001:DB8::AbCd", "2001:db8::abcd"),  // §4.3: lowercase
        ("::", "::"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("::1", "::1"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("1::", "1::"),
        ("1:0:0:0:0:0:0:0", "1::"),
        ("fc00:f853:ccd:e799::", "fc00:f853:ccd:e799::"),
        ("fc00:f853:0ccd:e799:0000:0000:0000:000f", "fc00:f853:ccd:e799::f"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),  // "::" standing for one group
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),  // §5: IPv4-mapped keeps the dotted quad
        ("::ffff:c000:0201", "::ffff:192.0.2.1"),
        ("0:0:0:0:0:ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("fe80::1:0:0:0", "fe80::1:0:0:0"),  // two runs of three: the first wins
        ("fe80:0:0:1:0:0:0:0", "fe80:0:0:1::"),
        ("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
        ("0:1:0:1:0:1:0:1", "0:1:0:1:0:1:0:1"),
        ("1:0:0:2:0:0:0:3", "1:0:0:2::3"),
    ]

    @Test func ipv6Canonical() {
        for (input, canonical) in Self.ipv6Vectors {
            let a = IPv6Address(input)
            #expect(a?.description == canonical, "\(input)")
            #expect(IPv6Address(canonical) == a, "\(canonical) reparses")
            #expect(IPAddress(input)?.family == .ipv6)
        }
    }

    @Test(arguments: [
        "", ":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "::1%eth0",
        "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5", ":1::", "1::2:", "1:2:3:4:5:6:7:1.2.3.4",
        "::ffff:256.1.1.1", "::ffff:01.2.3.4", "[::1]", " ::1", "1:2:3:4:5:6:7:8:", ":1:2:3:4:5:6:7:8",
    ])
    func ipv6Invalid(_ text: String) {
        #expect(IPv6Address(text) == nil)
        #expect(IPAddress(text) == nil)
    }

    @Test func ipv6Halves() {
        let a = IPv6Address("fc00:f853:ccd:e799::1")!
        #expect(a.high == 0xfc00_f853_0ccd_e799)
        #expect(a.low == 1)
        #expect(a.groups == [0xfc00, 0xf853, 0x0ccd, 0xe799, 0, 0, 0, 1])
        #expect(IPv6Address(groups: a.groups) == a)
    }

    /// Random addresses (zero-heavy, to exercise "::" placement) survive format → parse, and formatting is stable.
    @Test func ipv6RandomRoundTrip() {
        var rng = SplitMix64(seed: 5952)
        for _ in 0..<3000 {
            let segs = (0..<8).map { _ -> UInt16 in
                switch rng.next() % 4 {
                case 0, 1: return 0
                case 2: return UInt16(truncatingIfNeeded: rng.next() % 16)
                default: return UInt16(truncatingIfNeeded: rng.next())
                }
            }
            let a = IPv6Address(groups: segs)
            let text = a.description
            #expect(IPv6Address(text) == a, "\(segs) -> \(text)")
            #expect(IPv6Address(text)?.description == text)
            #expect(!text.contains(":::"))
            #expect(text == text.lowercased())
            // No group carries a leading zero.
            for g in text.split(separator: ":") where !g.contains(".") {
                #expect(g.count == 1 || !g.hasPrefix("0"), "\(text)")
            }
        }
    }

    @Test func ordering() {
        #expect(ip("10.0.0.1") < ip("10.0.0.2"))
        #expect(ip("255.255.255.255") < ip("::"))
        #expect(ip("::1") < ip("::2"))
        #expect(ip("::ffff:ffff:ffff:ffff") < ip("0:0:0:1::"))
        #expect([ip("fc00::1"), ip("10.0.0.1")].sorted() == [ip("10.0.0.1"), ip("fc00::1")])
    }
}
