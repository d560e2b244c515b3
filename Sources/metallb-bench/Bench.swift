import NetAddress
import ArgumentParser
import Foundation
import IPAM
import Kube
import Logging

/// Workloads for `hack/bench`: each subcommand does one measured thing and prints one JSON line.
@main
struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "metallb-bench",
        abstract: "Benchmark workloads for hack/bench (not shipped in the image).",
        subcommands: [Populate.self, InformerSync.self, UpdateStream.self, WatchLag.self, DecodeFile.self, IPAMRun.self, IPAMHold.self, ServicesEndToEnd.self,
                      BGPRun.self])
}

struct Common: ParsableArguments {
    @Option var kubeconfig: String
    @Option var namespace: String

    func client() throws -> KubeClient {
        var c = try KubeConfig.fromKubeconfigFile(kubeconfig)
        // Benchmarks measure the client, not its throttle.
        c.qps = 100_000
        c.burst = 100_000
        return try KubeClient(config: c, logger: Logger(label: "bench"))
    }
}

func emit(_ fields: [String: JSONValue]) {
    // A JSONValue always encodes; were it ever not to, say so rather than trap.
    guard let data = try? KubeJSON.encoder.encode(JSONValue.object(fields)) else {
        print(#"{"error":"the result could not be encoded"}"#)
        return
    }
    print(String(decoding: data, as: UTF8.self))
}

func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18 }

func nowNanos() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// Runs `body(0..<count)` with at most `concurrency` calls in flight.
func forEachConcurrently(_ count: Int, concurrency: Int, _ body: @escaping @Sendable (Int) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { g in
        var next = 0
        for _ in 0..<min(concurrency, count) {
            let i = next
            next += 1
            g.addTask { try await body(i) }
        }
        while try await g.next() != nil, next < count {
            let i = next
            next += 1
            g.addTask { try await body(i) }
        }
        try await g.waitForAll()
    }
}

struct Populate: AsyncParsableCommand {
    @OptionGroup var common: Common
    @Option var count = 10_000
    @Option var concurrency = 32

    func run() async throws {
        let client = try common.client()
        let cms = client.resource(ConfigMap.self, namespace: common.namespace)
        let start = ContinuousClock.now
        let n = count
        let ns = common.namespace
        try await forEachConcurrently(n, concurrency: concurrency) { i in
            var cm = ConfigMap(
                metadata: ObjectMeta(name: String(format: "cm-%05d", i), namespace: ns, labels: ["bench": "kube"]),
                data: ["payload": String(repeating: "x", count: 64), "ts": "0"])
            cm.setTypeMeta()
            _ = try await cms.create(cm)
        }
        emit(["created": .int(Int64(n)), "seconds": .double(seconds(ContinuousClock.now - start))])
        await client.shutdown()
    }
}

struct InformerSync: AsyncParsableCommand {
    @OptionGroup var common: Common
    @Option var pageSize = 500
    @Flag(help: "List from the API server's watch cache (resourceVersion 0), as client-go does.") var fromCache = false

    func run() async throws {
        let client = try common.client()
        let start = ContinuousClock.now
        let informer = Informer(client.resource(ConfigMap.self, namespace: common.namespace), pageSize: pageSize, initialListFromCache: fromCache)
        await informer.start()
        await informer.waitForSync()
        let t = ContinuousClock.now - start
        let n = await informer.count
        await informer.stop()
        emit(["objects": .int(Int64(n)), "synced_ms": .double(seconds(t) * 1000)])
        await client.shutdown()
    }
}

struct UpdateStream: AsyncParsableCommand {
    @OptionGroup var common: Common
    @Option var count = 5_000
    @Option var objects = 10_000
    @Option var concurrency = 16

    func run() async throws {
        let client = try common.client()
        let cms = client.resource(ConfigMap.self, namespace: common.namespace)
        let start = ContinuousClock.now
        let n = count
        let objs = objects
        try await forEachConcurrently(n, concurrency: concurrency) { i in
            let name = String(format: "cm-%05d", i % objs)
            _ = try await cms.mergePatch(name, patch: ["data": ["ts": .string(String(nowNanos()))]])
        }
        let t = seconds(ContinuousClock.now - start)
        emit(["updates": .int(Int64(n)), "seconds": .double(t), "updates_per_s": .double(Double(n) / t)])
        await client.shutdown()
    }
}

actor LagStats {
    var lags: [Double] = []
    var first: ContinuousClock.Instant?
    var last: ContinuousClock.Instant?
    func record(_ ms: Double) {
        let now = ContinuousClock.now
        if first == nil { first = now }
        last = now
        lags.append(ms)
    }
    var count: Int { lags.count }
}

struct WatchLag: AsyncParsableCommand {
    @OptionGroup var common: Common
    @Option(help: "Stop after this many update events.") var expect = 5_000
    @Option var timeout = 300

    func run() async throws {
        let client = try common.client()
        let stats = LagStats()
        let informer = Informer(client.resource(ConfigMap.self, namespace: common.namespace))
        await informer.addHandler(InformerHandler(onUpdate: { _, new in
            guard let ts = new.data?["ts"].flatMap(Int64.init), ts > 0 else { return }
            await stats.record(Double(nowNanos() - ts) / 1e6)
        }))
        await informer.start()
        await informer.waitForSync()
        FileHandle.standardError.write(Data("synced\n".utf8))
        let deadline = ContinuousClock.now + .seconds(timeout)
        while await stats.count < expect && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let lags = await stats.lags.sorted()
        let span = await seconds((stats.last ?? .now) - (stats.first ?? .now))
        func pct(_ p: Double) -> Double { lags.isEmpty ? 0 : lags[min(lags.count - 1, Int(Double(lags.count) * p))] }
        emit([
            "events": .int(Int64(lags.count)), "events_per_s": .double(span > 0 ? Double(lags.count) / span : 0),
            "lag_p50_ms": .double(pct(0.5)), "lag_p99_ms": .double(pct(0.99)), "lag_max_ms": .double(lags.last ?? 0),
        ])
        await informer.stop()
        await client.shutdown()
    }
}

/// Decodes a saved list response (e.g. `kubectl get configmaps -o json`) to time the JSON layer alone.
struct DecodeFile: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode-file")
    @Argument var file: String
    @Option var repeats = 3
    @Flag(help: "Decode as untyped JSONValue instead of ConfigMap.") var untyped = false

    func run() async throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: file))
        var best = Double.infinity
        var n = 0
        for _ in 0..<repeats {
            let start = ContinuousClock.now
            if untyped {
                n = try KubeJSON.decoder.decode(ObjectList<UnstructuredObject>.self, from: data).items.count
            } else {
                n = try KubeJSON.decoder.decode(ObjectList<ConfigMap>.self, from: data).items.count
            }
            best = min(best, seconds(ContinuousClock.now - start))
        }
        emit(["items": .int(Int64(n)), "bytes": .int(Int64(data.count)), "best_ms": .double(best * 1000)])
    }
}

/// The allocator alone: the module's allocate/release benchmark with the naive baseline.
struct IPAMRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ipam")
    @Option var n = 100_000
    @Option var naiveN = 10_000

    func run() async throws {
        print(IPAMBenchmark.report(n: n, naiveN: naiveN))
    }
}

/// Holds `n` allocations in one pool of the given CIDR, then reports ns per assign and the
/// process's peak RSS: run with different pool sizes to show that size does not cost memory.
struct IPAMHold: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ipam-hold")
    @Option var cidr = "10.0.0.0/12"
    @Option var n = 100_000

    func run() async throws {
        let family: IPFamily = cidr.contains(":") ? .ipv6 : .ipv4
        var alloc = Allocator()
        _ = try alloc.setPools([Pool(name: "bench", addresses: try AddressSet(parsing: [cidr]))])
        let request = AllocationRequest(families: .single(family), ports: [AllocatedPort(.tcp, 80)])
        let start = ContinuousClock.now
        for i in 0..<n { _ = try alloc.assign(ServiceKey(namespace: "bench", name: "svc-\(i)"), request) }
        let t = seconds(ContinuousClock.now - start)
        var peakKB: Int64 = 0
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) {
            for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
                peakKB = Int64(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
            }
        }
        emit([
            "cidr": .string(cidr), "allocations": .int(Int64(alloc.assignments.count)),
            "assign_ns_per_op": .double(t * 1e9 / Double(n)), "peak_rss_mb": .double(Double(peakKB) / 1024),
        ])
    }
}

/// Creates `count` LoadBalancer Services at once (bounded concurrency) and measures, per
/// Service, the time from its create call returning to the first watch event showing an
/// ingress IP, and the time from the first create to the last IP. `--mode controller` waits
/// for a running `metallb controller`; `--mode floor` writes each status itself right after
/// the create (no controller), the API server's floor for the same work.
struct ServicesEndToEnd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "services-e2e")
    @OptionGroup var common: Common
    @Option var count = 1_000
    @Option var concurrency = 64
    @Option var mode = "controller"
    @Option var timeout = 300
    @Option(help: "First address of the floor mode's made-up assignments (a /16 is used).") var floorBase = "10.200"
    @Option(help: "The metallb.io/address-pool annotation of the Services (none by default).") var pool: String?
    @Option(help: "The Services' selector, key=value (default app=<service name>: no endpoints).") var selector: String?
    @Flag(help: "Leave the Services in place (default: delete them at the end).") var keep = false

    final class Times: @unchecked Sendable {
        let lock = NSLock()
        var created: [String: ContinuousClock.Instant] = [:]
        var assigned: [String: ContinuousClock.Instant] = [:]
    }

    func run() async throws {
        guard mode == "controller" || mode == "floor" else { throw ValidationError("--mode must be controller or floor") }
        let client = try common.client()
        let services = client.resource(Service.self, namespace: common.namespace)
        let times = Times()
        let rv = try await services.list(ListOptions(limit: 1)).metadata?.resourceVersion
        let watching = Task {
            for try await event in services.watch(resourceVersion: rv) {
                guard case .modified(let svc) = event, !(svc.status?.loadBalancer?.ingress ?? []).isEmpty else { continue }
                let now = ContinuousClock.now
                let done = times.lock.withLock {
                    if times.assigned[svc.name] == nil { times.assigned[svc.name] = now }
                    return times.assigned.count
                }
                if done == count { return }
            }
        }
        let start = ContinuousClock.now
        let floor = mode == "floor"
        let base = floorBase
        let annotations = pool.map { ["metallb.io/address-pool": $0] }
        let fixedSelector: [String: String]? = try selector.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw ValidationError("--selector must be key=value") }
            return [parts[0]: parts[1]]
        }
        try await forEachConcurrently(count, concurrency: concurrency) { i in
            let name = "lb-\(i)"
            var s = Service(
                metadata: ObjectMeta(name: name, namespace: common.namespace, annotations: annotations),
                spec: ServiceSpec(type: "LoadBalancer", ports: [Kube.ServicePort(protocol: "TCP", port: 80, targetPort: .int(8080))],
                                  selector: fixedSelector ?? ["app": name]))
            s.setTypeMeta()
            _ = try await services.create(s)
            let t = ContinuousClock.now
            times.lock.withLock { times.created[name] = t }
            if floor {
                _ = try await services.mergePatch(name, patch: ["status": ["loadBalancer": ["ingress": [["ip": .string("\(base).\(i / 256).\(i % 256)")]]]]], subresource: "status")
            }
        }
        let deadline = Task {
            try await Task.sleep(for: .seconds(timeout))
            watching.cancel()
        }
        _ = try? await watching.value
        deadline.cancel()
        let (created, assigned) = times.lock.withLock { (times.created, times.assigned) }
        var latencies = assigned.compactMap { name, t in created[name].map { seconds(t - $0) * 1000 } }.sorted()
        if latencies.isEmpty { latencies = [.nan] }
        func pct(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)] }
        let last = assigned.values.max() ?? start
        emit([
            "mode": .string(mode), "services": .int(Int64(count)), "assigned": .int(Int64(assigned.count)),
            "total_s": .double(seconds(last - start)), "p50_ms": .double(pct(0.5)), "p99_ms": .double(pct(0.99)), "max_ms": .double(latencies.last!),
        ])
        // Each LoadBalancer Service holds a node port (2,768 in the default range): free them
        // for the next run, concurrently (kubectl deletes one at a time, throttled).
        if !keep { try await forEachConcurrently(count, concurrency: concurrency) { i in try await services.delete("lb-\(i)") } }
        await client.shutdown()
        if assigned.count < count { throw ExitCode(1) }
    }
}
