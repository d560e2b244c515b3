import NetAddress
import Logging
import NIOCore
import NIOPosix

/// The session manager: peers and listening sockets on one event loop. Inbound connections go to the peer configured
/// for their source address (others are closed at once); TCP MD5 keys of every peer are installed on every listening
/// socket (RFC 2385: the key is per peer address, and accepted sockets inherit it).
///
/// Mutable state is confined to `eventLoop`.
public final class BGPSpeaker: @unchecked Sendable {
    public let eventLoop: any EventLoop
    private let logger: Logger
    private var peers: [IPAddress: BGPPeer] = [:]
    private var listeners: [any Channel] = []

    private let ownedGroup: MultiThreadedEventLoopGroup?

    public init(eventLoop: any EventLoop, logger: Logger = Logger(label: "bgp")) {
        self.eventLoop = eventLoop
        self.logger = logger
        self.ownedGroup = nil
    }

    /// A speaker with its own one-thread event loop, released by `shutdown()`.
    public init(logger: Logger = Logger(label: "bgp")) {
        let g = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        self.ownedGroup = g
        self.eventLoop = g.next()
        self.logger = logger
    }

    /// Adds and starts a peer.
    public func addPeer(_ config: BGPPeerConfig, onEvent: @escaping @Sendable (BGPPeerEvent) -> Void = { _ in }) -> EventLoopFuture<BGPPeer> {
        eventLoop.flatSubmit {
            let key = Self.normalize(config.peerAddress)
            let peer = BGPPeer(config: config, eventLoop: self.eventLoop, logger: self.logger, onEvent: onEvent)
            let old = self.peers[key]
            self.peers[key] = peer
            let stopped = old?.stop() ?? self.eventLoop.makeSucceededVoidFuture()
            return stopped.flatMap {
                guard config.password?.isEmpty == false else { return self.eventLoop.makeSucceededVoidFuture() }
                let keys = self.listeners.filter { Self.sameFamily($0, key) }.map {
                    BGPSocketOptions.setMD5($0, peer: key, password: config.password)
                }
                return EventLoopFuture.andAllSucceed(keys, on: self.eventLoop)
            }.map {
                peer.start()
                return peer
            }
        }
    }

    /// Stops (Cease / Peer De-configured is not used: ManualStop sends Administrative Shutdown) and forgets a peer.
    public func removePeer(_ address: IPAddress) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let key = Self.normalize(address)
            guard let p = self.peers.removeValue(forKey: key) else { return self.eventLoop.makeSucceededVoidFuture() }
            for l in self.listeners where Self.sameFamily(l, key) && p.config.password?.isEmpty == false {
                _ = BGPSocketOptions.setMD5(l, peer: key, password: nil)
            }
            return p.stop()
        }
    }

    public func peer(_ address: IPAddress) -> EventLoopFuture<BGPPeer?> {
        eventLoop.submit { self.peers[Self.normalize(address)] }
    }

    public func setRoutes(_ routes: [AdvertisedRoute], for address: IPAddress) {
        eventLoop.execute { self.peers[Self.normalize(address)]?.setRoutes(routes) }
    }

    public func status() -> EventLoopFuture<[BGPPeerStatus]> {
        eventLoop.flatSubmit {
            let all = self.peers.values.map { $0.status() }
            return EventLoopFuture.whenAllSucceed(all, on: self.eventLoop).map { $0.sorted { $0.peer < $1.peer } }
        }
    }

    /// Listens for peers on `address`:`port` (port 0: any); returns the bound address.
    public func listen(on address: IPAddress, port: Int = 179) -> EventLoopFuture<SocketAddress> {
        eventLoop.flatSubmit {
            let bind: SocketAddress
            do {
                bind = try SocketAddress(ipAddress: address.description, port: port)
            } catch {
                return self.eventLoop.makeFailedFuture(TransportError.invalidAddress("\(address): \(error)"))
            }
            let boot = ServerBootstrap(group: self.eventLoop, childGroup: self.eventLoop)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { [self] ch in
                    self.eventLoop.preconditionInEventLoop()
                    guard let remote = ch.remoteAddress?.ipAddress.flatMap({ IPAddress($0) }).map(Self.normalize),
                          let peer = self.peers[remote]
                    else {
                        self.logger.info("refusing BGP connection from unconfigured \(ch.remoteAddress.map { "\($0)" } ?? "?")")
                        return ch.close()
                    }
                    peer.accept(ch)
                    return ch.eventLoop.makeSucceededVoidFuture()
                }
            return boot.bind(to: bind).flatMap { server in
                self.listeners.append(server)
                let keys = self.peers.filter { $0.value.config.password?.isEmpty == false && Self.sameFamily(server, $0.key) }.map {
                    BGPSocketOptions.setMD5(server, peer: $0.key, password: $0.value.config.password)
                }
                return EventLoopFuture.andAllSucceed(keys, on: self.eventLoop).map { server.localAddress ?? bind }
            }.flatMapErrorThrowing { e in
                if e is TransportError { throw e }
                throw TransportError.listenFailed("\(bind): \(e)")
            }
        }
    }

    /// Stops every peer (Cease) and closes the listeners.
    public func shutdown() -> EventLoopFuture<Void> {
        eventLoop.flatSubmit {
            let stops = self.peers.values.map { $0.stop() }
            let ls = self.listeners.map { $0.close() }
            self.listeners = []
            return EventLoopFuture.andAllComplete(stops + ls, on: self.eventLoop)
        }
    }

    // MARK: async conveniences

    public func addPeer(_ config: BGPPeerConfig, onEvent: @escaping @Sendable (BGPPeerEvent) -> Void = { _ in }) async throws -> BGPPeer {
        try await addPeer(config, onEvent: onEvent).get()
    }

    /// Listens; returns the bound port.
    public func listen(address: IPAddress, port: Int = 179) async throws -> Int {
        try await listen(on: address, port: port).get().port ?? port
    }

    public func allStatus() async throws -> [BGPPeerStatus] { try await status().get() }

    /// Stops every peer, closes the listeners and, for a speaker with its own event loop, stops the loop.
    public func close() async {
        try? await shutdown().get()
        try? await ownedGroup?.shutdownGracefully()
    }

    /// IPv4-mapped IPv6 (a dual-stack listener's view of an IPv4 peer) → IPv4.
    static func normalize(_ a: IPAddress) -> IPAddress {
        if case .v6(let v6) = a, let v4 = v6.ipv4Mapped { return .v4(v4) }
        return a
    }

    private static func sameFamily(_ ch: any Channel, _ a: IPAddress) -> Bool {
        switch ch.localAddress {
        case .v4: a.family == .ipv4
        case .v6: true   // a dual-stack socket serves both (IPv4 keys as-is are rejected by the kernel; see setMD5)
        default: false
        }
    }
}
