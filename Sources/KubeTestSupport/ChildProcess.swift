import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A long-running child process for tests (a controller replica, a router daemon): started
/// with posix_spawn(3) with a clean signal mask and default dispositions (a test process may
/// block SIGINT/SIGTERM in its threads, and the child would inherit that), stdout and stderr in
/// files, and never waited for with Foundation's Process (which can hang here).
public final class ChildProcess: @unchecked Sendable {
    public let pid: pid_t
    public let name: String
    public let logPath: String
    private let lock = NSLock()
    private var status: Int32?

    public init(_ path: String, _ args: [String], name: String? = nil) throws {
        self.name = name ?? (path as NSString).lastPathComponent
        logPath = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(self.name)-\(getpid())-\(UInt32.random(in: 0 ... .max)).log").path
        do {
            pid = try spawnProcess(path, args, stdout: logPath, stderr: nil)
        } catch {
            throw ChildProcessError(description: error.description)
        }
    }

    /// Sends a signal unless the process has been reaped.
    public func signal(_ sig: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { kill(pid, sig) }
    }

    /// The exit status if it has exited (negative signal number if killed), without blocking.
    public func poll() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, WNOHANG)
        guard r == pid else { return nil }
        status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : -(raw & 0x7f)
        return status
    }

    /// Waits up to `limit` for the process to exit, then SIGKILLs it; returns its status.
    @discardableResult
    public func wait(limit: Duration) async -> Int32 {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let s = poll() { return s }
            try? await Task.sleep(for: .milliseconds(10))
        }
        signal(SIGKILL)
        while true {
            if let s = poll() { return s }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// SIGTERM, up to `grace` to exit, then SIGKILL.
    @discardableResult
    public func terminate(grace: Duration = .seconds(10)) async -> Int32 {
        signal(SIGTERM)
        return await wait(limit: grace)
    }

    /// What the process wrote to stdout and stderr so far.
    public var output: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    public func removeLog() { try? FileManager.default.removeItem(atPath: logPath) }
}

public struct ChildProcessError: Error, CustomStringConvertible {
    public let description: String
}
