import Testing
import NetAddress

@Suite("MAC addresses")
struct MACAddressTests {
    @Test func parsesAndFormats() {
        #expect(MACAddress("02:00:00:00:0A:01") == Station.aMAC)
        #expect(MACAddress("02-00-00-00-0a-01") == Station.aMAC)
        #expect(Station.aMAC.description == "02:00:00:00:0a:01")
        #expect(Station.aMAC.bytes == [2, 0, 0, 0, 0x0a, 1])
        #expect(MACAddress(bytes: [2, 0, 0, 0, 0x0a, 1]) == Station.aMAC)
        #expect(MACAddress(rawValue: 0xFFFF_0200_0000_0a01) == Station.aMAC) // masked to 48 bits
        #expect(MACAddress.broadcast.description == "ff:ff:ff:ff:ff:ff")
    }

    @Test(arguments: ["", "02:00:00:00:0a", "02:00:00:00:0a:01:02", "02:00-00:00:0a:01", "0g:00:00:00:0a:01",
                      "2:0:0:0:a:1", "02.00.00.00.0a.01", "02:00:00:00:0a:1 ", " 02:00:00:00:0a:1"])
    func rejectsMalformedText(_ text: String) {
        #expect(MACAddress(text) == nil)
    }

    @Test func rejectsWrongByteCount() {
        #expect(MACAddress(bytes: [1, 2, 3, 4, 5]) == nil)
        #expect(MACAddress(bytes: [1, 2, 3, 4, 5, 6, 7]) == nil)
    }

    @Test func flags() {
        #expect(MACAddress.broadcast.isBroadcast && MACAddress.broadcast.isMulticast)
        #expect(mac("33:33:00:00:00:01").isMulticast)
        #expect(!Station.aMAC.isMulticast && Station.aMAC.isLocallyAdministered)
        #expect(!mac("00:1b:21:00:00:01").isLocallyAdministered)
        #expect(MACAddress.zero.isZero)
    }

    /// RFC 2464 §7: 33:33 followed by the last four octets of the IPv6 multicast address.
    @Test func ipv6MulticastMapping() {
        #expect(MACAddress(ipv6Multicast: .allNodes) == mac("33:33:00:00:00:01"))
        #expect(MACAddress(ipv6Multicast: ip6("ff02::1:ff00:b02")) == mac("33:33:ff:00:0b:02"))
        #expect(MACAddress(ipv6Multicast: ip6("ff02::1:ff0e:8c6c")) == mac("33:33:ff:0e:8c:6c"))
        #expect(MACAddress.ipv6AllNodes == mac("33:33:00:00:00:01"))
    }
}

@Suite("IPv4 addresses")
struct IPv4AddressTests {
    @Test func parsesAndFormats() {
        #expect(IPv4Address("10.254.0.1") == Station.aIPv4)
        #expect(Station.aIPv4.description == "10.254.0.1")
        #expect(IPv4Address("0.0.0.0") == .any)
        #expect(IPv4Address("255.255.255.255")?.isLimitedBroadcast == true)
        #expect(IPv4Address(bytes: [10, 254, 0, 1]) == Station.aIPv4)
        #expect(Station.aIPv4.bytes == [10, 254, 0, 1])
        #expect(IPv4Address(bytes: [1, 2, 3]) == nil)
        #expect(ip4("224.0.0.1").isMulticast && !Station.aIPv4.isMulticast)
        #expect(ip4("10.0.0.2") < ip4("10.0.0.10"))
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1..2.3", " 1.2.3.4", "1.2.3.4 ",
                      "a.b.c.d", "1.2.3.-1", "1.2.3.4.", ".1.2.3", "1.2.3.0004", "1.2.3.4/24"])
    func rejectsMalformedText(_ text: String) {
        #expect(IPv4Address(text) == nil)
    }
}

@Suite("IPv6 addresses")
struct IPv6AddressTests {
    /// RFC 4291 §2.2 text forms, printed in RFC 5952 canonical form.
    @Test(arguments: [
        ("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789", "abcd:ef01:2345:6789:abcd:ef01:2345:6789"),
        ("2001:DB8:0:0:8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ("2001:DB8::8:800:200C:417A", "2001:db8::8:800:200c:417a"),
        ("FF01:0:0:0:0:0:0:101", "ff01::101"),
        ("FF01::101", "ff01::101"),
        ("0:0:0:0:0:0:0:1", "::1"),
        ("0:0:0:0:0:0:0:0", "::"),
        ("::", "::"),
        ("0:0:0:0:0:0:13.1.68.3", "::d01:4403"),
        ("::13.1.68.3", "::d01:4403"),
        ("0:0:0:0:0:FFFF:129.144.52.38", "::ffff:129.144.52.38"),
        ("::FFFF:129.144.52.38", "::ffff:129.144.52.38"),
        ("1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0"),
        ("::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8"),
        ("1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:102:304"),
        ("fe80::ff:fe00:a01", "fe80::ff:fe00:a01"),
    ])
    func rfc4291TextForms(input: String, canonical: String) throws {
        let address = try #require(IPv6Address(input))
        #expect(address.description == canonical)
        #expect(IPv6Address(canonical) == address)
    }

    /// RFC 5952 §4: leading zeros, longest run, first run on ties, single zero group kept, lowercase.
    @Test(arguments: [
        ("2001:0db8:0000:0000:0000:0000:0002:0001", "2001:db8::2:1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),
        ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"),
        ("2001:db8::0:1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:0", "2001:db8:0:0:1::"),
        ("2001:DB8::AAAA:0:0:1", "2001:db8::aaaa:0:0:1"),
        ("0:0:1:0:0:0:0:0", "0:0:1::"),
    ])
    func rfc5952Canonical(input: String, canonical: String) {
        #expect(IPv6Address(input)?.description == canonical)
    }

    @Test(arguments: ["", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::", "1:2:3:4:5:6:7",
                      ":1:2:3:4:5:6:7", "1:2:3:4:5:6:7:", "::1.2.3", "1.2.3.4::", "::ffff:1.2.3.256", "fe80::1%eth0",
                      "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7:8", "1:2:3:4:5:6::1.2.3.4", "1.2.3.4", "::1.2.3.4:5",
                      "::ffff:01.2.3.4", "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255x", " ::1"])
    func rejectsMalformedText(_ text: String) {
        #expect(IPv6Address(text) == nil)
    }

    @Test func bytesAndGroups() {
        let a = Station.aIPv6
        #expect(a.bytes == [0xfd, 0, 0x02, 0x54] + Array(repeating: 0, count: 11) + [1])
        #expect(IPv6Address(bytes: a.bytes) == a)
        #expect(IPv6Address(bytes: [UInt8](repeating: 0, count: 15)) == nil)
        #expect(a.groups == [0xfd00, 0x254, 0, 0, 0, 0, 0, 1])
        #expect(ip6("fd00:254::1") < ip6("fd00:254::2"))
        #expect(ip6("fd00:254::ffff") < ip6("fe80::"))
    }

    @Test func classification() {
        #expect(IPv6Address.unspecified.isUnspecified && !IPv6Address.loopback.isUnspecified)
        #expect(IPv6Address.allNodes.description == "ff02::1" && IPv6Address.allRouters.description == "ff02::2")
        #expect(IPv6Address.allNodes.isMulticast && !Station.aIPv6.isMulticast)
        #expect(Station.aLinkLocal.isLinkLocal && ip6("febf::1").isLinkLocal)
        #expect(!ip6("fec0::1").isLinkLocal && !Station.aIPv6.isLinkLocal)
        #expect(ip6("::ffff:10.254.0.1").ipv4Mapped == Station.aIPv4)
        #expect(Station.aIPv6.ipv4Mapped == nil)
    }

    /// RFC 4291 §2.7.1: ff02:0:0:0:0:1:ff00::/104 plus the low 24 bits; its worked example 4037::01:800:200E:8C6C.
    @Test func solicitedNodeMulticast() {
        #expect(ip6("4037::01:800:200E:8C6C").solicitedNodeMulticast == ip6("FF02::1:FF0E:8C6C"))
        #expect(Station.bIPv6.solicitedNodeMulticast == ip6("ff02::1:ff00:2"))
        #expect(Station.bLinkLocal.solicitedNodeMulticast == ip6("ff02::1:ff00:b02"))
        #expect(ip6("2001:db8::abcd:ef12:3456").solicitedNodeMulticast.description == "ff02::1:ff12:3456")
        #expect(ip6("ff02::1:ff0e:8c6c").isSolicitedNodeMulticast)
        #expect(!ip6("ff02::1:fe0e:8c6c").isSolicitedNodeMulticast)
        #expect(!ip6("ff02::2:ff0e:8c6c").isSolicitedNodeMulticast)
        #expect(!IPv6Address.allNodes.isSolicitedNodeMulticast)
        // Addresses differing only above the low 24 bits share a group.
        #expect(ip6("fd00:254::1:1").solicitedNodeMulticast == ip6("fd00:1::1:1").solicitedNodeMulticast)
    }
}

@Suite("IPAddress")
struct IPAddressTests {
    @Test func parsesEitherFamily() {
        #expect(IPAddress("10.254.0.1") == .v4(Station.aIPv4))
        #expect(IPAddress("fd00:254::1") == .v6(Station.aIPv6))
        #expect(IPAddress("::ffff:10.254.0.1") == .v6(ip6("::ffff:10.254.0.1")))
        #expect(IPAddress("nonsense") == nil)
        #expect(IPAddress.v6(Station.aIPv6).description == "fd00:254::1")
        #expect(IPAddress.v4(Station.aIPv4).description == "10.254.0.1")
    }

    @Test func ordersIPv4BeforeIPv6() {
        let sorted = [IPAddress("fd00::1")!, IPAddress("10.0.0.2")!, IPAddress("::1")!, IPAddress("10.0.0.1")!].sorted()
        #expect(sorted.map(\.description) == ["10.0.0.1", "10.0.0.2", "::1", "fd00::1"])
    }
}
