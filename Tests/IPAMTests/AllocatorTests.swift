import Testing
import Kube
import API
@testable import IPAM

private let v4 = AllocationRequest(families: .single(.ipv4))
private let v6 = AllocationRequest(families: .single(.ipv6))

private func request(
    _ families: FamilyRequest = .single(.ipv4), addresses: [String] = [], pool: String? = nil, key: String? = nil,
    ports: [AllocatedPort] = [], policy: ExternalTrafficPolicy = .cluster, selector: [String: String] = [:],
    nsLabels: [String: String] = [:], labels: [String: String] = [:]
) -> AllocationRequest {
    AllocationRequest(
        families: families, addresses: addresses.map(ip), pool: pool, sharingKey: key, ports: ports,
        externalTrafficPolicy: policy, podSelector: selector, namespaceLabels: nsLabels, serviceLabels: labels)
}

private func allocator(_ pools: Pool...) throws -> Allocator {
    try Allocator(pools: pools)
}

@Suite("Allocation order and pools")
struct AllocationOrderTests {
    @Test func lowestFreeAddressFirst() throws {
        var a = try allocator(pool("p", ["192.168.10.0/30"]))
        #expect(try a.assign(svc("a"), v4).assignment.addresses == [ip("192.168.10.0")])
        #expect(try a.assign(svc("b"), v4).assignment.addresses == [ip("192.168.10.1")])
        #expect(try a.assign(svc("c"), v4).assignment.addresses == [ip("192.168.10.2")])
        #expect(a.release(svc("b"))?.addresses == [ip("192.168.10.1")])
        #expect(try a.assign(svc("d"), v4).assignment.addresses == [ip("192.168.10.1")])
        #expect(try a.assign(svc("e"), v4).assignment.addresses == [ip("192.168.10.3")])
        #expect(allocationError { try a.assign(svc("f"), v4) } == .poolExhausted(pools: ["p"], family: .ipv4))
        #expect(a.assigned(svc("f")) == nil)
    }

    @Test func rangesAcrossEntriesInAddressOrder() throws {
        var a = try allocator(pool("p", ["10.0.0.9-10.0.0.10", "10.0.0.1-10.0.0.2"]))
        let got = try (0..<4).map { try a.assign(svc("s\($0)"), v4).assignment.addresses[0] }
        #expect(got == ["10.0.0.1", "10.0.0.2", "10.0.0.9", "10.0.0.10"].map(ip))
    }

    @Test func avoidBuggyIPs() throws {
        var a = try allocator(pool("p", ["10.0.0.254-10.0.1.2"], avoidBuggyIPs: true), pool("q", ["10.0.2.255/32"], autoAssign: false))
        let got = try (0..<3).map { try a.assign(svc("s\($0)"), v4).assignment.addresses[0] }
        #expect(got == ["10.0.0.254", "10.0.1.1", "10.0.1.2"].map(ip))
        #expect(allocationError { try a.assign(svc("x"), v4) } == .poolExhausted(pools: ["p"], family: .ipv4))
        #expect(allocationError { try a.assign(svc("y"), request(addresses: ["10.0.1.0"])) } == .addressAvoided(ip("10.0.1.0"), pool: "p"))
        #expect(!a.isFree(ip("10.0.0.255")))
        // Without avoidBuggyIPs a .255 address is an ordinary address.
        #expect(try a.assign(svc("z"), request(addresses: ["10.0.2.255"])).assignment.pool == "q")
        #expect(a.counters(forPool: "p")?.capacityIPv4 == 3)
    }

    @Test func avoidBuggyIPsIgnoresIPv6() throws {
        var a = try allocator(pool("p", ["fc00::ff-fc00::100"], avoidBuggyIPs: true))
        #expect(try a.assign(svc("a"), v6).assignment.addresses == [ip("fc00::ff")])
        #expect(try a.assign(svc("b"), v6).assignment.addresses == [ip("fc00::100")])
    }

    @Test func priorityLowerNumberFirstUnsetLast() throws {
        var a = try allocator(
            pool("a-unset", ["10.0.0.1/32"]), pool("b-ten", ["10.0.1.1/32"], priority: 10),
            pool("c-five", ["10.0.2.1/32"], priority: 5), pool("d-five", ["10.0.3.1/32"], priority: 5))
        #expect(a.allocationOrder == ["c-five", "d-five", "b-ten", "a-unset"])
        let pools = try (0..<4).map { try a.assign(svc("s\($0)"), v4).assignment.pool }
        #expect(pools == ["c-five", "d-five", "b-ten", "a-unset"])
        #expect(allocationError { try a.assign(svc("x"), v4) } == .poolExhausted(pools: ["c-five", "d-five", "b-ten", "a-unset"], family: .ipv4))
    }

    @Test func restrictedPoolsBeforeUnrestrictedAtEqualPriority() throws {
        var a = try allocator(pool("a", ["10.0.0.1/32"]), pool("z", ["10.0.9.1/32"], namespaces: ["team"]))
        #expect(try a.assign(svc("s", "team"), v4).assignment.pool == "z")
        #expect(try a.assign(svc("t", "other"), v4).assignment.pool == "a")
    }

    @Test func autoAssignFalseOnlyOnRequest() throws {
        var a = try allocator(pool("exp", ["42.176.25.64/30"], autoAssign: false))
        #expect(allocationError { try a.assign(svc("a"), v4) } == .noMatchingPool(service: svc("a")))
        #expect(try a.assign(svc("b"), request(pool: "exp")).assignment.addresses == [ip("42.176.25.64")])
        #expect(try a.assign(svc("c"), request(addresses: ["42.176.25.66"])).assignment.pool == "exp")
    }

    @Test func requestedPool() throws {
        var a = try allocator(pool("a", ["10.0.0.0/31"]), pool("b", ["10.0.1.0/31"]))
        #expect(try a.assign(svc("x"), request(pool: "b")).assignment.addresses == [ip("10.0.1.0")])
        #expect(allocationError { try a.assign(svc("y"), request(pool: "nope")) } == .unknownPool("nope"))
        _ = try a.assign(svc("y"), request(pool: "b"))
        #expect(allocationError { try a.assign(svc("z"), request(pool: "b")) } == .poolExhausted(pools: ["b"], family: .ipv4))
        #expect(allocationError { try a.assign(svc("w"), request(.single(.ipv6), pool: "b")) } == .familyUnavailable(.ipv6, pools: ["b"]))
    }

    @Test func namespaceAndServiceSelectors() throws {
        let nsPool = pool("ns", ["10.0.0.0/30"], namespaces: ["a"], namespaceSelectors: [LabelSelector(matchLabels: ["foo": "bar"])])
        let svcPool = pool("svc", ["10.0.1.0/30"], serviceSelectors: [LabelSelector(matchExpressions: [.init(key: "app", .in, ["bar"])])])
        var a = try allocator(nsPool, svcPool)
        #expect(try a.assign(svc("s1", "a"), v4).assignment.pool == "ns")
        #expect(try a.assign(svc("s2", "b"), request(nsLabels: ["foo": "bar"])).assignment.pool == "ns")
        #expect(try a.assign(svc("s3", "b"), request(labels: ["app": "bar"])).assignment.pool == "svc")
        #expect(allocationError { try a.assign(svc("s4", "b"), v4) } == .noMatchingPool(service: svc("s4", "b")))
        #expect(allocationError { try a.assign(svc("s5", "b"), request(pool: "ns")) } == .poolSelectorMismatch(pool: "ns", service: svc("s5", "b")))
        #expect(allocationError { try a.assign(svc("s6", "b"), request(addresses: ["10.0.1.3"])) } == .poolSelectorMismatch(pool: "svc", service: svc("s6", "b")))
    }
}

@Suite("Requested addresses")
struct RequestedAddressTests {
    @Test func requestedAddressRules() throws {
        var a = try allocator(pool("a", ["10.0.0.0/24"]), pool("b", ["10.0.1.0/24"]))
        #expect(try a.assign(svc("x"), request(addresses: ["10.0.0.7"])).assignment == Assignment(addresses: [ip("10.0.0.7")], pool: "a"))
        #expect(allocationError { try a.assign(svc("y"), request(addresses: ["4.3.2.1"])) } == .addressNotInAnyPool(ip("4.3.2.1")))
        #expect(allocationError { try a.assign(svc("y"), request(addresses: ["10.0.0.7"])) } == .addressInUse(ip("10.0.0.7"), by: [svc("x")]))
        #expect(allocationError { try a.assign(svc("y"), request(addresses: ["10.0.0.8"], pool: "b")) } == .addressNotInRequestedPool(ip("10.0.0.8"), pool: "b"))
        #expect(allocationError { try a.assign(svc("y"), request(addresses: ["10.0.0.8"], pool: "zz")) } == .unknownPool("zz"))
        #expect(a.holder(of: ip("10.0.0.7")) == svc("x"))
        #expect(!a.isFree(ip("10.0.0.7")))
        #expect(a.isFree(ip("10.0.0.8")))
        #expect(!a.isFree(ip("4.3.2.1")))
    }

    @Test func malformedRequestsKeepTheCurrentAllocation() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24", "fc00::/120"]))
        _ = try a.assign(svc("x"), v4)
        let before = a.assigned(svc("x"))
        #expect(allocationError { try a.assign(svc("x"), request(addresses: ["10.0.0.1", "10.0.0.2"])) } == .invalidRequest("10.0.0.1 and 10.0.0.2 are of the same family"))
        if case .invalidRequest = allocationError({ try a.assign(svc("x"), request(addresses: ["10.0.0.1", "fc00::1", "10.0.0.3"])) }) {} else {
            Issue.record("three addresses must be rejected")
        }
        #expect(allocationError { try a.assign(svc("x"), request(addresses: ["fc00::1"])) } == .familyMismatch(addresses: [ip("fc00::1")], families: .single(.ipv4)))
        #expect(allocationError { try a.assign(svc("x"), request(.requireDualStack(primary: .ipv4), addresses: ["10.0.0.1"])) } == .familyMismatch(addresses: [ip("10.0.0.1")], families: .requireDualStack(primary: .ipv4)))
        #expect(a.assigned(svc("x")) == before)
    }

    @Test func dualStackRequestedAddressesFromOnePool() throws {
        var a = try allocator(pool("a", ["10.0.0.0/24", "fc00::/120"]), pool("b", ["fc00:1::/120"]))
        let dual = FamilyRequest.requireDualStack(primary: .ipv6)
        #expect(try a.assign(svc("x"), request(dual, addresses: ["fc00::5", "10.0.0.5"])).assignment.addresses == [ip("10.0.0.5"), ip("fc00::5")])
        #expect(allocationError { try a.assign(svc("y"), request(dual, addresses: ["10.0.0.6", "fc00:1::6"])) } == .addressesInDifferentPools([ip("10.0.0.6"), ip("fc00:1::6")]))
    }
}

@Suite("Sharing (metallb.io/allow-shared-ip)")
struct SharingTests {
    let tcp80 = AllocatedPort(.tcp, 80)
    let tcp443 = AllocatedPort(.tcp, 443)
    let udp53 = AllocatedPort(.udp, 53)
    let tcp53 = AllocatedPort(.tcp, 53)

    @Test func sameKeyDisjointPortsShare() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]))
        _ = try a.assign(svc("dns-udp"), request(addresses: ["10.0.0.9"], key: "dns", ports: [udp53]))
        _ = try a.assign(svc("dns-tcp"), request(addresses: ["10.0.0.9"], key: "dns", ports: [tcp53]))
        #expect(a.holders(of: ip("10.0.0.9")) == [svc("dns-tcp"), svc("dns-udp")])
        #expect(a.counters(forPool: "p")?.assignedIPv4 == 1)
        a.release(svc("dns-udp"))
        #expect(a.holders(of: ip("10.0.0.9")) == [svc("dns-tcp")])
        a.release(svc("dns-tcp"))
        #expect(a.isFree(ip("10.0.0.9")))
    }

    /// Automatic allocation co-locates services with the same key: MetalLB takes the first usable address.
    @Test func autoAssignCoLocatesSameKey() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]))
        #expect(try a.assign(svc("other"), v4).assignment.addresses == [ip("10.0.0.0")])
        #expect(try a.assign(svc("web-http"), request(key: "web", ports: [tcp80])).assignment.addresses == [ip("10.0.0.1")])
        #expect(try a.assign(svc("web-https"), request(key: "web", ports: [tcp443])).assignment.addresses == [ip("10.0.0.1")])
        // Port clash on the shared address: the next address.
        #expect(try a.assign(svc("web-http2"), request(key: "web", ports: [tcp80])).assignment.addresses == [ip("10.0.0.2")])
        // A different key never joins.
        #expect(try a.assign(svc("api"), request(key: "api", ports: [udp53])).assignment.addresses == [ip("10.0.0.3")])
    }

    @Test func sharingRefusals() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]))
        _ = try a.assign(svc("a"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp80]))
        _ = try a.assign(svc("n"), request(addresses: ["10.0.0.2"], ports: [tcp80]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "other", ports: [tcp443])) }
            == .sharingKeyMismatch(ip("10.0.0.1"), requested: "other", existing: "k", by: [svc("a")]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.1"], ports: [tcp443])) } == .addressInUse(ip("10.0.0.1"), by: [svc("a")]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "", ports: [tcp443])) } == .addressInUse(ip("10.0.0.1"), by: [svc("a")]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.2"], key: "k", ports: [tcp443])) } == .addressInUse(ip("10.0.0.2"), by: [svc("n")]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp443, tcp80])) } == .portClash(ip("10.0.0.1"), port: tcp80, by: svc("a")))
        #expect(a.assigned(svc("b")) == nil)
    }

    @Test func localTrafficPolicyNeedsSamePods() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]))
        _ = try a.assign(svc("a"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp80], policy: .local, selector: ["app": "web"]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp443], policy: .local, selector: ["app": "db"])) }
            == .sharingBackendMismatch(ip("10.0.0.1"), by: [svc("a")]))
        #expect(allocationError { try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp443], policy: .cluster, selector: ["app": "web"])) }
            == .sharingBackendMismatch(ip("10.0.0.1"), by: [svc("a")]))
        #expect(try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp443], policy: .local, selector: ["app": "web"])).assignment.addresses == [ip("10.0.0.1")])
        // Cluster policy shares whatever the pods.
        _ = try a.assign(svc("c"), request(addresses: ["10.0.0.2"], key: "k2", ports: [tcp80], selector: ["app": "x"]))
        #expect(try a.assign(svc("d"), request(addresses: ["10.0.0.2"], key: "k2", ports: [tcp443], selector: ["app": "y"])).assignment.addresses == [ip("10.0.0.2")])
    }

    @Test func soleHolderMayChangeItsKeyButNotASharedOne() throws {
        var a = try allocator(pool("p", ["10.0.0.1-10.0.0.10"]))
        _ = try a.assign(svc("a"), request(addresses: ["10.0.0.1"], key: "k", ports: [tcp80]))
        #expect(try a.assign(svc("a"), request(addresses: ["10.0.0.1"], key: "j", ports: [tcp80])).change == .unchanged)
        _ = try a.assign(svc("b"), request(addresses: ["10.0.0.1"], key: "j", ports: [tcp443]))
        // a now shares with b: changing its key invalidates the allocation; the requested address is refused.
        #expect(allocationError { try a.assign(svc("a"), request(addresses: ["10.0.0.1"], key: "z", ports: [tcp80])) }
            == .sharingKeyMismatch(ip("10.0.0.1"), requested: "z", existing: "j", by: [svc("b")]))
        #expect(a.assigned(svc("a")) == nil)
        // Without a requested address it co-locates with b (lowest usable address), then moves, and the result says why.
        #expect(try a.assign(svc("a"), request(key: "j", ports: [tcp80])).assignment.addresses == [ip("10.0.0.1")])
        let r = try a.assign(svc("a"), request(key: "z", ports: [tcp80]))
        guard case .replaced(let previous, let reason) = r.change else {
            Issue.record("expected a replacement, got \(r.change)")
            return
        }
        #expect(previous.addresses == [ip("10.0.0.1")])
        #expect(reason == .sharingKeyMismatch(ip("10.0.0.1"), requested: "z", existing: "j", by: [svc("b")]))
        #expect(r.assignment.addresses == [ip("10.0.0.2")])
    }
}

@Suite("Dual stack")
struct DualStackTests {
    @Test func requireAndPreferFromOnePool() throws {
        var a = try allocator(pool("d", ["10.0.0.0/30", "fc00::/126"]))
        #expect(try a.assign(svc("r"), request(.requireDualStack(primary: .ipv6))).assignment.addresses == [ip("10.0.0.0"), ip("fc00::")])
        #expect(try a.assign(svc("p"), request(.preferDualStack(primary: .ipv4))).assignment.addresses == [ip("10.0.0.1"), ip("fc00::1")])
        let c = try #require(a.counters(forPool: "d"))
        #expect(c.assignedIPv4 == 2 && c.assignedIPv6 == 2)
        #expect(c.availableIPv4 == 2 && c.availableIPv6 == 2)
    }

    @Test func requireDualStackNeedsAPoolWithBoth() throws {
        var a = try allocator(pool("four", ["10.0.0.0/30"]), pool("six", ["fc00::/126"]))
        #expect(allocationError { try a.assign(svc("r"), request(.requireDualStack(primary: .ipv4))) } == .dualStackUnavailable(pools: ["four", "six"]))
        // PreferDualStack falls back to one address of the primary family.
        #expect(try a.assign(svc("p6"), request(.preferDualStack(primary: .ipv6))).assignment.addresses == [ip("fc00::")])
        #expect(try a.assign(svc("p4"), request(.preferDualStack(primary: .ipv4))).assignment.addresses == [ip("10.0.0.0")])
    }

    @Test func preferDualStackTakesALaterPoolWithBothFamilies() throws {
        var a = try allocator(pool("a", ["10.0.0.0/30"], priority: 1), pool("b", ["10.0.1.0/30", "fc00::/126"], priority: 2))
        let r = try a.assign(svc("p"), request(.preferDualStack(primary: .ipv4)))
        #expect(r.assignment == Assignment(addresses: [ip("10.0.1.0"), ip("fc00::")], pool: "b"))
        #expect(try a.assign(svc("s"), v4).assignment.pool == "a")
    }

    @Test func familyUnavailable() throws {
        var a = try allocator(pool("four", ["10.0.0.0/30"]))
        #expect(allocationError { try a.assign(svc("x"), v6) } == .familyUnavailable(.ipv6, pools: ["four"]))
    }

    @Test func preferDualStackIsExtendedWhenTheMissingFamilyFreesUp() throws {
        var a = try allocator(pool("d", ["10.0.0.0/30", "fc00::/128"]))
        _ = try a.assign(svc("hog"), v6)
        let first = try a.assign(svc("p"), request(.preferDualStack(primary: .ipv4)))
        #expect(first.assignment.addresses == [ip("10.0.0.0")])
        #expect(try a.assign(svc("p"), request(.preferDualStack(primary: .ipv4))).change == .unchanged)
        a.release(svc("hog"))
        let again = try a.assign(svc("p"), request(.preferDualStack(primary: .ipv4)))
        #expect(again.change == .extended(added: ip("fc00::")))
        #expect(again.assignment.addresses == [ip("10.0.0.0"), ip("fc00::")])
    }

    @Test func familyRequestFromServiceFields() {
        #expect(FamilyRequest(ipFamilies: [.ipv4], policy: nil) == .single(.ipv4))
        #expect(FamilyRequest(ipFamilies: [.ipv6, .ipv4], policy: .singleStack) == .single(.ipv6))
        #expect(FamilyRequest(ipFamilies: [.ipv6, .ipv4], policy: .preferDualStack) == .preferDualStack(primary: .ipv6))
        #expect(FamilyRequest(ipFamilies: [.ipv4], policy: .preferDualStack) == .single(.ipv4))
        #expect(FamilyRequest(ipFamilies: [.ipv4, .ipv6], policy: .requireDualStack) == .requireDualStack(primary: .ipv4))
    }
}

@Suite("Reconcile, setPools, restore, counters")
struct LifecycleTests {
    @Test func assignIsIdempotentAndFollowsRequestChanges() throws {
        var a = try allocator(pool("a", ["10.0.0.0/24"]), pool("b", ["10.0.1.0/24"], autoAssign: false))
        let first = try a.assign(svc("x"), v4)
        #expect(first.change == .allocated)
        #expect(try a.assign(svc("x"), v4) == AssignResult(assignment: first.assignment, change: .unchanged))
        let moved = try a.assign(svc("x"), request(pool: "b"))
        #expect(moved.change == .replaced(previous: first.assignment, reason: .addressNotInRequestedPool(ip("10.0.0.0"), pool: "b")))
        #expect(moved.assignment.pool == "b")
        let pinned = try a.assign(svc("x"), request(addresses: ["10.0.1.77"]))
        #expect(pinned.change == .replaced(previous: moved.assignment, reason: .requestedAddressesChanged(current: [ip("10.0.1.0")], requested: [ip("10.0.1.77")])))
        // Dropping the annotations keeps the address: it is still valid.
        #expect(try a.assign(svc("x"), v4).change == .unchanged)
        #expect(a.assigned(svc("x"))?.addresses == [ip("10.0.1.77")])
    }

    @Test func setPoolsReleasesOnlyWhatNoLongerFits() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]), pool("q", ["10.0.1.0/24"]))
        _ = try a.assign(svc("zero"), request(addresses: ["10.0.0.0"]))
        _ = try a.assign(svc("low"), request(addresses: ["10.0.0.5"]))
        _ = try a.assign(svc("high"), request(addresses: ["10.0.0.200"]))
        _ = try a.assign(svc("inq"), request(addresses: ["10.0.1.9"]))
        _ = try a.assign(svc("ann"), request(pool: "q"))
        let released = try a.setPools([
            pool("p", ["10.0.0.0/25"], avoidBuggyIPs: true),
            pool("renamed", ["10.0.1.0/24"]),
        ])
        #expect(released.map(\.service) == [svc("ann"), svc("high"), svc("zero")])
        #expect(released.map(\.reason) == [.unknownPool("q"), .addressNotInAnyPool(ip("10.0.0.200")), .addressAvoided(ip("10.0.0.0"), pool: "p")])
        #expect(a.assigned(svc("low")) == Assignment(addresses: [ip("10.0.0.5")], pool: "p"))
        #expect(a.assigned(svc("inq")) == Assignment(addresses: [ip("10.0.1.9")], pool: "renamed"))
        #expect(a.assigned(svc("high")) == nil)
        #expect(a.counters(forPool: "p")?.assignedIPv4 == 1)
        #expect(a.counters(forPool: "renamed")?.assignedIPv4 == 1)
        #expect(a.counters(forPool: "q") == nil)
    }

    @Test func setPoolsChecksSelectors() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]))
        _ = try a.assign(svc("x", "ns1"), v4)
        let released = try a.setPools([pool("p", ["10.0.0.0/24"], namespaces: ["ns2"])])
        #expect(released == [ReleasedAllocation(service: svc("x", "ns1"), previous: Assignment(addresses: [ip("10.0.0.0")], pool: "p"), reason: .poolSelectorMismatch(pool: "p", service: svc("x", "ns1")))])
    }

    @Test func invalidConfigurationsAreRejectedWholesale() throws {
        var a = try allocator(pool("p", ["10.0.0.0/24"]))
        _ = try a.assign(svc("x"), v4)
        #expect(throws: PoolConfigError.overlappingPools("p", "q")) {
            try a.setPools([pool("p", ["10.0.0.0/24"]), pool("q", ["10.0.0.128-10.0.1.5"])])
        }
        #expect(throws: PoolConfigError.duplicatePoolName("p")) {
            try a.setPools([pool("p", ["10.0.0.0/24"]), pool("p", ["10.0.3.0/24"])])
        }
        #expect(a.pools.map(\.name) == ["p"])
        #expect(a.assigned(svc("x"))?.addresses == [ip("10.0.0.0")])
    }

    @Test func restoreAcceptsValidAndReportsConflicts() throws {
        let pools = [pool("p", ["10.0.0.0/24", "fc00::/120"]), pool("q", ["10.0.1.0/24"], autoAssign: false)]
        var live = try Allocator(pools: pools)
        let tcp80 = AllocatedPort(.tcp, 80)
        let reqs: [(ServiceKey, AllocationRequest)] = [
            (svc("a"), request(key: "k", ports: [tcp80])),
            (svc("b"), request(key: "k", ports: [AllocatedPort(.tcp, 443)])),
            (svc("c"), request(.requireDualStack(primary: .ipv6))),
            (svc("d"), request(pool: "q")),
        ]
        for (s, r) in reqs { _ = try live.assign(s, r) }

        var rebuilt = try Allocator(pools: pools)
        for (s, r) in reqs.reversed() {
            _ = try rebuilt.restore(s, addresses: live.assigned(s)!.addresses, request: r)
        }
        #expect(rebuilt.assignments == live.assignments)
        #expect(rebuilt.counters == live.counters)
        #expect(rebuilt.holders(of: ip("10.0.0.0")) == [svc("a"), svc("b")])

        #expect(allocationError { try rebuilt.restore(svc("e"), addresses: [ip("10.0.0.0")], request: v4) } == .addressInUse(ip("10.0.0.0"), by: [svc("a"), svc("b")]))
        #expect(allocationError { try rebuilt.restore(svc("e"), addresses: [ip("10.0.0.0")], request: request(key: "k", ports: [tcp80])) } == .portClash(ip("10.0.0.0"), port: tcp80, by: svc("a")))
        #expect(allocationError { try rebuilt.restore(svc("e"), addresses: [ip("9.9.9.9")], request: v4) } == .addressNotInAnyPool(ip("9.9.9.9")))
        #expect(allocationError { try rebuilt.restore(svc("e"), addresses: [ip("fc00::9")], request: v4) } == .familyMismatch(addresses: [ip("fc00::9")], families: .single(.ipv4)))
        #expect(rebuilt.assigned(svc("e")) == nil)
        // A restored allocation is kept by the next reconcile.
        #expect(try rebuilt.assign(svc("c"), request(.requireDualStack(primary: .ipv6))).change == .unchanged)
    }

    @Test func countersAndCapacity() throws {
        var a = try allocator(pool("big", ["10.0.0.0/8", "fd00::/64"]), pool("small", ["192.168.0.0/30"], avoidBuggyIPs: true))
        _ = try a.assign(svc("a"), v4)
        _ = try a.assign(svc("b"), v6)
        _ = try a.assign(svc("c"), request(pool: "small"))
        let big = try #require(a.counters(forPool: "big"))
        #expect(big.assignedIPv4 == 1 && big.assignedIPv6 == 1)
        #expect(big.capacityIPv4 == pow2(24))
        #expect(big.capacityIPv6 == pow2(64))
        #expect(big.availableIPv6 == pow2(64) - 1)
        #expect(big.capacity == pow2(64) + pow2(24))
        #expect(big.assigned == 2)
        let small = try #require(a.counters(forPool: "small"))
        #expect(small.capacityIPv4 == 3 && small.availableIPv4 == 2)
        #expect(a.counters.count == 2)
    }

    @Test func errorMessagesNameTheCulprits() {
        #expect(AllocationError.poolExhausted(pools: ["gold"], family: .ipv4).description == "no available IPv4 IPs in pool \"gold\"")
        #expect(AllocationError.poolExhausted(pools: ["a", "b"], family: nil).description == "no available IPs in pools \"a\", \"b\"")
        #expect(AllocationError.addressInUse(ip("1.2.3.4"), by: [svc("x", "ns")]).description.contains("ns/x"))
        #expect(AllocationError.portClash(ip("1.2.3.4"), port: AllocatedPort(.udp, 53), by: svc("dns")).description == "port UDP/53 is already in use on \"1.2.3.4\" by default/dns")
        #expect(AllocationError.unknownPool("p").description == "unknown pool \"p\"")
    }
}
