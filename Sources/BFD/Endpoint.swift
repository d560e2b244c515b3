import NetAddress
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore
import NIOPosix
import Synchronization

/// A session's state changed.
public struct BFDStateChange: Sendable, Hashable, CustomStringConvertible {
    public var peer: String
    public var old: BFDState
    public var new: BFDState
    /// The local diagnostic that came with the change (e.g. control detection time expired).
    public var diagnostic: BFDDiagnostic
    /// When the endpoint's event loop applied the change (monotonic clock, as `NIODeadline.now()`).
    public var at: NIODeadline

    public var description: String { "BFD \(peer): \(old) -> \(new) (\(diagnostic))" }
}

/// Counters of packets the endpoint dropped before any session saw them.
public struct BFDDropCounters: Sendable, Hashable {
    /// TTL / hop limit other than 255, or not reported (RFC 5881 §5).
    public var badTTL: UInt64 = 0
    /// Failed the checks of `BFDControlPacket.decode` (RFC 5880 §6.8.6).
    public var invalid: UInt64 = 0
    /// No session for the discriminator or the source address.
    public var noSession: UInt64 = 0
    /// Read while `BFDEndpoint.maximumBacklog` datagrams already waited for the event loop (a flood, or a stalled
    /// loop): dropped by the reader thread without being decoded.
    public var overloaded: UInt64 = 0
}

/// Datagrams handed from the reader thread to the event loop and not yet handled there.
private final class Backlog: Sendable {
    let queued = Atomic<Int>(0)
    let dropped = Atomic<UInt64>(0)
}

/// Single-hop BFD (RFC 5881) on one local address: a receive socket on `port` (3784), one send socket on a source port
/// from 49152–65535 with TTL 255, and the sessions with peers reachable from that address.
///
/// Sockets are created and bound in the initialiser's thread, so a caller inside a network namespace (setns(2) on its
/// thread) gets them in that namespace. Session state lives on one NIO event loop; a dedicated thread reads the receive
/// socket with recvmsg(2) (NIO does not report the received TTL) and hands datagrams to the loop.
public final class BFDEndpoint: Sendable {
    public let localAddress: IPAddress
    /// The port we listen on.
    public let port: Int
    /// The port we send to (the peer's listening port; 3784 outside tests).
    public let peerPort: Int
    /// Our source port, fixed for the endpoint's lifetime.
    public let sourcePort: Int

    private let loop: any EventLoop
    private let ownedGroup: MultiThreadedEventLoopGroup?
    private let core: NIOLoopBoundBox<Core>
    private let receiveFD: Int32
    private let sendFD: Int32
    private let wakeFDs: (read: Int32, write: Int32)
    private let reader: ReaderThread
    private let lifecycle = Mutex(Lifecycle())
    private let backlog = Backlog()

    /// At most this many received datagrams wait for the event loop; the reader drops further ones (counted as
    /// `BFDDropCounters.overloaded`). Without it a peer flooding faster than the loop handles packets would grow the
    /// loop's task queue without bound. 1,024 is 10 s of packets at 10 ms from 10 peers: far above normal operation.
    public static let maximumBacklog = 1024

    /// - Parameters:
    ///   - localAddress: an address of this host (in the caller thread's network namespace).
    ///   - port: the port to listen on; `peerPort` (default: the same) is the one packets are sent to.
    ///   - eventLoop: where session state and timers live; a private one-thread group if nil.
    public init(localAddress: String, port: Int = BFD.controlPort, peerPort: Int? = nil,
                sourcePorts: ClosedRange<Int> = BFD.sourcePortRange, eventLoop: (any EventLoop)? = nil) throws(BFDEndpointError) {
        guard let local = IPAddress(localAddress) else { throw .invalidAddress(localAddress) }
        self.localAddress = local
        self.port = port
        self.peerPort = peerPort ?? port
        receiveFD = try BFDSocket.makeReceiveSocket(local: local, port: port)
        let sender: (fd: Int32, port: Int)
        do throws(BFDEndpointError) {
            sender = try BFDSocket.makeSendSocket(local: local, ports: sourcePorts)
        } catch {
            close(receiveFD)
            throw error
        }
        sendFD = sender.fd
        sourcePort = sender.port
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else {
            let error = errno
            close(receiveFD)
            close(sendFD)
            throw .socket(operation: "pipe", errno: error)
        }
        wakeFDs = (pipeFDs[0], pipeFDs[1])
        if let eventLoop {
            loop = eventLoop
            ownedGroup = nil
        } else {
            let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            ownedGroup = group
            loop = group.next()
        }
        core = .makeBoxSendingValue(Core(sendFD: sendFD, peerPort: self.peerPort, loop: loop), eventLoop: loop)
        let loop = self.loop
        let boundCore = self.core
        let backlog = self.backlog
        reader = ReaderThread(fd: receiveFD, wakeFD: wakeFDs.read) { datagram in
            guard backlog.queued.wrappingAdd(1, ordering: .relaxed).newValue <= BFDEndpoint.maximumBacklog else {
                backlog.queued.wrappingSubtract(1, ordering: .relaxed)
                backlog.dropped.wrappingAdd(1, ordering: .relaxed)
                return
            }
            loop.execute {
                backlog.queued.wrappingSubtract(1, ordering: .relaxed)
                boundCore.value.handle(datagram)
            }
        }
        do throws(BFDEndpointError) {
            try reader.start()
        } catch {
            close(receiveFD)
            close(sendFD)
            close(wakeFDs.read)
            close(wakeFDs.write)
            try? ownedGroup?.syncShutdownGracefully()
            throw error
        }
    }

    /// Adds a session with `peer` and starts it (an active session sends at once). `interface` restricts which
    /// interface the peer's packets may arrive on while they carry no discriminator for us.
    public func addSession(peer: String, interface: String? = nil, parameters: BFDParameters = BFDParameters()) async throws {
        guard let address = IPAddress(peer) else { throw BFDEndpointError.invalidAddress(peer) }
        guard address.family == localAddress.family else {
            throw BFDEndpointError.addressFamilyMismatch(local: localAddress.description, peer: peer)
        }
        do { try parameters.validate() } catch { throw BFDEndpointError.invalidParameters(error) }
        let receiveFD = self.receiveFD
        try await onLoop { core in
            // Looked up through our socket: the interface must exist in the endpoint's namespace, not the caller's.
            let index: UInt32? = if let interface { BFDSocket.interfaceIndex(interface, socket: receiveFD) } else { nil }
            if let interface, index == 0 { throw BFDEndpointError.unknownInterface(interface) }
            try core.add(peer: address, interfaceIndex: index, parameters: parameters)
        }
    }

    /// Changes a session's parameters (a Poll Sequence tells the peer, RFC 5880 §6.8.3).
    public func updateSession(peer: String, parameters: BFDParameters) async throws {
        guard let address = IPAddress(peer) else { throw BFDEndpointError.invalidAddress(peer) }
        do { try parameters.validate() } catch { throw BFDEndpointError.invalidParameters(error) }
        try await onLoop { try $0.update(peer: address, parameters: parameters) }
    }

    /// Takes the session administratively down (AdminDown packets tell the peer) or back up.
    public func setAdministrativelyDown(peer: String, _ down: Bool) async throws {
        guard let address = IPAddress(peer) else { throw BFDEndpointError.invalidAddress(peer) }
        try await onLoop { try $0.setAdministrativelyDown(peer: address, down) }
    }

    /// Removes a session; the peer is told with an AdminDown packet (diag 7) so it goes Down at once.
    public func removeSession(peer: String) async throws {
        guard let address = IPAddress(peer) else { throw BFDEndpointError.invalidAddress(peer) }
        try await onLoop { try $0.remove(peer: address) }
    }

    /// A new stream of every state change from now on (each call gets its own stream); ends when the endpoint stops.
    public func stateChanges() -> AsyncStream<BFDStateChange> {
        let (stream, continuation) = AsyncStream<BFDStateChange>.makeStream()
        guard enter() else {
            continuation.finish()
            return stream
        }
        defer { leave() }
        let core = self.core
        loop.execute {
            if core.value.stopped { continuation.finish() } else { core.value.subscribe(continuation) }
        }
        return stream
    }

    /// Every session's observable state, sorted by peer; empty once stopped.
    public func snapshot() async -> [BFDSessionSnapshot] {
        (try? await onLoop { $0.snapshot() }) ?? []
    }

    public func snapshot(peer: String) async -> BFDSessionSnapshot? {
        guard let address = IPAddress(peer) else { return nil }
        return await snapshot().first { $0.peer == address.description }
    }

    /// `BFDDropCounters.overloaded` without going through the event loop.
    var overloadedSoFar: UInt64 { backlog.dropped.load(ordering: .relaxed) }

    public func dropCounters() async -> BFDDropCounters {
        var drops = (try? await onLoop { $0.drops }) ?? BFDDropCounters()
        drops.overloaded = backlog.dropped.load(ordering: .relaxed)
        return drops
    }

    /// Sends AdminDown on every session, stops timers and the reader, closes the sockets. Idempotent; every other call
    /// made after it fails with `BFDEndpointError.stopped`.
    public func stop() async {
        let first = lifecycle.withLock { state -> Bool in
            defer { state.stopping = true }
            return !state.stopping
        }
        guard first else { return }
        let core = self.core
        // The loop is still running here (only this call shuts the group down, and only at the end).
        try? await loop.submit { core.value.shutdown() }.get()
        var byte: UInt8 = 1
        _ = write(wakeFDs.write, &byte, 1)
        await reader.join()
        // Calls that got past the check before `stopping` was set have their work queued on the loop: let them finish
        // before the sockets close and the loop goes away (a task submitted to a shut-down NIO loop is silently
        // dropped, its future never completes).
        while lifecycle.withLock({ $0.inFlight }) > 0 { try? await Task.sleep(for: .milliseconds(5)) }
        close(receiveFD)
        close(sendFD)
        close(wakeFDs.read)
        close(wakeFDs.write)
        try? await ownedGroup?.shutdownGracefully()
    }

    private struct Lifecycle {
        var stopping = false
        var inFlight = 0
    }

    private func enter() -> Bool {
        lifecycle.withLock { state in
            guard !state.stopping else { return false }
            state.inFlight += 1
            return true
        }
    }

    private func leave() {
        lifecycle.withLock { $0.inFlight -= 1 }
    }

    /// Runs `body` on the loop unless the endpoint is stopping.
    private func onLoop<T: Sendable>(_ body: @escaping @Sendable (Core) throws -> T) async throws -> T {
        guard enter() else { throw BFDEndpointError.stopped }
        defer { leave() }
        let core = self.core
        return try await loop.submit { try body(core.value) }.get()
    }

    /// Session table and timers; only touched on the endpoint's event loop.
    private final class Core {
        struct Entry {
            var session: BFDSession
            var peer: IPAddress
            var interfaceIndex: UInt32?
            var timer: Scheduled<Void>?
        }

        let sendFD: Int32
        let peerPort: Int
        let loop: any EventLoop
        var sessions: [IPAddress: Entry] = [:]
        var byDiscriminator: [UInt32: IPAddress] = [:]
        var subscribers: [AsyncStream<BFDStateChange>.Continuation] = []
        var drops = BFDDropCounters()
        var stopped = false

        init(sendFD: Int32, peerPort: Int, loop: any EventLoop) {
            self.sendFD = sendFD
            self.peerPort = peerPort
            self.loop = loop
        }

        func subscribe(_ continuation: AsyncStream<BFDStateChange>.Continuation) {
            subscribers.append(continuation)
        }

        func add(peer: IPAddress, interfaceIndex: UInt32?, parameters: BFDParameters) throws {
            guard !stopped else { throw BFDEndpointError.stopped }
            guard sessions[peer] == nil else { throw BFDEndpointError.duplicateSession(peer: peer.description) }
            var discriminator: UInt32 = 0
            while discriminator == 0 || byDiscriminator[discriminator] != nil { discriminator = UInt32.random(in: 1 ... UInt32.max) }
            var entry = Entry(session: BFDSession(localDiscriminator: discriminator, parameters: parameters),
                              peer: peer, interfaceIndex: interfaceIndex)
            let actions = entry.session.start(now: .now())
            sessions[peer] = entry
            byDiscriminator[discriminator] = peer
            perform(actions, peer: peer)
            rearm(peer)
        }

        func update(peer: IPAddress, parameters: BFDParameters) throws {
            guard sessions[peer] != nil else { throw BFDEndpointError.unknownSession(peer: peer.description) }
            sessions[peer]?.session.update(parameters: parameters, now: .now())
            rearm(peer)
        }

        func setAdministrativelyDown(peer: IPAddress, _ down: Bool) throws {
            guard let actions = sessions[peer]?.session.setAdministrativelyDown(down, now: .now()) else {
                throw BFDEndpointError.unknownSession(peer: peer.description)
            }
            perform(actions, peer: peer)
            rearm(peer)
        }

        func remove(peer: IPAddress) throws {
            guard sessions[peer] != nil else { throw BFDEndpointError.unknownSession(peer: peer.description) }
            let actions = sessions[peer]?.session.setAdministrativelyDown(true, now: .now()) ?? []
            perform(actions, peer: peer)
            if let entry = sessions.removeValue(forKey: peer) {
                entry.timer?.cancel()
                byDiscriminator[entry.session.localDiscriminator] = nil
            }
        }

        func shutdown() {
            for peer in Array(sessions.keys) { try? remove(peer: peer) }
            stopped = true
            for subscriber in subscribers { subscriber.finish() }
            subscribers = []
        }

        func snapshot() -> [BFDSessionSnapshot] {
            let now = NIODeadline.now()
            return sessions.values.map { $0.session.snapshot(peer: $0.peer.description, now: now) }
                .sorted { $0.peer < $1.peer }
        }

        /// RFC 5881 §5 TTL check, RFC 5880 §6.8.6 checks, then demultiplexing: by Your Discriminator, or, while it is
        /// 0, by source address (and interface, if the session names one).
        func handle(_ datagram: ReceivedDatagram) {
            guard !stopped else { return }
            guard datagram.ttl == BFD.singleHopTTL else {
                drops.badTTL += 1
                return
            }
            let packet: BFDControlPacket
            do {
                packet = try BFDControlPacket.decode(datagram.payload)
            } catch {
                drops.invalid += 1
                return
            }
            let peer: IPAddress
            if packet.yourDiscriminator != 0 {
                guard let owner = byDiscriminator[packet.yourDiscriminator], owner == datagram.source else {
                    drops.noSession += 1
                    return
                }
                peer = owner
            } else {
                guard let entry = sessions[datagram.source],
                      entry.interfaceIndex == nil || entry.interfaceIndex == datagram.interfaceIndex else {
                    drops.noSession += 1
                    return
                }
                peer = entry.peer
            }
            guard let actions = sessions[peer]?.session.receive(packet, now: .now()) else { return }
            perform(actions, peer: peer)
            rearm(peer)
        }

        func tick(_ peer: IPAddress) {
            guard !stopped, let actions = sessions[peer]?.session.tick(now: .now()) else { return }
            perform(actions, peer: peer)
            rearm(peer)
        }

        func perform(_ actions: [BFDSession.Action], peer: IPAddress) {
            for action in actions {
                switch action {
                case let .send(packet):
                    // A failed send (e.g. no route while an interface is down) is a lost packet; BFD tolerates loss.
                    _ = BFDSocket.send(sendFD, packet.encoded(), to: peer, port: peerPort)
                case let .stateChanged(old, new, diagnostic):
                    let change = BFDStateChange(peer: peer.description, old: old, new: new, diagnostic: diagnostic, at: .now())
                    for subscriber in subscribers { subscriber.yield(change) }
                }
            }
        }

        /// One timer per session, always at the session's next deadline.
        func rearm(_ peer: IPAddress) {
            guard let entry = sessions[peer] else { return }
            entry.timer?.cancel()
            guard let deadline = entry.session.nextDeadline else {
                sessions[peer]?.timer = nil
                return
            }
            let bound = NIOLoopBound(self, eventLoop: loop)
            sessions[peer]?.timer = loop.scheduleTask(deadline: deadline) { bound.value.tick(peer) }
        }
    }
}

/// The recvmsg loop on its own pthread: waits in poll(2) on the socket and a wake-up pipe, reads everything queued,
/// hands each datagram to `deliver`, and exits when the pipe becomes readable.
private final class ReaderThread: Sendable {
    private let fd: Int32
    private let wakeFD: Int32
    private let deliver: @Sendable (ReceivedDatagram) -> Void
    private let done = ConditionLock()

    init(fd: Int32, wakeFD: Int32, deliver: @escaping @Sendable (ReceivedDatagram) -> Void) {
        self.fd = fd
        self.wakeFD = wakeFD
        self.deliver = deliver
    }

    func start() throws(BFDEndpointError) {
        let box = Unmanaged.passRetained(self).toOpaque()
        var handle = pthread_t()
        let rc = pthread_create(&handle, nil, { raw in
            guard let raw else { return nil }
            let reader = Unmanaged<ReaderThread>.fromOpaque(raw).takeRetainedValue()
            reader.run()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<ReaderThread>.fromOpaque(box).release()
            throw .socket(operation: "pthread_create", errno: rc)
        }
        pthread_detach(handle)
    }

    private func run() {
        defer { done.signal() }
        var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let rc = poll(&fds, 2, -1)
            if rc < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            if fds[0].revents & Int16(POLLIN) != 0 {
                while let datagram = BFDSocket.receive(fd) { deliver(datagram) }
            } else if fds[0].revents != 0 {
                return
            }
        }
    }

    /// Waits (off the cooperative pool) until the thread has left its loop.
    func join() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            done.notify { continuation.resume() }
        }
    }
}

/// A one-shot latch: `notify` runs its callback once `signal` has been called (at once if it already was).
private final class ConditionLock: Sendable {
    private let state = Mutex<(signalled: Bool, waiters: [@Sendable () -> Void])>((false, []))

    func signal() {
        let waiters = state.withLock { value -> [@Sendable () -> Void] in
            value.signalled = true
            defer { value.waiters = [] }
            return value.waiters
        }
        for waiter in waiters { waiter() }
    }

    func notify(_ callback: @escaping @Sendable () -> Void) {
        let now = state.withLock { value -> Bool in
            if value.signalled { return true }
            value.waiters.append(callback)
            return false
        }
        if now { callback() }
    }
}
