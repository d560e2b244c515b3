/// Speaker failure detection: which speakers are alive, decided fast and alike on every node.
///
/// Layers (pure core, thin shell):
/// - `MembershipMessage` / `MembershipCodec`: the authenticated wire format.
/// - `MembershipStateMachine`: liveness bookkeeping fed with datagrams, commands and time, returning actions.
/// - `MembershipNode`: one UDP socket and one dedicated, prioritised thread around the state machine.
///
/// See `docs/membership.md` for the protocol, the defaults and their trade-offs.
public enum Membership {
    /// The wire format version this code speaks (byte 2 of every message).
    public static let wireVersion: UInt8 = 1
}
