import Foundation
import Testing

@testable import Kube
import KubeTestSupport

/// Records what informer handlers receive.
actor EventLog {
    enum Kind: String { case add, update, delete }
    struct Entry: Hashable { var kind: Kind; var name: String; var rv: String }
    private(set) var entries: [Entry] = []
    func append(_ k: Kind, _ o: ConfigMap) { entries.append(Entry(kind: k, name: o.name, rv: o.metadata.resourceVersion ?? "")) }
    var count: Int { entries.count }

    nonisolated func handler() -> InformerHandler<ConfigMap> {
        InformerHandler(
            onAdd: { await self.append(.add, $0) },
            onUpdate: { _, new in await self.append(.update, new) },
            onDelete: { await self.append(.delete, $0) })
    }
}

/// Cache content as name → resourceVersion, for comparing with a fresh list.
func snapshot(_ items: [ConfigMap]) -> [String: String] {
    Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.metadata.resourceVersion ?? "") })
}

@Suite(.timeLimit(.minutes(5))) struct InformerTests {
    @Test func syncsThenFollowsAddsUpdatesDeletesWithIndexes() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)
        for i in 0..<25 { _ = try await cms.create(configMap("pre-\(i)", env.namespace, labels: ["group": i < 10 ? "a" : "b"])) }

        let informer = Informer(cms, pageSize: 10)
        await informer.addIndex("group") { [$0.metadata.labels?["group"] ?? ""] }
        let log = EventLog()
        await informer.addHandler(log.handler())
        await informer.start()
        defer { Task { await informer.stop() } }
        await informer.waitForSync()
        #expect(await informer.count == 25)
        #expect(await informer.list(index: "group", value: "a").count == 10)
        #expect(await log.count == 25)

        var cm = try await cms.get("pre-3")
        cm.metadata.labels = ["group": "b"]
        let updated = try await cms.update(cm)
        try await cms.delete("pre-4")
        let added = try await cms.create(configMap("new", env.namespace, labels: ["group": "a"]))
        #expect(try await eventually {
            let gone = await informer.get(namespace: env.namespace, name: "pre-4") == nil
            let there = await informer.get(added.key) != nil
            return gone && there
        })
        #expect(try await eventually { await informer.get(updated.key)?.metadata.resourceVersion == updated.metadata.resourceVersion })
        #expect(await informer.list(index: "group", value: "a").map(\.name).sorted() == (["new"] + (0..<10).filter { $0 != 3 && $0 != 4 }.map { "pre-\($0)" }).sorted())
        let entries = await log.entries
        #expect(entries.contains(.init(kind: .update, name: "pre-3", rv: updated.metadata.resourceVersion!)))
        #expect(entries.filter { $0.kind == .delete }.map(\.name) == ["pre-4"])
        #expect(entries.contains(.init(kind: .add, name: "new", rv: added.metadata.resourceVersion!)))

        // A handler added late first receives the current content.
        let late = EventLog()
        await informer.addHandler(late.handler())
        #expect(await late.count == 25)
    }

    @Test func relistListsAgainAndKeepsFollowing() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)
        for i in 0..<5 { _ = try await cms.create(configMap("pre-\(i)", env.namespace)) }
        let informer = Informer(cms)
        let log = EventLog()
        await informer.addHandler(log.handler())
        await informer.start()
        defer { Task { await informer.stop() } }
        await informer.waitForSync()
        #expect(await informer.listCount == 1)

        await informer.relist()
        #expect(try await eventually { await informer.listCount == 2 })
        // Nothing changed: the same objects, and no handler saw an add or a delete for them.
        #expect(await informer.count == 5)
        #expect(await log.entries.filter { $0.kind != .add }.isEmpty)
        #expect(await log.count == 5)
        // The new watch follows.
        let added = try await cms.create(configMap("after", env.namespace))
        try await cms.delete("pre-0")
        #expect(try await eventually {
            let there = await informer.get(added.key) != nil
            let gone = await informer.get(namespace: env.namespace, name: "pre-0") == nil
            return there && gone
        })
        #expect(await log.entries.filter { $0.kind == .delete }.map(\.name) == ["pre-0"])
    }

    @Test func resyncRedeliversCachedObjects() async throws {
        let env = try await TestEnv.make()
        defer { Task { await env.close() } }
        let cms = env.client.resource(ConfigMap.self, namespace: env.namespace)
        for i in 0..<3 { _ = try await cms.create(configMap("r\(i)", env.namespace)) }
        let informer = Informer(cms, resyncPeriod: .milliseconds(200))
        let log = EventLog()
        await informer.addHandler(log.handler())
        await informer.start()
        defer { Task { await informer.stop() } }
        await informer.waitForSync()
        // Each resync sends every cached object again as an update with an unchanged version.
        #expect(try await eventually(timeout: .seconds(5)) { await log.entries.filter { $0.kind == .update }.count >= 6 })
        let updates = await log.entries.filter { $0.kind == .update }
        #expect(Set(updates.map(\.name)) == ["r0", "r1", "r2"])
    }

    /// The watch resumes from the last resourceVersion after the API server restarts: every
    /// write is seen exactly once, nothing twice, and the cache equals a fresh list.
    @Test func watchResumesAcrossAPIServerRestartWithoutLossOrDuplicates() async throws {
        let plane = try await ControlPlane.start()
        defer { Task { await plane.stop() } }
        let client = try plane.client()
        defer { Task { await client.shutdown() } }
        let ns = try await TestEnv.createNamespace(client, prefix: "restart")
        let cms = client.resource(ConfigMap.self, namespace: ns)

        var expected: [EventLog.Entry] = []
        for i in 0..<30 {
            let c = try await cms.create(configMap("cm-\(i)", ns, data: ["v": "0"]))
            expected.append(.init(kind: .add, name: c.name, rv: c.metadata.resourceVersion!))
        }
        let informer = Informer(cms)
        let log = EventLog()
        await informer.addHandler(log.handler())
        await informer.start()
        defer { Task { await informer.stop() } }
        await informer.waitForSync()
        for i in 0..<10 {
            let c = try await cms.mergePatch("cm-\(i)", patch: ["data": ["v": "1"]])
            expected.append(.init(kind: .update, name: c.name, rv: c.metadata.resourceVersion!))
        }
        #expect(try await eventually { await log.count == 40 })

        try await plane.restartAPIServer()

        // Writes right after the restart, while the informer may still be reconnecting.
        var deleted: [String] = []
        for i in 30..<60 {
            let c = try await cms.create(configMap("cm-\(i)", ns))
            expected.append(.init(kind: .add, name: c.name, rv: c.metadata.resourceVersion!))
        }
        for i in 10..<20 {
            let c = try await cms.mergePatch("cm-\(i)", patch: ["data": ["v": "2"]])
            expected.append(.init(kind: .update, name: c.name, rv: c.metadata.resourceVersion!))
        }
        for i in 20..<30 {
            try await cms.delete("cm-\(i)")
            deleted.append("cm-\(i)")
        }

        let converged = try await eventually(timeout: .seconds(60)) {
            let fresh = try await cms.listAll().items
            return snapshot(await informer.list()) == snapshot(fresh)
        }
        #expect(converged, "informer cache differs from a fresh list")
        #expect(await informer.watchCount >= 2, "the watch was re-established")
        let entries = await log.entries
        let nonDelete = entries.filter { $0.kind != .delete }
        #expect(Set(nonDelete).count == nonDelete.count, "duplicate events: \(entries.count - Set(entries).count)")
        // (A delete found by a relist carries the last state the cache had, so only adds and
        // updates are matched by resourceVersion.)
        for e in expected {
            let seen = nonDelete.filter { $0.name == e.name && $0.rv == e.rv }.count
            #expect(seen == 1, "event \(e) seen \(seen) times")
        }
        #expect(entries.filter { $0.kind == .delete }.map(\.name).sorted() == deleted.sorted())
        #expect(entries.count == expected.count + deleted.count)
    }

    /// A watch from a compacted resourceVersion gets 410 Gone; the informer lists again and
    /// carries on.
    @Test func goneAfterCompactionMakesTheInformerRelist() async throws {
        let plane = try await ControlPlane.start()
        defer { Task { await plane.stop() } }
        let client = try plane.client()
        defer { Task { await client.shutdown() } }
        let ns = try await TestEnv.createNamespace(client, prefix: "gone")
        let other = try await TestEnv.createNamespace(client, prefix: "other")
        let cms = client.resource(ConfigMap.self, namespace: ns)
        _ = try await cms.create(configMap("before", ns))

        let informer = Informer(cms)
        await informer.start()
        defer { Task { await informer.stop() } }
        await informer.waitForSync()
        let synced = await informer.lastResourceVersion ?? ""

        // Move etcd's revision past the informer's, then compact history up to it.
        for i in 0..<5 { _ = try await client.resource(ConfigMap.self, namespace: other).create(configMap("x\(i)", other)) }
        let etcd = "http://127.0.0.1:\(plane.conf("ETCD_PORT") ?? "0")"
        let range = try await ControlPlane.run("/usr/bin/curl", ["-sf", "-X", "POST", etcd + "/v3/kv/range", "-d", #"{"key":"Lw=="}"#])
        let revision = try #require((try JSONDecoder().decode(JSONValue.self, from: Data(range.utf8)))["header"]?["revision"]?.stringValue)
        #expect(Int(revision)! > Int(synced)!)
        _ = try await ControlPlane.run("/usr/bin/curl", ["-sf", "-X", "POST", etcd + "/v3/kv/compaction", "-d", #"{"revision":"\#(revision)","physical":true}"#])

        // Restart the API server: its watch cache now starts after the compaction, so the
        // informer's watch, resuming from its old version, gets 410 Gone and must relist.
        try await plane.restartAPIServer()
        do {
            for try await _ in cms.watch(resourceVersion: synced, options: ListOptions(timeoutSeconds: 5)) {}
            Issue.record("watch from a compacted revision was accepted")
        } catch let e as KubeError {
            #expect(e.isGone, "\(e)")
        }
        let after = try await cms.create(configMap("after", ns))
        #expect(try await eventually(timeout: .seconds(60)) { await informer.get(after.key) != nil })
        #expect(await informer.listCount >= 2, "the informer listed again after 410")
        #expect(Set(await informer.list().map(\.name)) == ["before", "after"])
    }
}
