import NetAddress
import Testing
@testable import Membership

/// `MembershipSourceGate`: what is dropped before any MAC is computed.
struct MembershipSourceGateTests {
    static func at(_ ms: Int64) -> MonotonicTime { MonotonicTime(nanoseconds: ms * 1_000_000) }
    static let a = SocketEndpoint(address: .v4(IPv4Address(10, 0, 0, 1)), port: 7946)
    static let b = SocketEndpoint(address: .v4(IPv4Address(10, 0, 0, 2)), port: 7946)

    @Test func onlyMembersAddressesAndPortsPass() {
        var gate = MembershipSourceGate(checkSource: true, ratePerSecond: 100)
        gate.setMembers([Self.a, Self.b])
        #expect(gate.admit(from: Self.a, now: Self.at(0)) == nil)
        #expect(gate.admit(from: Self.b, now: Self.at(0)) == nil)
        #expect(gate.admit(from: SocketEndpoint(address: Self.a.address, port: 7947), now: Self.at(0)) == .unknownSource)
        #expect(gate.admit(from: SocketEndpoint(address: .v4(IPv4Address(10, 0, 0, 3)), port: 7946), now: Self.at(0)) == .unknownSource)
        // An IPv4 member seen through an IPv6 socket arrives v4-mapped.
        let mapped = SocketEndpoint(address: .v6(IPv6Address(ipv4Mapped: IPv4Address(10, 0, 0, 1))), port: 7946)
        #expect(gate.admit(from: mapped, now: Self.at(0)) == nil)
        // A member removed from the list is unknown from then on.
        gate.setMembers([Self.b])
        #expect(gate.admit(from: Self.a, now: Self.at(0)) == .unknownSource)
    }

    @Test func aMembersAddressGetsABurstThenTheRate() {
        var gate = MembershipSourceGate(checkSource: true, ratePerSecond: 100)
        gate.setMembers([Self.a, Self.b])
        var admitted = 0
        for _ in 0 ..< 250 where gate.admit(from: Self.a, now: Self.at(1000)) == nil { admitted += 1 }
        #expect(admitted == 100, "a burst of one second's worth")
        #expect(gate.admit(from: Self.a, now: Self.at(1000)) == .sourceOverBudget)
        // The other member's budget is its own.
        #expect(gate.admit(from: Self.b, now: Self.at(1000)) == nil)
        // 100 ms later: 10 more.
        admitted = 0
        for _ in 0 ..< 50 where gate.admit(from: Self.a, now: Self.at(1100)) == nil { admitted += 1 }
        #expect(admitted == 10)
        // A long silence refills to the burst, not beyond.
        admitted = 0
        for _ in 0 ..< 500 where gate.admit(from: Self.a, now: Self.at(60_000)) == nil { admitted += 1 }
        #expect(admitted == 100)
        // A clock reading from the past (another thread's) takes nothing back and gives nothing.
        #expect(gate.admit(from: Self.a, now: Self.at(59_000)) == .sourceOverBudget)
    }

    @Test func budgetsSurviveAMemberListEditAndScaleWithMembersAtOneAddress() {
        var gate = MembershipSourceGate(checkSource: true, ratePerSecond: 10)
        gate.setMembers([Self.a])
        for _ in 0 ..< 10 { #expect(gate.admit(from: Self.a, now: Self.at(0)) == nil) }
        gate.setMembers([Self.a, Self.b])
        #expect(gate.admit(from: Self.a, now: Self.at(0)) == .sourceOverBudget, "an edit does not refill")
        // Three members behind one socket (as tests run them): three times the rate.
        var shared = MembershipSourceGate(checkSource: true, ratePerSecond: 10)
        shared.setMembers([Self.a, Self.a, Self.a])
        var admitted = 0
        for _ in 0 ..< 100 where shared.admit(from: Self.a, now: Self.at(0)) == nil { admitted += 1 }
        #expect(admitted == 30)
    }

    @Test func offAndUnlimited() {
        var off = MembershipSourceGate(checkSource: false, ratePerSecond: 1)
        off.setMembers([Self.a])
        for _ in 0 ..< 10 { #expect(off.admit(from: Self.b, now: Self.at(0)) == nil) }
        var unlimited = MembershipSourceGate(checkSource: true, ratePerSecond: 0)
        unlimited.setMembers([Self.a])
        for _ in 0 ..< 10_000 { #expect(unlimited.admit(from: Self.a, now: Self.at(0)) == nil) }
        #expect(unlimited.admit(from: Self.b, now: Self.at(0)) == .unknownSource)
    }

    @Test func configRejectsABudgetBelowTwiceTheHeartbeatRate() {
        var c = MembershipConfig()
        c.sourceRatePerSecond = 150
        #expect(throws: MembershipConfig.ConfigError.self) { try c.validate() }
        c.sourceRatePerSecond = 200
        #expect(throws: Never.self) { try c.validate() }
        c.sourceRatePerSecond = 0
        #expect(throws: Never.self) { try c.validate() }
        c.sourceRatePerSecond = -1
        #expect(throws: MembershipConfig.ConfigError.self) { try c.validate() }
    }
}
