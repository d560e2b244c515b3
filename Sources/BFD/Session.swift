import NIOCore

/// One BFD session (RFC 5880 asynchronous mode, no echo, no demand, no authentication) as a pure state machine: fed
/// received packets, timer ticks and administrative commands with the current time, returning what to send and which
/// state changes happened. The owner arms one timer for `nextDeadline` and calls `tick` when it fires.
public struct BFDSession: Sendable {
    public enum Action: Sendable, Hashable {
        case send(BFDControlPacket)
        case stateChanged(from: BFDState, to: BFDState, diagnostic: BFDDiagnostic)
    }

    public private(set) var parameters: BFDParameters
    /// bfd.LocalDiscr: nonzero, unique per endpoint.
    public let localDiscriminator: UInt32
    public private(set) var state: BFDState = .down
    public private(set) var remoteState: BFDState = .down
    public private(set) var remoteDiscriminator: UInt32 = 0
    /// bfd.LocalDiag: sent in every packet; cleared when the session comes Up.
    public private(set) var localDiagnostic: BFDDiagnostic = .none
    /// Why the session last left Up or Init (kept after it recovers, for observers).
    public private(set) var lastDownDiagnostic: BFDDiagnostic = .none
    public private(set) var remoteDiagnostic: BFDDiagnostic = .none
    /// bfd.RemoteMinRxInterval, µs; 1 until the peer tells us (§6.8.1).
    public private(set) var remoteMinRxInterval: UInt32 = 1
    /// The peer's Desired Min TX Interval, µs (0 until heard).
    public private(set) var remoteDesiredMinTxInterval: UInt32 = 0
    public private(set) var remoteDetectMultiplier: UInt8 = 0
    /// bfd.DesiredMinTxInterval and bfd.RequiredMinRxInterval as advertised, µs.
    public private(set) var desiredMinTxInterval: UInt32
    public private(set) var requiredMinRxInterval: UInt32
    /// A Poll Sequence (§6.5) is running: every packet carries P until a packet with F arrives.
    public private(set) var pollActive = false
    public private(set) var packetsReceived: UInt64 = 0
    public private(set) var packetsSent: UInt64 = 0
    public private(set) var upSince: NIODeadline?
    /// Polls not answered at once because a Final went out less than half our RequiredMinRxInterval before (a peer
    /// polling faster than it may send); the next periodic packet carries the Final instead.
    public private(set) var finalsDeferred: UInt64 = 0

    /// Intervals used for timing while a Poll Sequence runs (§6.8.3: an increased TX interval and a reduced RX interval
    /// only take effect once the peer has acknowledged them with F).
    private var transmitIntervalInUse: UInt32
    private var receiveIntervalForDetection: UInt32
    private var started = false
    private var lastTransmit: NIODeadline?
    private var nextTransmit: NIODeadline?
    /// The base interval `nextTransmit` was drawn from, to re-draw only when it shrinks.
    private var scheduledInterval: UInt32 = 0
    private var detectionDeadline: NIODeadline?
    /// When the last immediate Final went out, and whether a Poll still waits for one.
    private var lastImmediateFinal: NIODeadline?
    private var finalOwed = false
    private var random: any RandomNumberGenerator & Sendable

    public init(localDiscriminator: UInt32, parameters: BFDParameters,
                random: any RandomNumberGenerator & Sendable = SystemRandomNumberGenerator()) {
        self.localDiscriminator = localDiscriminator
        self.parameters = parameters
        self.random = random
        desiredMinTxInterval = Self.slowTransmitInterval(parameters.desiredMinTxMicroseconds, state: .down)
        requiredMinRxInterval = parameters.requiredMinRxMicroseconds
        transmitIntervalInUse = desiredMinTxInterval
        receiveIntervalForDetection = requiredMinRxInterval
    }

    /// §6.8.3: while not Up, bfd.DesiredMinTxInterval MUST be at least one second.
    static func slowTransmitInterval(_ configured: UInt32, state: BFDState) -> UInt32 {
        state == .up ? configured : max(configured, 1_000_000)
    }

    // MARK: Derived values

    /// §6.8.7: periodic transmission stops while the peer asks for none (RemoteMinRxInterval 0) and, in the passive
    /// role, until the peer's discriminator is known (§6.1).
    var mayTransmitPeriodically: Bool {
        started && remoteMinRxInterval != 0 && !(parameters.passiveMode && remoteDiscriminator == 0)
    }

    /// §6.8.2/§6.8.7: the larger of our desired TX and the peer's required RX, µs.
    public var transmitInterval: UInt32 { max(transmitIntervalInUse, remoteMinRxInterval) }

    /// §6.8.4: remote detect multiplier × max(local required RX, remote desired TX); nil before the peer is heard.
    public var detectionTime: Duration? { detectionTimeMicroseconds.map { .microseconds($0) } }

    var detectionTimeMicroseconds: Int64? {
        guard remoteDetectMultiplier != 0 else { return nil }
        let interval = max(receiveIntervalForDetection, remoteDesiredMinTxInterval)
        return Int64(remoteDetectMultiplier) * Int64(interval)
    }

    /// When `tick` must next be called (transmission due or detection time expiring).
    public var nextDeadline: NIODeadline? {
        let transmit = mayTransmitPeriodically ? nextTransmit : nil
        switch (transmit, detectionDeadline) {
        case let (t?, d?): return min(t, d)
        case let (t?, nil): return t
        case let (nil, d?): return d
        case (nil, nil): return nil
        }
    }

    // MARK: Events

    /// Starts the session: an active session sends its first Down packet at once; a passive one waits for the peer.
    public mutating func start(now: NIODeadline) -> [Action] {
        started = true
        if mayTransmitPeriodically { nextTransmit = now }
        return tick(now: now)
    }

    /// Timer expiry: detection time (§6.8.4) and periodic transmission (§6.8.7).
    public mutating func tick(now: NIODeadline) -> [Action] {
        var actions: [Action] = []
        if let deadline = detectionDeadline, now >= deadline {
            detectionDeadline = nil
            // §6.8.1: bfd.RemoteDiscr is reset when the Detection Time passes without a valid packet.
            remoteDiscriminator = 0
            remoteState = .down
            if state == .up || state == .`init` {
                actions.append(transition(to: .down, diagnostic: .controlDetectionTimeExpired, now: now))
            }
        }
        if mayTransmitPeriodically {
            if nextTransmit == nil { nextTransmit = now }
            if let due = nextTransmit, now >= due {
                actions.append(.send(makePacket(final: finalOwed)))
                finalOwed = false
                packetsSent += 1
                lastTransmit = now
                scheduleNextTransmit(after: now)
            }
        }
        return actions
    }

    /// A packet that passed `BFDControlPacket.decode` and was demultiplexed to this session (§6.8.6).
    public mutating func receive(_ packet: BFDControlPacket, now: NIODeadline) -> [Action] {
        if packet.yourDiscriminator != 0, packet.yourDiscriminator != localDiscriminator { return [] }
        packetsReceived += 1
        var actions: [Action] = []
        remoteDiscriminator = packet.myDiscriminator
        remoteState = packet.state
        remoteDiagnostic = packet.diagnostic
        remoteMinRxInterval = packet.requiredMinRxInterval
        remoteDesiredMinTxInterval = packet.desiredMinTxInterval
        remoteDetectMultiplier = packet.detectMultiplier
        if packet.final, pollActive { finishPoll() }
        // §6.8.6: "If bfd.SessionState is AdminDown: Discard the packet".
        guard state != .adminDown else { return actions }

        if packet.state == .adminDown {
            if state != .down { actions.append(transition(to: .down, diagnostic: .neighborSignaledSessionDown, now: now)) }
        } else {
            switch state {
            case .down:
                if packet.state == .down { actions.append(transition(to: .`init`, diagnostic: localDiagnostic, now: now)) }
                else if packet.state == .`init` { actions.append(transition(to: .up, diagnostic: .none, now: now)) }
            case .`init`:
                if packet.state == .`init` || packet.state == .up { actions.append(transition(to: .up, diagnostic: .none, now: now)) }
            case .up:
                if packet.state == .down { actions.append(transition(to: .down, diagnostic: .neighborSignaledSessionDown, now: now)) }
            case .adminDown:
                break
            }
        }
        // §6.8.7: answer a Poll at once, outside the periodic schedule, with F set and P clear — at most one such
        // packet per half RequiredMinRxInterval: a peer may not send faster than that (§6.8.7), so a compliant peer is
        // always answered at once (its packets come at least 0.75 interval apart), while one polling in every packet
        // of a flood cannot make us send as fast as it does. A Poll inside that window is answered by the next
        // periodic packet, which then carries F (a response to the Poll, as §6.5 requires).
        if packet.poll {
            let spacing = Int64(requiredMinRxInterval / 2)
            if let last = lastImmediateFinal, now < last + .microseconds(spacing) {
                finalOwed = true
                finalsDeferred += 1
            } else {
                var reply = makePacket(final: true)
                reply.poll = false
                actions.append(.send(reply))
                packetsSent += 1
                lastImmediateFinal = now
                finalOwed = false
            }
        }
        // §6.8.4: a packet that was not discarded restarts the detection timer.
        if let detection = detectionTimeMicroseconds { detectionDeadline = now + .microseconds(detection) }
        rescheduleIfFaster(now: now)
        return actions
    }

    /// New profile values (e.g. a changed BFDProfile): starts a Poll Sequence if the advertised intervals change while Up.
    public mutating func update(parameters: BFDParameters, now: NIODeadline) {
        self.parameters = parameters
        syncIntervals(now: now)
    }

    /// Administratively disables (§6.8.16: state AdminDown, diag 7; packets keep going out so the peer learns it) or
    /// re-enables (back to Down) the session.
    public mutating func setAdministrativelyDown(_ down: Bool, now: NIODeadline) -> [Action] {
        if down {
            guard state != .adminDown else { return [] }
            detectionDeadline = nil
            var actions = [transition(to: .adminDown, diagnostic: .administrativelyDown, now: now)]
            // Tell the peer at once rather than at the next (slow) periodic transmission.
            if started, remoteMinRxInterval != 0 {
                actions.append(.send(makePacket(final: false)))
                packetsSent += 1
            }
            return actions
        }
        guard state == .adminDown else { return [] }
        return [transition(to: .down, diagnostic: .none, now: now)]
    }

    /// The packet we would send now (§6.8.7 contents).
    public func makePacket(final: Bool) -> BFDControlPacket {
        BFDControlPacket(diagnostic: localDiagnostic, state: state, poll: pollActive && !final, final: final,
                         detectMultiplier: parameters.detectMultiplier, myDiscriminator: localDiscriminator,
                         yourDiscriminator: remoteDiscriminator, desiredMinTxInterval: desiredMinTxInterval,
                         requiredMinRxInterval: requiredMinRxInterval)
    }

    // MARK: Internals

    private mutating func transition(to newState: BFDState, diagnostic: BFDDiagnostic, now: NIODeadline) -> Action {
        let old = state
        state = newState
        localDiagnostic = diagnostic
        if newState == .up {
            upSince = now
        } else {
            upSince = nil
            if old == .up || old == .`init` || newState == .adminDown { lastDownDiagnostic = diagnostic }
        }
        if old == .up, pollActive { finishPoll() }
        syncIntervals(now: now)
        return .stateChanged(from: old, to: newState, diagnostic: diagnostic)
    }

    /// Moves the advertised intervals to the targets for the current state and parameters (§6.8.3).
    private mutating func syncIntervals(now: NIODeadline) {
        let tx = Self.slowTransmitInterval(parameters.desiredMinTxMicroseconds, state: state)
        let rx = parameters.requiredMinRxMicroseconds
        guard tx != desiredMinTxInterval || rx != requiredMinRxInterval else { return }
        desiredMinTxInterval = tx
        requiredMinRxInterval = rx
        if state == .up {
            // §6.5/§6.8.3: changes while Up go through a Poll Sequence. A faster TX and a longer RX (safer detection)
            // apply at once; a slower TX or a shorter RX wait for the peer's Final.
            pollActive = true
            if tx < transmitIntervalInUse { transmitIntervalInUse = tx }
            if rx > receiveIntervalForDetection { receiveIntervalForDetection = rx }
        } else {
            transmitIntervalInUse = tx
            receiveIntervalForDetection = rx
        }
        rescheduleIfFaster(now: now)
    }

    private mutating func finishPoll() {
        pollActive = false
        transmitIntervalInUse = desiredMinTxInterval
        receiveIntervalForDetection = requiredMinRxInterval
    }

    /// §6.8.7 jitter: each interval is reduced by a random 0–25% (10–25% when bfd.DetectMult is 1).
    mutating func jittered(_ interval: UInt32) -> Int64 {
        let upper: UInt64 = parameters.detectMultiplier == 1 ? 9000 : 10000
        let factor = UInt64.random(in: 7500 ... upper, using: &random)
        return Int64(UInt64(interval) * factor / 10000)
    }

    private mutating func scheduleNextTransmit(after now: NIODeadline) {
        scheduledInterval = transmitInterval
        nextTransmit = now + .microseconds(jittered(scheduledInterval))
    }

    /// When the transmit interval shrinks (session Up, peer asking for more), do not wait out the old, longer one.
    private mutating func rescheduleIfFaster(now: NIODeadline) {
        guard mayTransmitPeriodically else { return }
        guard let last = lastTransmit, nextTransmit != nil else {
            // First packet of a passive session, or first after the peer reappeared.
            if nextTransmit == nil { nextTransmit = now }
            return
        }
        let interval = transmitInterval
        guard interval < scheduledInterval else { return }
        scheduledInterval = interval
        let candidate = last + .microseconds(jittered(interval))
        if let current = nextTransmit, candidate < current { nextTransmit = max(candidate, now) }
    }
}

/// What an observer can see of one session.
public struct BFDSessionSnapshot: Sendable, Hashable {
    /// The peer's address as configured (set by the endpoint).
    public var peer: String
    public var state: BFDState
    public var remoteState: BFDState
    public var localDiscriminator: UInt32
    public var remoteDiscriminator: UInt32
    /// Interval between our periodic packets before jitter: max(our desired TX, peer's required RX).
    public var transmitInterval: Duration
    /// Interval at which we expect the peer's packets: max(our required RX, peer's desired TX); nil before it is heard.
    public var receiveInterval: Duration?
    public var detectionTime: Duration?
    public var packetsReceived: UInt64
    public var packetsSent: UInt64
    public var localDiagnostic: BFDDiagnostic
    public var lastDownDiagnostic: BFDDiagnostic
    public var remoteDiagnostic: BFDDiagnostic
    public var pollActive: Bool
    public var uptime: Duration?
    /// Polls answered by the next periodic packet instead of at once (`BFDSession.finalsDeferred`).
    public var finalsDeferred: UInt64 = 0
}

extension BFDSession {
    public func snapshot(peer: String, now: NIODeadline) -> BFDSessionSnapshot {
        BFDSessionSnapshot(
            peer: peer, state: state, remoteState: remoteState, localDiscriminator: localDiscriminator,
            remoteDiscriminator: remoteDiscriminator, transmitInterval: .microseconds(Int64(transmitInterval)),
            receiveInterval: remoteDetectMultiplier == 0 ? nil : .microseconds(Int64(max(receiveIntervalForDetection, remoteDesiredMinTxInterval))),
            detectionTime: detectionTime, packetsReceived: packetsReceived, packetsSent: packetsSent,
            localDiagnostic: localDiagnostic, lastDownDiagnostic: lastDownDiagnostic, remoteDiagnostic: remoteDiagnostic,
            pollActive: pollActive,
            uptime: upSince.map { .nanoseconds(Int64(now.uptimeNanoseconds) - Int64($0.uptimeNanoseconds)) },
            finalsDeferred: finalsDeferred)
    }
}
