import Testing
import NetAddress
@testable import BGP

/// Our active session against our passive session over 127.0.0.1 (each speaker on its own event loop, the passive one
/// on a kernel-chosen port): OPEN, UPDATE, withdrawal, End-of-RIB, NOTIFICATION, TCP MD5.
@Suite(.serialized) struct LoopbackSessionTests {
    static let lo = IPAddress.v4(v4("127.0.0.1"))

    /// Polls `cond` until it holds or `timeout` (generous: a loaded 2-core machine) passes.
    func eventually(_ timeout: Duration = .seconds(30), _ cond: () async throws -> Bool) async throws -> Bool {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            if try await cond() { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return try await cond()
    }

    func config(localAS: UInt32, peerAS: UInt32, id: String, passive: Bool, port: Int = 179, password: String? = nil,
                gr: Bool = false) -> BGPPeerConfig {
        var s = BGPSessionConfig(localAS: localAS, peerAS: .fixed(peerAS), routerID: v4(id), holdTime: 9,
                                 connectRetryTime: .seconds(1), backoff: BackoffPolicy(initial: .milliseconds(200), maximum: .seconds(1)),
                                 passive: passive, families: [.ipv4Unicast, .ipv6Unicast])
        if gr { s.gracefulRestart = GracefulRestartConfig(restartTime: 30, forwardingStatePreserved: true) }
        return BGPPeerConfig(session: s, peerAddress: Self.lo, peerPort: port, password: password, connectTimeout: .seconds(2),
                             defaultNextHopIPv4: v4("10.201.0.1"), defaultNextHopIPv6: v6("fd00:201::1"), receivedRoutes: .keepAll)
    }

    @Test func openUpdateWithdrawNotification() async throws {
        let passive = BGPSpeaker()
        let active = BGPSpeaker()
        let port = try await passive.listen(address: Self.lo, port: 0)
        let pPeer = try await passive.addPeer(config(localAS: 65001, peerAS: 65002, id: "10.0.0.1", passive: true, gr: true))
        let aPeer = try await active.addPeer(config(localAS: 65002, peerAS: 65001, id: "10.0.0.2", passive: false, port: port, gr: true))
        let routes = [
            AdvertisedRoute(prefix: pfx("10.210.1.0/24"), communities: [Community(asn: 65002, value: 7)],
                            largeCommunities: [LargeCommunity(65002, 1, 2)]),
            AdvertisedRoute(prefix: pfx("10.210.2.0/24"), communities: [Community(asn: 65002, value: 7)],
                            largeCommunities: [LargeCommunity(65002, 1, 2)]),
            AdvertisedRoute(prefix: pfx("fd00:210:1::/64")),
        ]
        aPeer.setRoutes(routes)

        let got = try await eventually { try await pPeer.adjRIBIn().count == 3 }
        #expect(got)
        let rib = try await pPeer.adjRIBIn()
        let r1 = rib.first { $0.prefix == pfx("10.210.1.0/24") }
        #expect(r1?.attributes.communities == [Community(asn: 65002, value: 7)])
        #expect(r1?.attributes.largeCommunities == [LargeCommunity(65002, 1, 2)])
        #expect(r1?.attributes.asPath == ASPath(sequence: [65002]))
        // 127.0.0.1 is not a valid NEXT_HOP (RFC 7606 §7.3 treat-as-withdraw), hence the configured default.
        #expect(r1?.attributes.nextHop == v4("10.201.0.1"))
        #expect(rib.contains { $0.prefix == pfx("fd00:210:1::/64") })

        let ps = try await pPeer.currentStatus()
        #expect(ps.state == .established)
        #expect(ps.negotiated?.families == [.ipv4Unicast, .ipv6Unicast])
        #expect(ps.negotiated?.peerGracefulRestart?.restartTime == 30)
        #expect(ps.prefixesReceived == 3)
        let asStatus = try await aPeer.currentStatus()
        #expect(asStatus.prefixesSent == 3)
        // Two routes with identical attributes share one UPDATE: 1 IPv4 + 1 IPv6 + 2 End-of-RIB.
        #expect(asStatus.messagesSent[.update] == 4)

        // Withdraw the IPv6 route and one IPv4 route.
        aPeer.setRoutes([routes[0]])
        let withdrawn = try await eventually { try await pPeer.adjRIBIn().map(\.prefix) == [pfx("10.210.1.0/24")] }
        #expect(withdrawn)
        #expect(try await aPeer.currentStatus().prefixesSent == 1)

        // ManualStop on the active side: the passive side receives Cease / Administrative Shutdown with the text.
        try await aPeer.shutdown(shutdownCommunication: "test over")
        let down = try await eventually { try await pPeer.currentStatus().lastNotificationReceived != nil }
        #expect(down)
        let n = try await pPeer.currentStatus().lastNotificationReceived
        #expect(n?.code == NotificationCode.cease.rawValue)
        #expect(n?.subcode == CeaseSubcode.administrativeShutdown.rawValue)
        #expect(n?.shutdownCommunication == "test over")
        // Cease is not a graceful restart: the routes are gone.
        let emptied = try await eventually { try await pPeer.adjRIBIn().isEmpty }
        #expect(emptied)
        #expect(try await aPeer.currentStatus().lastNotificationSent?.subcode == CeaseSubcode.administrativeShutdown.rawValue)

        await active.close()
        await passive.close()
    }

    @Test func stopForRestartKeepsTheRoutesUntilTheSpeakerIsBack() async throws {
        let passive = BGPSpeaker()
        let port = try await passive.listen(address: Self.lo, port: 0)
        let pPeer = try await passive.addPeer(config(localAS: 65001, peerAS: 65002, id: "10.0.0.1", passive: true, gr: true))
        let routes = [AdvertisedRoute(prefix: pfx("10.210.7.0/24")), AdvertisedRoute(prefix: pfx("10.210.8.0/24"))]
        let first = BGPSpeaker()
        let aPeer = try await first.addPeer(config(localAS: 65002, peerAS: 65001, id: "10.0.0.2", passive: false, port: port, gr: true))
        aPeer.setRoutes(routes)
        #expect(try await eventually { try await pPeer.adjRIBIn().count == 2 })

        // The speaker leaves for a restart: no NOTIFICATION, and the peer keeps both routes, marked stale.
        try await aPeer.stopForRestart().get()
        #expect(try await eventually { try await pPeer.currentStatus().state != .established })
        #expect(try await pPeer.currentStatus().lastNotificationReceived == nil)
        #expect(try await eventually { try await pPeer.adjRIBIn().allSatisfy(\.stale) })
        #expect(try await pPeer.adjRIBIn().map(\.prefix) == routes.map(\.prefix))
        await first.close()

        // The new speaker sends one of the two again, then End-of-RIB: that one is fresh, the other purged.
        let second = BGPSpeaker()
        let bPeer = try await second.addPeer(config(localAS: 65002, peerAS: 65001, id: "10.0.0.2", passive: false, port: port, gr: true))
        bPeer.setRoutes([routes[0]])
        #expect(try await eventually {
            let rib = try await pPeer.adjRIBIn()
            return rib.map(\.prefix) == [routes[0].prefix] && rib.allSatisfy { !$0.stale }
        })
        await second.close()
        await passive.close()
    }

    @Test func pathDownTearsTheSessionDownAndItRecovers() async throws {
        let passive = BGPSpeaker()
        let active = BGPSpeaker()
        let port = try await passive.listen(address: Self.lo, port: 0)
        let pPeer = try await passive.addPeer(config(localAS: 65001, peerAS: 65001, id: "10.0.0.1", passive: true, gr: true))
        let aPeer = try await active.addPeer(config(localAS: 65001, peerAS: 65001, id: "10.0.0.2", passive: false, port: port, gr: true))
        aPeer.setRoutes([AdvertisedRoute(prefix: pfx("10.210.9.0/24"), localPref: 250)])
        #expect(try await eventually { try await pPeer.adjRIBIn().count == 1 })
        #expect(try await pPeer.adjRIBIn().first?.attributes.localPref == 250)   // iBGP carries LOCAL_PREF

        // The passive side drops the connection as BFD would: it sends Cease / BFD Down and goes to Idle.
        pPeer.pathDown(reason: "test: BFD session down")
        #expect(try await eventually { try await aPeer.currentStatus().lastNotificationReceived?.subcode == CeaseSubcode.bfdDown.rawValue })
        // Both come back on their own (automatic restart), and the route is there again.
        #expect(try await eventually {
            let p = try await pPeer.currentStatus().establishedCount
            let a = try await aPeer.currentStatus().establishedCount
            return p >= 2 && a >= 2
        })
        #expect(try await eventually { try await pPeer.adjRIBIn().map(\.prefix) == [pfx("10.210.9.0/24")] })
        #expect(try await pPeer.adjRIBIn().first?.stale == false)
        await active.close()
        await passive.close()
    }

    @Test func wrongMD5PasswordIsReportedNotHung() async throws {
        let passive = BGPSpeaker()
        let active = BGPSpeaker()
        let port = try await passive.listen(address: Self.lo, port: 0)
        let pPeer = try await passive.addPeer(config(localAS: 65001, peerAS: 65002, id: "10.0.0.1", passive: true, password: "right"))
        let aPeer = try await active.addPeer(config(localAS: 65002, peerAS: 65001, id: "10.0.0.2", passive: false, port: port, password: "wrong"))
        // The connect times out (the kernel drops the SYNs); the error names MD5.
        let reported = try await eventually { try await aPeer.currentStatus().lastError?.contains("MD5") == true }
        #expect(reported)
        let st = try await aPeer.currentStatus()
        #expect(st.establishedCount == 0)
        #expect(try await pPeer.currentStatus().establishedCount == 0)
        // The waiting (passive) side never sees a connection, only the kernel's drop counters, and says so.
        let passiveReported = try await eventually { try await pPeer.currentStatus().lastError?.contains("MD5") == true }
        #expect(passiveReported)
        await active.close()
        await passive.close()

        // Same passwords: Established.
        let passive2 = BGPSpeaker()
        let active2 = BGPSpeaker()
        let port2 = try await passive2.listen(address: Self.lo, port: 0)
        let p2 = try await passive2.addPeer(config(localAS: 65001, peerAS: 65002, id: "10.0.0.1", passive: true, password: "right"))
        _ = try await active2.addPeer(config(localAS: 65002, peerAS: 65001, id: "10.0.0.2", passive: false, port: port2, password: "right"))
        #expect(try await eventually { try await p2.currentStatus().state == .established })
        await active2.close()
        await passive2.close()
    }
}
