import NetAddress
#if os(Linux)
import CLinuxSupport
import Dispatch
import Glibc
import Synchronization

/// Answers ARP/NDP for the Service IPs this node owns, on a set of interfaces: one `PacketSocket`, one `Layer2Responder`
/// and one reader thread per interface; takeover bursts of gratuitous ARP / unsolicited NA run as tasks.
///
/// All methods are thread-safe and synchronous; `setOwned` takes effect for answering before it returns.
public final class Announcer: Sendable {
    /// Tunables; the defaults follow the RFCs.
    public struct Configuration: Hashable, Sendable {
        /// Announcement rounds per newly owned IP, the first sent at once inside `setOwned`.
        /// Default 3: RFC 4861 §10 MAX_NEIGHBOR_ADVERTISEMENT (unsolicited NAs), one more than RFC 5227 §1.1 ANNOUNCE_NUM (2) for ARP.
        public var announcementRounds: Int
        /// Spacing between rounds. Default 1 s: RFC 4861 §7.2.6 asks for at least RetransTimer (RETRANS_TIMER, 1 s) between
        /// unsolicited NAs; RFC 5227 §2.3 uses ANNOUNCE_INTERVAL 2 s, a host's pace, where a failover wants its caches fixed sooner.
        public var announcementInterval: Duration
        /// Gratuitous ARP forms sent per round (RFC 5227 §2.3 request, §3 reply); default both, as MetalLB.
        public var announcementOperations: [ARPOperation]
        /// Target MAC of gratuitous ARPs: zero per RFC 5227 §2.3.
        public var announcementTargetHardwareAddress: MACAddress
        /// NA Router flag (RFC 4861 §4.4).
        public var isRouter: Bool
        /// Pad frames to the 60-byte Ethernet minimum (normally left to the NIC).
        public var padsFrames: Bool
        /// SCHED_FIFO priority of the threads that answer ARP/NDP (nil: leave them as created). Default 5, below the
        /// membership thread (10): at normal priority a reader on a busy machine waited 215 µs on average for a CPU,
        /// which made our answer 2–3× slower than the kernel's; the kernel answers its own addresses in softirq
        /// context, above every task, anyway. If real-time is refused, the thread gets nice −10.
        /// A flood of ARP requests then costs CPU at that priority: the kernel's RT throttling (5 % of every second
        /// kept for normal tasks) bounds it, as softirq work bounds the kernel's own answering.
        public var readerPriority: Int32?
        /// Requests that waited in the socket longer than this (kernel receive time to now) are not answered: the
        /// reader was not running meanwhile (the process stopped, or its CPU taken away), and if that lasted longer
        /// than the membership timeout another node may have taken the IP over and answered already; a late second
        /// answer could point the client back at us. Default 130 ms, the membership timeout; `metallb diagnose l2`
        /// and the speaker set their own timeout. Nil answers whatever the age.
        public var maximumRequestAge: Duration?
        /// Limits on answers per requester and IP, per IP and per interface (`ReplyRateLimit`: 10, 100 and 1,000 per
        /// second by default); requests beyond them are not answered and are counted (`Counters.repliesRateLimited`).
        /// Nil answers every request.
        public var replyRateLimit: ReplyRateLimit?

        public init(announcementRounds: Int = 3, announcementInterval: Duration = .seconds(1),
                    announcementOperations: [ARPOperation] = [.request, .reply],
                    announcementTargetHardwareAddress: MACAddress = .zero,
                    isRouter: Bool = false, padsFrames: Bool = false, readerPriority: Int32? = 5,
                    maximumRequestAge: Duration? = .milliseconds(130),
                    replyRateLimit: ReplyRateLimit? = ReplyRateLimit()) {
            self.announcementRounds = announcementRounds
            self.announcementInterval = announcementInterval
            self.announcementOperations = announcementOperations
            self.announcementTargetHardwareAddress = announcementTargetHardwareAddress
            self.isRouter = isRouter
            self.padsFrames = padsFrames
            self.readerPriority = readerPriority
            self.maximumRequestAge = maximumRequestAge
            self.replyRateLimit = replyRateLimit
        }
    }

    /// Per-interface counters (monotonic since `init`).
    public struct Counters: Hashable, Sendable {
        /// Frames handed to the responder (ARP and NS/NA only: the socket filter drops the rest).
        public var framesReceived = 0
        /// ARP requests (incl. probes) answered with a reply.
        public var arpRepliesSent = 0
        /// Neighbor Solicitations (incl. DAD) answered with an NA.
        public var neighborAdvertisementsSent = 0
        /// Gratuitous ARP and unsolicited NA frames sent.
        public var announcementsSent = 0
        /// ARP/NA from another station claiming an owned IP (RFC 5227 §2.4, RFC 4861 §7.2.5).
        public var conflictsSeen = 0
        /// Failed sends, receives and group joins/leaves.
        public var errors = 0
        /// Requests for owned IPs left unanswered because they were older than `maximumRequestAge` when read.
        public var staleRequestsIgnored = 0
        /// Requests for owned IPs left unanswered because of `Configuration.replyRateLimit`.
        public var repliesRateLimited = 0

        /// Requests answered: ARP replies plus solicited/DAD NAs.
        public var requestsAnswered: Int { arpRepliesSent + neighborAdvertisementsSent }

        public init() {}
    }

    /// Per owned IP, summed over interfaces (MetalLB's `metallb_layer2_*{ip}` metrics); kept while the IP is owned.
    public struct AddressCounters: Hashable, Sendable {
        /// Requests for the IP (ARP requests, Neighbor Solicitations), answered or not.
        public var requestsReceived = 0
        /// Replies sent for it.
        public var responsesSent = 0
        /// Gratuitous ARP / unsolicited NA frames sent for it.
        public var gratuitousSent = 0

        public init() {}
    }

    /// Something a caller may want to log.
    public enum Event: Hashable, Sendable {
        /// Another station claims an IP we own on `interface`.
        case conflict(interface: String, address: IPAddress, claimedBy: MACAddress)
        /// A socket operation failed (the announcer keeps going).
        case error(PacketSocketError)
    }

    /// What one `setOwned` changed, per interface.
    public struct Change: Hashable, Sendable {
        public var added: [String: [IPAddress]] = [:]
        public var removed: [String: [IPAddress]] = [:]
        public var isEmpty: Bool { added.isEmpty && removed.isEmpty }
    }

    public let configuration: Configuration
    private let links: [String: Link]
    private let linkOrder: [String]
    private let onEvent: (@Sendable (Event) -> Void)?
    private let tasks = TaskRegistry()

    /// Opens a socket on each of `interfaces` (in the calling thread's network namespace) and starts a reader thread per
    /// interface; nothing is answered until `setOwned`. Throws the first open error (sockets already opened are closed).
    /// `onEvent` runs on a reader thread, a burst task or the `setOwned` caller: keep it short and non-blocking.
    public init(interfaces: [String], configuration: Configuration = Configuration(),
                onEvent: (@Sendable (Event) -> Void)? = nil) throws(PacketSocketError) {
        self.configuration = configuration
        self.onEvent = onEvent
        var links: [String: Link] = [:]
        var order: [String] = []
        for name in interfaces where links[name] == nil {
            do {
                let socket = try PacketSocket(interface: name)
                let responder = Layer2Responder(hardwareAddress: socket.hardwareAddress, isRouter: configuration.isRouter,
                                                padsFrames: configuration.padsFrames,
                                                announcementTargetHardwareAddress: configuration.announcementTargetHardwareAddress,
                                                announcementOperations: configuration.announcementOperations)
                links[name] = Link(socket: socket, responder: responder,
                                   limiter: configuration.replyRateLimit.map(ReplyRateLimiter.init(limit:)))
                order.append(name)
            } catch {
                for link in links.values { link.socket.close() }
                throw error
            }
        }
        self.links = links
        self.linkOrder = order
        for link in links.values {
            link.startReader(priority: configuration.readerPriority, maximumAge: configuration.maximumRequestAge, onEvent: onEvent)
        }
    }

    deinit {
        stop()
    }

    /// Tests: the reader threads stop running for `duration` once their current wait for a frame ends (a stalled process).
    func simulateReaderStall(for duration: Duration) {
        for link in links.values { link.readerStall.withLock { $0 = duration } }
    }

    /// The interfaces served, in `init` order.
    public var interfaceNames: [String] { linkOrder }

    /// The MAC replies carry on `interface`.
    public func hardwareAddress(of interface: String) -> MACAddress? { links[interface]?.socket.hardwareAddress }

    /// Owns exactly `ips` on every interface: see `setOwned(_:)`.
    @discardableResult
    public func setOwned(ips: some Sequence<IPAddress>) -> Change {
        let set = Set(ips)
        return setOwned(Dictionary(uniqueKeysWithValues: linkOrder.map { ($0, set) }))
    }

    /// Owns exactly the elected `serviceIPs` on every interface.
    @discardableResult
    public func setOwned(serviceIPs: some Sequence<ServiceIP>) -> Change {
        setOwned(ips: serviceIPs.map(\.ip))
    }

    /// Owns exactly `ipsByInterface[name]` on each interface (none where absent; unknown names ignored).
    /// Released IPs stop being answered before this returns, then their solicited-node groups are left (when no other owned IP
    /// shares them). Newly owned IPv6 join their groups first; each newly owned IP gets the first announcement round at once
    /// and `announcementRounds - 1` more, `announcementInterval` apart, while it stays owned.
    @discardableResult
    public func setOwned(_ ipsByInterface: [String: Set<IPAddress>]) -> Change {
        var change = Change()
        let stopped = tasks.state.withLock { $0.stopped }
        guard !stopped else { return change }
        var bursts: [(link: Link, addresses: [(IPAddress, UInt64)])] = []
        for name in linkOrder {
            guard let link = links[name] else { continue }
            let (added, removed, fresh) = link.setOwned(ipsByInterface[name] ?? [], onEvent: onEvent)
            if !added.isEmpty { change.added[name] = added }
            if !removed.isEmpty { change.removed[name] = removed }
            if !fresh.isEmpty { bursts.append((link, fresh)) }
        }
        let rounds = configuration.announcementRounds
        for burst in bursts where rounds > 0 {
            burst.link.announce(burst.addresses, onEvent: onEvent)
        }
        if rounds > 1, !bursts.isEmpty {
            scheduleRounds(bursts, remaining: rounds - 1)
        }
        return change
    }

    /// Announces every owned IP again (all rounds), as on a takeover. For when peers join: after
    /// a partition heals, the side that kept an IP never lost it in its own view, so nothing
    /// else would tell the hosts that learned the other side's MAC meanwhile.
    public func reannounce() {
        let stopped = tasks.state.withLock { $0.stopped }
        guard !stopped, configuration.announcementRounds > 0 else { return }
        var bursts: [(link: Link, addresses: [(IPAddress, UInt64)])] = []
        for name in linkOrder {
            guard let link = links[name] else { continue }
            let owned = link.ownedGenerations()
            if !owned.isEmpty { bursts.append((link, owned)) }
        }
        for burst in bursts { burst.link.announce(burst.addresses, onEvent: onEvent) }
        if configuration.announcementRounds > 1, !bursts.isEmpty {
            scheduleRounds(bursts, remaining: configuration.announcementRounds - 1)
        }
    }

    /// Later rounds run on a dispatch queue, not on Swift's cooperative pool: failover timing
    /// must not depend on whether other work has the pool's few threads busy.
    private func scheduleRounds(_ bursts: [(link: Link, addresses: [(IPAddress, UInt64)])], remaining: Int) {
        let interval = configuration.announcementInterval
        let nanos = Int(interval.components.seconds) * 1_000_000_000 + Int(interval.components.attoseconds / 1_000_000_000)
        let onEvent = self.onEvent
        let pending = bursts.map { (link: $0.link, addresses: $0.addresses.map { Pending(address: $0.0, generation: $0.1) }) }
        let token = RoundToken()
        let id: Int? = tasks.state.withLock { state in
            guard !state.stopped else { return nil }
            let id = state.next
            state.next += 1
            state.running[id] = token
            return id
        }
        guard let id else { return }
        for round in 1 ... remaining {
            roundQueue.asyncAfter(deadline: .now() + .nanoseconds(nanos * round)) { [tasks] in
                if !token.isCancelled {
                    for burst in pending {
                        burst.link.announce(burst.addresses.map { ($0.address, $0.generation) }, onEvent: onEvent)
                    }
                }
                if round == remaining { _ = tasks.state.withLock { $0.running.removeValue(forKey: id) } }
            }
        }
    }

    /// Which IPs are answered on which interface (interfaces answering nothing omitted), IPv4 first, sorted.
    public func answering() -> [String: [IPAddress]] {
        var result: [String: [IPAddress]] = [:]
        for (name, link) in links {
            let addresses = link.state.withLock { $0.responder.addresses }
            if !addresses.isEmpty { result[name] = addresses }
        }
        return result
    }

    /// The interfaces answering for `ip`, in `init` order.
    public func interfaces(answering ip: IPAddress) -> [String] {
        linkOrder.filter { links[$0]?.state.withLock { $0.responder.owns(ip) } ?? false }
    }

    /// Counters per owned IP, summed over interfaces.
    public func addressCounters() -> [IPAddress: AddressCounters] {
        var result: [IPAddress: AddressCounters] = [:]
        for link in links.values {
            for (ip, c) in link.state.withLock({ $0.perAddress }) {
                var sum = result[ip] ?? AddressCounters()
                sum.requestsReceived += c.requestsReceived
                sum.responsesSent += c.responsesSent
                sum.gratuitousSent += c.gratuitousSent
                result[ip] = sum
            }
        }
        return result
    }

    /// The owned IPs another station claimed (gratuitous ARP, ARP reply or NA from another MAC) at or after `since`
    /// (`DispatchTime.now().uptimeNanoseconds`): during a hand-over, proof that the new owner has announced.
    public func claimedElsewhere(since: UInt64) -> Set<IPAddress> {
        var result: Set<IPAddress> = []
        for link in links.values {
            for (ip, at) in link.state.withLock({ $0.claims }) where at >= since { result.insert(ip) }
        }
        return result
    }

    /// Counters per interface.
    public func counters() -> [String: Counters] {
        links.mapValues { link in link.state.withLock { $0.counters } }
    }

    /// Counters summed over interfaces.
    public func totalCounters() -> Counters {
        counters().values.reduce(into: Counters()) { sum, c in
            sum.framesReceived += c.framesReceived
            sum.arpRepliesSent += c.arpRepliesSent
            sum.neighborAdvertisementsSent += c.neighborAdvertisementsSent
            sum.announcementsSent += c.announcementsSent
            sum.conflictsSeen += c.conflictsSeen
            sum.errors += c.errors
            sum.staleRequestsIgnored += c.staleRequestsIgnored
            sum.repliesRateLimited += c.repliesRateLimited
        }
    }

    /// The Ethernet groups currently joined on `interface` (the solicited-node MACs of its owned IPv6).
    public func joinedGroups(on interface: String) -> Set<MACAddress> {
        links[interface]?.state.withLock { $0.joined } ?? []
    }

    /// Stops answering everywhere (no farewell frames), cancels pending rounds, stops the reader threads and closes the
    /// sockets, which drops their group memberships. Idempotent; later `setOwned` calls do nothing.
    public func stop() {
        let running: [RoundToken] = tasks.state.withLock { state in
            if state.stopped { return [] }
            state.stopped = true
            defer { state.running = [:] }
            return Array(state.running.values)
        }
        for token in running { token.cancel() }
        for link in links.values { link.stop() }
    }
}

/// The pending announcement rounds (a class so the rounds can remove themselves).
private final class TaskRegistry: Sendable {
    let state = Mutex<(stopped: Bool, next: Int, running: [Int: RoundToken])>((false, 0, [:]))
}

/// Cancels the not-yet-sent rounds of one burst.
private final class RoundToken: Sendable {
    private let cancelled = Mutex(false)
    var isCancelled: Bool { cancelled.withLock { $0 } }
    func cancel() { cancelled.withLock { $0 = true } }
}

private let roundQueue = DispatchQueue(label: "swift-metallb.layer2.announcement-rounds")

/// An IP with the ownership generation that scheduled its announcement (a release or re-acquire bumps it, so stale rounds stop).
private struct Pending: Sendable {
    var address: IPAddress
    var generation: UInt64
}

/// One interface: its socket, responder state and reader thread.
private final class Link: Sendable {
    struct State {
        var responder: Layer2Responder
        var joined: Set<MACAddress> = []
        var counters = Announcer.Counters()
        var generation: UInt64 = 0
        var owner: [IPAddress: UInt64] = [:]
        var stopped = false
        var limiter: ReplyRateLimiter?
        /// Per owned IP; dropped when the IP is released.
        var perAddress: [IPAddress: Announcer.AddressCounters] = [:]
        /// When another station last claimed an owned IP (uptime nanoseconds); dropped when the IP is released.
        var claims: [IPAddress: UInt64] = [:]
    }

    let socket: PacketSocket
    let state: Mutex<State>
    private let thread = Mutex<ReaderThread?>(nil)
    /// Tests: the reader sleeps this long before its next receive (after the current one), as if its CPU were taken away.
    let readerStall = Mutex<Duration?>(nil)

    init(socket: PacketSocket, responder: Layer2Responder, limiter: ReplyRateLimiter?) {
        self.socket = socket
        self.state = Mutex(State(responder: responder, limiter: limiter))
    }

    var name: String { socket.interface.name }

    /// Applies the new owned set; returns (added, removed, added with their generations).
    func setOwned(_ wanted: Set<IPAddress>, onEvent: (@Sendable (Announcer.Event) -> Void)?)
        -> (added: [IPAddress], removed: [IPAddress], fresh: [(IPAddress, UInt64)]) {
        var errors: [PacketSocketError] = []
        let result: ([IPAddress], [IPAddress], [(IPAddress, UInt64)]) = state.withLock { s in
            guard !s.stopped else { return ([], [], []) }
            let current = Set(s.responder.addresses)
            let added = wanted.subtracting(current).sorted()
            let removed = current.subtracting(wanted).sorted()
            // Release first: answering stops now; then drop groups no longer needed.
            for address in removed {
                s.responder.remove(address)
                s.owner[address] = nil
                s.perAddress[address] = nil
                s.claims[address] = nil
            }
            // Join before answering so no solicitation is missed.
            var target = s.responder
            for address in added { target.add(address) }
            let groups = Set(target.multicastHardwareAddresses)
            for group in groups.subtracting(s.joined).sorted() {
                do throws(PacketSocketError) {
                    try socket.joinMulticast(group)
                    s.joined.insert(group)
                } catch {
                    errors.append(error)
                    s.counters.errors += 1
                }
            }
            for group in s.joined.subtracting(groups).sorted() {
                do throws(PacketSocketError) {
                    try socket.leaveMulticast(group)
                } catch {
                    errors.append(error)
                    s.counters.errors += 1
                }
                s.joined.remove(group)
            }
            var fresh: [(IPAddress, UInt64)] = []
            for address in added {
                s.responder.add(address)
                s.generation += 1
                s.owner[address] = s.generation
                fresh.append((address, s.generation))
            }
            return (added, removed, fresh)
        }
        for error in errors { onEvent?(.error(error)) }
        return result
    }

    /// The owned addresses with their current generation, sorted.
    func ownedGenerations() -> [(IPAddress, UInt64)] {
        state.withLock { s in s.owner.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
    }

    /// Sends one announcement round for each address still owned under the same generation.
    func announce(_ addresses: [(IPAddress, UInt64)], onEvent: (@Sendable (Announcer.Event) -> Void)?) {
        let frames: [(IPAddress, [UInt8])] = state.withLock { s in
            guard !s.stopped else { return [] }
            return addresses.flatMap { address, generation in
                s.owner[address] == generation ? s.responder.announce(address, count: 1).map { (address, $0) } : []
            }
        }
        guard !frames.isEmpty else { return }
        var sent: [IPAddress: Int] = [:]
        var failures: [PacketSocketError] = []
        for (address, frame) in frames {
            do {
                try socket.send(frame)
                sent[address, default: 0] += 1
            } catch {
                failures.append(error)
            }
        }
        state.withLock { s in
            for (address, n) in sent {
                s.counters.announcementsSent += n
                if s.owner[address] != nil { s.perAddress[address, default: .init()].gratuitousSent += n }
            }
            s.counters.errors += failures.count
        }
        for error in failures { onEvent?(.error(error)) }
    }

    /// Handles one received frame: reply, count, report conflicts.
    func handle(_ frame: [UInt8], stale: Bool = false, onEvent: (@Sendable (Announcer.Event) -> Void)?) {
        let (response, limited): (Layer2Response, Bool) = state.withLock { s in
            s.counters.framesReceived += 1
            let response = s.stopped ? .ignored(.unrelated) : s.responder.handle(frame)
            if stale || s.limiter == nil {
                switch response {
                case .arpReply(_, let address, _): s.perAddress[.v4(address), default: .init()].requestsReceived += 1
                case .neighborAdvertisement(_, let address, _, _): s.perAddress[.v6(address), default: .init()].requestsReceived += 1
                case .conflict, .ignored: break
                }
            }
            guard !stale, s.limiter != nil else { return (response, false) }
            let key: (MACAddress, IPAddress)? = switch response {
            case .arpReply(_, let address, let destination): (destination, .v4(address))
            case .neighborAdvertisement(_, let address, let destination, _): (destination, .v6(address))
            case .conflict, .ignored: nil
            }
            guard let (requester, address) = key else { return (response, false) }
            s.perAddress[address, default: .init()].requestsReceived += 1
            if s.limiter?.allow(requester: requester, address: address, now: DispatchTime.now().uptimeNanoseconds) == false {
                s.counters.repliesRateLimited += 1
                return (response, true)
            }
            return (response, false)
        }
        switch response {
        case .arpReply where limited, .neighborAdvertisement where limited:
            break
        case .arpReply where stale, .neighborAdvertisement where stale:
            state.withLock { $0.counters.staleRequestsIgnored += 1 }
        case .arpReply(let reply, _, _), .neighborAdvertisement(let reply, _, _, _):
            var failure: PacketSocketError?
            do { try socket.send(reply) } catch { failure = error }
            let isARP: Bool
            let address: IPAddress
            switch response {
            case .arpReply(_, let a, _):
                isARP = true
                address = .v4(a)
            case .neighborAdvertisement(_, let a, _, _):
                isARP = false
                address = .v6(a)
            default:
                return
            }
            state.withLock { s in
                if let _ = failure {
                    s.counters.errors += 1
                } else {
                    if isARP { s.counters.arpRepliesSent += 1 } else { s.counters.neighborAdvertisementsSent += 1 }
                    if s.owner[address] != nil { s.perAddress[address, default: .init()].responsesSent += 1 }
                }
            }
            if let failure { onEvent?(.error(failure)) }
        case .conflict(let address, let claimedBy):
            let now = DispatchTime.now().uptimeNanoseconds
            state.withLock { s in
                s.counters.conflictsSeen += 1
                if s.owner[address] != nil { s.claims[address] = now }
            }
            onEvent?(.conflict(interface: name, address: address, claimedBy: claimedBy))
        case .ignored:
            break
        }
    }

    func startReader(priority: Int32?, maximumAge: Duration?, onEvent: (@Sendable (Announcer.Event) -> Void)?) {
        let reader = ReaderThread { [self] in
            // Named after the interface, so that `ps -L`, `top -H` and tests can find it.
            _ = clinux_name_current_thread("l2-" + socket.interface.name)
            if let priority { _ = clinux_raise_current_thread(priority, -10) }
            var consecutiveErrors = 0
            while !socket.isClosed {
                do throws(PacketSocketError) {
                    if let stall = readerStall.withLock({ s -> Duration? in defer { s = nil }; return s }) {
                        usleep(UInt32(stall.components.seconds * 1_000_000 + stall.components.attoseconds / 1_000_000_000_000))
                    }
                    guard let frame = try socket.receiveFrame(timeout: .seconds(1)) else { continue }
                    consecutiveErrors = 0
                    let stale = maximumAge.map { limit in frame.age.map { $0 > limit } ?? false } ?? false
                    handle(frame.bytes, stale: stale, onEvent: onEvent)
                } catch .closed {
                    return
                } catch {
                    state.withLock { $0.counters.errors += 1 }
                    onEvent?(.error(error))
                    consecutiveErrors += 1
                    // Back off on persistent errors (e.g. ENETDOWN) instead of spinning: 10 ms doubling to 1 s.
                    let delay = min(1_000_000, 10_000 << min(consecutiveErrors, 7))
                    usleep(UInt32(delay))
                }
            }
        }
        thread.withLock { $0 = reader }
    }

    /// Stops answering, closes the socket (waking the reader) and joins the reader thread.
    func stop() {
        state.withLock { s in
            s.stopped = true
            for address in s.responder.addresses { s.responder.remove(address) }
            s.owner = [:]
            s.joined = []
        }
        socket.close()
        let reader = thread.withLock { t -> ReaderThread? in
            defer { t = nil }
            return t
        }
        reader?.join()
    }
}

/// A dedicated pthread running `body` once (blocking I/O must not occupy the Swift concurrency pool).
private final class ReaderThread: Sendable {
    private final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }

    private let handle: Mutex<pthread_t?>

    init(_ body: @escaping @Sendable () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if result != 0 {
            // Could not start a thread: run nothing, but do not leak the box.
            Unmanaged<Box>.fromOpaque(box).release()
            handle = Mutex(nil)
        } else {
            handle = Mutex(thread)
        }
    }

    /// Waits for the thread to end (detaches instead when called from the thread itself).
    func join() {
        guard let thread = handle.withLock({ h -> pthread_t? in defer { h = nil }; return h }) else { return }
        if pthread_equal(thread, pthread_self()) != 0 {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }
}
#endif
