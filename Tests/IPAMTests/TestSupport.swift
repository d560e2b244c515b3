import Testing
import Kube
import API
import NetAddress
@testable import IPAM

/// Parses a test address or fails the test run loudly.
func ip(_ text: String) -> IPAddress {
    guard let a = IPAddress(text) else { preconditionFailure("bad test address \(text)") }
    return a
}

/// A pool from address strings.
func pool(
    _ name: String, _ addresses: [String], autoAssign: Bool = true, avoidBuggyIPs: Bool = false, priority: Int = 0,
    namespaces: [String] = [], namespaceSelectors: [LabelSelector] = [], serviceSelectors: [LabelSelector] = []
) -> Pool {
    do {
        return try Pool(
            name: name, addresses: try AddressSet(parsing: addresses), autoAssign: autoAssign, avoidBuggyIPs: avoidBuggyIPs, priority: priority,
            namespaces: namespaces, namespaceSelectors: namespaceSelectors, serviceSelectors: serviceSelectors)
    } catch {
        preconditionFailure("bad test pool \(addresses): \(error)")
    }
}

/// A service key in namespace "default" unless given.
func svc(_ name: String, _ namespace: String = "default") -> ServiceKey {
    ServiceKey(namespace: namespace, name: name)
}

/// Runs `body` and returns the AllocationError it throws, or nil (closures infer untyped throws).
func allocationError<T>(_ body: () throws -> T) -> AllocationError? {
    do {
        _ = try body()
        return nil
    } catch {
        guard let e = error as? AllocationError else { preconditionFailure("unexpected error \(error)") }
        return e
    }
}

/// 2^n as an AddressCount.
func pow2(_ n: Int) -> AddressCount {
    AddressCount(UInt128(1) << UInt128(n))
}
