#if os(Linux)
import Glibc

/// Serialises the flood tests of every test target (and of concurrent test processes) with flock(2) on one file, so
/// that under `swift test --parallel` two floods never load the 2-core machine at once. Waits without blocking a
/// thread of the cooperative pool (`acquire`), or, for synchronous tests, by sleeping the calling thread.
public final class HeavyTestLock: Sendable {
    private let fd: Int32
    private init(fd: Int32) { self.fd = fd }
    private static func open() -> Int32 { Glibc.open("/tmp/swift-metallb-flood-tests.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644) }

    public static func acquire() async -> HeavyTestLock {
        let fd = open()
        if fd >= 0 { while flock(fd, LOCK_EX | LOCK_NB) != 0 { try? await Task.sleep(for: .milliseconds(20)) } }
        return HeavyTestLock(fd: fd)
    }

    public static func acquireBlocking() -> HeavyTestLock {
        let fd = open()
        if fd >= 0 { while flock(fd, LOCK_EX | LOCK_NB) != 0 { usleep(20_000) } }
        return HeavyTestLock(fd: fd)
    }

    public func unlock() {
        if fd >= 0 { close(fd) }
    }
}

/// A network namespace a test makes for itself (`ip netns add`), removed by `remove()`; `ip` runs `ip` and throws
/// with its error output when it fails.
public struct TestNetworkNamespace: Sendable {
    public let name: String

    /// A namespace named `prefix-<pid>-<random>` (the pid lets a later run remove what a crashed one left).
    public init(prefix: String) throws {
        name = "\(prefix)-\(getpid())-\(UInt16.random(in: 1...9999))"
        try Self.ip(["netns", "add", name])
        try Self.ip(["-n", name, "link", "set", "lo", "up"])
    }

    public func remove() { _ = runTool("ip", ["netns", "del", name]) }

    /// Runs `ip ARGS` inside this namespace (`ip -n NAME ARGS`).
    public func ip(_ args: [String]) throws { try Self.ip(["-n", name] + args) }

    public static func ip(_ args: [String]) throws {
        let r = runTool("ip", args)
        guard r.status == 0 else { throw TestSetupError(description: "ip \(args.joined(separator: " ")): \(r.stderr)") }
    }
}
#endif
