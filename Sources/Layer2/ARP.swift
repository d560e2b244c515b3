import NetAddress
/// ARP opcodes this codec handles (RFC 826; registry RFC 5494).
public enum ARPOperation: UInt16, Hashable, Sendable {
    case request = 1
    case reply = 2
}

/// An ARP packet for IPv4 over Ethernet (RFC 826): htype 1, ptype 0x0800, hlen 6, plen 4.
public struct ARPPacket: Hashable, Sendable {
    /// Size of an Ethernet/IPv4 ARP packet: 8-byte fixed part + 2×(6+4).
    public static let size = 28
    /// ar$hrd for Ethernet (RFC 826; IANA hardware type 1).
    public static let hardwareTypeEthernet: UInt16 = 1

    public var operation: ARPOperation
    /// ar$sha.
    public var senderHardwareAddress: MACAddress
    /// ar$spa.
    public var senderProtocolAddress: IPv4Address
    /// ar$tha.
    public var targetHardwareAddress: MACAddress
    /// ar$tpa.
    public var targetProtocolAddress: IPv4Address

    public init(operation: ARPOperation,
                senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
                targetHardwareAddress: MACAddress, targetProtocolAddress: IPv4Address) {
        self.operation = operation
        self.senderHardwareAddress = senderHardwareAddress
        self.senderProtocolAddress = senderProtocolAddress
        self.targetHardwareAddress = targetHardwareAddress
        self.targetProtocolAddress = targetProtocolAddress
    }

    /// Decodes an Ethernet payload; bytes after the 28-byte packet (Ethernet padding) are ignored.
    public init(decoding payload: [UInt8]) throws(Layer2DecodeError) {
        guard payload.count >= ARPPacket.size else {
            throw .truncated(.arp, needed: ARPPacket.size, available: payload.count)
        }
        var r = ByteReader(payload)
        guard let htype = r.u16(), let ptype = r.u16(), let hlen = r.u8(), let plen = r.u8(), let op = r.u16(),
              let sha = r.macAddress(), let spa = r.ipv4Address(), let tha = r.macAddress(), let tpa = r.ipv4Address()
        else { throw .truncated(.arp, needed: ARPPacket.size, available: payload.count) }
        guard htype == ARPPacket.hardwareTypeEthernet else { throw .arpHardwareType(htype) }
        guard ptype == EtherType.ipv4.rawValue else { throw .arpProtocolType(ptype) }
        guard hlen == 6, plen == 4 else { throw .arpAddressLengths(hardware: hlen, protocol: plen) }
        guard let operation = ARPOperation(rawValue: op) else { throw .arpOperation(op) }
        self.operation = operation
        senderHardwareAddress = sha
        senderProtocolAddress = spa
        targetHardwareAddress = tha
        targetProtocolAddress = tpa
    }

    /// The 28 packet bytes (no Ethernet header, no padding).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: ARPPacket.size)
        w.u16(ARPPacket.hardwareTypeEthernet)
        w.u16(EtherType.ipv4.rawValue)
        w.u8(6)
        w.u8(4)
        w.u16(operation.rawValue)
        w.macAddress(senderHardwareAddress)
        w.ipv4Address(senderProtocolAddress)
        w.macAddress(targetHardwareAddress)
        w.ipv4Address(targetProtocolAddress)
        return w.bytes
    }

    /// An ARP probe: a request whose sender IP is 0.0.0.0 (RFC 5227 §2.1.1).
    public var isProbe: Bool {
        operation == .request && senderProtocolAddress.isUnspecified
    }

    /// A gratuitous ARP / ARP announcement: sender IP equals target IP and is not 0.0.0.0 (RFC 5227 §2.3, §3), in request or reply form.
    public var isAnnouncement: Bool {
        !senderProtocolAddress.isUnspecified && senderProtocolAddress == targetProtocolAddress
    }

    /// A request asking who has `target`, with the unknown target MAC zeroed (RFC 826, RFC 5227 §2.1.1).
    public static func request(senderHardwareAddress: MACAddress, senderProtocolAddress: IPv4Address,
                               targetProtocolAddress: IPv4Address) -> ARPPacket {
        ARPPacket(operation: .request,
                  senderHardwareAddress: senderHardwareAddress, senderProtocolAddress: senderProtocolAddress,
                  targetHardwareAddress: .zero, targetProtocolAddress: targetProtocolAddress)
    }

    /// The reply to this request from the owner `hardwareAddress` of the target IP: fields swapped, op set to reply (RFC 826 "Packet Reception").
    public func reply(hardwareAddress: MACAddress) -> ARPPacket {
        ARPPacket(operation: .reply,
                  senderHardwareAddress: hardwareAddress, senderProtocolAddress: targetProtocolAddress,
                  targetHardwareAddress: senderHardwareAddress, targetProtocolAddress: senderProtocolAddress)
    }

    /// A gratuitous ARP for `address` at `hardwareAddress`: sender IP = target IP (RFC 5227 §2.3 request form, §3 reply form); target MAC defaults to zero per §2.3.
    public static func announcement(hardwareAddress: MACAddress, address: IPv4Address,
                                    operation: ARPOperation = .request,
                                    targetHardwareAddress: MACAddress = .zero) -> ARPPacket {
        ARPPacket(operation: operation,
                  senderHardwareAddress: hardwareAddress, senderProtocolAddress: address,
                  targetHardwareAddress: targetHardwareAddress, targetProtocolAddress: address)
    }
}
