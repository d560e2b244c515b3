import NetAddress
#if os(Linux)
import CLinuxSupport
import Glibc
import Synchronization

/// Linux constants the Glibc module does not import (values from <linux/if_ether.h>, <linux/if_packet.h>, <asm-generic/socket.h>, <linux/if_arp.h>).
enum LinuxPacket {
    /// ETH_P_ALL: every protocol (packet(7) `protocol`), narrowed here by a BPF filter.
    static let ethPAll: UInt16 = 0x0003
    /// SOL_PACKET, the level of packet(7) socket options.
    static let solPacket: Int32 = 263
    /// PACKET_ADD_MEMBERSHIP / PACKET_DROP_MEMBERSHIP take a `struct packet_mreq` (packet(7) "Socket options").
    static let packetAddMembership: Int32 = 1
    static let packetDropMembership: Int32 = 2
    /// PACKET_MR_MULTICAST: bind the socket to the link-layer multicast group in `mr_address` (packet(7)).
    static let packetMRMulticast: UInt16 = 0
    /// PACKET_OUTGOING: `sll_pkttype` of a frame this host sent, looped back to packet sockets (packet(7)).
    static let packetOutgoing: UInt8 = 4
    /// PACKET_IGNORE_OUTGOING (linux/if_packet.h, Linux 4.20): do not deliver this host's own transmissions.
    static let packetIgnoreOutgoing: Int32 = 23
    /// SO_ATTACH_FILTER: attach a classic BPF program (`struct sock_fprog`) (socket(7), filter.txt).
    static let soAttachFilter: Int32 = 26
    /// ARPHRD_ETHER, the `sll_hatype` / SIOCGIFHWADDR `sa_family` of Ethernet-like links (<linux/if_arp.h>).
    static let arphrdEther: UInt16 = 1
    /// sizeof(struct sockaddr_ll): family u16, protocol be16, ifindex i32, hatype u16, pkttype u8, halen u8, addr[8].
    static let sockaddrLLSize = 20
    /// sizeof(struct packet_mreq): ifindex i32, type u16, alen u16, address[8].
    static let packetMreqSize = 16
}

/// Why a packet-socket operation failed; always names the interface, with the errno text for system calls.
public enum PacketSocketError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A system call failed.
    case system(interface: String, operation: String, errno: Int32)
    /// The name is empty or longer than IFNAMSIZ-1 (15) bytes.
    case invalidInterfaceName(String)
    /// The link is not Ethernet (ARPHRD_ETHER with a 6-byte address), so the codecs cannot serve it.
    case notEthernet(interface: String, hardwareType: UInt16)
    /// The socket was closed.
    case closed(interface: String)

    public var description: String {
        switch self {
        case let .system(interface, operation, code):
            return "\(interface): \(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
        case let .invalidInterfaceName(name):
            return "invalid interface name \"\(name)\" (1 to 15 bytes)"
        case let .notEthernet(interface, type):
            return "\(interface): not an Ethernet interface (ARPHRD \(type))"
        case let .closed(interface):
            return "\(interface): packet socket is closed"
        }
    }
}

/// A network interface as seen from the calling thread's network namespace.
public struct NetworkInterface: Hashable, Sendable, CustomStringConvertible {
    public var name: String
    /// if_nametoindex(3) / `sll_ifindex`.
    public var index: Int32
    /// The link-layer address, if the link has a 6-byte one.
    public var hardwareAddress: MACAddress?
    /// ARPHRD_* link type (1 = Ethernet).
    public var hardwareType: UInt16
    /// IFF_UP.
    public var isUp: Bool
    /// IFF_LOOPBACK.
    public var isLoopback: Bool

    public init(name: String, index: Int32, hardwareAddress: MACAddress?, hardwareType: UInt16, isUp: Bool, isLoopback: Bool) {
        self.name = name
        self.index = index
        self.hardwareAddress = hardwareAddress
        self.hardwareType = hardwareType
        self.isUp = isUp
        self.isLoopback = isLoopback
    }

    /// Up, not loopback, Ethernet with a non-zero MAC: where Service IPs can be announced.
    public var canAnnounce: Bool {
        isUp && !isLoopback && hardwareType == LinuxPacket.arphrdEther && !(hardwareAddress?.isZero ?? true)
    }

    public var description: String {
        "\(name)#\(index) \(hardwareAddress.map(String.init(describing:)) ?? "-")\(isUp ? " up" : " down")\(isLoopback ? " loopback" : "")"
    }
}

/// An AF_PACKET SOCK_RAW socket bound to one interface, receiving only ARP and ICMPv6 NS/NA (packet(7)).
///
/// Thread-safe: `receive` may run on a reader thread while other threads `send`, join or leave groups; `close` wakes a
/// blocked `receive` and the descriptor is released once the last in-flight call returns (no fd reuse races).
public final class PacketSocket: Sendable {
    /// The interface at open time (index, MAC, flags).
    public let interface: NetworkInterface
    /// Shorthand for `interface.hardwareAddress` (always present: non-Ethernet links are refused).
    public let hardwareAddress: MACAddress

    private struct State {
        var fd: Int32
        var wakeRead: Int32
        var wakeWrite: Int32
        var closed = false
        var users = 0
    }

    private let state: Mutex<State>

    /// Opens a packet socket on `interfaceName` in the calling thread's network namespace (needs CAP_NET_RAW).
    public init(interface interfaceName: String) throws(PacketSocketError) {
        let info = try PacketSocket.interface(named: interfaceName)
        guard info.hardwareType == LinuxPacket.arphrdEther, let mac = info.hardwareAddress else {
            throw .notEthernet(interface: interfaceName, hardwareType: info.hardwareType)
        }
        // Protocol 0 at creation: nothing is queued until bind, so no unfiltered frame slips in before the filter (packet(7)).
        let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(interface: interfaceName, operation: "socket(AF_PACKET, SOCK_RAW)", errno: errno) }
        var pipeFDs: [Int32] = [-1, -1]
        // A socket pair as the wake-up channel: created close-on-exec and non-blocking atomically (pipe2 is not imported).
        let pairType = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue | SOCK_NONBLOCK.rawValue)
        guard socketpair(AF_UNIX, pairType, 0, &pipeFDs) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw .system(interface: interfaceName, operation: "socketpair(AF_UNIX)", errno: code)
        }
        func fail(_ operation: String) -> PacketSocketError {
            let code = errno
            Glibc.close(fd); Glibc.close(pipeFDs[0]); Glibc.close(pipeFDs[1])
            return .system(interface: interfaceName, operation: operation, errno: code)
        }
        guard PacketSocket.attachFilter(fd) == 0 else { throw fail("setsockopt(SO_ATTACH_FILTER)") }
        // PACKET_IGNORE_OUTGOING (Linux 4.20): our own transmissions are not looped back to us at all — half the frames
        // the reader used to wake for. Best effort: older kernels still get them, and `readOne` drops them.
        var ignoreOutgoing: Int32 = 1
        _ = setsockopt(fd, LinuxPacket.solPacket, LinuxPacket.packetIgnoreOutgoing, &ignoreOutgoing, socklen_t(4))
        // Kernel receive times, so that a reader that was not running can tell how old a queued request is.
        _ = clinux_enable_receive_timestamps(fd)
        var address = PacketSocket.linkAddress(protocol: LinuxPacket.ethPAll, index: info.index, destination: nil)
        let bound = address.withUnsafeMutableBytes { raw in
            bind(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        guard bound == 0 else { throw fail("bind(ifindex \(info.index))") }
        self.interface = info
        self.hardwareAddress = mac
        self.state = Mutex(State(fd: fd, wakeRead: pipeFDs[0], wakeWrite: pipeFDs[1]))
    }

    deinit {
        close()
    }

    /// True once `close` was called.
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Closes the socket (idempotent); wakes a blocked `receive`, which then returns nil. Drops all group memberships (packet(7)).
    public func close() {
        state.withLock { s in
            guard !s.closed else { return }
            s.closed = true
            var byte: UInt8 = 1
            _ = write(s.wakeWrite, &byte, 1)
            if s.users == 0 { PacketSocket.release(&s) }
        }
    }

    private static func release(_ s: inout State) {
        for fd in [s.fd, s.wakeRead, s.wakeWrite] where fd >= 0 { Glibc.close(fd) }
        s.fd = -1; s.wakeRead = -1; s.wakeWrite = -1
    }

    /// Runs `body` with the descriptors while counting as a user, so `close` defers the real close until it returns.
    private func using<R>(_ body: (_ fd: Int32, _ wake: Int32) throws(PacketSocketError) -> R) throws(PacketSocketError) -> R {
        let fds: (Int32, Int32)? = state.withLock { s in
            guard !s.closed else { return nil }
            s.users += 1
            return (s.fd, s.wakeRead)
        }
        guard let (fd, wake) = fds else { throw .closed(interface: interface.name) }
        defer {
            state.withLock { s in
                s.users -= 1
                if s.closed && s.users == 0 { PacketSocket.release(&s) }
            }
        }
        return try body(fd, wake)
    }

    /// The next frame received on the interface (Ethernet header on, no FCS), skipping frames this host sent (PACKET_OUTGOING);
    /// nil when `timeout` passes first or the socket is closed meanwhile; nil `timeout` waits until a frame or `close`.
    public func receive(timeout: Duration? = nil) throws(PacketSocketError) -> [UInt8]? {
        try receiveFrame(timeout: timeout)?.bytes
    }

    /// A received frame and how long ago the kernel received it.
    public struct ReceivedFrame: Sendable {
        public var bytes: [UInt8]
        /// Time since the kernel's receive timestamp (nil when the kernel gave none); large when the reader was not
        /// running while the frame waited in the socket.
        public var age: Duration?
    }

    /// As `receive`, with the frame's age.
    public func receiveFrame(timeout: Duration? = nil) throws(PacketSocketError) -> ReceivedFrame? {
        let name = interface.name
        let deadline = timeout.map { ContinuousClock.now + $0 }
        do {
            return try using { (fd, wake) throws(PacketSocketError) -> ReceivedFrame? in
                while true {
                    var waitMS: Int32 = -1
                    if let deadline {
                        let left = deadline - ContinuousClock.now
                        if left <= .zero { return nil }
                        let (seconds, attoseconds) = left.components
                        waitMS = Int32(clamping: seconds * 1000 + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
                    }
                    var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0),
                               pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
                    let ready = poll(&fds, 2, waitMS)
                    if ready < 0 {
                        if errno == EINTR { continue }
                        throw .system(interface: name, operation: "poll", errno: errno)
                    }
                    if fds[1].revents != 0 { return nil }
                    if ready == 0 { continue }
                    if let frame = try PacketSocket.readOne(fd, interface: name) { return frame }
                }
            }
        } catch .closed {
            return nil
        }
    }

    /// One non-blocking receive: the frame with its age, or nil for nothing pending / an outgoing or truncated frame.
    private static func readOne(_ fd: Int32, interface name: String) throws(PacketSocketError) -> ReceivedFrame? {
        // Jumbo-frame sized; filled by the kernel, never zeroed first, and returned as it is (one allocation per frame).
        let capacity = 9216
        var from = [UInt8](repeating: 0, count: LinuxPacket.sockaddrLLSize)
        var fromLength = socklen_t(from.count)
        var length = 0
        var seconds: Int64 = -1, nanoseconds: Int64 = -1
        let frame = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            length = from.withUnsafeMutableBytes { address in
                clinux_receive_timestamped(fd, buffer.baseAddress, capacity, Int32(MSG_DONTWAIT | MSG_TRUNC),
                                           address.baseAddress, &fromLength, &seconds, &nanoseconds)
            }
            count = max(0, min(length, capacity))
        }
        if length < 0 {
            let code = errno
            if code == EAGAIN || code == EWOULDBLOCK || code == EINTR { return nil }
            throw .system(interface: name, operation: "recvmsg", errno: code)
        }
        // sll_pkttype at offset 10 (packet(7)): our own transmissions come back as PACKET_OUTGOING (older kernels).
        if from[10] == LinuxPacket.packetOutgoing { return nil }
        guard length <= capacity else { return nil }
        var age: Duration?
        if seconds >= 0 {
            var now = timespec()
            clock_gettime(CLOCK_REALTIME, &now)
            age = .seconds(Int64(now.tv_sec) - seconds) + .nanoseconds(Int64(now.tv_nsec) - nanoseconds)
        }
        return ReceivedFrame(bytes: frame, age: age)
    }

    /// Transmits one complete Ethernet frame (header on, no FCS) with sendto(2) to this interface.
    public func send(_ frame: [UInt8]) throws(PacketSocketError) {
        let name = interface.name
        let index = interface.index
        guard frame.count >= 14 else { throw .system(interface: name, operation: "send (frame shorter than 14 bytes)", errno: EINVAL) }
        try using { (fd, _) throws(PacketSocketError) in
            let etherType = UInt16(frame[12]) << 8 | UInt16(frame[13])
            var address = PacketSocket.linkAddress(protocol: etherType, index: index,
                                                   destination: MACAddress(bytes: frame[0 ..< 6]))
            while true {
                let sent = frame.withUnsafeBytes { bytes in
                    address.withUnsafeMutableBytes { raw in
                        sendto(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL),
                               raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
                    }
                }
                if sent >= 0 { return }
                if errno == EINTR { continue }
                throw .system(interface: name, operation: "sendto", errno: errno)
            }
        }
    }

    /// Receives frames for the Ethernet multicast `group` (PACKET_ADD_MEMBERSHIP, PACKET_MR_MULTICAST; packet(7)); memberships count per call.
    public func joinMulticast(_ group: MACAddress) throws(PacketSocketError) {
        try membership(LinuxPacket.packetAddMembership, group, "setsockopt(PACKET_ADD_MEMBERSHIP \(group))")
    }

    /// Undoes one `joinMulticast(group)` (PACKET_DROP_MEMBERSHIP; packet(7)).
    public func leaveMulticast(_ group: MACAddress) throws(PacketSocketError) {
        try membership(LinuxPacket.packetDropMembership, group, "setsockopt(PACKET_DROP_MEMBERSHIP \(group))")
    }

    private func membership(_ option: Int32, _ group: MACAddress, _ operation: String) throws(PacketSocketError) {
        let name = interface.name
        let index = interface.index
        try using { (fd, _) throws(PacketSocketError) in
            // struct packet_mreq { int mr_ifindex; unsigned short mr_type, mr_alen; unsigned char mr_address[8]; }
            var request = [UInt8](repeating: 0, count: LinuxPacket.packetMreqSize)
            request.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: index, toByteOffset: 0, as: Int32.self)
                raw.storeBytes(of: LinuxPacket.packetMRMulticast, toByteOffset: 4, as: UInt16.self)
                raw.storeBytes(of: UInt16(6), toByteOffset: 6, as: UInt16.self)
            }
            request.replaceSubrange(8 ..< 14, with: group.bytes)
            let result = request.withUnsafeBytes { raw in
                setsockopt(fd, LinuxPacket.solPacket, option, raw.baseAddress, socklen_t(raw.count))
            }
            guard result == 0 else { throw .system(interface: name, operation: operation, errno: errno) }
        }
    }

    /// A `struct sockaddr_ll` for `index`, `protocol` (host order, stored big-endian) and an optional destination MAC.
    private static func linkAddress(protocol: UInt16, index: Int32, destination: MACAddress?) -> [UInt8] {
        var raw = [UInt8](repeating: 0, count: LinuxPacket.sockaddrLLSize)
        raw.withUnsafeMutableBytes { p in
            p.storeBytes(of: UInt16(AF_PACKET), toByteOffset: 0, as: UInt16.self)
            p.storeBytes(of: `protocol`.bigEndian, toByteOffset: 2, as: UInt16.self)
            p.storeBytes(of: index, toByteOffset: 4, as: Int32.self)
        }
        if let destination {
            raw[11] = 6
            raw.replaceSubrange(12 ..< 18, with: destination.bytes)
        }
        return raw
    }

    /// Classic BPF: accept ARP (EtherType 0x0806) and IPv6 whose next header is ICMPv6 (58) with type 135/136 (NS/NA); drop the rest.
    static let filterProgram: [(code: UInt16, jt: UInt8, jf: UInt8, k: UInt32)] = [
        (0x28, 0, 0, 12),       // 0: ldh [12]            EtherType
        (0x15, 7, 0, 0x0806),   // 1: jeq ARP       -> 9 accept
        (0x15, 0, 5, 0x86DD),   // 2: jeq IPv6, else -> 8 drop
        (0x30, 0, 0, 20),       // 3: ldb [20]            IPv6 next header
        (0x15, 0, 3, 58),       // 4: jeq ICMPv6, else -> 8 drop
        (0x30, 0, 0, 54),       // 5: ldb [54]            ICMPv6 type
        (0x15, 2, 0, 135),      // 6: jeq NS        -> 9 accept
        (0x15, 1, 0, 136),      // 7: jeq NA        -> 9 accept, else 8
        (0x06, 0, 0, 0),        // 8: ret 0               drop
        (0x06, 0, 0, 0x40000),  // 9: ret 256 KiB         accept whole frame
    ]

    /// SO_ATTACH_FILTER with `filterProgram` (struct sock_filter is 8 bytes; struct sock_fprog is {u16 len; pointer}).
    private static func attachFilter(_ fd: Int32) -> Int32 {
        var instructions = [UInt8](repeating: 0, count: filterProgram.count * 8)
        instructions.withUnsafeMutableBytes { raw in
            for (i, ins) in filterProgram.enumerated() {
                raw.storeBytes(of: ins.code, toByteOffset: i * 8, as: UInt16.self)
                raw.storeBytes(of: ins.jt, toByteOffset: i * 8 + 2, as: UInt8.self)
                raw.storeBytes(of: ins.jf, toByteOffset: i * 8 + 3, as: UInt8.self)
                raw.storeBytes(of: ins.k, toByteOffset: i * 8 + 4, as: UInt32.self)
            }
        }
        return instructions.withUnsafeMutableBytes { program in
            let pointerSize = MemoryLayout<UnsafeMutableRawPointer>.size
            var fprog = [UInt8](repeating: 0, count: 2 * pointerSize)
            fprog.withUnsafeMutableBytes { raw in
                raw.storeBytes(of: UInt16(filterProgram.count), toByteOffset: 0, as: UInt16.self)
                raw.storeBytes(of: program.baseAddress!, toByteOffset: pointerSize, as: UnsafeMutableRawPointer.self)
            }
            return fprog.withUnsafeBytes { raw in
                setsockopt(fd, SOL_SOCKET, LinuxPacket.soAttachFilter, raw.baseAddress, socklen_t(raw.count))
            }
        }
    }

    // MARK: Interface discovery

    /// Index (if_nametoindex), MAC (SIOCGIFHWADDR) and flags (SIOCGIFFLAGS) of `name` in the calling thread's network namespace.
    public static func interface(named name: String) throws(PacketSocketError) -> NetworkInterface {
        let nameBytes = Array(name.utf8)
        guard !nameBytes.isEmpty, nameBytes.count < 16, !nameBytes.contains(0) else { throw .invalidInterfaceName(name) }
        let index = if_nametoindex(name)
        guard index != 0 else { throw .system(interface: name, operation: "if_nametoindex", errno: errno) }
        let fd = socket(AF_INET, Int32(SOCK_DGRAM.rawValue | SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw .system(interface: name, operation: "socket(AF_INET) for ioctl", errno: errno) }
        defer { Glibc.close(fd) }
        var request = ifreq()
        func setName() {
            withUnsafeMutableBytes(of: &request.ifr_ifrn.ifrn_name) { raw in
                raw.initializeMemory(as: UInt8.self, repeating: 0)
                raw.copyBytes(from: nameBytes)
            }
        }
        setName()
        guard ioctl(fd, UInt(SIOCGIFHWADDR), &request) == 0 else {
            throw .system(interface: name, operation: "ioctl(SIOCGIFHWADDR)", errno: errno)
        }
        let hardwareType = UInt16(request.ifr_ifru.ifru_hwaddr.sa_family)
        let hardwareAddress = withUnsafeBytes(of: request.ifr_ifru.ifru_hwaddr.sa_data) { MACAddress(bytes: $0.prefix(6)) }
        request = ifreq()
        setName()
        guard ioctl(fd, UInt(SIOCGIFFLAGS), &request) == 0 else {
            throw .system(interface: name, operation: "ioctl(SIOCGIFFLAGS)", errno: errno)
        }
        let flags = Int(UInt16(bitPattern: request.ifr_ifru.ifru_flags))
        return NetworkInterface(name: name, index: Int32(bitPattern: index),
                                hardwareAddress: hardwareType == LinuxPacket.arphrdEther ? hardwareAddress : nil,
                                hardwareType: hardwareType,
                                isUp: flags & Int(IFF_UP) != 0, isLoopback: flags & Int(IFF_LOOPBACK) != 0)
    }

    /// Every interface with a link-layer (AF_PACKET) entry in getifaddrs(3), sorted by index; filter with `canAnnounce`.
    public static func interfaces() throws(PacketSocketError) -> [NetworkInterface] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { throw .system(interface: "*", operation: "getifaddrs", errno: errno) }
        defer { freeifaddrs(list) }
        var result: [NetworkInterface] = []
        var cursor = list
        while let entry = cursor {
            cursor = entry.pointee.ifa_next
            guard let address = entry.pointee.ifa_addr, Int32(address.pointee.sa_family) == AF_PACKET,
                  let cName = entry.pointee.ifa_name else { continue }
            // struct sockaddr_ll: ifindex @4, hatype @8, halen @11, addr @12 (packet(7)).
            let raw = UnsafeRawPointer(address)
            let index = raw.loadUnaligned(fromByteOffset: 4, as: Int32.self)
            let hardwareType = raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)
            let addressLength = raw.load(fromByteOffset: 11, as: UInt8.self)
            let mac = addressLength == 6
                ? MACAddress(bytes: UnsafeRawBufferPointer(start: raw + 12, count: 6)) : nil
            let flags = Int(entry.pointee.ifa_flags)
            result.append(NetworkInterface(name: String(cString: cName), index: index,
                                           hardwareAddress: hardwareType == LinuxPacket.arphrdEther ? mac : nil,
                                           hardwareType: hardwareType,
                                           isUp: flags & Int(IFF_UP) != 0, isLoopback: flags & Int(IFF_LOOPBACK) != 0))
        }
        return result.sorted { $0.index < $1.index }
    }
}
#endif
