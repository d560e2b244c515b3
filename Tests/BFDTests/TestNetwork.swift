#if os(Linux)
import Foundation
import Glibc
import Synchronization
import TestSupport

// Namespaces and FRR for the live BFD tests; processes, namespaced threads and captures come from TestSupport.

typealias SetupError = TestSetupError

/// Child processes of these tests write /tmp/bfdt-run-<pid>-… files (removeStale clears a crashed run's).
typealias Child = TestChild

@discardableResult
func runCommand(_ tool: String, _ args: [String], limit seconds: Int = 20) -> CommandResult {
    runTool(tool, args, limit: seconds, tag: BFDTestNetwork.prefix)
}

/// Two throwaway namespaces "<tag>-a" (ours) and "<tag>-f" (FRR or a second endpoint) joined by a veth pair
/// (bfa0 ↔ bff0), with 10.231.<n>.1/.2 and fd00:231:<n>::1/::2. Nothing touches the root namespace.
final class BFDTestNetwork: @unchecked Sendable {
    static let prefix = "bfdt"
    let tag: String
    let ours: String
    let theirs: String
    let ourV4: String
    let theirV4: String
    let ourV6: String
    let theirV6: String
    /// Scratch directory for FRR (owned by the frr user), removed by `destroy`.
    let directory: String
    private var created: [String] = []
    private var children: [Child] = []

    static func requirements() -> String? {
        if getuid() != 0 { return "BFD network tests need root (network namespaces); uid=\(getuid())" }
        let missing = ["ip", "arping", "ndisc6", "/usr/lib/frr/bfdd", "vtysh"].filter { toolPath($0) == nil }
        if !missing.isEmpty { return "BFD network tests need \(missing.joined(separator: ", ")) (Debian: iproute2 arping ndisc6 frr)" }
        return nil
    }

    private func must(_ tool: String, _ args: [String]) throws {
        let result = runCommand(tool, args)
        guard result.status == 0 else {
            throw SetupError(description: "\(tool) \(args.joined(separator: " ")) failed (\(result.status)): \(result.text)")
        }
    }

    init() throws {
        BFDTestNetwork.removeStale()
        let random = UInt32.random(in: 0 ... UInt32.max)
        tag = "\(BFDTestNetwork.prefix)-\(getpid())-\(String(random, radix: 16))"
        ours = tag + "-a"
        theirs = tag + "-f"
        let subnet = Int(random % 250) + 1
        ourV4 = "10.231.\(subnet).1"
        theirV4 = "10.231.\(subnet).2"
        ourV6 = "fd00:231:\(String(subnet, radix: 16))::1"
        theirV6 = "fd00:231:\(String(subnet, radix: 16))::2"
        directory = "/tmp/\(tag)"
        do {
            guard mkdir(directory, 0o755) == 0 else { throw SetupError(description: "mkdir \(directory): \(String(cString: strerror(errno)))") }
            if let frr = getpwnam("frr") { chown(directory, frr.pointee.pw_uid, frr.pointee.pw_gid) }
            for ns in [ours, theirs] {
                try must("ip", ["netns", "add", ns])
                created.append(ns)
                try must("ip", ["netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"])
                try must("ip", ["-n", ns, "link", "set", "lo", "up"])
            }
            try must("ip", ["-n", ours, "link", "add", "bfa0", "type", "veth", "peer", "name", "bff0", "netns", theirs])
            try must("ip", ["-n", ours, "addr", "add", ourV4 + "/24", "dev", "bfa0"])
            try must("ip", ["-n", theirs, "addr", "add", theirV4 + "/24", "dev", "bff0"])
            try must("ip", ["-n", ours, "addr", "add", ourV6 + "/64", "dev", "bfa0", "nodad"])
            try must("ip", ["-n", theirs, "addr", "add", theirV6 + "/64", "dev", "bff0", "nodad"])
            try must("ip", ["-n", ours, "link", "set", "bfa0", "up"])
            try must("ip", ["-n", theirs, "link", "set", "bff0", "up"])
            try waitForLink()
        } catch {
            destroy()
            throw error
        }
    }

    /// The other end answers ARP and NDP within 10 s (no ping on this machine).
    private func waitForLink() throws {
        let deadline = ContinuousClock.now + .seconds(10)
        var v4 = false, v6 = false
        while ContinuousClock.now < deadline {
            v4 = v4 || runCommand("ip", ["netns", "exec", ours, "arping", "-c", "1", "-W", "0.2", "-i", "bfa0", theirV4])
                .stdout.contains(" bytes from ")
            v6 = v6 || runCommand("ip", ["netns", "exec", ours, "ndisc6", "-n", "-m", "-r", "1", "-w", "400", theirV6, "bfa0"])
                .stdout.contains("Target link-layer address")
            if v4 && v6 { return }
            usleep(100_000)
        }
        throw SetupError(description: "veth not usable after 10 s (v4 \(v4), v6 \(v6))")
    }

    /// Stops every child, deletes the namespaces and the scratch directory. Idempotent.
    func destroy() {
        for child in children.reversed() {
            child.terminate()
            child.removeFiles()
        }
        children = []
        for ns in created.reversed() { runCommand("ip", ["netns", "del", ns]) }
        created = []
        runCommand("rm", ["-rf", directory])
    }

    /// Removes namespaces, daemons and directories of earlier test processes that no longer run.
    static func removeStale() {
        // "bfdt-<pid>-…" (namespaces, scratch directories) and "bfdt-run-<pid>-…" (child output files).
        func deadOwner(_ name: String) -> Bool {
            var parts = name.split(separator: "-")
            if parts.count >= 2, parts[1] == "run" { parts.remove(at: 1) }
            guard parts.count >= 3, parts[0] == prefix, let pid = Int32(parts[1]) else { return false }
            return pid != getpid() && kill(pid, 0) != 0
        }
        if let entries = try? FileManager.default.contentsOfDirectory(atPath: "/tmp") {
            for entry in entries where entry.hasPrefix(prefix + "-") && deadOwner(entry) {
                let dir = "/tmp/" + entry
                for file in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where file.hasSuffix(".pid") {
                    if let text = try? String(contentsOfFile: dir + "/" + file, encoding: .utf8),
                       let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                       let command = try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8),
                       command.contains(dir) {
                        kill(pid, SIGCONT)
                        kill(pid, SIGKILL)
                    }
                }
                runCommand("rm", ["-rf", dir])
            }
        }
        for line in runCommand("ip", ["netns", "list"]).stdout.split(separator: "\n") {
            let name = String(line.split(separator: " ").first ?? "")
            if deadOwner(name) { runCommand("ip", ["netns", "del", name]) }
        }
    }

    // MARK: FRR bfdd

    /// Starts bfdd in the FRR namespace (foreground, no zebra: bfdd runs without it for single-hop peers given by
    /// address) with a private vty socket directory, control socket, pid file and log under `directory`.
    @discardableResult
    func startBFDD(config: String, name: String = "bfdd") throws -> Child {
        let confPath = "\(directory)/\(name).conf"
        guard FileManager.default.createFile(atPath: confPath, contents: Data(config.utf8)) else {
            throw SetupError(description: "cannot write \(confPath)")
        }
        if let frr = getpwnam("frr") { chown(confPath, frr.pointee.pw_uid, frr.pointee.pw_gid) }
        unlink("\(directory)/\(name).pid")
        let child = try Child("ip", ["netns", "exec", theirs, "/usr/lib/frr/bfdd",
                                     "-f", confPath, "-i", "\(directory)/\(name).pid",
                                     "--vty_socket", directory, "--bfdctl", "\(directory)/bfdd.sock",
                                     "-z", "\(directory)/zserv.api", "--log", "file:\(directory)/\(name).log",
                                     "-u", "frr", "-g", "frr"], tag: BFDTestNetwork.prefix)
        children.append(child)
        // Ready when vtysh can talk to it.
        let deadline = ContinuousClock.now + .seconds(15)
        while ContinuousClock.now < deadline {
            guard child.isRunning else {
                let (out, err) = child.output()
                throw SetupError(description: "bfdd exited: \(out) \(err) \(log(name))")
            }
            if vtysh("show bfd peers").status == 0 { return child }
            usleep(100_000)
        }
        throw SetupError(description: "bfdd did not answer vtysh within 15 s: \(log(name))")
    }

    func log(_ name: String = "bfdd") -> String {
        (try? String(contentsOfFile: "\(directory)/\(name).log", encoding: .utf8)) ?? ""
    }

    /// bfdd's own pid (from its pid file), to freeze it.
    func bfddPID(_ name: String = "bfdd") -> pid_t? {
        guard let text = try? String(contentsOfFile: "\(directory)/\(name).pid", encoding: .utf8) else { return nil }
        return pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func vtysh(_ commands: String...) -> CommandResult {
        runCommand("ip", ["netns", "exec", theirs, "vtysh", "--vty_socket", directory] + commands.flatMap { ["-c", $0] }, limit: 10)
    }

    /// FRR's view of the peer `peer`: the object of `show bfd peers json` with that "peer".
    func frrPeer(_ peer: String) -> [String: Any]? {
        let result = vtysh("show bfd peers json")
        guard result.status == 0, let data = result.stdout.data(using: .utf8),
              let list = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]] else { return nil }
        return list.first { ($0["peer"] as? String) == peer }
    }

    // MARK: Namespaced threads

    /// Runs `body` on a fresh pthread that entered namespace `name` (setns(2) affects only that thread; sockets created
    /// there stay in the namespace).
    static func inNamespace<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        try NetworkNamespace.run(in: name, body)
    }
}

/// Sends one UDP datagram with a chosen TTL / hop limit (to test the receive TTL check).
func sendDatagram(_ payload: [UInt8], to address: String, port: UInt16, ttl: Int32, ipv6: Bool) throws {
    let fd = socket(ipv6 ? AF_INET6 : AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard fd >= 0 else { throw SetupError(description: "socket: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    var value = ttl
    let level: Int32 = ipv6 ? 41 : 0
    let option: Int32 = ipv6 ? 16 /* IPV6_UNICAST_HOPS */ : 2 /* IP_TTL */
    guard setsockopt(fd, level, option, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
        throw SetupError(description: "setsockopt TTL: \(String(cString: strerror(errno)))")
    }
    let sent: Int
    if ipv6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        inet_pton(AF_INET6, address, &sa.sin6_addr)
        sent = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in6>.size))
        } }
    } else {
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        inet_pton(AF_INET, address, &sa.sin_addr)
        sent = withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            sendto(fd, payload, payload.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        } }
    }
    guard sent == payload.count else { throw SetupError(description: "sendto: \(String(cString: strerror(errno)))") }
}
#endif

#if os(Linux)
typealias Capture = PacketCapture

/// What the wire shows of one captured UDP datagram (Ethernet + IPv4/IPv6 + UDP).
struct WireDatagram {
    var ttl: UInt8
    var trafficClass: UInt8
    var sourcePort: Int
    var destinationPort: Int
    var payload: [UInt8]

    init?(frame: [UInt8]) {
        guard frame.count >= 14 else { return nil }
        let etherType = Int(frame[12]) << 8 | Int(frame[13])
        var at = 14
        if etherType == 0x0800 {
            guard frame.count >= at + 20, frame[at + 9] == 17 else { return nil }
            ttl = frame[at + 8]
            trafficClass = frame[at + 1]
            at += Int(frame[at] & 0x0F) * 4
        } else if etherType == 0x86DD {
            guard frame.count >= at + 40, frame[at + 6] == 17 else { return nil }
            ttl = frame[at + 7]
            trafficClass = (frame[at] & 0x0F) << 4 | frame[at + 1] >> 4
            at += 40
        } else {
            return nil
        }
        guard frame.count >= at + 8 else { return nil }
        sourcePort = Int(frame[at]) << 8 | Int(frame[at + 1])
        destinationPort = Int(frame[at + 2]) << 8 | Int(frame[at + 3])
        payload = Array(frame[(at + 8)...])
    }
}
#endif
