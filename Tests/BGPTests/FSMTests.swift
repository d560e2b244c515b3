import Testing
import NetAddress
@testable import BGP

// MARK: Fixtures

let ourID = v4("10.0.0.1")
let theirID = v4("10.0.0.2")

func fsmConfig(localAS: UInt32 = 65001, peerAS: PeerASN = .fixed(65002), routerID: IPv4Address = ourID, holdTime: UInt16 = 90,
               keepaliveTime: UInt16? = nil, passive: Bool = false, autoRestart: Bool = true,
               backoff: BackoffPolicy = BackoffPolicy(initial: .seconds(1), maximum: .seconds(8)),
               families: [AFISAFI] = [.ipv4Unicast], gracefulRestart: GracefulRestartConfig? = nil,
               acceptOwnID: Bool = false) -> BGPSessionConfig {
    BGPSessionConfig(localAS: localAS, peerAS: peerAS, routerID: routerID, holdTime: holdTime, keepaliveTime: keepaliveTime,
                     connectRetryTime: .seconds(30), backoff: backoff, passive: passive, autoRestart: autoRestart,
                     families: families, gracefulRestart: gracefulRestart, acceptOwnIdentifierFromExternalPeer: acceptOwnID)
}

func theirOpen(as asn: UInt32 = 65002, hold: UInt16 = 90, id: IPv4Address = theirID, version: UInt8 = 4,
               caps: [Capability] = [.multiprotocol(.ipv4Unicast), .routeRefresh]) -> OpenMessage {
    var o = OpenMessage(asNumber: asn, holdTime: hold, bgpIdentifier: id, capabilities: caps)
    o.version = version
    return o
}

func grCap(time: UInt16 = 120, forwarding: Bool = true, notification: Bool = false, families: [AFISAFI] = [.ipv4Unicast]) -> Capability {
    .gracefulRestart(GracefulRestartCapability(notification: notification, restartTime: time,
                                               families: families.map { .init(afiSafi: $0, forwardingStatePreserved: forwarding) }))
}

extension Array where Element == BGPAction {
    /// Without the `.stateChanged` reports (asserted separately).
    var effects: [BGPAction] { filter { if case .stateChanged = $0 { false } else { true } } }
    var changes: [StateChange] { compactMap { if case .stateChanged(let c) = $0 { c } else { nil } } }
    var notifications: [NotificationMessage] { compactMap { if case .sendNotification(let n) = $0 { n } else { nil } } }
    var downs: [SessionDown] { compactMap { if case .sessionDown(let d) = $0 { d } else { nil } } }
}

extension Array where Element == PeerAction {
    var notifications: [(ConnectionID?, NotificationMessage)] {
        compactMap { if case .sendNotification(let n) = $0.action { ($0.connection, n) } else { nil } }
    }
}

let c1 = ConnectionID(serial: 1, direction: .outbound)

/// Drives a machine to OpenSent (active mode, outbound connection 1).
func toOpenSent(_ config: BGPSessionConfig = fsmConfig()) -> BGPStateMachine {
    var m = BGPStateMachine(config: config)
    _ = m.manualStart()
    _ = m.tcpConnectionAcked()
    return m
}

func toOpenConfirm(_ config: BGPSessionConfig = fsmConfig(), open: OpenMessage = theirOpen()) -> BGPStateMachine {
    var m = toOpenSent(config)
    _ = m.received(.open(open))
    return m
}

func toEstablished(_ config: BGPSessionConfig = fsmConfig(), open: OpenMessage = theirOpen()) -> BGPStateMachine {
    var m = toOpenConfirm(config, open: open)
    _ = m.received(.keepalive)
    return m
}

func notif(_ code: NotificationCode, _ sub: UInt8 = 0, _ data: [UInt8] = []) -> NotificationMessage {
    NotificationMessage(code, subcode: sub, data: data)
}

// MARK: Happy paths

@Suite struct FSMHappyPathTests {
    @Test func activeToEstablished() throws {
        let config = fsmConfig()
        var m = BGPStateMachine(config: config)
        #expect(m.state == .idle)

        var a = m.manualStart()
        #expect(a.effects == [.startTimer(.connectRetry, .seconds(30)), .connect(c1)])
        #expect(m.state == .connect)
        #expect(a.changes.map(\.description) == ["Idle → Connect on ManualStart: started by the operator; connecting to the peer"])

        a = m.tcpConnectionAcked()
        #expect(a.effects == [.stopTimer(.connectRetry), .sendOpen(config.openMessage()), .startTimer(.hold, .seconds(240))])
        #expect(m.state == .openSent)

        a = m.received(.open(theirOpen()))
        #expect(a.effects == [.sendKeepalive, .stopTimer(.hold), .startTimer(.keepalive, .seconds(30)), .startTimer(.hold, .seconds(90))])
        #expect(m.state == .openConfirm)
        let n = try #require(m.negotiated)
        #expect(n.holdTime == 90 && n.keepaliveTime == 30 && n.peerAS == 65002 && n.peerIdentifier == theirID)
        #expect(n.families == [.ipv4Unicast] && n.routeRefresh && n.fourOctetAS && !n.isInternal)

        a = m.received(.keepalive)
        #expect(a.effects == [.startTimer(.hold, .seconds(90)), .sessionEstablished(n)])
        #expect(m.state == .established)
        #expect(a.changes.first?.reason.hasPrefix("the peer confirmed our OPEN; session established") == true)
        #expect(m.connectionID == c1)
    }

    @Test func passiveToEstablished() {
        var m = BGPStateMachine(config: fsmConfig(passive: true))
        var a = m.manualStart()
        #expect(a.effects == [.startTimer(.connectRetry, .seconds(30))])
        #expect(m.state == .active)
        // ConnectRetry expiry in passive mode: keep listening, never connect.
        a = m.timerExpired(.connectRetry)
        #expect(a == [.startTimer(.connectRetry, .seconds(30))])
        #expect(m.state == .active)

        a = m.tcpConnectionConfirmed()
        let c = ConnectionID(serial: 1, direction: .inbound)
        #expect(m.connectionID == c)
        #expect(a.effects.first == .stopTimer(.connectRetry))
        #expect(m.state == .openSent)
        _ = m.received(.open(theirOpen()))
        _ = m.received(.keepalive)
        #expect(m.state == .established)
    }

    @Test func manualStartPassiveEventOnActiveConfig() {
        var m = BGPStateMachine(config: fsmConfig())
        _ = m.manualStartPassive()
        #expect(m.state == .active)
    }

    @Test func activeModeConnectRetryMovesActiveToConnect() {
        var m = toOpenSent()
        var a = m.tcpConnectionFails()
        // OpenSent + TcpConnectionFails: close, restart ConnectRetryTimer, Active.
        #expect(a.effects == [.closeConnection(c1), .stopTimer(.hold), .startTimer(.connectRetry, .seconds(30))])
        #expect(m.state == .active)
        a = m.timerExpired(.connectRetry)
        let c2 = ConnectionID(serial: 2, direction: .outbound)
        #expect(a.effects == [.startTimer(.connectRetry, .seconds(30)), .connect(c2)])
        #expect(m.state == .connect)
        // Connect + ConnectRetry expiry: abort the attempt and try again.
        a = m.timerExpired(.connectRetry)
        #expect(a == [.closeConnection(c2), .startTimer(.connectRetry, .seconds(30)), .connect(ConnectionID(serial: 3, direction: .outbound))])
        #expect(m.state == .connect)
    }

    @Test func inboundWhileConnectingAbandonsOutboundAttempt() {
        var m = BGPStateMachine(config: fsmConfig())
        _ = m.manualStart()
        let a = m.tcpConnectionConfirmed()
        #expect(a.effects.first == .closeConnection(c1))
        #expect(m.state == .openSent && m.connectionID?.direction == .inbound)
    }

    @Test func staleTimerExpiryIsIgnored() {
        var m = toOpenSent()
        #expect(m.timerExpired(.keepalive) == [])
        #expect(m.timerExpired(.connectRetry) == [])
        #expect(m.state == .openSent)
    }

    @Test func startEventsAreIgnoredOutsideIdle() {
        var m = toEstablished()
        #expect(m.manualStart() == [])
        #expect(m.automaticStart() == [])
        #expect(m.state == .established)
    }
}

// MARK: Negotiation

@Suite struct FSMNegotiationTests {
    /// (our hold, peer's hold, negotiated hold or nil when refused, keepalive)
    static let holdTable: [(UInt16, UInt16, UInt16?, UInt16)] = [
        (90, 90, 90, 30), (90, 30, 30, 10), (30, 90, 30, 10), (90, 0, 0, 0), (0, 90, 0, 0), (0, 0, 0, 0),
        (90, 3, 3, 1), (3, 90, 3, 1), (90, 1, nil, 0), (90, 2, nil, 0), (0, 1, nil, 0), (240, 180, 180, 60),
    ]

    @Test(arguments: 0..<holdTable.count)
    func holdTimeTable(row: Int) {
        let (ours, theirs, expected, keepalive) = Self.holdTable[row]
        var m = toOpenSent(fsmConfig(holdTime: ours))
        let a = m.received(.open(theirOpen(hold: theirs)))
        if let expected {
            #expect(m.state == .openConfirm)
            #expect(m.negotiated?.holdTime == expected)
            #expect(m.negotiated?.keepaliveTime == keepalive)
            if expected == 0 {
                // Hold time 0: neither HoldTimer nor KeepaliveTimer.
                #expect(a.effects == [.sendKeepalive, .stopTimer(.hold)])
            } else {
                #expect(a.effects.contains(.startTimer(.hold, .seconds(Int(expected)))))
                #expect(a.effects.contains(.startTimer(.keepalive, .seconds(Int(keepalive)))))
            }
        } else {
            #expect(m.state == .idle)
            #expect(a.notifications == [notif(.openMessageError, OpenSubcode.unacceptableHoldTime.rawValue)])
        }
    }

    @Test func ourHoldTimeOneOrTwoIsRaisedToThree() {
        #expect(fsmConfig(holdTime: 1).openMessage().holdTime == 3)
        #expect(fsmConfig(holdTime: 2).holdTime == 3)
    }

    @Test(arguments: [(UInt16?(nil), UInt16(90), UInt16(30)), (10, 90, 10), (60, 90, 30), (0, 90, 30), (5, 9, 3), (nil, 0, 0), (20, 0, 0)])
    func keepaliveDefaulting(configured: UInt16?, hold: UInt16, expected: UInt16) {
        let m = toOpenConfirm(fsmConfig(holdTime: hold, keepaliveTime: configured), open: theirOpen(hold: hold))
        #expect(m.negotiated?.keepaliveTime == expected)
    }

    @Test func holdZeroEstablishedHasNoTimers() {
        var m = toEstablished(fsmConfig(holdTime: 0), open: theirOpen(hold: 0))
        #expect(m.runningTimers.isEmpty)
        #expect(m.received(.keepalive) == [])
        #expect(m.timerExpired(.hold) == [])   // never started: stale
        #expect(m.state == .established)
    }

    @Test func badPeerASFixed() {
        var m = toOpenSent()
        let a = m.received(.open(theirOpen(as: 65003)))
        #expect(a.notifications == [notif(.openMessageError, OpenSubcode.badPeerAS.rawValue, [0xfd, 0xeb])])
        #expect(m.state == .idle)
        #expect(m.lastError?.contains("Bad Peer AS") == true)
    }

    @Test(arguments: [(PeerASN.internal, UInt32(65001), true), (.internal, 65002, false), (.external, 65002, true),
                      (.external, 65001, false), (.fixed(4_200_000_001), 4_200_000_001, true)])
    func dynamicASN(mode: PeerASN, peer: UInt32, ok: Bool) {
        var m = toOpenSent(fsmConfig(peerAS: mode))
        let a = m.received(.open(theirOpen(as: peer)))
        #expect(m.state == (ok ? .openConfirm : .idle))
        #expect(a.notifications == (ok ? [] : [notif(.openMessageError, OpenSubcode.badPeerAS.rawValue, peer > 0xFFFF ? [0x5b, 0xa0] : [UInt8(peer >> 8), UInt8(peer & 0xff)])]))
        if ok { #expect(m.negotiated?.isInternal == (peer == 65001)) }
    }

    @Test func asTransWithoutFourOctetCapabilityIsBadPeerAS() {
        var m = toOpenSent(fsmConfig(peerAS: .fixed(4_200_000_001)))
        let open = OpenMessage(myAS: OpenMessage.asTrans, holdTime: 90, bgpIdentifier: theirID, capabilities: [])
        let a = m.received(.open(open))
        #expect(a.notifications == [notif(.openMessageError, OpenSubcode.badPeerAS.rawValue, [0x5b, 0xa0])])
    }

    @Test func fourOctetLocalASWithoutCapabilityUsesASTrans() {
        var c = fsmConfig(localAS: 4_200_000_001)
        c.fourOctetAS = false
        #expect(c.openMessage().myAS == OpenMessage.asTrans && c.openMessage().fourOctetASCapability == nil)
        #expect(fsmConfig(localAS: 4_200_000_001).openMessage().asNumber == 4_200_000_001)
    }

    @Test func badIdentifier() {
        // Zero.
        var m = toOpenSent()
        var a = m.received(.open(theirOpen(id: IPv4Address(0))))
        #expect(a.notifications == [notif(.openMessageError, OpenSubcode.badBGPIdentifier.rawValue, [0, 0, 0, 0])])
        // Ours, eBGP: refused by default.
        m = toOpenSent()
        a = m.received(.open(theirOpen(id: ourID)))
        #expect(a.notifications.map(\.subcode) == [OpenSubcode.badBGPIdentifier.rawValue])
        // Ours, eBGP, RFC 6286 leniency on.
        m = toOpenSent(fsmConfig(acceptOwnID: true))
        _ = m.received(.open(theirOpen(id: ourID)))
        #expect(m.state == .openConfirm)
        // Ours, iBGP: always refused.
        m = toOpenSent(fsmConfig(peerAS: .internal, acceptOwnID: true))
        a = m.received(.open(theirOpen(as: 65001, id: ourID)))
        #expect(a.notifications.map(\.subcode) == [OpenSubcode.badBGPIdentifier.rawValue])
    }

    @Test func unsupportedVersion() {
        var m = toOpenSent()
        let a = m.received(.open(theirOpen(version: 3)))
        #expect(a.effects == [.sendNotification(notif(.openMessageError, 1, [0, 4])), .closeConnection(c1), .stopTimer(.hold),
                              .releaseResources, .startTimer(.idleHold, .seconds(1))])
        #expect(m.state == .idle && m.connectRetryCounter == 1)
    }

    @Test func capabilitiesNegotiated() throws {
        let config = BGPSessionConfig(localAS: 65001, peerAS: .external, routerID: ourID, families: [.ipv4Unicast, .ipv6Unicast],
                                      enhancedRouteRefresh: true, extendedNextHop: [.ipv4UnicastOverIPv6],
                                      gracefulRestart: GracefulRestartConfig())
        let open = theirOpen(caps: [.multiprotocol(.ipv6Unicast), .multiprotocol(AFISAFI(afi: 1, safi: 2)), .enhancedRouteRefresh,
                                    .extendedNextHop([.ipv4UnicastOverIPv6, ExtendedNextHopEntry(nlriAFI: 1, nlriSAFI: 128, nextHopAFI: 2)]),
                                    grCap(time: 300, families: [.ipv6Unicast])])
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: open)
        #expect(n.families == [.ipv6Unicast])
        #expect(!n.routeRefresh && n.enhancedRouteRefresh)
        #expect(n.extendedNextHop == [.ipv4UnicastOverIPv6])
        #expect(n.peerGracefulRestart?.restartTime == 300)
        #expect(n.peerForwardingPreserved == [.ipv6Unicast])
        #expect(n.fourOctetAS)
    }

    @Test func noMultiprotocolMeansIPv4Unicast() throws {
        let config = fsmConfig(families: [.ipv4Unicast, .ipv6Unicast])
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: theirOpen(caps: []))
        #expect(n.families == [.ipv4Unicast])
        #expect(n.fourOctetAS)   // theirOpen(caps: []) still carries the 4-octet capability (init(asNumber:))
    }

    @Test func ourGracefulRestartAdvertisement() throws {
        let c = fsmConfig(families: [.ipv4Unicast, .ipv6Unicast],
                          gracefulRestart: GracefulRestartConfig(restartTime: 90, restarting: true, forwardingStatePreserved: true))
        let gr = try #require(c.openMessage().gracefulRestart)
        #expect(gr.restartState && !gr.notification && gr.restartTime == 90)
        #expect(gr.families.map(\.afiSafi) == [.ipv4Unicast, .ipv6Unicast] && gr.families.allSatisfy(\.forwardingStatePreserved))
        #expect(fsmConfig().openMessage().gracefulRestart == nil)
    }
}

// MARK: Timers

@Suite struct FSMTimerTests {
    @Test func holdTimerExpiryInEstablished() {
        var m = toEstablished()
        let a = m.timerExpired(.hold)
        #expect(a.effects == [
            .sendNotification(notif(.holdTimerExpired)), .closeConnection(c1), .stopTimer(.keepalive),
            .sessionDown(SessionDown(reason: .holdTimerExpired(holdTime: 90), routes: .withdrawAll)),
            .releaseResources, .startTimer(.idleHold, .seconds(1)),
        ])
        #expect(m.state == .idle)
        #expect(a.changes.map(\.description) == ["Established → Idle on HoldTimer_Expires: no KEEPALIVE or UPDATE from the peer within 90s"])
    }

    @Test func holdTimerExpiryInOpenSentAndOpenConfirm() {
        var m = toOpenSent()
        #expect(m.timerExpired(.hold).notifications == [notif(.holdTimerExpired)])
        #expect(m.state == .idle)
        m = toOpenConfirm()
        #expect(m.timerExpired(.hold).notifications == [notif(.holdTimerExpired)])
        #expect(m.state == .idle)
    }

    @Test func keepaliveTimerRearms() {
        var m = toOpenConfirm()
        #expect(m.timerExpired(.keepalive) == [.sendKeepalive, .startTimer(.keepalive, .seconds(30))])
        _ = m.received(.keepalive)
        #expect(m.timerExpired(.keepalive) == [.sendKeepalive, .startTimer(.keepalive, .seconds(30))])
        #expect(m.timerExpired(.keepalive) == [.sendKeepalive, .startTimer(.keepalive, .seconds(30))])
        // Sending an UPDATE restarts the KeepaliveTimer; receiving KEEPALIVE/UPDATE restarts the HoldTimer.
        #expect(m.handle(.updateSent) == [.startTimer(.keepalive, .seconds(30))])
        #expect(m.received(.keepalive) == [.startTimer(.hold, .seconds(90))])
        let u = UpdateMessage(nlri: [pfx("192.0.2.0/24")])
        #expect(m.received(.update(u)) == [.startTimer(.hold, .seconds(90)), .deliverUpdate(u, errors: [])])
        #expect(m.state == .established)
    }

    @Test func jitter() {
        #expect(BGPTimer.jittered(.seconds(40), fraction: 0) == .seconds(30))
        #expect(BGPTimer.jittered(.seconds(40), fraction: 1) == .seconds(40))
        #expect(BGPTimer.keepalive.appliesJitter && !BGPTimer.hold.appliesJitter)
    }

    @Test func backoffGrowsAndCaps() {
        var m = BGPStateMachine(config: fsmConfig())
        _ = m.manualStart()
        var delays: [Duration] = []
        for _ in 0..<6 {
            let a = m.tcpConnectionFails()
            #expect(m.state == .idle)
            for case .startTimer(.idleHold, let d) in a { delays.append(d) }
            // IdleHold expiry = AutomaticStart: back to Connect.
            let b = m.timerExpired(.idleHold)
            #expect(b.effects.last.map { if case .connect = $0 { true } else { false } } == true)
            #expect(m.state == .connect)
        }
        #expect(delays == [1, 2, 4, 8, 8, 8].map { Duration.seconds($0) })
        // Connect + TcpConnectionFails leaves ConnectRetryCounter alone (RFC 4271); AutomaticStart resets it anyway.
        #expect(m.connectRetryCounter == 0)
        #expect(m.consecutiveFailures == 6)
        // Established resets the backoff.
        _ = m.tcpConnectionAcked()
        _ = m.received(.open(theirOpen()))
        _ = m.received(.keepalive)
        #expect(m.consecutiveFailures == 0)
        let a = m.tcpConnectionFails()
        #expect(a.contains(.startTimer(.idleHold, .seconds(1))))
    }

    @Test func backoffInActiveModePassive() {
        var m = BGPStateMachine(config: fsmConfig(passive: true))
        _ = m.manualStart()
        var a = m.tcpConnectionFails()
        #expect(a.effects == [.stopTimer(.connectRetry), .releaseResources, .startTimer(.idleHold, .seconds(1))])
        #expect(m.connectRetryCounter == 1)
        a = m.timerExpired(.idleHold)
        #expect(m.state == .active)
        _ = m.tcpConnectionFails()
        #expect(m.runningTimers == [.idleHold])
    }

    @Test func automaticStartEventDirectly() {
        var m = BGPStateMachine(config: fsmConfig(autoRestart: false))
        #expect(m.automaticStart() == [])   // never started: administratively down
        _ = m.manualStart()
        let a = m.tcpConnectionFails()
        #expect(!a.contains { if case .startTimer(.idleHold, _) = $0 { true } else { false } })
        _ = m.automaticStart()
        #expect(m.state == .connect)
    }

    @Test func backoffPolicy() {
        let p = BackoffPolicy(initial: .milliseconds(500), maximum: .seconds(3))
        #expect((1...5).map { p.delay(afterFailures: $0) } == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(3), .seconds(3)])
    }
}

// MARK: Errors and stops

@Suite struct FSMErrorTests {
    static func machine(in state: BGPState) -> BGPStateMachine {
        switch state {
        case .idle: return BGPStateMachine(config: fsmConfig())
        case .connect: var m = BGPStateMachine(config: fsmConfig()); _ = m.manualStart(); return m
        case .active: var m = BGPStateMachine(config: fsmConfig(passive: true)); _ = m.manualStart(); return m
        case .openSent: return toOpenSent()
        case .openConfirm: return toOpenConfirm()
        case .established: return toEstablished()
        }
    }

    @Test(arguments: [BGPState.connect, .active, .openSent, .openConfirm, .established])
    func notificationReceived(in state: BGPState) {
        var m = Self.machine(in: state)
        let n = NotificationMessage.cease(.administrativeShutdown, shutdownCommunication: "maintenance")
        let a = m.received(.notification(n))
        #expect(m.state == .idle)
        #expect(a.notifications.isEmpty)   // never answer a NOTIFICATION with one
        #expect(a.contains(.releaseResources))
        #expect(a.contains(.startTimer(.idleHold, .seconds(1))))
        if state == .established {
            #expect(a.downs == [SessionDown(reason: .notificationReceived(n), routes: .withdrawAll)])
            #expect(a.changes.first?.reason == "the peer sent NOTIFICATION Cease / Administrative Shutdown \"maintenance\"")
        } else {
            #expect(a.downs.isEmpty)
        }
        if state == .openSent || state == .openConfirm || state == .established { #expect(a.contains(.closeConnection(c1))) }
    }

    @Test func versionNotificationDoesNotCountAsRetry() {
        var m = toOpenSent()
        _ = m.received(.notification(notif(.openMessageError, 1, [0, 3])))
        #expect(m.connectRetryCounter == 0)
        m = toOpenSent()
        _ = m.received(.notification(notif(.cease)))
        #expect(m.connectRetryCounter == 1)
    }

    @Test func idleIgnoresEverythingButStart() {
        var m = BGPStateMachine(config: fsmConfig())
        #expect(m.received(.notification(notif(.cease))) == [])
        #expect(m.received(.keepalive) == [])
        #expect(m.tcpConnectionFails() == [])
        #expect(m.manualStop() == [])
        #expect(m.state == .idle)
    }

    @Test(arguments: [BGPState.connect, .active, .openSent, .openConfirm, .established])
    func manualStop(in state: BGPState) {
        var m = Self.machine(in: state)
        let a = m.manualStop(shutdownCommunication: "bye")
        #expect(m.state == .idle)
        #expect(m.connectRetryCounter == 0)
        #expect(m.administrativelyDown)
        #expect(!a.contains { if case .startTimer = $0 { true } else { false } })   // no automatic restart
        let cease = NotificationMessage.cease(.administrativeShutdown, shutdownCommunication: "bye")
        switch state {
        case .connect:
            #expect(a.effects == [.closeConnection(c1), .stopTimer(.connectRetry), .releaseResources])
        case .active:
            #expect(a.effects == [.stopTimer(.connectRetry), .releaseResources])
        case .openSent:
            #expect(a.effects == [.sendNotification(cease), .closeConnection(c1), .stopTimer(.hold), .releaseResources])
        case .openConfirm:
            #expect(a.effects == [.sendNotification(cease), .closeConnection(c1), .stopTimer(.hold), .stopTimer(.keepalive), .releaseResources])
        case .established:
            #expect(a.effects == [.sendNotification(cease), .closeConnection(c1), .stopTimer(.hold), .stopTimer(.keepalive),
                                  .sessionDown(SessionDown(reason: .manualStop(cease), routes: .withdrawAll)), .releaseResources])
        case .idle: break
        }
        // Stays down: an AutomaticStart or a stale IdleHold does nothing.
        #expect(m.automaticStart() == [])
        #expect(m.timerExpired(.idleHold) == [])
    }

    @Test func manualStopDuringBackoffCancelsRestart() {
        var m = BGPStateMachine(config: fsmConfig())
        _ = m.manualStart()
        _ = m.tcpConnectionFails()
        #expect(m.manualStop() == [.stopTimer(.idleHold)])
        #expect(m.timerExpired(.idleHold) == [])
        #expect(m.state == .idle)
    }

    @Test func unexpectedMessagesAreFSMErrors() {
        let u = BGPMessage.update(UpdateMessage(nlri: [pfx("192.0.2.0/24")]))
        // RFC 6608 subcodes.
        var m = toOpenSent()
        #expect(m.received(u).notifications == [notif(.finiteStateMachineError, 1)])
        #expect(m.state == .idle)
        m = toOpenSent()
        #expect(m.received(.keepalive).notifications == [notif(.finiteStateMachineError, 1)])
        m = toOpenSent()
        #expect(m.received(.routeRefresh(RouteRefreshMessage(.ipv4Unicast))).notifications == [notif(.finiteStateMachineError, 1)])
        m = toOpenConfirm()
        #expect(m.received(u).notifications == [notif(.finiteStateMachineError, 2)])
        m = toOpenConfirm()
        #expect(m.received(.open(theirOpen())).notifications == [notif(.finiteStateMachineError, 2)])
        m = toEstablished()
        let a = m.received(.open(theirOpen()))
        let n = notif(.finiteStateMachineError, 3)
        #expect(a.notifications == [n])
        #expect(a.downs == [SessionDown(reason: .notificationSent(n), routes: .withdrawAll)])
        #expect(n.description == "Finite State Machine Error / Receive Unexpected Message in Established State")
    }

    @Test func messagesInConnectOrActiveDropToIdleSilently() {
        var m = FSMErrorTests.machine(in: .connect)
        let a = m.received(.keepalive)
        #expect(a.notifications.isEmpty && m.state == .idle && m.connectRetryCounter == 1)
    }

    @Test func decodeErrorsSendTheirNotification() {
        let header = BGPError(code: .messageHeaderError, subcode: 2, data: [0, 5])
        for var m in [toOpenSent(), toOpenConfirm(), toEstablished()] {
            let a = m.decodeFailed(header)
            #expect(a.notifications == [header.notification])
            #expect(m.state == .idle)
        }
        // UPDATE Message Error in Established.
        var m = toEstablished()
        let err = BGPError(code: .updateMessageError, subcode: UpdateSubcode.malformedASPath.rawValue)
        let a = m.decodeFailed(err)
        #expect(a.downs == [SessionDown(reason: .notificationSent(err.notification), routes: .withdrawAll)])
        #expect(a.changes.first?.event == "UpdateMsgErr")
    }

    @Test func tcpFailureInOpenConfirmAndEstablished() {
        var m = toOpenConfirm()
        _ = m.tcpConnectionFails()
        #expect(m.state == .idle && m.connectRetryCounter == 1)
        m = toEstablished()
        let a = m.tcpConnectionFails()
        #expect(a.downs == [SessionDown(reason: .connectionFailed, routes: .withdrawAll)])
        #expect(a.notifications.isEmpty)
    }
}

// MARK: Graceful restart, End-of-RIB, route refresh

@Suite struct FSMGracefulRestartTests {
    static let grConfig = fsmConfig(families: [.ipv4Unicast, .ipv6Unicast], gracefulRestart: GracefulRestartConfig(stalePathTime: .seconds(100)))
    static func grOpen(forwarding: Bool = true, notification: Bool = false) -> OpenMessage {
        theirOpen(caps: [.multiprotocol(.ipv4Unicast), .multiprotocol(.ipv6Unicast), .routeRefresh,
                         grCap(time: 120, forwarding: forwarding, notification: notification, families: [.ipv4Unicast, .ipv6Unicast])])
    }

    @Test func peerRestartRetainsRoutesThenEndOfRIBPurges() {
        var m = toEstablished(Self.grConfig, open: Self.grOpen())
        #expect(m.pendingEndOfRIB == [.ipv4Unicast, .ipv6Unicast])
        var a = m.tcpConnectionFails()
        let fams: [AFISAFI] = [.ipv4Unicast, .ipv6Unicast]
        #expect(a.downs == [SessionDown(reason: .connectionFailed, routes: .retainStale(families: fams, restartTime: .seconds(120)))])
        #expect(a.contains(.startTimer(.gracefulRestart, .seconds(120))))
        #expect(m.staleFamilies == Set(fams))
        #expect(a.downs.first?.description == "TCP connection closed or failed without a NOTIFICATION; peer restarting: keep its ipv4-unicast, ipv6-unicast routes as stale for up to 120.0 seconds")

        // The peer comes back with F set: keep stale routes until End-of-RIB.
        _ = m.timerExpired(.idleHold)
        _ = m.tcpConnectionAcked()
        _ = m.received(.open(Self.grOpen()))
        a = m.received(.keepalive)
        #expect(a.contains(.stopTimer(.gracefulRestart)))
        #expect(a.contains(.startTimer(.stalePath, .seconds(100))))
        #expect(!a.contains { if case .purgeStaleRoutes = $0 { true } else { false } })

        let u = UpdateMessage(nlri: [pfx("192.0.2.0/24")])
        #expect(m.received(.update(u)).effects == [.startTimer(.hold, .seconds(90)), .deliverUpdate(u, errors: [])])
        a = m.received(.update(.endOfRIB(.ipv4Unicast)))
        #expect(a == [.startTimer(.hold, .seconds(90)), .endOfRIB(.ipv4Unicast), .purgeStaleRoutes([.ipv4Unicast])])
        #expect(!m.initialUpdatesComplete)
        a = m.received(.update(.endOfRIB(.ipv6Unicast)))
        #expect(a == [.startTimer(.hold, .seconds(90)), .endOfRIB(.ipv6Unicast), .purgeStaleRoutes([.ipv6Unicast]), .stopTimer(.stalePath)])
        #expect(m.initialUpdatesComplete && m.staleFamilies.isEmpty)
    }

    @Test func restartTimerExpiryPurges() {
        var m = toEstablished(Self.grConfig, open: Self.grOpen())
        _ = m.tcpConnectionFails()
        let a = m.timerExpired(.gracefulRestart)
        #expect(a == [.purgeStaleRoutes([.ipv4Unicast, .ipv6Unicast])])
        #expect(m.staleFamilies.isEmpty)
    }

    @Test func comebackWithoutForwardingStatePurgesAtOnce() {
        var m = toEstablished(Self.grConfig, open: Self.grOpen())
        _ = m.tcpConnectionFails()
        _ = m.timerExpired(.idleHold)
        _ = m.tcpConnectionAcked()
        _ = m.received(.open(Self.grOpen(forwarding: false)))
        let a = m.received(.keepalive)
        #expect(a.contains(.purgeStaleRoutes([.ipv4Unicast, .ipv6Unicast])))
        #expect(!a.contains(.startTimer(.stalePath, .seconds(100))))
    }

    @Test func stalePathTimerPurges() {
        var m = toEstablished(Self.grConfig, open: Self.grOpen())
        _ = m.tcpConnectionFails()
        _ = m.timerExpired(.idleHold)
        _ = m.tcpConnectionAcked()
        _ = m.received(.open(Self.grOpen()))
        _ = m.received(.keepalive)
        #expect(m.timerExpired(.stalePath) == [.purgeStaleRoutes([.ipv4Unicast, .ipv6Unicast])])
    }

    @Test func notificationWithoutNBitWithdraws() {
        var m = toEstablished(Self.grConfig, open: Self.grOpen())
        let a = m.received(.notification(notif(.cease, 4)))
        #expect(a.downs.map(\.routes) == [.withdrawAll])
        // Hold timer expiry sends a NOTIFICATION too: no retention without N.
        m = toEstablished(Self.grConfig, open: Self.grOpen())
        #expect(m.timerExpired(.hold).downs.map(\.routes) == [.withdrawAll])
    }

    @Test func nBitKeepsRoutesExceptHardReset() {
        var c = Self.grConfig
        c.gracefulRestart?.notification = true
        var m = toEstablished(c, open: Self.grOpen(notification: true))
        #expect(m.negotiated?.gracefulNotification == true)
        var a = m.received(.notification(notif(.cease, CeaseSubcode.administrativeReset.rawValue)))
        #expect(a.downs.map(\.routes) == [.retainStale(families: [.ipv4Unicast, .ipv6Unicast], restartTime: .seconds(120))])
        m = toEstablished(c, open: Self.grOpen(notification: true))
        a = m.timerExpired(.hold)
        #expect(a.downs.map(\.routes) == [.retainStale(families: [.ipv4Unicast, .ipv6Unicast], restartTime: .seconds(120))])
        m = toEstablished(c, open: Self.grOpen(notification: true))
        a = m.received(.notification(notif(.cease, CeaseSubcode.hardReset.rawValue, [6, 2])))
        #expect(a.downs.map(\.routes) == [.withdrawAll])
        // Our ManualStop is wrapped in Hard Reset (RFC 8538 §3) and withdraws.
        m = toEstablished(c, open: Self.grOpen(notification: true))
        a = m.manualStop()
        #expect(a.notifications == [notif(.cease, CeaseSubcode.hardReset.rawValue, [6, 2])])
        #expect(a.downs.map(\.routes) == [.withdrawAll])
    }

    @Test func noRetentionWhenWeDoNotAdvertiseGR() {
        var m = toEstablished(fsmConfig(families: [.ipv4Unicast, .ipv6Unicast]), open: Self.grOpen())
        #expect(m.negotiated?.peerGracefulRestart == nil)
        #expect(m.pendingEndOfRIB.isEmpty && m.initialUpdatesComplete)
        #expect(m.tcpConnectionFails().downs.map(\.routes) == [.withdrawAll])
    }

    @Test func routeRefresh() {
        var m = toEstablished(Self.grConfig, open: Self.grOpen())
        let r = RouteRefreshMessage(.ipv6Unicast)
        #expect(m.received(.routeRefresh(r)) == [.deliverRouteRefresh(r)])
        #expect(m.received(.routeRefresh(RouteRefreshMessage(AFISAFI(afi: 1, safi: 2)))) == [])
        #expect(m.state == .established)
    }
}

// MARK: Collision (RFC 4271 §6.8)

@Suite struct PeerSessionTests {
    /// Outbound connection in OpenConfirm, then the peer connects in and sends its OPEN there.
    static func collide(localID: IPv4Address) -> (PeerSession, ConnectionID, ConnectionID, [PeerAction]) {
        var p = PeerSession(config: fsmConfig(routerID: localID))
        let start = p.manualStart()
        let out = start.compactMap { if case .connect(let c) = $0.action { c } else { nil } }.first!
        _ = p.outboundConnected(out)
        _ = p.received(.open(theirOpen()), on: out)
        #expect(p.primary.state == .openConfirm)
        let (inb, acc) = p.inboundConnectionAccepted()
        #expect(acc.contains(PeerAction(inb, .sendOpen(p.config.openMessage()))))
        #expect(p.secondary?.state == .openSent)
        let a = p.received(.open(theirOpen()), on: inb)
        return (p, out, inb, a)
    }

    @Test func localHigherIdentifierKeepsOutbound() {
        var (p, out, inb, a) = Self.collide(localID: v4("10.0.0.9"))
        #expect(a.notifications.map(\.0) == [inb])
        #expect(a.notifications.map(\.1) == [NotificationMessage.cease(.connectionCollisionResolution)])
        #expect(a.contains(PeerAction(inb, .closeConnection(inb))))
        #expect(p.secondary == nil && p.primary.connectionID == out)
        // No automatic restart for the dropped connection.
        #expect(!a.contains { if case .startTimer(.idleHold, _) = $0.action { true } else { false } })
        _ = p.received(.keepalive, on: out)
        #expect(p.state == .established)
    }

    @Test func localLowerIdentifierKeepsInbound() {
        var (p, out, inb, a) = Self.collide(localID: v4("10.0.0.1"))
        #expect(a.notifications.map(\.0) == [out])
        #expect(a.notifications.map(\.1) == [NotificationMessage.cease(.connectionCollisionResolution)])
        #expect(a.contains(PeerAction(out, .closeConnection(out))))
        // The inbound connection processed the OPEN and is now the primary.
        #expect(a.contains(PeerAction(inb, .sendKeepalive)))
        #expect(p.secondary == nil && p.primary.connectionID == inb && p.primary.state == .openConfirm)
        _ = p.received(.keepalive, on: inb)
        #expect(p.state == .established)
        // Events for the dropped connection are ignored.
        #expect(p.received(.keepalive, on: out) == [])
        #expect(p.timerExpired(.hold, connection: out) == [])
    }

    @Test func newConnectionCollidingWithEstablishedIsClosed() {
        var p = PeerSession(config: fsmConfig(routerID: v4("10.0.0.1")))
        let out = p.manualStart().compactMap { if case .connect(let c) = $0.action { c } else { nil } }.first!
        _ = p.outboundConnected(out)
        _ = p.received(.open(theirOpen()), on: out)
        _ = p.received(.keepalive, on: out)
        let (inb, _) = p.inboundConnectionAccepted()
        let a = p.received(.open(theirOpen()), on: inb)
        #expect(a.notifications.map(\.0) == [inb])
        #expect(p.primary.state == .established && p.secondary == nil)
    }

    @Test func idleRefusesInbound() {
        var p = PeerSession(config: fsmConfig())
        let (id, a) = p.inboundConnectionAccepted()
        #expect(a == [PeerAction(id, .closeConnection(id))])
    }

    @Test func secondaryTakesOverWhenPrimaryFails() {
        var p = PeerSession(config: fsmConfig())
        let out = p.manualStart().compactMap { if case .connect(let c) = $0.action { c } else { nil } }.first!
        _ = p.outboundConnected(out)
        let (inb, _) = p.inboundConnectionAccepted()
        #expect(p.secondary != nil)
        let a = p.connectionFailed(out)   // primary OpenSent → Active
        #expect(a.contains(PeerAction(nil, .stopTimer(.connectRetry))))
        #expect(p.primary.connectionID == inb && p.secondary == nil)
        _ = p.received(.open(theirOpen()), on: inb)
        _ = p.received(.keepalive, on: inb)
        #expect(p.state == .established)
    }

    @Test func timersAreTaggedWithTheirConnection() {
        var p = PeerSession(config: fsmConfig())
        let s = p.manualStart()
        #expect(s.contains(PeerAction(nil, .startTimer(.connectRetry, .seconds(30)))))
        let out = s.compactMap { if case .connect(let c) = $0.action { c } else { nil } }.first!
        let a = p.outboundConnected(out)
        #expect(a.contains(PeerAction(out, .startTimer(.hold, .seconds(240)))))
        let h = p.timerExpired(.hold, connection: out)
        #expect(h.notifications.map(\.1) == [notif(.holdTimerExpired)])
        #expect(h.contains(PeerAction(nil, .startTimer(.idleHold, .seconds(1)))))
    }
}

// MARK: Captured OPENs (Tests/BGPTests/Vectors)

@Suite struct FSMVectorTests {
    static func firstOpen(_ name: String) throws -> OpenMessage {
        let ctx = try #require(Vectors.files.first { $0.name == name }?.context)
        return try #require(Vectors.open(Vectors.decode(name, ctx).first))
    }

    @Test func gobgpOpenSeenByFRR() throws {
        let open = try Self.firstOpen("gobgp-to-frr-ipv4")
        let config = BGPSessionConfig(localAS: 4_200_000_001, peerAS: .fixed(65002), routerID: v4("10.255.1.1"), holdTime: 180,
                                      extendedNextHop: [.ipv4UnicastOverIPv6], gracefulRestart: GracefulRestartConfig())
        var m = toOpenSent(config)
        _ = m.received(.open(open))
        _ = m.received(.keepalive)
        let n = try #require(m.negotiated)
        #expect(m.state == .established)
        #expect(n.peerAS == 65002 && n.holdTime == 90 && n.keepaliveTime == 30)
        #expect(n.families == [.ipv4Unicast] && n.fourOctetAS && n.routeRefresh && !n.isInternal)
        #expect(n.extendedNextHop == [.ipv4UnicastOverIPv6])
        #expect(n.peerGracefulRestart?.restartTime == 120 && n.peerForwardingPreserved.isEmpty && !n.gracefulNotification)
        #expect(m.pendingEndOfRIB == [.ipv4Unicast])
        // GoBGP's End-of-RIB (if in the capture) or a synthetic one completes the initial sync.
        _ = m.received(.update(.endOfRIB(.ipv4Unicast)))
        #expect(m.initialUpdatesComplete)
    }

    @Test func frrOpenSeenByGoBGP() throws {
        let open = try Self.firstOpen("frr-to-gobgp-ipv4")
        let config = BGPSessionConfig(localAS: 65002, peerAS: .external, routerID: v4("10.255.1.2"), enhancedRouteRefresh: true,
                                      gracefulRestart: GracefulRestartConfig(notification: true))
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: open)
        #expect(n.peerAS == 4_200_000_001 && open.myAS == OpenMessage.asTrans)
        #expect(n.holdTime == 90 && n.keepaliveTime == 30)
        #expect(n.enhancedRouteRefresh && n.routeRefresh)
        #expect(n.peerGracefulRestart?.restartState == true && n.gracefulNotification)
        #expect(n.peerGracefulRestartFamilies == [.ipv4Unicast])
    }

    @Test func birdTwoOctetOpen() throws {
        let open = try Self.firstOpen("bird-to-frr-as2")
        var config = BGPSessionConfig(localAS: 4_200_000_003, peerAS: .fixed(65005), routerID: v4("10.255.2.4"))
        config.fourOctetAS = false
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: open)
        #expect(n.peerAS == 65005 && !n.fourOctetAS && n.holdTime == 90 && n.families == [.ipv4Unicast])
        #expect(!n.codecContext.fourOctetAS)
        // Expecting another AS: Bad Peer AS carrying the peer's My AS, like BIRD's own NOTIFICATION in the capture.
        let bad = BGPSessionConfig(localAS: 4_200_000_003, peerAS: .fixed(65006), routerID: v4("10.255.2.4"))
        #expect(throws: BGPError.self) { try NegotiatedSession.negotiate(config: bad, localOpen: bad.openMessage(), peerOpen: open) }
        var m = toOpenSent(bad)
        let a = m.received(.open(open))
        #expect(a.notifications == [notif(.openMessageError, OpenSubcode.badPeerAS.rawValue, [0xfd, 0xed])])
    }

    @Test func frrAsTransOpenWithoutCapabilities() throws {
        let open = try Self.firstOpen("frr-to-bird-as2")
        #expect(open.capabilities.isEmpty && open.myAS == OpenMessage.asTrans)
        var config = BGPSessionConfig(localAS: 65005, peerAS: .fixed(4_200_000_003), routerID: v4("10.255.2.3"))
        config.fourOctetAS = false
        var m = toOpenSent(config)
        let a = m.received(.open(open))
        #expect(a.notifications.map(\.subcode) == [OpenSubcode.badPeerAS.rawValue])
        // BIRD's "expecting peer AS 23456" view: accepted, IPv4 unicast implied, no route refresh.
        config.peerAS = .fixed(UInt32(OpenMessage.asTrans))
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: open)
        #expect(n.families == [.ipv4Unicast] && !n.routeRefresh && n.holdTime == 90 && n.peerIdentifier == v4("10.255.2.4"))
    }

    @Test func birdIBGPExtendedNextHop() throws {
        let open = try Self.firstOpen("bird-to-frr-ibgp-extnh")
        let config = BGPSessionConfig(localAS: 4_200_000_003, peerAS: .internal, routerID: v4("10.255.2.4"),
                                      families: [.ipv4Unicast, .ipv6Unicast], extendedNextHop: [.ipv4UnicastOverIPv6],
                                      gracefulRestart: GracefulRestartConfig())
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: open)
        #expect(n.isInternal && n.codecContext.isInternalPeer && n.peerAS == 4_200_000_003)
        #expect(n.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(n.extendedNextHop == [.ipv4UnicastOverIPv6])
        #expect(n.peerGracefulRestartFamilies == [.ipv4Unicast, .ipv6Unicast] && n.peerForwardingPreserved.isEmpty)
        // Same identifier as ours in iBGP: refused.
        let clash = BGPSessionConfig(localAS: 4_200_000_003, peerAS: .internal, routerID: open.bgpIdentifier, acceptOwnIdentifierFromExternalPeer: true)
        #expect(throws: BGPError.self) { try NegotiatedSession.negotiate(config: clash, localOpen: clash.openMessage(), peerOpen: open) }
    }

    @Test(arguments: ["frr-to-gobgp-ipv6", "gobgp-to-frr-ipv6", "bird-to-frr-ebgp6", "frr-to-bird-ebgp6", "frr-to-bird-ibgp-extnh"])
    func everyCapturedOpenNegotiatesIPv6(name: String) throws {
        let open = try Self.firstOpen(name)
        let config = BGPSessionConfig(localAS: 64512, peerAS: .fixed(open.asNumber), routerID: v4("192.0.2.1"),
                                      families: [.ipv6Unicast])
        let n = try NegotiatedSession.negotiate(config: config, localOpen: config.openMessage(), peerOpen: open)
        #expect(n.families == [.ipv6Unicast], "\(name)")
        #expect(n.fourOctetAS, "\(name)")
        #expect(n.holdTime == min(90, open.holdTime), "\(name)")
    }
}
