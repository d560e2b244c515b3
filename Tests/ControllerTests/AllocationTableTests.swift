import API
import IPAM
import Kube
import Testing
import NetAddress

@testable import Controller

/// Holds in the allocation table, without an API server: addresses a Service shows in its
/// status stay reserved for it, inside a pool or outside every pool.
@Suite struct AllocationTableTests {
    func ip(_ s: String) -> IPAddress { IPAddress(s)! }
    func key(_ name: String) -> ServiceKey { ServiceKey(namespace: "apps", name: name) }
    func pool(_ name: String, _ addresses: [String], serviceSelector: [String: String]? = nil) -> IPAddressPool {
        let allocation = serviceSelector.map { ServiceAllocation(serviceSelectors: [Kube.LabelSelector(matchLabels: $0)]) }
        return IPAddressPool(metadata: ObjectMeta(name: name, namespace: "system"), spec: IPAddressPoolSpec(addresses: addresses, serviceAllocation: allocation))
    }
    func config(_ pools: IPAddressPool...) -> Configuration { Configuration(operatorNamespace: "system", ipAddressPools: pools) }
    /// What `ServiceReconciler.holdRequest` builds for one IPv4 address.
    func holdRequest(_ a: String, labels: [String: String] = [:]) -> AllocationRequest {
        AllocationRequest(families: .single(.ipv4), addresses: [ip(a)], serviceLabels: labels)
    }

    @Test func aHoldInAPoolIsNeverHandedOutAndEndsWithUsableSettings() async throws {
        let table = AllocationTable()
        _ = try await table.sync(config(pool("two", ["10.47.0.0/31"])))
        #expect(await table.hold(key("a"), [ip("10.47.0.0")], holdRequest("10.47.0.0")) == .reserved(Assignment(addresses: [ip("10.47.0.0")], pool: "two")))
        #expect(await table.counters["two"]?.assignedIPv4 == 1)
        // Holding again is idempotent.
        #expect(await table.hold(key("a"), [ip("10.47.0.0")], holdRequest("10.47.0.0")) == .reserved(Assignment(addresses: [ip("10.47.0.0")], pool: "two")))
        // Another Service gets the other address, a third nothing.
        #expect(try await table.assign(key("b"), AllocationRequest()).assignment.addresses == [ip("10.47.0.1")])
        await #expect(throws: AllocationError.self) { try await table.assign(key("c"), AllocationRequest()) }
        // a's settings are fixed and allow the address: kept, and the hold is over.
        let fixed = try await table.assign(key("a"), AllocationRequest(addresses: [ip("10.47.0.0")]))
        #expect(fixed.change == .unchanged && fixed.wasHeld && fixed.assignment.addresses == [ip("10.47.0.0")])
        #expect(await table.held(key("a")) == nil)
        // Released, the address goes to the next.
        #expect(await table.release(key("a")) != nil)
        #expect(try await table.assign(key("c"), AllocationRequest()).assignment.addresses == [ip("10.47.0.0")])
    }

    @Test func aHoldOutsideEveryPoolIsPlacedWhenAPoolBringsTheAddressBack() async throws {
        let table = AllocationTable()
        _ = try await table.sync(config(pool("one", ["10.47.1.0/32"])))
        guard case .outsidePools(let why) = await table.hold(key("a"), [ip("10.47.9.1")], holdRequest("10.47.9.1")) else {
            Issue.record("a hold outside every pool was placed")
            return
        }
        #expect(why.contains("10.47.9.1"), "\(why)")
        #expect(await table.held(key("a")) == [ip("10.47.9.1")])
        // A pool edit brings the address back: the hold is placed before anyone allocates.
        let synced = try await table.sync(config(pool("one", ["10.47.1.0/32"]), pool("nine", ["10.47.9.0/30"])))
        #expect(synced.released.isEmpty && synced.heldOutside.isEmpty)
        #expect(await table.assigned(key("a")) == Assignment(addresses: [ip("10.47.9.1")], pool: "nine"))
        let b = try await table.assign(key("b"), AllocationRequest(pool: "nine"))
        let c = try await table.assign(key("c"), AllocationRequest(pool: "nine"))
        #expect(b.assignment.addresses == [ip("10.47.9.0")] && c.assignment.addresses == [ip("10.47.9.2")])
        // The pool goes again: the hold is kept aside, not released.
        let again = try await table.sync(config(pool("one", ["10.47.1.0/32"])))
        #expect(again.heldOutside.map(\.service) == [key("a")])
        #expect(!again.released.contains { $0.service == key("a") })
        #expect(await table.held(key("a")) == [ip("10.47.9.1")])
    }

    @Test func noNewAllocationTakesAnAddressHeldOutsideThePools() async throws {
        // The pool's selector does not admit a, so the allocator refuses a's hold; the address
        // is inside the pool, and nobody else may have it while a shows it.
        let table = AllocationTable()
        _ = try await table.sync(config(pool("gold", ["10.47.2.0/32"], serviceSelector: ["tier": "gold"])))
        guard case .outsidePools = await table.hold(key("a"), [ip("10.47.2.0")], holdRequest("10.47.2.0")) else {
            Issue.record("the allocator accepted a hold its pool's selector refuses")
            return
        }
        let gold = AllocationRequest(serviceLabels: ["tier": "gold"])
        do {
            _ = try await table.assign(key("b"), gold)
            Issue.record("b got the address a holds")
        } catch {
            #expect(error == .addressInUse(ip("10.47.2.0"), by: [key("a")]))
        }
        #expect(await table.assigned(key("b")) == nil)
        #expect(await table.counters["gold"]?.assignedIPv4 == 0)
        // a goes: b gets it.
        _ = await table.release(key("a"))
        #expect(try await table.assign(key("b"), gold).assignment.addresses == [ip("10.47.2.0")])
    }
}
