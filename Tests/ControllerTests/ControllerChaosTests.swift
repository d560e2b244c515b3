import API
import Foundation
import Kube
import KubeTestSupport
import Testing
import TestSupport

@testable import Controller

/// Watches every Service of a namespace in resourceVersion order and records each breach of
/// the controller's promises: a live Service's address changed or vanished, or an address
/// was given to a second live Service.
actor OwnershipLedger {
    private var ipOf: [String: [String]] = [:]  // uid → addresses
    private var holder: [String: String] = [:]  // address → uid
    private var names: [String: String] = [:]
    private(set) var violations: [String] = []
    private(set) var assigned = 0

    func observe(_ svc: Service) {
        guard let uid = svc.metadata.uid else { return }
        names[uid] = svc.name
        let ips = (svc.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
        let before = ipOf[uid] ?? []
        if ips == before { return }
        if !before.isEmpty {
            violations.append("\(svc.name): \(before) → \(ips) while it lived")
        }
        if before.isEmpty && !ips.isEmpty { assigned += 1 }
        for ip in before where holder[ip] == uid { holder[ip] = nil }
        for ip in ips {
            if let other = holder[ip], other != uid {
                violations.append("\(ip) given to \(svc.name) while \(names[other] ?? other) holds it")
            }
            holder[ip] = uid
        }
        ipOf[uid] = ips
    }

    func deleted(_ svc: Service) {
        guard let uid = svc.metadata.uid else { return }
        for ip in ipOf[uid] ?? [] where holder[ip] == uid { holder[ip] = nil }
        ipOf[uid] = nil
    }

    /// True once the ledger has seen exactly these Services with exactly these addresses
    /// (its watch has caught up with a list of the namespace).
    func hasSeen(_ items: [Service]) -> Bool {
        var want: [String: [String]] = [:]
        for s in items {
            let ips = (s.status?.loadBalancer?.ingress ?? []).compactMap(\.ip)
            if let uid = s.metadata.uid, !ips.isEmpty { want[uid] = ips }
        }
        return want == ipOf.filter { !$0.value.isEmpty }
    }
}

/// The chaos test's choices (victims, pauses, targets) come from SplitMix64, so they replay from its seed.
enum ChaosRandom {

    /// `METALLB_CHAOS_SEED` (decimal or 0x-hex) when set, else a random seed.
    static func seed() -> UInt64 {
        if let text = ProcessInfo.processInfo.environment["METALLB_CHAOS_SEED"] {
            let t = text.trimmingCharacters(in: .whitespaces)
            if let v = t.hasPrefix("0x") ? UInt64(t.dropFirst(2), radix: 16) : UInt64(t) { return v }
        }
        return UInt64.random(in: .min ... .max)
    }
}

/// Two `metallb controller` processes with leader election on their own API server; Services
/// are created and deleted without pause while replicas are killed (SIGKILL) and stopped
/// (SIGTERM) and started again. No live Service may ever see its address change, and no
/// address may be held by two live Services.
@Suite(.timeLimit(.minutes(8))) struct ControllerChaosTests {
    @Test func killingReplicasDuringChurnNeverMovesAnAddress() async throws {
        let seed = ChaosRandom.seed()
        let replay = "(replay: METALLB_CHAOS_SEED=\(seed))"
        print("chaos: seed \(seed) \(replay)")
        // One generator per task: the churn and the chaos loop run concurrently.
        var chaosRandom = SplitMix64(seed: seed)
        let churnSeed = seed ^ 0xC4A0_5C4A_05C4_A05C
        let binary = ControlPlane.repoRoot + "/.build/debug/metallb"
        try #require(FileManager.default.isExecutableFile(atPath: binary), "build the metallb binary first (swift build) \(replay)")
        let plane = try await ControlPlane.start()
        defer { Task { await plane.stop() } }
        let client = try plane.client()
        defer { Task { await client.shutdown() } }
        try await installCRDs(client)
        let system = try await TestEnv.createNamespace(client, prefix: "system")
        let apps = try await TestEnv.createNamespace(client, prefix: "apps")
        var pool = IPAddressPool(metadata: ObjectMeta(name: "chaos", namespace: system), spec: IPAddressPoolSpec(addresses: ["10.60.0.0/22"]))
        pool.setTypeMeta()
        _ = try await client.resource(IPAddressPool.self, namespace: system).create(pool)

        final class Replicas: @unchecked Sendable {
            let lock = NSLock()
            var running: [String: ChildProcess] = [:]
            var logs: [String] = []
        }
        let replicas = Replicas()
        // Whatever happens below, no replica outlives the test.
        defer {
            for child in replicas.lock.withLock({ Array(replicas.running.values) }) { child.signal(SIGKILL) }
        }
        func start(_ id: String) throws {
            let child = try ChildProcess(binary, [
                "controller", "--kubeconfig", plane.kubeconfig, "--namespace", system, "--identity", id, "--metrics-port", "0",
                "--leader-elect-lease-duration", "2s", "--leader-elect-renew-deadline", "1500ms", "--leader-elect-retry-period", "250ms",
            ], name: id)
            replicas.lock.withLock { replicas.running[id] = child }
        }
        try start("replica-a")
        try start("replica-b")

        let ledger = OwnershipLedger()
        let services = client.resource(Service.self, namespace: apps)
        let observer = Informer(services)
        await observer.addHandler(InformerHandler(
            onAdd: { await ledger.observe($0) }, onUpdate: { _, new in await ledger.observe(new) }, onDelete: { await ledger.deleted($0) }))
        await observer.start()
        await observer.waitForSync()

        // Churn: 30 rounds of 20 creations and 10 deletions, about 300 Services live at the end.
        let churnDone = DoneFlag()
        let churn = Task {
            defer { churnDone.set() }
            var rng = SplitMix64(seed: churnSeed)
            var live: [String] = []
            var next = 0
            for _ in 0..<30 {
                for _ in 0..<20 {
                    var s = Service(
                        metadata: ObjectMeta(name: "svc-\(next)", namespace: apps),
                        spec: ServiceSpec(type: "LoadBalancer", ports: [Kube.ServicePort(protocol: "TCP", port: 80)], selector: ["app": "svc-\(next)"]))
                    s.setTypeMeta()
                    _ = try await services.create(s)
                    live.append("svc-\(next)")
                    next += 1
                }
                for _ in 0..<10 {
                    let victim = live.remove(at: Int.random(in: 0..<live.count, using: &rng))
                    try await services.delete(victim)
                }
                try await Task.sleep(for: .milliseconds(150))
            }
            return (created: next, live: Set(live))
        }

        // Chaos: while the churn runs, kill or stop the current leader, or the other replica,
        // and start it again after a moment.
        let leases = client.resource(Lease.self, namespace: system)
        var kills = 0, stops = 0, round = 0
        while !churnDone.isSet {
            try await Task.sleep(for: .milliseconds(Int.random(in: 1200...2500, using: &chaosRandom)))
            if churnDone.isSet { break }
            let leader = try? await leases.get("metallb-controller").spec?.holderIdentity
            let ids = replicas.lock.withLock { Array(replicas.running.keys) }.sorted()
            round += 1
            // Mostly the leader (what hurts), sometimes the standby; SIGKILL and SIGTERM in turn.
            guard let any = ids.randomElement(using: &chaosRandom) else { continue }
            let target = (round % 3 != 0 ? leader : ids.first { $0 != leader }) ?? any
            guard let child = replicas.lock.withLock({ replicas.running.removeValue(forKey: target) }) else { continue }
            if round % 2 == 1 {
                child.signal(SIGKILL)
                await child.wait(limit: .seconds(5))
                kills += 1
            } else {
                await child.terminate(grace: .seconds(10))
                stops += 1
            }
            replicas.lock.withLock { replicas.logs.append("== \(target)\n" + child.output.suffix(3000)) }
            child.removeLog()
            try await Task.sleep(for: .milliseconds(Int.random(in: 200...1200, using: &chaosRandom)))
            try start(target)
        }
        let result = try await churn.value

        // Every live Service ends up with one address, all distinct, and nothing ever moved.
        var missing: [String] = []
        let settled = try await eventually(timeout: .seconds(60)) {
            let items = try await services.listAll().items
            missing = items.filter { ($0.status?.loadBalancer?.ingress ?? []).isEmpty }.map(\.name)
            return missing.isEmpty && Set(items.map(\.name)) == result.live
        }
        #expect(settled, "Services without an address: \(missing.prefix(20)) \(replay)")
        let items = try await services.listAll().items
        let all = items.flatMap { ($0.status?.loadBalancer?.ingress ?? []).compactMap(\.ip) }
        #expect(Set(all).count == all.count, "an address is held twice \(replay)")
        // Positive signal before reading the violations: the ledger's watch has caught up with
        // the list (every live Service seen with its final address).
        let caughtUp = await eventually(timeout: .seconds(20)) { await ledger.hasSeen(items) }
        #expect(caughtUp, "the ledger's watch did not catch up with the Services' final state \(replay)")
        let violations = await ledger.violations
        #expect(violations.isEmpty, "\(violations.prefix(20)) \(replay)")
        print("chaos: seed \(seed), \(result.created) Services created, \(result.live.count) live, \(await ledger.assigned) assignments observed, \(kills) SIGKILLs and \(stops) SIGTERMs of replicas, \(violations.count) violations")

        await observer.stop()
        for child in replicas.lock.withLock({ Array(replicas.running.values) }) {
            await child.terminate(grace: .seconds(10))
            if !violations.isEmpty || !settled { print("== \(child.name)\n" + child.output.suffix(3000)) }
            child.removeLog()
        }
        if !violations.isEmpty || !settled { print(replicas.logs.joined(separator: "\n")) }
    }
}

/// A flag one task sets and another reads.
final class DoneFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
