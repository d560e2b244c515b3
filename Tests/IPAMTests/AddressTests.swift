import Testing
@testable import IPAM

@Suite("IPv4 / IPv6 parsing and RFC 5952 formatting")
struct AddressTests {
    @Test(arguments: ["0.0.0.0", "255.255.255.255", "192.168.10.1", "10.0.0.0", "1.2.3.4"])
    func ipv4RoundTrip(_ text: String) {
        let a = IPv4Address(text)
        #expect(a?.description == text)
        #expect(IPAddr(text)?.family == .ipv4)
    }

    @Test func ipv4Value() {
        #expect(IPv4Address("10.0.0.1")?.value == 0x0A00_0001)
        #expect(IPv4Address(192, 168, 1, 2).description == "192.168.1.2")
        #expect(IPv4Address("192.168.1.2")?.octets == [192, 168, 1, 2])
    }

    @Test(arguments: [
        "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.04", "1..2.3", "1.2.3.", ".1.2.3",
        "1.2.3.4 ", " 1.2.3.4", "a.b.c.d", "1.2.3.-4", "1234.1.1.1", "1.2.3.4/24", "0x1.2.3.4", "1.2.3.256",
    ])
    func ipv4Invalid(_ text: String) {
        #expect(IPv4Address(text) == nil)
        #expect(IPAddr(text) == nil)
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
            #expect(IPAddr(input)?.family == .ipv6)
        }
    }

    @Test(arguments: [
        "", ":", ":::", "1:::2", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "g::1", "::1%eth0",
        "1:2:3:4:5:6:7:8::", "::1.2.3", "1.2.3.4::", "::1.2.3.4:5", ":1::", "1::2:", "1:2:3:4:5:6:7:1.2.3.4",
        "::ffff:256.1.1.1", "::ffff:01.2.3.4", "[::1]", " ::1", "1:2:3:4:5:6:7:8:", ":1:2:3:4:5:6:7:8",
    ])
    func ipv6Invalid(_ text: String) {
        #expect(IPv6Address(text) == nil)
        #expect(IPAddr(text) == nil)
    }

    @Test func ipv6Halves() {
        let a = IPv6Address("fc00:f853:ccd:e799::1")!
        #expect(a.high == 0xfc00_f853_0ccd_e799)
        #expect(a.low == 1)
        #expect(a.segments == [0xfc00, 0xf853, 0x0ccd, 0xe799, 0, 0, 0, 1])
        #expect(IPv6Address(segments: a.segments) == a)
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
            let a = IPv6Address(segments: segs)
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

    @Test func buggyAddresses() {
        #expect(ip("10.0.0.0").isBuggyForOldFirmware)
        #expect(ip("10.0.0.255").isBuggyForOldFirmware)
        #expect(!ip("10.0.0.1").isBuggyForOldFirmware)
        #expect(!ip("10.0.0.254").isBuggyForOldFirmware)
        #expect(!ip("fc00::ff").isBuggyForOldFirmware)
        #expect(!ip("fc00::").isBuggyForOldFirmware)
    }
}

@Suite("Ranges, sets and sizes")
struct AddressSetTests {
    @Test func cidrs() throws {
        let r = try IPRange(parsing: "192.168.10.0/24")
        #expect(r.first == ip("192.168.10.0"))
        #expect(r.last == ip("192.168.10.255"))
        #expect(r.count == 256)
        // Host bits are cleared, as Go's net.ParseCIDR does.
        #expect(try IPRange(parsing: "192.168.10.5/24") == r)
        #expect(try IPRange(parsing: "10.0.0.0/8").count == 16_777_216)
        #expect(try IPRange(parsing: "0.0.0.0/0").count == pow2(32))
        #expect(try IPRange(parsing: "1.2.3.4/32").count == 1)
        let v6 = try IPRange(parsing: "fc00:f853:ccd:e799::/124")
        #expect(v6.count == 16)
        #expect(v6.last == ip("fc00:f853:ccd:e799::f"))
        #expect(try IPRange(parsing: "fd00::/128").count == 1)
    }

    @Test func bigSizes() throws {
        let s64 = try IPRange(parsing: "fd00:1:2:3::/64").count
        #expect(s64 == pow2(64))
        #expect(s64.high == 1 && s64.low == 0)
        #expect(s64.uint64Saturating == UInt64.max)
        #expect(s64.int64Saturating == Int64.max)
        #expect(s64.description == "18446744073709551616")
        #expect(s64.doubleValue == 18_446_744_073_709_551_616.0)
        let s48 = try IPRange(parsing: "fd00:1::/48").count
        #expect(s48 == pow2(80))
        #expect(s48.description == "1208925819614629174706176")
        let all = try IPRange(parsing: "::/0").count
        #expect(all.high == .max && all.low == .max)
        #expect(all.description == "340282366920938463463374607431768211455")
        #expect(AddressCount(5).int64Saturating == 5)
        #expect(AddressCount(3) - AddressCount(5) == .zero)
        #expect((all + 1) == all)
    }

    @Test func ranges() throws {
        let r = try IPRange(parsing: "192.168.9.1-192.168.9.5")
        #expect(r.count == 5)
        #expect(r.contains(ip("192.168.9.3")))
        #expect(!r.contains(ip("192.168.9.6")))
        #expect(try IPRange(parsing: " 192.168.9.1 - 192.168.9.5 ") == r)
        #expect(try IPRange(parsing: "fc00::1-fc00::10").count == 16)
        #expect(try IPRange(parsing: "10.0.0.7-10.0.0.7").count == 1)
        let wide = try IPRange(parsing: "fd00::-fd00::1:0:0:0")
        #expect(wide.count == pow2(48) + 1)
        #expect(r.description == "192.168.9.1-192.168.9.5")
    }

    @Test(arguments: [
        "192.168.9.5-192.168.9.1", "1.2.3.4-fc00::1", "1.2.3.4", "1.2.3.0/33", "fc00::/129", "1.2.3.0/",
        "1.2.3.0/-1", "1.2.3.0/08", "x/24", "1.2.3.0/24/1", "-1.2.3.4", "1.2.3.4-", "", "1.2.3.0/ 24",
    ])
    func invalidEntries(_ text: String) {
        #expect(throws: AddressParseError.self) { try IPRange(parsing: text) }
    }

    @Test func setsMergeAndCount() throws {
        let s = try AddressSet(parsing: ["10.0.0.0/25", "10.0.0.128/25", "fc00::/126", "10.0.0.10-10.0.1.5"])
        #expect(s.v4.count == 1)
        #expect(s.count(of: .ipv4) == 262)
        #expect(s.count(of: .ipv6) == 4)
        #expect(s.count == 266)
        #expect(s.ranges.map(\.description) == ["10.0.0.0-10.0.1.5", "fc00::-fc00::3"])
        #expect(s.contains(ip("10.0.1.5")))
        #expect(!s.contains(ip("10.0.1.6")))
        #expect(s.contains(ip("fc00::3")))
        #expect(!s.contains(ip("fc00::4")))
        #expect(s.hasFamily(.ipv6))
        #expect(!AddressSet().hasFamily(.ipv4))
        #expect(AddressSet().isEmpty)
    }

    /// A /8 or a /64 is one interval: its cost does not depend on its size.
    @Test func hugeSetsStayTiny() throws {
        let s = try AddressSet(parsing: ["10.0.0.0/8", "fd00::/64", "fe00::/16"])
        #expect(s.v4.count == 1 && s.v6.count == 2)
        #expect(s.count(of: .ipv4) == pow2(24))
        #expect(s.count(of: .ipv6) == pow2(64) + pow2(112))
        #expect(s.contains(ip("10.255.255.255")))
        #expect(s.contains(ip("fd00::ffff:ffff:ffff:ffff")))
        #expect(!s.contains(ip("fd00:0:0:1::")))
    }

    @Test func overlaps() throws {
        let a = try AddressSet(parsing: ["10.0.0.0/24", "fc00::/120"])
        #expect(a.overlaps(try AddressSet(parsing: ["10.0.0.255/32"])))
        #expect(!a.overlaps(try AddressSet(parsing: ["10.0.1.0/24", "fc00::100-fc00::200"])))
        #expect(a.overlaps(try AddressSet(parsing: ["fc00::ff-fc00::100"])))
    }

    @Test func avoidBuggyCapacity() {
        // MetalLB's poolCount: two buggy addresses per /24, endpoints only for smaller ranges.
        #expect(pool("a", ["10.0.0.0/24"], avoidBuggyIPs: true).capacity(of: .ipv4) == 254)
        #expect(pool("a", ["10.0.0.0/16"], avoidBuggyIPs: true).capacity(of: .ipv4) == AddressCount(65536 - 512))
        #expect(pool("a", ["10.0.0.128/25"], avoidBuggyIPs: true).capacity(of: .ipv4) == 127)
        #expect(pool("a", ["10.0.0.255-10.0.1.0"], avoidBuggyIPs: true).capacity(of: .ipv4) == 0)
        #expect(pool("a", ["10.0.0.0/8"], avoidBuggyIPs: true).capacity(of: .ipv4) == AddressCount((1 << 24) - 2 * 65536))
        #expect(pool("a", ["fc00::/120"], avoidBuggyIPs: true).capacity(of: .ipv6) == 256)
        #expect(pool("a", ["10.0.0.0/24"]).capacity(of: .ipv4) == 256)
    }

    /// The ordinal space equals a brute-force enumeration of allocatable addresses.
    @Test func familySpaceMatchesEnumeration() {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<200 {
            var intervals: [Interval] = []
            var cursor = UInt64(rng.next() % 600)
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let len = rng.next() % 300
                intervals.append(Interval(lo: U128(cursor), hi: U128(cursor + len)))
                cursor += len + 2 + rng.next() % 200
            }
            let avoid = rng.next() % 2 == 0
            let space = FamilySpace(intervals: intervals, avoidBuggy: avoid)
            var expected: [UInt64] = []
            for iv in intervals {
                for x in iv.lo.lo...iv.hi.lo where !(avoid && (x & 0xff == 0 || x & 0xff == 255)) { expected.append(x) }
            }
            #expect(space.capacity == U128(UInt64(expected.count)))
            for (k, x) in expected.enumerated() {
                #expect(space.address(at: U128(UInt64(k))) == U128(x))
                #expect(space.ordinal(of: U128(x)) == U128(UInt64(k)))
            }
            if avoid, let iv = intervals.first, iv.hi.lo - iv.lo.lo > 256 {
                let zero = (iv.lo.lo | 0xff) + 1
                #expect(space.ordinal(of: U128(zero)) == nil)
            }
            #expect(space.ordinal(of: U128(cursor + 1000)) == nil)
        }
    }
}

@Suite("Label selectors")
struct LabelSelectorTests {
    @Test func matching() {
        let labels = ["app": "web", "tier": "front"]
        #expect(LabelSelector.everything.matches([:]))
        #expect(LabelSelector(matchLabels: ["app": "web"]).matches(labels))
        #expect(!LabelSelector(matchLabels: ["app": "db"]).matches(labels))
        #expect(!LabelSelector(matchLabels: ["app": "web", "x": "y"]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "app", .in, ["web", "db"])]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "app", .in, ["db"])]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "missing", .in, ["x"])]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "app", .notIn, ["web"])]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "missing", .notIn, ["web"])]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "tier", .exists)]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "nope", .exists)]).matches(labels))
        #expect(LabelSelector(matchExpressions: [.init(key: "nope", .doesNotExist)]).matches(labels))
        #expect(!LabelSelector(matchExpressions: [.init(key: "app", .doesNotExist)]).matches(labels))
        let both = LabelSelector(matchLabels: ["tier": "front"], matchExpressions: [.init(key: "app", .in, ["web"])])
        #expect(both.matches(labels))
        #expect(!both.matches(["tier": "front", "app": "db"]))
        #expect(both.description == "tier=front,app in (web)")
    }
}

@Suite("RunSet (AVL of runs)")
struct RunSetTests {
    /// Random operations against a Set reference, checking AVL invariants and merged runs at every step.
    @Test func randomAgainstReference() {
        for seed in UInt64(1)...20 {
            var rng = SplitMix64(seed: seed)
            var set = RunSet()
            var ref = Set<UInt64>()
            let universe: UInt64 = seed % 2 == 0 ? 64 : 400
            for step in 0..<1500 {
                let x = rng.next() % universe
                switch rng.next() % 5 {
                case 0, 1, 2:
                    #expect(set.insert(U128(x)) == ref.insert(x).inserted)
                default:
                    #expect(set.remove(U128(x)) == (ref.remove(x) != nil))
                }
                #expect(set.count == ref.count)
                let probe = rng.next() % (universe + 2)
                #expect(set.contains(U128(probe)) == ref.contains(probe))
                var lowest = probe
                while ref.contains(lowest) { lowest += 1 }
                #expect(set.lowestAbsent(atOrAfter: U128(probe)) == U128(lowest))
                if step % 50 == 0 {
                    #expect(set.checkInvariants(), "seed \(seed) step \(step)")
                    var runs: [(UInt64, UInt64)] = []
                    for v in ref.sorted() {
                        if let last = runs.last, last.1 + 1 == v { runs[runs.count - 1].1 = v } else { runs.append((v, v)) }
                    }
                    #expect(set.runs.map { [$0.lo.lo, $0.hi.lo] } == runs.map { [$0.0, $0.1] })
                }
            }
            #expect(set.checkInvariants())
        }
    }

    @Test func balancedUnderSequentialAndFragmentedLoads() {
        var set = RunSet()
        for i in stride(from: UInt64(0), to: 200_000, by: 2) { set.insert(U128(i)) }
        #expect(set.runCount == 100_000)
        #expect(set.height <= 25)
        #expect(set.checkInvariants())
        for i in stride(from: UInt64(1), to: 200_000, by: 2) { set.insert(U128(i)) }
        #expect(set.runCount == 1)
        #expect(set.lowestAbsent(atOrAfter: .zero) == U128(200_000))
    }

    @Test func wordBoundariesAndMax() {
        var set = RunSet()
        let a = U128(hi: 0, lo: .max)
        let b = U128(hi: 1, lo: 0)
        set.insert(b)
        set.insert(a)
        #expect(set.runCount == 1)
        #expect(set.lowestAbsent(atOrAfter: a) == U128(hi: 1, lo: 1))
        set.insert(.max)
        #expect(set.lowestAbsent(atOrAfter: .max) == nil)
        set.remove(b)
        #expect(set.lowestAbsent(atOrAfter: a) == b)
        #expect(set.checkInvariants())
    }
}
