#if os(Linux)
import Foundation
import Glibc
import Synchronization

/// Running code inside a network namespace that `ip netns add` created.
public enum NetworkNamespace {
    /// Runs `body` on a fresh pthread that entered namespace `name` (setns(2) changes only that thread; sockets created
    /// there stay in the namespace), waits for it and returns its result.
    public static func run<T: Sendable>(in name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let result = Mutex<Result<T, any Error>?>(nil)
        let path = "/run/netns/" + name
        let thread = try TestThread.start {
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else {
                let message = String(cString: strerror(errno))
                result.withLock { $0 = .failure(TestSetupError(description: "open \(path): \(message)")) }
                return
            }
            defer { close(fd) }
            // setns is not in Swift's Glibc module (it needs _GNU_SOURCE): look it up.
            guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns") else {
                result.withLock { $0 = .failure(TestSetupError(description: "setns not found")) }
                return
            }
            typealias SetNS = @convention(c) (Int32, Int32) -> Int32
            guard unsafeBitCast(symbol, to: SetNS.self)(fd, 0x4000_0000 /* CLONE_NEWNET */) == 0 else {
                let message = String(cString: strerror(errno))
                result.withLock { $0 = .failure(TestSetupError(description: "setns(\(name)): \(message)")) }
                return
            }
            let value = Result { try body() }
            result.withLock { $0 = value }
        }
        thread.join()
        guard let outcome = result.withLock({ $0 }) else { throw TestSetupError(description: "namespace thread produced nothing") }
        return try outcome.get()
    }

    /// Whether the process whose pid is the last `-`-separated number in a namespace name (`prefix-<pid>-…`) is gone:
    /// namespaces of crashed test runs are named after their process, so a new run can remove them safely.
    public static func ownerIsGone(_ name: String, prefix: String) -> Bool {
        let rest = name.dropFirst(prefix.count)
        guard let pid = Int32(rest.split(separator: "-").first ?? "") else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}

/// A plain pthread (not Swift's pool: setns and blocking reads affect only it).
public final class TestThread: Sendable {
    private let handle: pthread_t

    private init(handle: pthread_t) { self.handle = handle }

    public static func start(_ body: @escaping @Sendable () -> Void) throws -> TestThread {
        let box = Unmanaged.passRetained(ThreadBody(body)).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<ThreadBody>.fromOpaque(box).release()
            throw TestSetupError(description: "pthread_create: \(String(cString: strerror(rc)))")
        }
        return TestThread(handle: handle)
    }

    public func join() { pthread_join(handle, nil) }
}

/// The closure a namespaced pthread runs.
final class ThreadBody: Sendable {
    let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}

/// tcpdump in a namespace writing a pcap; `stop()` returns the captured frames (Ethernet).
public final class PacketCapture: @unchecked Sendable {
    public let child: TestChild
    public let path: String
    private var stopped = false
    /// After `stop()`: tcpdump's exit status, stderr and the file size, for failure messages.
    public private(set) var report = ""

    public init(namespace: String, interface: String, filter: String, directory: String = "/tmp") throws {
        path = "\(directory)/capture-\(getpid())-\(UInt32.random(in: 0 ... UInt32.max)).pcap"
        child = try TestChild("ip", ["netns", "exec", namespace, toolPath("tcpdump") ?? "tcpdump",
                                     "-i", interface, "-n", "-U", "--immediate-mode", "-s", "0", "-Z", "root", "-w", path, filter],
                              tag: "capture")
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if child.output().1.contains("listening on") { return }
            usleep(20_000)
        }
        let text = child.output().1
        _ = stop()
        throw TestSetupError(description: "tcpdump did not start: \(text)")
    }

    /// Idempotent (later calls return nothing).
    @discardableResult
    public func stop() -> [[UInt8]] {
        guard !stopped else { return [] }
        stopped = true
        child.interrupt()
        let status = child.wait(limit: .seconds(1))
        let stderr = child.output().1
        child.removeFiles()
        defer { unlink(path) }
        let data = FileManager.default.contents(atPath: path)
        report = "tcpdump exit \(status), \(data?.count ?? -1) bytes in \(path): \(stderr)"
        return data.map { PacketCapture.frames(inPcap: [UInt8]($0)) } ?? []
    }

    /// The records of a classic pcap file (either byte order).
    public static func frames(inPcap bytes: [UInt8]) -> [[UInt8]] {
        guard bytes.count >= 24 else { return [] }
        let magic = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
        let little = magic == 0xA1B2_C3D4 || magic == 0xA1B2_3C4D
        func u32(_ at: Int) -> Int {
            let b = bytes[at ..< at + 4].map(UInt32.init)
            return Int(little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[3] | b[2] << 8 | b[1] << 16 | b[0] << 24)
        }
        var frames: [[UInt8]] = []
        var offset = 24
        while offset + 16 <= bytes.count {
            let length = u32(offset + 8)
            offset += 16
            guard offset + length <= bytes.count else { break }
            frames.append(Array(bytes[offset ..< offset + length]))
            offset += length
        }
        return frames
    }
}
#endif
