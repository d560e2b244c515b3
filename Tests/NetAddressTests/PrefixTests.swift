import Testing
import NetAddress

@Suite struct PrefixTests {
    @Test func ipv4ParseAndFormat() {
        #expect(IPv4Address("192.0.2.1")?.rawValue == 0xC000_0201)
        #expect(IPv4Address("192.0.2.1")?.description == "192.0.2.1")
        #expect(IPv4Address(10, 255, 1, 2).bytes == [10, 255, 1, 2])
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.a", "1..2.3", " 1.2.3.4"] {
            #expect(IPv4Address(bad) == nil, "\(bad)")
        }
        #expect(IPv4Address(bytes: [1, 2, 3]) == nil)
    }

    @Test(arguments: [
        ("2001:db8::1", "2001:db8::1"),
        ("2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("::", "::"),
        ("::1", "::1"),
        ("fe80::", "fe80::"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),       // RFC 5952 §4.2.3: first of equal runs
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),    // RFC 5952 §4.2.2: no "::" for one group
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),             // longest run wins
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),            // RFC 5952 §5
        ("64:ff9b::192.0.2.33", "64:ff9b::c000:221"),
        ("fd00:255::c8:0", "fd00:255::c8:0"),
    ])
    func ipv6Canonical(input: String, canonical: String) {
        #expect(IPv6Address(input)?.description == canonical)
        #expect(IPv6Address(canonical) == IPv6Address(input))
    }

    @Test func ipv6Invalid() {
        for bad in ["", ":", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::", "1:2:3:4:5:6:7::8:9",
                    "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "fe80::1%eth0"] {
            #expect(IPv6Address(bad) == nil, "\(bad)")
        }
        #expect(IPv6Address("1:2:3:4:5:6:7::") != nil)
    }

    @Test func ipv6Properties() {
        #expect(v6("fe80::1").isLinkLocal)
        #expect(v6("febf::1").isLinkLocal)
        #expect(!v6("fec0::1").isLinkLocal)
        #expect(v6("ff02::1").isMulticast)
        #expect(v6("::ffff:10.0.0.1").ipv4Mapped == v4("10.0.0.1"))
        #expect(IPv6Address(ipv4Mapped: v4("10.0.0.1")).description == "::ffff:10.0.0.1")
        #expect(IPv6Address(bytes: v6("2001:db8::abcd").bytes) == v6("2001:db8::abcd"))
    }

    @Test func prefixParsingAndHostBits() throws {
        #expect(pfx("10.0.0.0/8").description == "10.0.0.0/8")
        #expect(try IPPrefix(parsing: "2001:DB8::/32").description == "2001:db8::/32")
        #expect(try IPPrefix(parsing: "192.0.2.7").length == 32)
        #expect(try IPPrefix(parsing: "::1").length == 128)
        #expect(prefixError("10.1.0.0/8") == .hostBitsSet(canonical: pfx("10.0.0.0/8")))
        #expect(prefixError("2001:db8::1/32") == .hostBitsSet(canonical: pfx("2001:db8::/32")))
        #expect(prefixError("10.0.0.0/33") == .prefixLength)
        #expect(prefixError("10.0.0/8") == .address)
        for bad in ["10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/", "10.0.0.0/08", "::/129", "x/8", "10.0.0.0/8/1"] {
            #expect(IPPrefix(bad) == nil, "\(bad)")
        }
        #expect(IPPrefix(masking: .v4(v4("10.1.2.3")), length: 12).description == "10.0.0.0/12")
        #expect(IPPrefix(masking: .v6(v6("2001:db8:ffff::1")), length: 33).description == "2001:db8:8000::/33")
        #expect(pfx("0.0.0.0/0").contains(.v4(v4("1.2.3.4"))))
        #expect(pfx("10.0.0.0/8").contains(.v4(v4("10.200.0.1"))))
        #expect(!pfx("10.0.0.0/8").contains(.v6(v6("::1"))))
    }
}


func prefixError(_ text: String) -> IPParseError.Kind? {
    do {
        _ = try IPPrefix(parsing: text)
        return nil
    } catch {
        return error.kind
    }
}
