import NetAddress
/// Splits a TCP byte stream into whole BGP messages (RFC 4271 §4.1 framing), rejecting bad headers with the
/// Message Header Error NOTIFICATION of RFC 4271 §6.1. Bytes may arrive in chunks of any size.
public struct BGPFrameSplitter: Sendable {
    public let maxMessageLength: Int
    private var buffer: [UInt8] = []
    private var start = 0
    private var failure: BGPError?

    public init(maxMessageLength: Int = BGPMessageHeader.maxLength) {
        self.maxMessageLength = maxMessageLength
    }

    /// Octets received but not yet returned as a message.
    public var bufferedByteCount: Int { buffer.count - start }

    /// Adds received octets.
    public mutating func append<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        if start > 0, start >= 4096 || start * 2 >= buffer.count {
            buffer.removeFirst(start)
            start = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete message (header included), or nil when more octets are needed. A framing error is
    /// thrown as soon as it is detectable (a non-0xFF marker octet is reported before the header is complete);
    /// afterwards the stream is out of sync and every call throws the same error.
    public mutating func next() throws(BGPError) -> [UInt8]? {
        if let failure { throw failure }
        let avail = buffer.count - start
        let markerSeen = min(avail, 16)
        for i in 0..<markerSeen where buffer[start + i] != 0xFF {
            return try fail(.header(.connectionNotSynchronized, "marker octet \(i) is 0x\(Hex.encode([buffer[start + i]]))"))
        }
        guard avail >= BGPMessageHeader.size else { return nil }
        let header: BGPMessageHeader
        do {
            header = try BGPMessageHeader.validate(buffer[start..<(start + BGPMessageHeader.size)], maxLength: maxMessageLength)
        } catch {
            return try fail(error)
        }
        guard avail >= header.length else { return nil }
        let frame = Array(buffer[start..<(start + header.length)])
        start += header.length
        if start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
        return frame
    }

    /// Every complete message currently buffered.
    public mutating func drain() throws(BGPError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        while let f = try next() { out.append(f) }
        return out
    }

    private mutating func fail(_ e: BGPError) throws(BGPError) -> [UInt8]? {
        failure = e
        throw e
    }
}
