import NetAddress
#if canImport(Glibc)
import CLinuxSupport
import Glibc
import Foundation
import Synchronization

/// Where the node's threads run: the CPU each is pinned to (nil: not pinned), and why when there is no standby.
public struct ThreadPlacement: Hashable, Sendable, CustomStringConvertible {
    public var primaryCPU: Int32?
    public var standbyCPU: Int32?
    /// Why there is no standby thread (nil when there is one).
    public var noStandbyReason: String?

    public init(primaryCPU: Int32? = nil, standbyCPU: Int32? = nil, noStandbyReason: String? = nil) {
        self.primaryCPU = primaryCPU
        self.standbyCPU = standbyCPU
        self.noStandbyReason = noStandbyReason
    }

    public var description: String {
        if let reason = noStandbyReason { return "one thread\(primaryCPU.map { " on CPU \($0)" } ?? "") (no standby: \(reason))" }
        return "thread on CPU \(primaryCPU.map(String.init) ?? "any"), standby on CPU \(standbyCPU.map(String.init) ?? "any")"
    }
}

/// A published alive-set change, with the wall-clock time it was decided (to line up with packet captures).
public struct AliveSetUpdate: Hashable, Sendable {
    public var change: AliveSetChange
    public var wallTime: Date
}

/// Packet and event counters of one node.
public struct MembershipCounters: Hashable, Sendable {
    public var packetsSent: UInt64 = 0
    public var packetsReceived: UInt64 = 0
    public var bytesSent: UInt64 = 0
    public var bytesReceived: UInt64 = 0
    public var sendErrors: UInt64 = 0
    public var heartbeatRounds: UInt64 = 0
    public var restartsSeen: UInt64 = 0
    /// Deadlines the standby thread handled because the node's thread was late by more than `standbySlack`.
    public var standbyTakeovers: UInt64 = 0
    public var dropped: [DropReason: UInt64] = [:]
    /// Members that left the alive set, by reason (`timeout` is a suspicion: no evidence of life within the timeout).
    public var removals: [MemberChangeReason: UInt64] = [:]

    public var droppedTotal: UInt64 { dropped.values.reduce(0, +) }

    public init() {}
}

/// Errors of the I/O shell, with the failing call and errno text.
public enum MembershipNodeError: Error, Equatable, CustomStringConvertible {
    case alreadyStarted
    case socket(call: String, errno: Int32)
    case thread(Int32)
    case config(MembershipConfig.ConfigError)

    public var description: String {
        switch self {
        case .alreadyStarted: return "membership node already started"
        case .socket(let call, let e): return "membership socket \(call): \(String(cString: strerror(e)))"
        case .thread(let e): return "membership thread: \(String(cString: strerror(e)))"
        case .config(let c): return c.description
        }
    }
}

/// One speaker's failure detector: a UDP socket and a dedicated thread around `MembershipStateMachine`.
///
/// The socket is created by `start()` in the calling thread's network namespace. The thread (not Swift's cooperative pool,
/// which other work can starve) receives, ticks the state machine at its deadlines and sends, with raised scheduling
/// priority when the kernel permits (`schedulingOutcome`).
public final class MembershipNode: Sendable {
    public let name: String
    public let config: MembershipConfig
    private let bindAddress: SocketEndpoint
    private let keyring: MembershipKeyring
    private let schedulingRequest: SchedulingRequest

    private struct Shared: Sendable {
        var machine: MembershipStateMachine?
        var members: [String: SocketEndpoint] = [:]
        var readiness: [String: Bool] = [:]
        var counters = MembershipCounters()
        var alive: Set<String>?
        var subscribers: [Int: AsyncStream<AliveSetUpdate>.Continuation] = [:]
        var nextSubscriber = 0
        var started = false
        var stopRequested = false
        var gracefulStop = false
        var socket: Int32 = -1
        /// Self-pipe: API calls write a byte to `wakeWrite` so the thread's ppoll returns and recomputes its deadline.
        var wake: Int32 = -1
        var wakeWrite: Int32 = -1
        var boundAddress: SocketEndpoint?
        var scheduling: SchedulingOutcome?
        var thread: pthread_t?
        var standbyThread: pthread_t?
        var placement: ThreadPlacement?
        /// Tests: the node's thread sleeps until then, as if its vCPU were taken away.
        var primaryStalledUntil: MonotonicTime?
        /// Changes decided but not yet handed to `onChange` (filled under the lock, delivered outside it).
        var pendingHandlerUpdates: [AliveSetUpdate] = []
    }

    private let shared = Mutex(Shared())
    /// Checked before any MAC, by whichever thread reads; its own lock, so that rejecting a flood never holds `shared`.
    private let gate: Mutex<MembershipSourceGate>
    private let onChange: (@Sendable (AliveSetUpdate) -> Void)?
    /// Serialises `onChange` calls, so that updates decided on different threads reach it one at a time and in order.
    private let handlerOrder = Mutex(())

    /// - Parameters:
    ///   - bind: local address and port (port 0 picks a free one, see `boundAddress`).
    ///   - onChange: called with every alive-set change as soon as it is decided (`changes()` subscribers get it at about
    ///     the same time, through Swift's pool), on the thread that decided it: usually one of the node's real-time
    ///     threads, else the caller of `setMembers` or
    ///     `setReady`. Calls are serialised and in order. This is the failover fast path: a takeover acted on here does not
    ///     wait for Swift's cooperative pool, which busy work on a loaded machine can delay by tens of milliseconds. Keep
    ///     it short and non-blocking (no logging, no awaiting, no API calls): it delays the next heartbeat.
    public init(config: MembershipConfig = MembershipConfig(), name: String, bind: SocketEndpoint, keyring: MembershipKeyring,
                scheduling: SchedulingRequest = .default,
                onChange: (@Sendable (AliveSetUpdate) -> Void)? = nil) throws(MembershipNodeError) {
        do { try config.validate() } catch { throw .config(error) }
        self.onChange = onChange
        self.config = config
        self.name = name
        self.bindAddress = bind
        self.keyring = keyring
        self.schedulingRequest = scheduling
        self.gate = Mutex(MembershipSourceGate(checkSource: config.checkSource, ratePerSecond: config.sourceRatePerSecond))
    }

    deinit {
        shared.withLock { s in
            for fd in [s.socket, s.wake, s.wakeWrite] where fd >= 0 { close(fd) }
        }
    }

    // MARK: - Public API

    /// The address the socket is bound to (with the real port), once started.
    public var boundAddress: SocketEndpoint? { shared.withLock { $0.boundAddress } }

    /// The CPUs the node's threads are pinned to, once started.
    public var threadPlacement: ThreadPlacement? { shared.withLock { $0.placement } }

    /// What the kernel granted the thread, once it runs.
    public var schedulingOutcome: SchedulingOutcome? { shared.withLock { $0.scheduling } }

    /// The current alive set, or nil until the first view has settled (one `timeout` after start at most).
    public var aliveSet: Set<String>? { shared.withLock { $0.alive } }

    public var counters: MembershipCounters { shared.withLock { $0.counters } }

    /// Members in the list given to `setMembers` (this node included when listed).
    public var memberCount: Int { shared.withLock { $0.members.count } }

    /// CPU time consumed so far by the node's thread (nil when not running).
    public var threadCPUTime: Duration? {
        shared.withLock { s -> Duration? in
            guard let thread = s.thread else { return nil }
            var clock = clockid_t()
            guard pthread_getcpuclockid(thread, &clock) == 0 else { return nil }
            var ts = timespec()
            guard clock_gettime(clock, &ts) == 0 else { return nil }
            return .seconds(ts.tv_sec) + .nanoseconds(ts.tv_nsec)
        }
    }

    /// Per-member liveness details.
    public func status(of member: String) -> MemberStatus? { shared.withLock { $0.machine?.status(of: member) } }

    /// Alive-set changes from now on; the current set (if settled) comes first. Ends when the node stops.
    public func changes() -> AsyncStream<AliveSetUpdate> {
        let (stream, continuation) = AsyncStream.makeStream(of: AliveSetUpdate.self, bufferingPolicy: .unbounded)
        let id = shared.withLock { s -> Int? in
            if s.stopRequested { return nil }
            let id = s.nextSubscriber
            s.nextSubscriber += 1
            s.subscribers[id] = continuation
            if let alive = s.alive {
                let now = Self.monotonicNow()
                continuation.yield(AliveSetUpdate(change: AliveSetChange(alive: alive, added: Dictionary(uniqueKeysWithValues: alive.map { ($0, .settled) }),
                                                                         removed: [:], at: now), wallTime: Date()))
            }
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            self?.shared.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Replaces the member list (our own name may be included; it is skipped).
    public func setMembers(_ members: [String: SocketEndpoint]) {
        gate.withLock { $0.setMembers(members.values) }
        shared.withLock { s in
            s.members = members
            if var m = s.machine {
                let actions = m.setMembers(members, now: Self.monotonicNow())
                s.machine = m
                publish(actions, in: &s)
            }
        }
        deliverToHandler()
        poke()
    }

    /// Kubernetes readiness of a member (or of this node); nil forgets the signal.
    public func setReady(_ member: String, _ ready: Bool?) {
        shared.withLock { s in
            s.readiness[member] = ready
            if var m = s.machine {
                let actions = m.setReady(member, ready, now: Self.monotonicNow())
                s.machine = m
                publish(actions, in: &s)
            }
        }
        deliverToHandler()
        poke()
    }

    /// Creates and binds the socket in the calling thread's network namespace and starts the thread.
    /// A node runs once: after `stop`, make a new one (which is also a new incarnation to its peers).
    public func start() throws(MembershipNodeError) {
        let prepared = shared.withLock { s -> Bool in
            if s.started { return false }
            s.started = true
            return true
        }
        guard prepared else { throw .alreadyStarted }
        let fd: Int32
        var wake: Int32 = -1
        var wakeWrite: Int32 = -1
        let bound: SocketEndpoint
        do throws(MembershipNodeError) {
            (fd, bound) = try Self.openSocket(bindAddress, receiveBuffer: 4 << 20)
            var pipeFDs: [Int32] = [-1, -1]
            guard pipe(&pipeFDs) == 0 else {
                let e = errno
                close(fd)
                throw .socket(call: "pipe", errno: e)
            }
            for p in pipeFDs {
                _ = fcntl(p, F_SETFL, fcntl(p, F_GETFL) | O_NONBLOCK)
                _ = fcntl(p, F_SETFD, FD_CLOEXEC)
            }
            wake = pipeFDs[0]
            wakeWrite = pipeFDs[1]
        } catch {
            shared.withLock { $0.started = false }
            throw error
        }
        // The incarnation must grow across restarts: the wall clock in nanoseconds at start.
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let incarnation = UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
        let now = Self.monotonicNow()
        // Built outside the lock: the typed-throwing closure this was in before crashed (SIGSEGV inside the
        // closure) in Swift 6.3.1 debug builds once SocketEndpoint replaced MemberAddress.
        let built: MembershipStateMachine
        do {
            built = try MembershipStateMachine(config: config, name: name, incarnation: incarnation, keyring: keyring, now: now)
        } catch {
            close(fd)
            close(wake)
            close(wakeWrite)
            shared.withLock { $0.started = false }
            throw .config(error)
        }
        shared.withLock { s in
            var m = built
            var actions = m.setMembers(s.members, now: now)
            for (n, r) in s.readiness { actions += m.setReady(n, r, now: now) }
            s.machine = m
            publish(actions, in: &s)
            s.socket = fd
            s.wake = wake
            s.wakeWrite = wakeWrite
            s.boundAddress = bound
        }
        let placement = Self.placement(name: name, standby: config.standbyThread)
        shared.withLock { $0.placement = placement }
        // The standby first, so that the node's thread, which closes the socket when it ends, can always join it.
        if placement.noStandbyReason == nil {
            // Without its standby the node still works, as a single thread: report it and go on.
            if let standby = try? spawn(.standby, cpu: placement.standbyCPU) {
                shared.withLock { $0.standbyThread = standby }
            } else {
                shared.withLock { $0.placement?.noStandbyReason = "pthread_create failed" }
            }
        }
        let thread: pthread_t
        do throws(MembershipNodeError) {
            thread = try spawn(.primary, cpu: placement.primaryCPU)
        } catch {
            let standby = shared.withLock { s in
                s.stopRequested = true
                defer { s.standbyThread = nil }
                return s.standbyThread
            }
            if let standby { pthread_join(standby, nil) }
            shared.withLock { s in
                Self.closeDescriptors(&s)
                s.machine = nil
                s.started = false
                s.stopRequested = false
            }
            throw error
        }
        shared.withLock { $0.thread = thread }
        deliverToHandler()
    }

    /// Stops the thread and closes the socket. `graceful` first sends leave messages so peers drop us at once
    /// (otherwise they notice after `timeout`, as for a crash). Idempotent.
    public func stop(graceful: Bool) {
        let thread = shared.withLock { s -> pthread_t? in
            s.stopRequested = true
            s.gracefulStop = graceful
            defer { s.thread = nil }
            return s.thread
        }
        poke()
        // The node's thread joins its standby before it closes the socket.
        if let thread { pthread_join(thread, nil) }
        // finish() runs onTermination synchronously, which takes the lock: finish outside it.
        let subscribers = shared.withLock { s in
            defer { s.subscribers = [:] }
            return Array(s.subscribers.values)
        }
        for c in subscribers { c.finish() }
    }

    /// Tests: makes the node's (primary) thread stop running for `duration` from its next wake-up, as a hypervisor
    /// taking its vCPU away would.
    func simulatePrimaryStall(for duration: Duration) {
        shared.withLock { $0.primaryStalledUntil = Self.monotonicNow() + duration }
        poke()
    }

    /// Hands queued alive-set changes to `onChange`, outside the state lock. Whoever holds the handler's turn drains the
    /// queue, and checks again after letting go; others do not wait (a thread stalled inside the handler must not stop
    /// the other thread's heartbeats).
    private func deliverToHandler() {
        guard let onChange else { return }
        repeat {
            let took: Void? = handlerOrder.withLockIfAvailable { _ in
                while true {
                    let updates = shared.withLock { s in
                        defer { s.pendingHandlerUpdates.removeAll() }
                        return s.pendingHandlerUpdates
                    }
                    if updates.isEmpty { break }
                    for update in updates { onChange(update) }
                }
            }
            if took == nil { return }
        } while shared.withLock { !$0.pendingHandlerUpdates.isEmpty }
    }

    // MARK: - Thread

    /// Wakes the thread to recompute its deadline (under the lock, so the pipe cannot be closed meanwhile).
    private func poke() {
        shared.withLock { s in
            guard s.wakeWrite >= 0 else { return }
            var one: UInt8 = 1
            _ = write(s.wakeWrite, &one, 1)
        }
    }

    private enum Role { case primary, standby }

    /// Starts a thread running `run(role, cpu)`.
    private func spawn(_ role: Role, cpu: Int32?) throws(MembershipNodeError) -> pthread_t {
        final class Start {
            let node: MembershipNode
            let role: Role
            let cpu: Int32?
            init(node: MembershipNode, role: Role, cpu: Int32?) { self.node = node; self.role = role; self.cpu = cpu }
        }
        let box = Unmanaged.passRetained(Start(node: self, role: role, cpu: cpu)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let start = Unmanaged<Start>.fromOpaque(raw!).takeRetainedValue()
            start.node.run(start.role, cpu: start.cpu)
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Start>.fromOpaque(box).release()
            throw .thread(rc)
        }
        return thread
    }

    /// Two CPUs the process may use, chosen by a stable hash of the node name (so that several nodes on one machine, as
    /// in tests, spread), or why there is no standby.
    private static func placement(name: String, standby: Bool) -> ThreadPlacement {
        guard standby else { return ThreadPlacement(noStandbyReason: "disabled") }
        var cpus = [Int32](repeating: 0, count: 1024)
        let n = Int(clinux_allowed_cpus(&cpus, Int32(cpus.count)))
        guard n >= 2 else {
            return ThreadPlacement(noStandbyReason: n < 0 ? "sched_getaffinity: \(String(cString: strerror(-Int32(n))))" : "only one CPU allowed")
        }
        var hash: UInt32 = 2_166_136_261  // FNV-1a
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let i = Int(hash % UInt32(n))
        return ThreadPlacement(primaryCPU: cpus[i], standbyCPU: cpus[(i + 1) % n])
    }

    private func run(_ role: Role, cpu: Int32?) {
        // Named so that `top -H`, `ps -L` and tests can tell them apart.
        _ = clinux_name_current_thread(role == .primary ? "membership" : "membership-sb")
        let outcome = ThreadScheduling.apply(schedulingRequest)
        let pinned = cpu.map { clinux_pin_current_thread($0) }
        let (fd, wake, isV6) = shared.withLock { s in
            if role == .primary { s.scheduling = outcome }
            if let pinned, pinned != 0 {
                // Unpinned, the thread still runs; the placement says so.
                if role == .primary { s.placement?.primaryCPU = nil } else { s.placement?.standbyCPU = nil }
            }
            return (s.socket, s.wake, s.boundAddress?.isIPv6 ?? false)
        }
        var scratch = Scratch()
        if role == .standby {
            runStandby(fd: fd, isV6: isV6, scratch: &scratch)
            return
        }
        var busyLoops = 0
        while true {
            let (deadline, stopping) = shared.withLock { s in (s.machine?.nextDeadline, s.stopRequested) }
            if stopping { break }
            let now = Self.monotonicNow()
            var waitNs = max(0, (deadline ?? now + .milliseconds(100)).nanoseconds - now.nanoseconds)
            // Belt and braces: a deadline that never moves must not turn a real-time thread into a busy loop.
            busyLoops = waitNs == 0 ? busyLoops + 1 : 0
            if busyLoops > 100 { waitNs = 1_000_000 }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            // poll(2) counts milliseconds: round up, so we wake at most 1 ms late and never spin before a deadline.
            let timeoutMs = Int32(min(Int64(Int32.max), (waitNs + 999_999) / 1_000_000))
            _ = poll(&fds, 2, timeoutMs)
            if let until = shared.withLock({ s in defer { s.primaryStalledUntil = nil }; return s.primaryStalledUntil }) {
                var ts = timespec(tv_sec: Int(until.nanoseconds / 1_000_000_000), tv_nsec: Int(until.nanoseconds % 1_000_000_000))
                while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
            }
            if fds[1].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while read(wake, &sink, sink.count) > 0 {}
            }
            processOnce(fd: fd, isV6: isV6, scratch: &scratch)
        }
        // The standby must be gone before the socket closes (it could otherwise read a reused descriptor).
        let standby = shared.withLock { s in
            defer { s.standbyThread = nil }
            return s.standbyThread
        }
        if let standby { pthread_join(standby, nil) }
        let leave = shared.withLock { s -> [MembershipAction] in
            guard s.gracefulStop, var m = s.machine else { return [] }
            let actions = m.leave()
            s.machine = m
            return actions
        }
        send(leave, fd: fd, isV6: isV6, heartbeats: false)
        shared.withLock { s in
            Self.closeDescriptors(&s)
            s.alive = nil
        }
    }

    /// Per-thread receive buffers.
    private struct Scratch {
        var buffer = [UInt8](repeating: 0, count: 65536)
        var received: [(Received, MonotonicTime)] = []
    }

    /// One datagram after the checks done outside the node's lock.
    private enum Received {
        case message(MembershipMessage, bytes: Int)
        case dropped(DropReason, bytes: Int)
    }

    /// One round of work: drain the socket, feed the state machine, tick, send, hand changes to `onChange`.
    /// Either thread may run it; the state lock keeps the machine consistent. The source check and the MAC are done
    /// before taking it: a flood costs the reading thread's CPU, never the other thread's chance to send heartbeats.
    private func processOnce(fd: Int32, isV6: Bool, scratch: inout Scratch, standby: Bool = false) {
        // Drain everything queued before judging anyone: after a stall the queue holds the proof peers are alive.
        scratch.received.removeAll(keepingCapacity: true)
        var sources: [(SocketEndpoint?, Int)] = []
        var datagrams: [[UInt8]] = []
        var times: [MonotonicTime] = []
        while datagrams.count < 4096 {
            var storage = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = scratch.buffer.withUnsafeMutableBytes { buffer in
                withUnsafeMutablePointer(to: &storage) { p in
                    p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(fd, buffer.baseAddress, buffer.count, Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
            }
            if n < 0 { break }
            sources.append((Self.endpoint(storage), n))
            datagrams.append(Array(scratch.buffer[0 ..< n]))
            times.append(Self.monotonicNow())
        }
        if !datagrams.isEmpty {
            let verdicts = gate.withLock { g in
                sources.indices.map { i in sources[i].0.map { g.admit(from: $0, now: times[i]) } ?? .unknownSource }
            }
            for i in datagrams.indices {
                if let reason = verdicts[i] {
                    scratch.received.append((.dropped(reason, bytes: sources[i].1), times[i]))
                    continue
                }
                do {
                    let message = try MembershipCodec.decode(datagrams[i], keyring: keyring)
                    scratch.received.append((.message(message, bytes: sources[i].1), times[i]))
                } catch {
                    scratch.received.append((.dropped(error.reason, bytes: sources[i].1), times[i]))
                }
            }
        }
        let received = scratch.received
        let sends = shared.withLock { s -> [MembershipAction] in
            guard var m = s.machine, !s.stopRequested || !standby else { return [] }
            for (item, at) in received {
                s.counters.packetsReceived += 1
                switch item {
                case .dropped(let reason, let bytes):
                    s.counters.bytesReceived += UInt64(bytes)
                    s.counters.dropped[reason, default: 0] += 1
                case .message(let message, let bytes):
                    s.counters.bytesReceived += UInt64(bytes)
                    switch m.receive(message, now: at) {
                    case .success(let actions): publish(actions, in: &s)
                    case .failure(let error): s.counters.dropped[error.reason, default: 0] += 1
                    }
                }
            }
        let now = Self.monotonicNow()
            // Checked under the lock: the other thread may have done this deadline's work meanwhile.
            if standby {
                guard m.nextDeadline + config.standbySlack <= now || !received.isEmpty else {
                    s.machine = m
                    return []
                }
                if m.nextDeadline + config.standbySlack <= now { s.counters.standbyTakeovers += 1 }
            }
            let actions = m.tick(now: now)
            s.machine = m
            publish(actions, in: &s)
            return actions
        }
        // Heartbeats first (peers must not wait for our takeover work), then the takeover itself.
        send(sends, fd: fd, isV6: isV6, heartbeats: true)
        deliverToHandler()
    }

    /// The standby sleeps until each deadline plus `standbySlack` and does the round only if it is still due then
    /// (the node's thread was late: its vCPU taken away, or starved). It never closes anything.
    private func runStandby(fd: Int32, isV6: Bool, scratch: inout Scratch) {
        let slack = config.standbySlack
        while true {
            let (deadline, stopping) = shared.withLock { s in (s.machine?.nextDeadline, s.stopRequested) }
            if stopping { return }
            let now = Self.monotonicNow()
            // At most 50 ms asleep, so that stop() is never kept waiting long.
            let wakeAt = min((deadline ?? now + .milliseconds(50)) + slack, now + .milliseconds(50))
            var ts = timespec(tv_sec: Int(wakeAt.nanoseconds / 1_000_000_000), tv_nsec: Int(wakeAt.nanoseconds % 1_000_000_000))
            while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
            let due = shared.withLock { s in
                !s.stopRequested && (s.machine.map { $0.nextDeadline + slack <= Self.monotonicNow() } ?? false)
            }
            if due { processOnce(fd: fd, isV6: isV6, scratch: &scratch, standby: true) }
        }
    }

    private func send(_ actions: [MembershipAction], fd: Int32, isV6: Bool, heartbeats: Bool) {
        var sent: UInt64 = 0, bytesSent: UInt64 = 0, errors: UInt64 = 0, rounds: UInt64 = 0
        for case .send(let bytes, let addresses) in actions {
            rounds += 1
            for address in addresses {
                let rc = Self.withSockaddr(address, asV6: isV6) { sa, len in
                    bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT), sa, len) }
                }
                if rc == bytes.count {
                    sent += 1
                    bytesSent += UInt64(bytes.count)
                } else {
                    errors += 1
                }
            }
        }
        if sent + errors > 0 {
            shared.withLock { s in
                // Counted together with the packets, so packetsSent + sendErrors = rounds × destinations at any reading.
                if heartbeats { s.counters.heartbeatRounds += rounds }
                s.counters.packetsSent += sent
                s.counters.bytesSent += bytesSent
                s.counters.sendErrors += errors
            }
        }
    }

    /// Applies non-send actions to the shared state (alive set, subscribers, counters).
    private func publish(_ actions: [MembershipAction], in s: inout Shared) {
        Self.publish(actions, in: &s, hasHandler: onChange != nil)
    }

    private static func publish(_ actions: [MembershipAction], in s: inout Shared, hasHandler: Bool) {
        for action in actions {
            switch action {
            case .send: break
            case .memberRestarted: s.counters.restartsSeen += 1
            case .aliveSetChanged(let change):
                for reason in change.removed.values { s.counters.removals[reason, default: 0] += 1 }
                s.alive = change.alive
                let update = AliveSetUpdate(change: change, wallTime: Date())
                if hasHandler { s.pendingHandlerUpdates.append(update) }
                for c in s.subscribers.values { c.yield(update) }
            }
        }
    }

    // MARK: - Sockets and clocks

    /// Closes the socket and the wake-up pipe, and marks them closed.
    private static func closeDescriptors(_ s: inout Shared) {
        for fd in [s.socket, s.wake, s.wakeWrite] where fd >= 0 { close(fd) }
        s.socket = -1
        s.wake = -1
        s.wakeWrite = -1
    }

    static func monotonicNow() -> MonotonicTime {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return MonotonicTime(nanoseconds: Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec))
    }

    private static func openSocket(_ address: SocketEndpoint, receiveBuffer: Int32) throws(MembershipNodeError) -> (Int32, SocketEndpoint) {
        let family = address.isIPv6 ? AF_INET6 : AF_INET
        let fd = socket(family, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .socket(call: "socket", errno: errno) }
        var size = receiveBuffer
        // A deep receive queue keeps a stalled thread's backlog (proof that peers live) instead of dropping it.
        if setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, socklen_t(4)) != 0 {
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(4))
        }
        // DSCP CS6 "network control" (RFC 4594 §3.2), like routing protocols and BFD: queues that honour it let
        // heartbeats pass ahead of bulk traffic. Best effort; a refusal changes nothing else.
        var tos: Int32 = 0xC0
        _ = setsockopt(fd, Int32(IPPROTO_IP), IP_TOS, &tos, socklen_t(4))
        if address.isIPv6 {
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_TCLASS, &tos, socklen_t(4))
            // Accept v4-mapped peers when bound to "::".
            var off: Int32 = 0
            _ = setsockopt(fd, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &off, socklen_t(4))
        }
        let rc = withSockaddr(address, asV6: address.isIPv6) { sa, len in bind(fd, sa, len) }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw .socket(call: "bind \(address)", errno: e)
        }
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let got = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        var port = address.port
        if got == 0 {
            port = withUnsafePointer(to: &storage) { p in
                address.isIPv6
                    ? p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin6_port) }
                    : p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { UInt16(bigEndian: $0.pointee.sin_port) }
            }
        }
        let bound = SocketEndpoint(address: address.address, port: port)
        return (fd, bound)
    }

    /// The sender of a received datagram (nil for a family we do not speak).
    private static func endpoint(_ storage: sockaddr_storage) -> SocketEndpoint? {
        var storage = storage
        return withUnsafePointer(to: &storage) { p -> SocketEndpoint? in
            switch Int32(p.pointee.ss_family) {
            case AF_INET:
                return p.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                    SocketEndpoint(address: .v4(IPv4Address(UInt32(bigEndian: $0.pointee.sin_addr.s_addr))),
                                   port: UInt16(bigEndian: $0.pointee.sin_port))
                }
            case AF_INET6:
                return p.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { sa in
                    var a = sa.pointee.sin6_addr
                    let bytes = withUnsafeBytes(of: &a) { Array($0) }
                    let value = bytes.reduce(UInt128(0)) { $0 << 8 | UInt128($1) }
                    return SocketEndpoint(address: .v6(IPv6Address(value)), port: UInt16(bigEndian: sa.pointee.sin6_port))
                }
            default:
                return nil
            }
        }
    }

    /// Calls `body` with a sockaddr for `address`; IPv4 destinations become v4-mapped when the socket is IPv6.
    private static func withSockaddr<R>(_ address: SocketEndpoint, asV6: Bool, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if asV6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = address.port.bigEndian
            let bytes: [UInt8] = switch address.address {
            case .v4(let v4): IPv6Address(ipv4Mapped: v4).bytes
            case .v6(let v6): v6.bytes
            }
            withUnsafeMutableBytes(of: &sa.sin6_addr) { raw in
                for i in 0 ..< 16 { raw[i] = bytes[i] }
            }
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = address.port.bigEndian
        if case .v4(let v4) = address.address {
            let bytes = v4.bytes
            withUnsafeMutableBytes(of: &sa.sin_addr) { raw in
                for i in 0 ..< 4 { raw[i] = bytes[i] }
            }
        } else {
            // An IPv6 destination on an IPv4 socket: leave the family invalid so sendto fails and is counted.
            sa.sin_family = sa_family_t(AF_UNSPEC)
        }
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}
#endif
