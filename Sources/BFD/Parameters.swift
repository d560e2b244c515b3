/// Per-session settings, mirroring MetalLB's `BFDProfile` (same names, units and defaults; intervals in milliseconds).
public struct BFDParameters: Sendable, Hashable {
    /// Minimum interval between received control packets we ask for (bfd.RequiredMinRxInterval), ms.
    public var receiveInterval: UInt32
    /// Minimum interval between transmitted control packets we would like (bfd.DesiredMinTxInterval), ms.
    public var transmitInterval: UInt32
    /// bfd.DetectMult: how many missed packets declare the session down.
    public var detectMultiplier: UInt8
    /// Echo mode is not implemented; must be false.
    public var echoMode: Bool
    /// Passive role (RFC 5880 §6.1): send nothing until the peer has sent us something.
    public var passiveMode: Bool
    /// Minimum accepted TTL of received packets. RFC 5881 §5 fixes 255 for single hop, so, as in FRR (which MetalLB
    /// configures with this value), it only matters for multihop sessions, which are not implemented: validated, kept,
    /// and otherwise unused. See docs/bfd.md.
    public var minimumTtl: UInt8

    public init(receiveInterval: UInt32 = 300, transmitInterval: UInt32 = 300, detectMultiplier: UInt8 = 3,
                echoMode: Bool = false, passiveMode: Bool = false, minimumTtl: UInt8 = 254) {
        self.receiveInterval = receiveInterval
        self.transmitInterval = transmitInterval
        self.detectMultiplier = detectMultiplier
        self.echoMode = echoMode
        self.passiveMode = passiveMode
        self.minimumTtl = minimumTtl
    }

    /// Ranges of MetalLB's BFDProfile validation (intervals 10–60000 ms, multiplier 2–255, minimum TTL 1–254).
    public func validate() throws(BFDParameterError) {
        guard (10 ... 60000).contains(receiveInterval) else { throw .outOfRange(field: "receiveInterval", value: Int(receiveInterval), range: 10 ... 60000) }
        guard (10 ... 60000).contains(transmitInterval) else { throw .outOfRange(field: "transmitInterval", value: Int(transmitInterval), range: 10 ... 60000) }
        guard (2 ... 255).contains(detectMultiplier) else { throw .outOfRange(field: "detectMultiplier", value: Int(detectMultiplier), range: 2 ... 255) }
        guard (1 ... 254).contains(minimumTtl) else { throw .outOfRange(field: "minimumTtl", value: Int(minimumTtl), range: 1 ... 254) }
        guard !echoMode else { throw .echoModeNotSupported }
    }

    /// bfd.DesiredMinTxInterval in microseconds.
    var desiredMinTxMicroseconds: UInt32 { transmitInterval * 1000 }
    /// bfd.RequiredMinRxInterval in microseconds.
    var requiredMinRxMicroseconds: UInt32 { receiveInterval * 1000 }
}

public enum BFDParameterError: Error, Sendable, Hashable, CustomStringConvertible {
    case outOfRange(field: String, value: Int, range: ClosedRange<Int>)
    case echoModeNotSupported

    public var description: String {
        switch self {
        case let .outOfRange(field, value, range): "\(field) \(value) outside \(range.lowerBound)...\(range.upperBound)"
        case .echoModeNotSupported: "echoMode: BFD echo is not implemented"
        }
    }
}
