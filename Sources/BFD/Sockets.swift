import NetAddress
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension IPAddress {
    /// A sockaddr_in / sockaddr_in6 for `port`.
    func withSocketAddress<T>(port: Int, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        if isIPv6 {
            let bytes = self.bytes
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            withUnsafeMutableBytes(of: &address.sin6_addr) { $0.copyBytes(from: bytes) }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        let bytes = self.bytes
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        withUnsafeMutableBytes(of: &address.sin_addr) { $0.copyBytes(from: bytes) }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

public enum BFDEndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidAddress(String)
    case addressFamilyMismatch(local: String, peer: String)
    case unknownInterface(String)
    case socket(operation: String, errno: Int32)
    case noFreeSourcePort(ClosedRange<Int>)
    case invalidParameters(BFDParameterError)
    case duplicateSession(peer: String)
    case unknownSession(peer: String)
    case stopped

    public var description: String {
        switch self {
        case let .invalidAddress(a): "not an IP address: \(a)"
        case let .addressFamilyMismatch(l, p): "peer \(p) is not of the same address family as local address \(l)"
        case let .unknownInterface(i): "no interface named \(i)"
        case let .socket(op, e): "\(op): \(String(cString: strerror(e)))"
        case let .noFreeSourcePort(r): "no free UDP source port in \(r.lowerBound)...\(r.upperBound)"
        case let .invalidParameters(e): "invalid BFD parameters: \(e)"
        case let .duplicateSession(p): "a BFD session with \(p) already exists"
        case let .unknownSession(p): "no BFD session with \(p)"
        case .stopped: "the BFD endpoint is stopped"
        }
    }
}

/// A datagram as read by `recvmsg`, with the ancillary data single-hop BFD needs.
struct ReceivedDatagram: Sendable {
    var payload: [UInt8]
    var source: IPAddress
    /// IP TTL / IPv6 hop limit; nil if the kernel did not report it.
    var ttl: UInt8?
    /// Receiving interface index; nil if not reported.
    var interfaceIndex: UInt32?
}

/// Thin wrappers over the BSD socket calls. NIO's datagram channel does not surface the received TTL, which RFC 5881 §5
/// requires checking, so the endpoint reads with recvmsg(2) + IP_RECVTTL / IPV6_RECVHOPLIMIT on a dedicated thread.
enum BFDSocket {
    // Linux values (bits/in.h), spelled out because not every one is imported into Swift.
    static let ipTTL: Int32 = 2
    static let ipTOS: Int32 = 1
    static let ipPktInfo: Int32 = 8
    static let ipRecvTTL: Int32 = 12
    static let ipv6UnicastHops: Int32 = 16
    static let ipv6V6Only: Int32 = 26
    static let ipv6RecvPktInfo: Int32 = 49
    static let ipv6PktInfo: Int32 = 50
    static let ipv6RecvHopLimit: Int32 = 51
    static let ipv6HopLimit: Int32 = 52
    static let ipv6TClass: Int32 = 67
    static let levelIP: Int32 = 0
    static let levelIPv6: Int32 = 41

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32, _ label: String) throws(BFDEndpointError) {
        var value = value
        guard setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size)) == 0 else {
            throw .socket(operation: "setsockopt \(label)", errno: errno)
        }
    }

    static func open(_ address: IPAddress) throws(BFDEndpointError) -> Int32 {
        #if canImport(Glibc)
        let type = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        #else
        let type = SOCK_DGRAM | SOCK_CLOEXEC
        #endif
        let fd = socket(address.isIPv6 ? AF_INET6 : AF_INET, type, 0)
        guard fd >= 0 else { throw .socket(operation: "socket", errno: errno) }
        return fd
    }

    static func bind(_ fd: Int32, _ address: IPAddress, port: Int) -> Int32 {
        let rc = address.withSocketAddress(port: port) { Glibc.bind(fd, $0, $1) }
        return rc == 0 ? 0 : errno
    }

    /// The socket control packets arrive on: local address, `port`, TTL and interface reported with each datagram.
    static func makeReceiveSocket(local: IPAddress, port: Int) throws(BFDEndpointError) -> Int32 {
        let fd = try open(local)
        do throws(BFDEndpointError) {
            if local.isIPv6 {
                try setOption(fd, levelIPv6, ipv6V6Only, 1, "IPV6_V6ONLY")
                try setOption(fd, levelIPv6, ipv6RecvHopLimit, 1, "IPV6_RECVHOPLIMIT")
                try setOption(fd, levelIPv6, ipv6RecvPktInfo, 1, "IPV6_RECVPKTINFO")
            } else {
                try setOption(fd, levelIP, ipRecvTTL, 1, "IP_RECVTTL")
                try setOption(fd, levelIP, ipPktInfo, 1, "IP_PKTINFO")
            }
            let error = bind(fd, local, port: port)
            guard error == 0 else { throw .socket(operation: "bind \(local) port \(port)", errno: error) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// The socket all sessions send from: one source port from `ports` (RFC 5881 §4: the same port for the whole life
    /// of a session), TTL/hop limit 255 (§5) and the network-control traffic class.
    static func makeSendSocket(local: IPAddress, ports: ClosedRange<Int>) throws(BFDEndpointError) -> (fd: Int32, port: Int) {
        let fd = try open(local)
        do throws(BFDEndpointError) {
            if local.isIPv6 {
                try setOption(fd, levelIPv6, ipv6V6Only, 1, "IPV6_V6ONLY")
                try setOption(fd, levelIPv6, ipv6UnicastHops, Int32(BFD.singleHopTTL), "IPV6_UNICAST_HOPS")
                try setOption(fd, levelIPv6, ipv6TClass, 0xC0, "IPV6_TCLASS")
            } else {
                try setOption(fd, levelIP, ipTTL, Int32(BFD.singleHopTTL), "IP_TTL")
                try setOption(fd, levelIP, ipTOS, 0xC0, "IP_TOS")
            }
            // Start at a random port so that restarts and parallel endpoints do not all fight over the first one.
            let count = ports.count
            let start = Int.random(in: 0 ..< count)
            for step in 0 ..< count {
                let port = ports.lowerBound + (start + step) % count
                let error = bind(fd, local, port: port)
                if error == 0 { return (fd, port) }
                guard error == EADDRINUSE else { throw .socket(operation: "bind \(local) port \(port)", errno: error) }
            }
            throw .noFreeSourcePort(ports)
        } catch {
            close(fd)
            throw error
        }
    }

    /// The index of interface `name` in the namespace of socket `fd` (SIOCGIFINDEX), 0 if there is none.
    /// if_nametoindex(3) would look in the calling thread's namespace, which need not be the endpoint's.
    static func interfaceIndex(_ name: String, socket fd: Int32) -> UInt32 {
        var request = ifreq()
        let bytes = Array(name.utf8)
        guard bytes.count < Int(IFNAMSIZ) else { return 0 }
        withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
            raw.copyBytes(from: bytes)
        }
        let rc = ioctl(fd, 0x8933 /* SIOCGIFINDEX */, &request)
        guard rc == 0 else { return 0 }
        return UInt32(bitPattern: request.ifr_ifru.ifru_ivalue)
    }

    static func send(_ fd: Int32, _ bytes: [UInt8], to peer: IPAddress, port: Int) -> Int32 {
        let sent = bytes.withUnsafeBytes { raw in
            peer.withSocketAddress(port: port) { sendto(fd, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, $1) }
        }
        return sent < 0 ? errno : 0
    }

    /// One non-blocking recvmsg; nil when nothing is queued (or on error).
    static func receive(_ fd: Int32) -> ReceivedDatagram? {
        var buffer = [UInt8](repeating: 0, count: 1500)
        var control = [UInt8](repeating: 0, count: 256)
        var source = sockaddr_storage()
        var result: ReceivedDatagram?
        buffer.withUnsafeMutableBytes { payload in
            control.withUnsafeMutableBytes { ancillary in
                withUnsafeMutablePointer(to: &source) { sourcePointer in
                    var vector = iovec(iov_base: payload.baseAddress, iov_len: payload.count)
                    withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        var message = msghdr()
                        message.msg_name = UnsafeMutableRawPointer(sourcePointer)
                        message.msg_namelen = socklen_t(MemoryLayout<sockaddr_storage>.size)
                        message.msg_iov = vectorPointer
                        message.msg_iovlen = 1
                        message.msg_control = ancillary.baseAddress
                        message.msg_controllen = ancillary.count
                        let count = recvmsg(fd, &message, Int32(MSG_DONTWAIT))
                        guard count >= 0 else { return }
                        let from: IPAddress
                        let raw = UnsafeRawPointer(sourcePointer)
                        switch Int32(sourcePointer.pointee.ss_family) {
                        case AF_INET:
                            let address = raw.load(as: sockaddr_in.self)
                            from = .v4(IPv4Address(UInt32(bigEndian: address.sin_addr.s_addr)))
                        case AF_INET6:
                            let address = raw.load(as: sockaddr_in6.self)
                            from = .v6(IPv6Address(bytes: withUnsafeBytes(of: address.sin6_addr) { Array($0) }) ?? .unspecified)
                        default:
                            return
                        }
                        let (ttl, interface) = parseAncillary(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(ancillary)[0 ..< Int(message.msg_controllen)]))
                        result = ReceivedDatagram(payload: Array(payload[0 ..< count]), source: from, ttl: ttl, interfaceIndex: interface)
                    }
                }
            }
        }
        return result
    }

    /// Walks the cmsg list by hand (CMSG_FIRSTHDR/CMSG_NXTHDR are macros Swift does not import).
    static func parseAncillary(_ buffer: UnsafeRawBufferPointer) -> (ttl: UInt8?, interface: UInt32?) {
        let header = MemoryLayout<cmsghdr>.size
        let alignment = MemoryLayout<Int>.size
        var ttl: UInt8?
        var interface: UInt32?
        var offset = 0
        while offset + header <= buffer.count {
            let length = Int(buffer.loadUnaligned(fromByteOffset: offset, as: Int.self))
            let level = buffer.loadUnaligned(fromByteOffset: offset + alignment, as: Int32.self)
            let type = buffer.loadUnaligned(fromByteOffset: offset + alignment + 4, as: Int32.self)
            guard length >= header, offset + length <= buffer.count else { break }
            let data = offset + header
            switch (level, type) {
            case (levelIP, ipTTL), (levelIPv6, ipv6HopLimit):
                if data + 4 <= offset + length {
                    let value = buffer.loadUnaligned(fromByteOffset: data, as: Int32.self)
                    ttl = UInt8(clamping: value)
                }
            case (levelIP, ipPktInfo):
                // struct in_pktinfo { int ipi_ifindex; … }
                if data + 4 <= offset + length { interface = UInt32(bitPattern: buffer.loadUnaligned(fromByteOffset: data, as: Int32.self)) }
            case (levelIPv6, ipv6PktInfo):
                // struct in6_pktinfo { struct in6_addr ipi6_addr; unsigned int ipi6_ifindex; }
                if data + 20 <= offset + length { interface = buffer.loadUnaligned(fromByteOffset: data + 16, as: UInt32.self) }
            default:
                break
            }
            offset += (length + alignment - 1) / alignment * alignment
        }
        return (ttl, interface)
    }
}
