#if os(Linux)
import Foundation
import Glibc

// Processes for tests that need real tools (ip, tcpdump, arping, FRR, controller replicas). Foundation's Process is
// not used: its waitUntilExit hangs here when a child leaves daemons behind.

/// A test could not set up what it needs (a tool missing, a command failing); the description says which and why.
public struct TestSetupError: Error, CustomStringConvertible {
    public var description: String
    public init(description: String) { self.description = description }
}

/// The absolute path of `tool` in the usual system directories (a path is checked as it is), or nil.
public func toolPath(_ tool: String) -> String? {
    if tool.hasPrefix("/") { return access(tool, X_OK) == 0 ? tool : nil }
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let candidate = dir + "/" + tool
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// posix_spawn(3) with an empty signal mask and default dispositions (a test process blocks SIGINT/SIGTERM in its
/// threads, and a child would inherit that and ignore them), stdin from /dev/null, stdout to `stdout` and stderr to
/// `stderr` (nil: the same file as stdout).
public func spawnProcess(_ executable: String, _ args: [String], stdout: String, stderr: String?) throws(TestSetupError) -> pid_t {
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var empty = sigset_t()
    sigemptyset(&empty)
    posix_spawnattr_setsigmask(&attributes, &empty)
    var defaults = sigset_t()
    sigfillset(&defaults)
    sigdelset(&defaults, SIGKILL)
    sigdelset(&defaults, SIGSTOP)
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    if let stderr {
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    } else {
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
    }
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + args).map { strdup($0) } + [nil]
    defer { for arg in argv { free(arg) } }
    var pid: pid_t = 0
    let rc = argv.withUnsafeBufferPointer { posix_spawn(&pid, executable, &actions, &attributes, $0.baseAddress!, environ) }
    guard rc == 0 else { throw TestSetupError(description: "posix_spawn \(executable): \(String(cString: strerror(rc)))") }
    return pid
}

/// Decodes a waitpid(2) status: the exit code, or the negative signal number.
func exitStatus(_ raw: Int32) -> Int32 { raw & 0x7f == 0 ? (raw >> 8) & 0xff : -(raw & 0x7f) }

/// A child process waited for synchronously (tools, daemons in namespaces): stdout and stderr in files under /tmp.
public final class TestChild: @unchecked Sendable {
    public let pid: pid_t
    public let outPath: String
    public let errPath: String
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `tool` (a name looked up with `toolPath`, or a path). `tag` prefixes the output files' names.
    public init(_ tool: String, _ args: [String], tag: String = "test") throws(TestSetupError) {
        guard let executable = toolPath(tool) else { throw TestSetupError(description: "\(tool): not installed") }
        let unique = "\(getpid())-\(UInt32.random(in: 0 ... UInt32.max))"
        outPath = "/tmp/\(tag)-run-\(unique).out"
        errPath = "/tmp/\(tag)-run-\(unique).err"
        pid = try spawnProcess(executable, args, stdout: outPath, stderr: errPath)
    }

    private func reap(_ flags: Int32) -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        let r = waitpid(pid, &raw, flags)
        if r == pid {
            status = exitStatus(raw)
        } else if r < 0 && errno == ECHILD {
            status = -SIGKILL  // reaped elsewhere; treat as gone
        }
        return status
    }

    public var isRunning: Bool { reap(WNOHANG) == nil }

    /// Sends a signal unless the process has been reaped.
    public func signal(_ sig: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if status == nil { kill(pid, sig) }
    }

    /// Exit status (negative signal number if killed); SIGKILL after `limit`.
    @discardableResult
    public func wait(limit: Duration) -> Int32 {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if let s = reap(WNOHANG) { return s }
            usleep(5_000)
        }
        signal(SIGKILL)
        return reap(0) ?? -SIGKILL
    }

    /// SIGINT, up to 5 s to exit, then SIGKILL.
    public func interrupt() {
        signal(SIGINT)
        wait(limit: .seconds(5))
    }

    /// SIGCONT (it may be stopped) and SIGTERM, up to 5 s to exit, then SIGKILL.
    public func terminate() {
        signal(SIGCONT)
        signal(SIGTERM)
        wait(limit: .seconds(5))
    }

    /// What it wrote so far: (stdout, stderr).
    public func output() -> (String, String) {
        func read(_ path: String) -> String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        return (read(outPath), read(errPath))
    }

    public func removeFiles() {
        unlink(outPath)
        unlink(errPath)
    }
}

/// What a finished command printed.
public struct CommandResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var text: String { stdout + stderr }

    public init(status: Int32, stdout: String, stderr: String) {
        self.status = status
        self.stdout = stdout
        self.stderr = stderr
    }
}

/// Runs a command to its end (SIGKILL after `seconds`); a command that cannot start has status -1 and says why.
public func runTool(_ tool: String, _ args: [String], limit seconds: Int = 20, tag: String = "test") -> CommandResult {
    let child: TestChild
    do {
        child = try TestChild(tool, args, tag: tag)
    } catch {
        return CommandResult(status: -1, stdout: "", stderr: "\(error)")
    }
    let status = child.wait(limit: .seconds(seconds))
    let (stdout, stderr) = child.output()
    child.removeFiles()
    return CommandResult(status: status, stdout: stdout, stderr: stderr)
}
#endif
