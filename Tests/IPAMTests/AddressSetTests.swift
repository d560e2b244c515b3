import Testing
import TestSupport
import API
import NetAddress
@testable import IPAM

@Suite("Ranges, sets and sizes")
struct AddressSetTests {
    @Test func cidrs() throws {
        let r = try PoolAddress.parse("192.168.10.0/24").range
        #expect(r.first == ip("192.168.10.0"))
        #expect(r.last == ip("192.168.10.255"))
        #expect(r.count == 256)
        // Host bits are cleared, as Go's net.ParseCIDR does.
        #expect(try PoolAddress.parse("192.168.10.5/24").range == r)
        #expect(try PoolAddress.parse("10.0.0.0/8").range.count == 16_777_216)
        #expect(AddressCount(try PoolAddress.parse("0.0.0.0/0").range.count) == pow2(32))
        #expect(try PoolAddress.parse("1.2.3.4/32").range.count == 1)
        let v6 = try PoolAddress.parse("fc00:f853:ccd:e799::/124").range
        #expect(v6.count == 16)
        #expect(v6.last == ip("fc00:f853:ccd:e799::f"))
        #expect(try PoolAddress.parse("fd00::/128").range.count == 1)
    }

    @Test func bigSizes() throws {
        let s64 = AddressCount(try PoolAddress.parse("fd00:1:2:3::/64").range.count)
        #expect(s64 == pow2(64))
        #expect(s64.high == 1 && s64.low == 0)
        #expect(s64.uint64Saturating == UInt64.max)
        #expect(s64.int64Saturating == Int64.max)
        #expect(s64.description == "18446744073709551616")
        #expect(s64.doubleValue == 18_446_744_073_709_551_616.0)
        let s48 = AddressCount(try PoolAddress.parse("fd00:1::/48").range.count)
        #expect(s48 == pow2(80))
        #expect(s48.description == "1208925819614629174706176")
        let all = AddressCount(try PoolAddress.parse("::/0").range.count)
        #expect(all.high == .max && all.low == .max)
        #expect(all.description == "340282366920938463463374607431768211455")
        #expect(AddressCount(5).int64Saturating == 5)
        #expect(AddressCount(3) - AddressCount(5) == .zero)
        #expect((all + 1) == all)
    }

    @Test func ranges() throws {
        let r = try PoolAddress.parse("192.168.9.1-192.168.9.5").range
        #expect(r.count == 5)
        #expect(r.contains(ip("192.168.9.3")))
        #expect(!r.contains(ip("192.168.9.6")))
        #expect(try PoolAddress.parse(" 192.168.9.1 - 192.168.9.5 ").range == r)
        #expect(try PoolAddress.parse("fc00::1-fc00::10").range.count == 16)
        #expect(try PoolAddress.parse("10.0.0.7-10.0.0.7").range.count == 1)
        let wide = try PoolAddress.parse("fd00::-fd00::1:0:0:0").range
        #expect(AddressCount(wide.count) == pow2(48) + 1)
        #expect(r.description == "192.168.9.1-192.168.9.5")
    }

    @Test(arguments: [
        "192.168.9.5-192.168.9.1", "1.2.3.4-fc00::1", "1.2.3.4", "1.2.3.0/33", "fc00::/129", "1.2.3.0/",
        "1.2.3.0/-1", "1.2.3.0/08", "x/24", "1.2.3.0/24/1", "-1.2.3.4", "1.2.3.4-", "", "1.2.3.0/ 24",
    ])
    func invalidEntries(_ text: String) {
        #expect(throws: IPParseError.self) { try PoolAddress.parse(text).range }
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
                intervals.append(Interval(lo: UInt128(cursor), hi: UInt128(cursor + len)))
                cursor += len + 2 + rng.next() % 200
            }
            let avoid = rng.next() % 2 == 0
            let space = FamilySpace(intervals: intervals, avoidBuggy: avoid)
            var expected: [UInt64] = []
            for iv in intervals {
                for x in iv.lo.low64...iv.hi.low64 where !(avoid && (x & 0xff == 0 || x & 0xff == 255)) { expected.append(x) }
            }
            #expect(space.capacity == UInt128(UInt64(expected.count)))
            for (k, x) in expected.enumerated() {
                #expect(space.address(at: UInt128(UInt64(k))) == UInt128(x))
                #expect(space.ordinal(of: UInt128(x)) == UInt128(UInt64(k)))
            }
            if avoid, let iv = intervals.first, iv.hi.low64 - iv.lo.low64 > 256 {
                let zero = (iv.lo.low64 | 0xff) + 1
                #expect(space.ordinal(of: UInt128(zero)) == nil)
            }
            #expect(space.ordinal(of: UInt128(cursor + 1000)) == nil)
        }
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
                    #expect(set.insert(UInt128(x)) == ref.insert(x).inserted)
                default:
                    #expect(set.remove(UInt128(x)) == (ref.remove(x) != nil))
                }
                #expect(set.count == ref.count)
                let probe = rng.next() % (universe + 2)
                #expect(set.contains(UInt128(probe)) == ref.contains(probe))
                var lowest = probe
                while ref.contains(lowest) { lowest += 1 }
                #expect(set.lowestAbsent(atOrAfter: UInt128(probe)) == UInt128(lowest))
                if step % 50 == 0 {
                    #expect(set.checkInvariants(), "seed \(seed) step \(step)")
                    var runs: [(UInt64, UInt64)] = []
                    for v in ref.sorted() {
                        if let last = runs.last, last.1 + 1 == v { runs[runs.count - 1].1 = v } else { runs.append((v, v)) }
                    }
                    #expect(set.runs.map { [$0.lo.low64, $0.hi.low64] } == runs.map { [$0.0, $0.1] })
                }
            }
            #expect(set.checkInvariants())
        }
    }

    @Test func balancedUnderSequentialAndFragmentedLoads() {
        var set = RunSet()
        for i in stride(from: UInt64(0), to: 200_000, by: 2) { set.insert(UInt128(i)) }
        #expect(set.runCount == 100_000)
        #expect(set.height <= 25)
        #expect(set.checkInvariants())
        for i in stride(from: UInt64(1), to: 200_000, by: 2) { set.insert(UInt128(i)) }
        #expect(set.runCount == 1)
        #expect(set.lowestAbsent(atOrAfter: .zero) == UInt128(200_000))
    }

    @Test func wordBoundariesAndMax() {
        var set = RunSet()
        let a = (UInt128(0) << 64 | UInt128(UInt64.max))
        let b = (UInt128(1) << 64 | UInt128(0))
        set.insert(b)
        set.insert(a)
        #expect(set.runCount == 1)
        #expect(set.lowestAbsent(atOrAfter: a) == (UInt128(1) << 64 | UInt128(1)))
        set.insert(.max)
        #expect(set.lowestAbsent(atOrAfter: .max) == nil)
        set.remove(b)
        #expect(set.lowestAbsent(atOrAfter: a) == b)
        #expect(set.checkInvariants())
    }
}
