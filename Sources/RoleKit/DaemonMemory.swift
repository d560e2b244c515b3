import CLinuxSupport
import Foundation

/// The memory of a long-running role: glibc malloc bounded for a daemon, and the figures `/metrics` shows.
public enum DaemonMemory {
    /// At most two malloc arenas, and blocks of 128 KiB or more in their own mappings (see `clinux_tune_malloc`).
    /// Measured on the speaker with 1,000 Services (docs/BENCHMARKS.md): glibc's default gave it 11 arenas holding
    /// 36.6 MB for 17.2 MB in use. MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES in the environment
    /// take precedence. Call before the role starts its threads: a thread keeps the arena it first used.
    public static let arenaMax: Int32 = 2
    public static let mmapThreshold: Int32 = 128 * 1024

    /// Applies the bounds the environment does not set itself; returns what was applied, for the log
    /// ("arenas=2 mmap_threshold=131072", or "environment" when the environment decides both).
    @discardableResult
    public static func tune(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        let (arenas, threshold) = bounds(environment: environment)
        let applied = clinux_tune_malloc(arenas, threshold)
        var parts: [String] = []
        if applied & 1 != 0 { parts.append("arenas=\(arenas)") }
        if applied & 2 != 0 { parts.append("mmap_threshold=\(threshold)") }
        return parts.isEmpty ? "environment" : parts.joined(separator: " ")
    }

    /// The bounds to apply (0: leave it to glibc, which reads MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_ and
    /// GLIBC_TUNABLES itself at start).
    static func bounds(environment: [String: String]) -> (arenas: Int32, mmapThreshold: Int32) {
        let tunables = environment["GLIBC_TUNABLES"] ?? ""
        let arenas = environment["MALLOC_ARENA_MAX"] != nil || tunables.contains("glibc.malloc.arena_max") ? 0 : arenaMax
        let threshold = environment["MALLOC_MMAP_THRESHOLD_"] != nil || tunables.contains("glibc.malloc.mmap_threshold") ? 0 : mmapThreshold
        return (arenas, threshold)
    }

    public struct Usage: Sendable, Hashable {
        /// Bytes the program has allocated and not freed.
        public var heapInUse: UInt64
        /// Bytes malloc holds from the kernel without the program using them (freed, not yet returned).
        public var heapFree: UInt64
        /// The process's resident set (VmRSS), code and shared libraries included; nil if /proc could not be read.
        public var resident: UInt64?

        public init(heapInUse: UInt64, heapFree: UInt64, resident: UInt64?) {
            self.heapInUse = heapInUse
            self.heapFree = heapFree
            self.resident = resident
        }
    }

    /// The figures now (mallinfo2(3) walks every arena: call it at scrape time, not in a loop).
    public static func usage() -> Usage {
        var inUse: UInt64 = 0, held: UInt64 = 0
        clinux_heap_usage(&inUse, &held)
        return Usage(heapInUse: inUse, heapFree: held >= inUse ? held - inUse : 0, resident: residentBytes())
    }

    /// VmRSS from /proc/self/statm (resident pages × page size).
    static func residentBytes() -> UInt64? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = UInt64(fields[1]) else { return nil }
        return pages * UInt64(sysconf(Int32(_SC_PAGESIZE)))
    }
}
