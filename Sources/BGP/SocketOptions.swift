import NetAddress
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOCore

/// Socket options a BGP transport needs: TCP MD5 signatures (RFC 2385) and the IP TTL / IPv6 hop limit
/// (eBGP single hop sends with TTL 1, multihop with the configured TTL).
enum BGPSocketOptions {
    /// Linux `TCP_MD5SIG` (include/uapi/linux/tcp.h).
    static let tcpMD5SIG: CInt = 14
    /// Longest key the kernel accepts (TCP_MD5SIG_MAXKEYLEN).
    static let maxKeyLength = 80

    /// The kernel's `struct tcp_md5sig`: sockaddr_storage (128), flags (1), prefixlen (1), keylen (2, host order),
    /// ifindex (4), key (80) = 216 octets. Kept as raw words so the layout does not depend on header imports.
    struct MD5Sig: Sendable {
        var words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                    UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)

        /// A key for `peer` (empty `key`: delete the key for that address).
        init(peer: IPAddress, key: [UInt8]) {
            var raw = [UInt8](repeating: 0, count: 216)
            // sockaddr_in / sockaddr_in6: family in host order, port 0 (the kernel matches on the address only).
            switch peer {
            case .v4(let a):
                let fam = UInt16(AF_INET)
                raw[0] = UInt8(fam & 0xff); raw[1] = UInt8(fam >> 8)
                raw.replaceSubrange(4..<8, with: a.bytes)
            case .v6(let a):
                let fam = UInt16(AF_INET6)
                raw[0] = UInt8(fam & 0xff); raw[1] = UInt8(fam >> 8)
                raw.replaceSubrange(8..<24, with: a.bytes)
            }
            let k = key.prefix(BGPSocketOptions.maxKeyLength)
            let len = UInt16(k.count)
            raw[130] = UInt8(len & 0xff); raw[131] = UInt8(len >> 8)   // little-endian host (x86_64, arm64)
            raw.replaceSubrange(136..<(136 + k.count), with: k)
            withUnsafeMutableBytes(of: &words) { dst in
                raw.withUnsafeBytes { src in dst.copyMemory(from: src) }
            }
        }
    }

    /// Installs (or with nil removes) the RFC 2385 key for `peer` on a socket: before connect() on an outgoing socket,
    /// on the listening socket for accepted ones (the accepted socket inherits it).
    static func setMD5(_ channel: any Channel, peer: IPAddress, password: String?) -> EventLoopFuture<Void> {
        guard let provider = channel as? any SocketOptionProvider else {
            return channel.eventLoop.makeFailedFuture(TransportError.md5Unsupported("channel has no socket"))
        }
        // On an IPv6 socket (dual-stack listener) an IPv4 peer's key must be given as IPv4-mapped IPv6.
        var addr = peer
        if case .v6 = channel.localAddress, case .v4(let v4) = peer { addr = .v6(IPv6Address(ipv4Mapped: v4)) }
        let sig = MD5Sig(peer: addr, key: Array((password ?? "").utf8))
        return provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_TCP), name: SocketOptionName(tcpMD5SIG), value: sig)
            .flatMapErrorThrowing { e in throw TransportError.md5Unsupported("setsockopt(TCP_MD5SIG) for \(peer): \(e)") }
    }

    /// IP_TTL (IPv4) or IPV6_UNICAST_HOPS (IPv6).
    static func setTTL(_ channel: any Channel, family: IPFamily, ttl: Int) -> EventLoopFuture<Void> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededVoidFuture() }
        let v = CInt(ttl)
        switch family {
        case .ipv4: return provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IP), name: SocketOptionName(IP_TTL), value: v)
        case .ipv6: return provider.unsafeSetSocketOption(level: SocketOptionLevel(IPPROTO_IPV6), name: SocketOptionName(IPV6_UNICAST_HOPS), value: v)
        }
    }
}

/// Errors of the session transport, in words for the operator.
public enum TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    case md5Unsupported(String)
    case invalidAddress(String)
    case connectTimeout(peer: String, milliseconds: Int, md5: Bool)
    case connectFailed(peer: String, reason: String)
    case listenFailed(String)

    public var description: String {
        switch self {
        case .md5Unsupported(let s): "TCP MD5 signatures not available: \(s)"
        case .invalidAddress(let s): "invalid address: \(s)"
        case .connectTimeout(let p, let ms, let md5):
            "no answer from \(p) within \(ms / 1000).\(ms % 1000 / 100)s" + (md5
                ? " (a TCP MD5 password is set: if the peer has another password, or none, its kernel drops our SYNs silently)"
                : " (if the peer requires a TCP MD5 password, set one: its kernel drops unsigned SYNs silently)")
        case .connectFailed(let p, let r): "connecting to \(p) failed: \(r)"
        case .listenFailed(let s): "cannot listen: \(s)"
        }
    }
}

/// The kernel's TCP MD5 counters (/proc/net/netstat TcpExt, per network namespace): how many segments were dropped
/// for a missing, unexpected or wrong signature. A mismatch never reaches the application, so this is the only place
/// it shows.
public struct TCPMD5Counters: Hashable, Sendable, CustomStringConvertible {
    /// TCPMD5NotFound: a signed segment arrived but we have no key for its sender.
    public var notFound: Int
    /// TCPMD5Unexpected: an unsigned segment arrived from an address we have a key for.
    public var unexpected: Int
    /// TCPMD5Failure: the signature did not verify (different passwords).
    public var failure: Int

    public init(notFound: Int = 0, unexpected: Int = 0, failure: Int = 0) {
        self.notFound = notFound
        self.unexpected = unexpected
        self.failure = failure
    }

    public static func - (l: Self, r: Self) -> Self {
        Self(notFound: l.notFound - r.notFound, unexpected: l.unexpected - r.unexpected, failure: l.failure - r.failure)
    }

    public var total: Int { notFound + unexpected + failure }

    public var description: String {
        var parts: [String] = []
        if failure > 0 { parts.append("\(failure) with a wrong signature (passwords differ)") }
        if unexpected > 0 { parts.append("\(unexpected) unsigned although we have a password for the sender (the peer has none)") }
        if notFound > 0 { parts.append("\(notFound) signed although we have no password for the sender") }
        return parts.isEmpty ? "no TCP MD5 drops" : "the kernel dropped TCP segments: " + parts.joined(separator: ", ")
    }

    /// Parses the TcpExt header/value line pair of /proc/net/netstat.
    public static func parse(_ text: String) -> TCPMD5Counters? {
        let lines = text.split(separator: "\n")
        for (i, l) in lines.enumerated() where l.hasPrefix("TcpExt:") && i + 1 < lines.count && lines[i + 1].hasPrefix("TcpExt:") {
            let names = l.split(separator: " ").dropFirst()
            let values = lines[i + 1].split(separator: " ").dropFirst()
            var d: [Substring: Int] = [:]
            for (n, v) in zip(names, values) { d[n] = Int(v) }
            return TCPMD5Counters(notFound: d["TCPMD5NotFound"] ?? 0, unexpected: d["TCPMD5Unexpected"] ?? 0, failure: d["TCPMD5Failure"] ?? 0)
        }
        return nil
    }

    /// Current counters of the calling thread's network namespace, nil when unreadable.
    public static func read() -> TCPMD5Counters? {
        guard let f = fopen("/proc/net/netstat", "r") else { return nil }
        defer { fclose(f) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return parse(String(decoding: out, as: UTF8.self))
    }
}
