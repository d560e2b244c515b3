import ArgumentParser
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kube
import Synchronization
import Testing
@testable import RoleKit

@Suite struct RoleOptionsTests {
    @Test func durationFlagsNameTheFlagAndTheRule() throws {
        #expect(try DurationFlag.parse("1m30s", flag: "--x") == .seconds(90))
        #expect(try DurationFlag.parse("0s", flag: "--x", allowZero: true) == .zero)
        #expect { try DurationFlag.parse("0s", flag: "--x") } throws: { "\($0)".contains("--x must be positive") }
        #expect { try DurationFlag.parse("10", flag: "--timeout") } throws: { "\($0)".contains("--timeout") && "\($0)".contains("unit") }
    }

    @Test func leaderElectionTimingsMustNest() throws {
        let ok = try LeaderElectionOptions.parse(["--leader-elect-lease-duration", "6s", "--leader-elect-renew-deadline", "4s", "--leader-elect-retry-period", "1s", "--identity", "r1"])
        let config = try #require(try ok.config(leaseName: "l", namespace: "ns"))
        #expect(config.leaseDuration == .seconds(6) && config.renewDeadline == .seconds(4) && config.retryPeriod == .seconds(1))
        #expect(config.identity == "r1")
        #expect(throws: (any Error).self) {
            try LeaderElectionOptions.parse(["--leader-elect-lease-duration", "2s", "--leader-elect-renew-deadline", "4s"])
        }
        let off = try LeaderElectionOptions.parse(["--no-leader-elect"])
        #expect(try off.config(leaseName: "l", namespace: "ns") == nil)
    }

    @Test func monitoringPortRange() {
        #expect(throws: (any Error).self) { try MonitoringOptions.parse(["--metrics-port", "70000"]) }
        #expect((try? MonitoringOptions.parse(["--metrics-port", "0"]))?.metricsPort == 0)
        #expect(throws: (any Error).self) { try MonitoringOptions.parse(["--health-port", "7472"]) }
        #expect(throws: (any Error).self) { try MonitoringOptions.parse(["--health-port", "-1"]) }
        let both = try? MonitoringOptions.parse(["--metrics-port", "9000", "--health-port", "9001"])
        #expect(both?.servers(metrics: { "" }).map(\.server.port) == [9000, 9001])
        #expect((try? MonitoringOptions.parse(["--metrics-port", "0"]))?.servers(metrics: { "" }).isEmpty == true)
    }
}

/// The monitoring server on loopback: metrics, liveness, and a readiness that says what it waits for.
@Suite struct MonitoringServerTests {
    @Test func readinessSaysWhatItWaitsFor() async throws {
        let waiting = Mutex<String?>("the configuration")
        let monitoring = MonitoringServer(host: "127.0.0.1", port: 0, metrics: { "metallb_test 1\n" }, readiness: { waiting.withLock { $0 } })
        let run = Task { try await monitoring.run() }
        defer { run.cancel() }
        var port: Int?
        for _ in 0..<200 {
            port = monitoring.server.localPort
            if port != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let p = try #require(port)
        func get(_ path: String) async throws -> (Int, String) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(p)\(path)")!)
            return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
        }
        let notReady = try await get("/readyz")
        #expect(notReady.0 == 503 && notReady.1.contains("the configuration"))
        #expect(try await get("/healthz").0 == 200)
        #expect(try await get("/metrics").1.contains("metallb_test 1"))
        waiting.withLock { $0 = nil }
        #expect(try await get("/readyz").0 == 200)
        #expect(try await get("/nope").0 == 404)
    }

    @Test func aProbesOnlyServerHasNoMetrics() async throws {
        let monitoring = MonitoringServer(host: "127.0.0.1", port: 0, metrics: nil, readiness: { "the membership" })
        let run = Task { try await monitoring.run() }
        defer { run.cancel() }
        var port: Int?
        for _ in 0..<200 {
            port = monitoring.server.localPort
            if port != nil { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let p = try #require(port)
        func status(_ path: String) async throws -> Int {
            let (_, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(p)\(path)")!)
            return (response as? HTTPURLResponse)?.statusCode ?? 0
        }
        #expect(try await status("/metrics") == 404)
        #expect(try await status("/healthz") == 200)
        #expect(try await status("/readyz") == 503)
    }
}

@Suite struct DaemonMemoryTests {
    @Test func usageReadsThisProcess() {
        let before = DaemonMemory.usage()
        let block = [UInt8](repeating: 7, count: 4 << 20)   // above the mmap threshold either way
        let during = DaemonMemory.usage()
        #expect(block.count == 4 << 20)
        #expect(during.heapInUse >= before.heapInUse + (4 << 20) - 65_536, "\(before) → \(during)")
        let rss = try? #require(during.resident)
        #expect((rss ?? 0) > 4 << 20)
    }

    @Test func theEnvironmentWins() {
        #expect(DaemonMemory.bounds(environment: [:]) == (2, 131_072))
        #expect(DaemonMemory.bounds(environment: ["MALLOC_ARENA_MAX": "8"]) == (0, 131_072))
        #expect(DaemonMemory.bounds(environment: ["MALLOC_MMAP_THRESHOLD_": "65536"]) == (2, 0))
        #expect(DaemonMemory.bounds(environment: ["GLIBC_TUNABLES": "glibc.malloc.arena_max=4:glibc.malloc.mmap_threshold=4096"]) == (0, 0))
    }
}
