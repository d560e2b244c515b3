import API
import Foundation
import Kube
import KubeTestSupport
import Testing

@testable import Controller

/// A Service that shows an address in its status keeps it reserved, whatever else is wrong
/// with it: across a controller restart (the allocation table is rebuilt from status) and on
/// every later reconcile. Against the real API server.
@Suite(.timeLimit(.minutes(4))) struct ServiceRestoreTests {
    /// How often the Service was told `reason` with `text` in the message (a repeat of an
    /// Event raises its `count` rather than adding an Event).
    func told(_ w: ServiceWorld, _ name: String, reason: String, containing text: String = "") async throws -> Int {
        try await w.env.client.resource(Event.self, namespace: w.apps).listAll().items
            .filter { $0.involvedObject.name == name && $0.reason == reason && ($0.message ?? "").contains(text) }
            .reduce(0) { $0 + Int($1.count ?? 1) }
    }

    @Test func unparseableServiceKeepsItsAddressAcrossRestart() async throws {
        var w = try await ServiceWorld.make("keep")
        let env = w.env
        defer { Task { await env.close() } }
        // One address: whoever gets it second would be a double assignment.
        try await w.pool("one", ["10.45.0.0/32"])
        w.start()

        try await w.service("a")
        try await w.expectIPs("a", ["10.45.0.0"])

        // A's settings become unparseable (annotation and legacy field both set), while its
        // status still shows the address. The running controller explains and keeps it.
        _ = try await w.services.mergePatch("a", patch: [
            "metadata": ["annotations": ["metallb.io/loadBalancerIPs": "10.45.0.0"]],
            "spec": ["loadBalancerIP": "10.45.0.0"],
        ])
        try await w.expectEvent("a", reason: "AllocationFailed", containing: "use only the annotation")
        #expect(try await w.ips("a") == ["10.45.0.0"])

        // Restart: the new controller rebuilds its table from status and must reserve A's
        // address although A's settings cannot be read; it says so on A.
        await w.stop()
        w.start()
        let restarted = w
        defer { Task { await restarted.stop() } }
        let keptAfterRestart = try await eventually { try await told(w, "a", reason: "AllocationFailed", containing: "at start-up") > 0 }
        let aEvents = try await w.events("a", reason: "AllocationFailed")
        #expect(keptAfterRestart, "no Event on a saying its address is kept: \(aEvents)")

        // B comes after the restart: the pool is full, so B must wait (positive signal: its
        // AllocationFailed Event), and A must still be the only holder.
        try await w.service("b")
        var bEvents: [String] = []
        let bRefused = try await eventually {
            bEvents = try await w.events("b", reason: "AllocationFailed")
            return !bEvents.isEmpty
        }
        let aIPs = try await w.ips("a"), bIPs = try await w.ips("b")
        #expect(bRefused, "b got no AllocationFailed Event; a=\(aIPs) b=\(bIPs)")
        #expect(bIPs == [], "double assignment: a=\(aIPs) b=\(bIPs)")
        #expect(aIPs == ["10.45.0.0"], "a lost its address: \(aIPs)")

        // A's next reconcile (any edit) keeps the address and explains again; never a release.
        // (One recorder writes Events in order: B's, seen above, came after A's first one.)
        let explained = try await told(w, "a", reason: "AllocationFailed", containing: "kept")
        _ = try await w.services.mergePatch("a", patch: ["metadata": ["labels": ["touched": "1"]]])
        #expect(try await eventually { try await told(w, "a", reason: "AllocationFailed", containing: "kept") > explained })
        #expect(try await w.ips("a") == ["10.45.0.0"])
        #expect(try await w.ips("b") == [])

        // Repaired, A keeps its address (it asks for exactly that one), now as an allocation
        // again (positive signal: an IPAllocated Event after the repair).
        let allocated = try await told(w, "a", reason: "IPAllocated", containing: "10.45.0.0")
        _ = try await w.services.mergePatch("a", patch: ["spec": ["loadBalancerIP": JSONValue.null]])
        #expect(try await eventually { try await told(w, "a", reason: "IPAllocated", containing: "10.45.0.0") > allocated })
        #expect(try await w.ips("a") == ["10.45.0.0"])
        #expect(try await w.ips("b") == [])

        // Only once A is gone does B get the address.
        try await w.services.delete("a")
        try await w.expectIPs("b", ["10.45.0.0"])
    }
}
