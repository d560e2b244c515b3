import BFD
import BGP
import NetAddress

/// A BGP session tied to a BFD session with the same peer (RFC 5882 §4.3): when BFD declares the path down, the
/// BGP session goes down at once instead of after the hold time.
public final class PeerWithBFD: Sendable {
    public let peer: BGPPeer
    public let endpoint: BFDEndpoint
    /// The peer's address as the BFD endpoint names it.
    public let peerAddress: String
    private let follower: Task<Void, Never>

    /// Adds the BFD session with `peerAddress` on `endpoint` and starts following it. `onChange` sees every state
    /// change of that session (for logs and status), after the BGP session was told.
    public init(peer: BGPPeer, endpoint: BFDEndpoint, peerAddress: IPAddress, parameters: BFDParameters = BFDParameters(),
                onChange: (@Sendable (BFDStateChange) -> Void)? = nil) async throws {
        let name = peerAddress.description
        // Subscribed before the session exists: no change can come before the subscription.
        let changes = endpoint.stateChanges()
        try await endpoint.addSession(peer: name, parameters: parameters)
        self.peer = peer
        self.endpoint = endpoint
        self.peerAddress = name
        follower = Task {
            for await change in changes where change.peer == name {
                if change.old == .up && change.new != .up {
                    peer.pathDown(reason: "BFD session down: \(change.diagnostic)")
                }
                onChange?(change)
            }
        }
    }

    /// Stops following and removes the BFD session (the peer is told with AdminDown); the BGP session stays.
    public func stop() async {
        follower.cancel()
        try? await endpoint.removeSession(peer: peerAddress)
    }
}
