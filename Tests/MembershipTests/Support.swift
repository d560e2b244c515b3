import Testing
import NetAddress
@testable import Membership

let testKey = Array("0123456789abcdef0123456789abcdef".utf8)
let otherKey = Array("fedcba9876543210fedcba9876543210".utf8)

func keyring(_ bytes: [UInt8] = testKey) -> MembershipKeyring {
    // The test keys are 32 bytes, above the minimum; a failure here is a bug in the keyring.
    guard let k = try? MembershipKeyring(primary: bytes) else { preconditionFailure("test key rejected") }
    return k
}

/// The timing the unit tests reason about (20 ms heartbeats, 100 ms timeout), independent of the shipped defaults.
let testConfig = MembershipConfig(heartbeatInterval: .milliseconds(20), timeout: .milliseconds(100))

func ms(_ v: Double) -> MonotonicTime { MonotonicTime(nanoseconds: Int64((v * 1_000_000).rounded())) }

func address(_ i: Int) -> SocketEndpoint {
    // Fixed test literal; port distinguishes members.
    guard let a = try? SocketEndpoint(host: "127.0.0.1", port: UInt16(20000 + i)) else { preconditionFailure() }
    return a
}

extension [MembershipAction] {
    var changes: [AliveSetChange] {
        compactMap { if case .aliveSetChanged(let c) = $0 { return c } else { return nil } }
    }
    var datagrams: [[UInt8]] {
        compactMap { if case .send(let b, _) = $0 { return b } else { return nil } }
    }
}

/// A simulated cluster: state machines exchanging datagrams through a virtual network with per-link delay and loss,
/// driven event by event in virtual time (every machine is ticked exactly at its deadlines).
struct SimCluster {
    var machines: [String: MembershipStateMachine] = [:]
    var addresses: [String: SocketEndpoint] = [:]
    var byAddress: [SocketEndpoint: String] = [:]
    /// Delivery delay for a datagram from → to sent at a time, or nil to lose it.
    var link: (String, String, MonotonicTime) -> Duration? = { _, _, _ in .microseconds(100) }
    /// Machines that are frozen (crashed: neither tick nor receive).
    var dead: Set<String> = []
    var now = MonotonicTime(nanoseconds: 0)
    var pending: [(at: MonotonicTime, order: Int, to: String, bytes: [UInt8])] = []
    var order = 0
    var log: [(observer: String, change: AliveSetChange)] = []
    var drops: [String: [DropReason]] = [:]

    init(names: [String], config: MembershipConfig = testConfig, keys: [String: [UInt8]] = [:]) throws {
        for (i, n) in names.enumerated() {
            addresses[n] = address(i)
            byAddress[address(i)] = n
        }
        for n in names {
            var m = try MembershipStateMachine(config: config, name: n, incarnation: 1, keyring: keyring(keys[n] ?? testKey), now: now)
            _ = m.setMembers(addresses, now: now)
            machines[n] = m
        }
    }

    /// Restarts `name` with a new incarnation (alive again, fresh state).
    mutating func restart(_ name: String, incarnation: UInt64, config: MembershipConfig = testConfig) throws {
        var m = try MembershipStateMachine(config: config, name: name, incarnation: incarnation, keyring: keyring(), now: now)
        _ = m.setMembers(addresses, now: now)
        machines[name] = m
        dead.remove(name)
    }

    mutating func handle(_ actions: [MembershipAction], from sender: String) {
        for action in actions {
            switch action {
            case .send(let bytes, let to):
                for a in to {
                    guard let dest = byAddress[a], let delay = link(sender, dest, now) else { continue }
                    order += 1
                    pending.append((now + delay, order, dest, bytes))
                }
            case .aliveSetChanged(let c):
                log.append((sender, c))
            case .memberRestarted:
                break
            }
        }
    }

    mutating func apply(_ name: String, _ body: (inout MembershipStateMachine) -> [MembershipAction]) {
        guard var m = machines[name] else { return }
        let actions = body(&m)
        machines[name] = m
        handle(actions, from: name)
    }

    /// Runs every event up to and including `end`.
    mutating func run(until end: MonotonicTime) {
        while true {
            var next = end
            for (n, m) in machines where !dead.contains(n) { next = min(next, m.nextDeadline) }
            if let p = pending.min(by: { ($0.at, $0.order) < ($1.at, $1.order) }) { next = min(next, p.at) }
            now = max(now, next)
            // Deliveries first (the shell drains its socket before ticking).
            let due = pending.filter { $0.at <= now }.sorted { ($0.at, $0.order) < ($1.at, $1.order) }
            pending.removeAll { $0.at <= now }
            for p in due where !dead.contains(p.to) {
                guard var m = machines[p.to] else { continue }
                switch m.receive(p.bytes, now: now) {
                case .success(let actions):
                    machines[p.to] = m
                    handle(actions, from: p.to)
                case .failure(let e):
                    machines[p.to] = m
                    drops[p.to, default: []].append(e.reason)
                }
            }
            for n in machines.keys.sorted() where !dead.contains(n) {
                guard var m = machines[n], m.nextDeadline <= now else { continue }
                let actions = m.tick(now: now)
                machines[n] = m
                handle(actions, from: n)
            }
            if now >= end, pending.allSatisfy({ $0.at > end }),
               machines.allSatisfy({ dead.contains($0.key) || $0.value.nextDeadline > end }) { break }
        }
    }

    func alive(_ name: String) -> Set<String> { machines[name]?.aliveSet ?? [] }

    /// When `observer` last removed `member`, if it did.
    func removal(of member: String, by observer: String, after: MonotonicTime = MonotonicTime(nanoseconds: 0)) -> (MonotonicTime, MemberChangeReason)? {
        for entry in log where entry.observer == observer && entry.change.at >= after {
            if let r = entry.change.removed[member] { return (entry.change.at, r) }
        }
        return nil
    }

    func events(of observer: String, about member: String) -> [(MonotonicTime, String)] {
        log.filter { $0.observer == observer }.compactMap { e in
            if let r = e.change.added[member] { return (e.change.at, "+\(r.rawValue)") }
            if let r = e.change.removed[member] { return (e.change.at, "-\(r.rawValue)") }
            return nil
        }
    }
}
