import NetAddress
/// A BGP capability as carried in the OPEN Capabilities optional parameter (RFC 5492 §4).
public enum Capability: Hashable, Sendable, CustomStringConvertible {
    /// Code 1, Multiprotocol Extensions (RFC 4760 §8).
    case multiprotocol(AFISAFI)
    /// Code 2, Route Refresh (RFC 2918 §2).
    case routeRefresh
    /// Code 5, Extended Next Hop Encoding (RFC 8950 §3).
    case extendedNextHop([ExtendedNextHopEntry])
    /// Code 64, Graceful Restart (RFC 4724 §3).
    case gracefulRestart(GracefulRestartCapability)
    /// Code 65, Support for 4-octet AS number (RFC 6793 §3).
    case fourOctetAS(UInt32)
    /// Code 70, Enhanced Route Refresh (RFC 7313 §3).
    case enhancedRouteRefresh
    /// Any other capability, kept verbatim (RFC 5492 §3: unknown capabilities are ignored, not errors).
    case unknown(code: UInt8, value: [UInt8])

    /// Capability codes (RFC 5492 §4, IANA "Capability Codes").
    public enum Code: UInt8, Sendable {
        case multiprotocol = 1
        case routeRefresh = 2
        case extendedNextHop = 5
        case extendedMessage = 6
        case gracefulRestart = 64
        case fourOctetAS = 65
        case addPath = 69
        case enhancedRouteRefresh = 70
        case longLivedGracefulRestart = 71
        case fqdn = 73
    }

    public var code: UInt8 {
        switch self {
        case .multiprotocol: 1
        case .routeRefresh: 2
        case .extendedNextHop: 5
        case .gracefulRestart: 64
        case .fourOctetAS: 65
        case .enhancedRouteRefresh: 70
        case .unknown(let c, _): c
        }
    }

    public var description: String {
        switch self {
        case .multiprotocol(let a): "multiprotocol(\(a))"
        case .routeRefresh: "route-refresh"
        case .extendedNextHop(let e): "extended-next-hop(\(e.map(\.description).joined(separator: ",")))"
        case .gracefulRestart(let g): "graceful-restart(\(g))"
        case .fourOctetAS(let a): "4-octet-as(\(a))"
        case .enhancedRouteRefresh: "enhanced-route-refresh"
        case .unknown(let c, let v): "capability \(c) [\(Hex.encode(v))]"
        }
    }

    /// Decodes one <code, length, value> triple's value. Malformed known capabilities are an OPEN Message Error
    /// with subcode 0 (RFC 4271 §6.2: a recognized but malformed optional parameter → Unspecific).
    static func decode(code: UInt8, value: ArraySlice<UInt8>) throws(BGPError) -> Capability {
        var r = ByteReader(value)
        func malformed(_ what: String) -> BGPError {
            var data: [UInt8] = [code, UInt8(truncatingIfNeeded: value.count)]
            data.append(contentsOf: value)
            return .open(.unspecific, data: data, "malformed \(what) capability (length \(value.count))")
        }
        switch code {
        case 1:
            guard value.count == 4, let afi = r.u16(), r.u8() != nil, let safi = r.u8() else { throw malformed("multiprotocol") }
            return .multiprotocol(AFISAFI(afi: afi, safi: safi))
        case 2:
            guard value.isEmpty else { throw malformed("route refresh") }
            return .routeRefresh
        case 5:
            guard value.count % 6 == 0 else { throw malformed("extended next hop") }
            var entries: [ExtendedNextHopEntry] = []
            while let afi = r.u16(), let safi = r.u16(), let nh = r.u16() {
                entries.append(ExtendedNextHopEntry(nlriAFI: afi, nlriSAFI: safi, nextHopAFI: nh))
            }
            return .extendedNextHop(entries)
        case 64:
            guard value.count >= 2, (value.count - 2) % 4 == 0, let head = r.u16() else { throw malformed("graceful restart") }
            var g = GracefulRestartCapability(restartFlags: UInt8(head >> 12), restartTime: head & 0x0FFF, families: [])
            while let afi = r.u16(), let safi = r.u8(), let flags = r.u8() {
                g.families.append(.init(afiSafi: AFISAFI(afi: afi, safi: safi), flags: flags))
            }
            return .gracefulRestart(g)
        case 65:
            guard value.count == 4, let asn = r.u32() else { throw malformed("4-octet AS") }
            return .fourOctetAS(asn)
        case 70:
            guard value.isEmpty else { throw malformed("enhanced route refresh") }
            return .enhancedRouteRefresh
        default:
            return .unknown(code: code, value: Array(value))
        }
    }

    /// Encodes the <code, length, value> triple (RFC 5492 §4).
    func encode(into w: inout ByteWriter) throws(EncodingError) {
        var v = ByteWriter()
        switch self {
        case .multiprotocol(let a): v.u16(a.afi); v.u8(0); v.u8(a.safi)
        case .routeRefresh, .enhancedRouteRefresh: break
        case .extendedNextHop(let entries):
            for e in entries { v.u16(e.nlriAFI); v.u16(e.nlriSAFI); v.u16(e.nextHopAFI) }
        case .gracefulRestart(let g):
            guard g.restartTime <= 0x0FFF, g.restartFlags <= 0xF else { throw EncodingError("graceful restart time/flags out of range") }
            v.u16(UInt16(g.restartFlags) << 12 | g.restartTime)
            for f in g.families { v.u16(f.afiSafi.afi); v.u8(f.afiSafi.safi); v.u8(f.flags) }
        case .fourOctetAS(let a): v.u32(a)
        case .unknown(_, let value): v.append(value)
        }
        guard v.bytes.count <= 255 else { throw EncodingError("capability \(code) longer than 255 octets") }
        w.u8(code)
        w.u8(UInt8(v.bytes.count))
        w.append(v.bytes)
    }
}

/// One <NLRI AFI, NLRI SAFI, Nexthop AFI> tuple of the Extended Next Hop capability (RFC 8950 §3; SAFI is 2 octets).
public struct ExtendedNextHopEntry: Hashable, Sendable, CustomStringConvertible {
    public var nlriAFI: UInt16
    public var nlriSAFI: UInt16
    public var nextHopAFI: UInt16

    public init(nlriAFI: UInt16, nlriSAFI: UInt16, nextHopAFI: UInt16) {
        self.nlriAFI = nlriAFI
        self.nlriSAFI = nlriSAFI
        self.nextHopAFI = nextHopAFI
    }

    /// IPv4 unicast NLRI with IPv6 next hops, the RFC 8950 case.
    public static let ipv4UnicastOverIPv6 = ExtendedNextHopEntry(nlriAFI: 1, nlriSAFI: 1, nextHopAFI: 2)

    public var description: String { "\(nlriAFI)/\(nlriSAFI)->\(nextHopAFI)" }
}

/// Graceful Restart capability value (RFC 4724 §3): 4 flag bits, a 12-bit restart time, per-AFI/SAFI flags.
public struct GracefulRestartCapability: Hashable, Sendable, CustomStringConvertible {
    /// The high nibble of the first octet: 0x8 Restart State (R, RFC 4724), 0x4 Graceful Notification (N, RFC 8538).
    public var restartFlags: UInt8
    /// Seconds (0...4095).
    public var restartTime: UInt16
    public var families: [Family]

    /// One <AFI, SAFI, Flags for address family> tuple; flag 0x80 is Forwarding State (F) (RFC 4724 §3).
    public struct Family: Hashable, Sendable {
        public var afiSafi: AFISAFI
        public var flags: UInt8
        public init(afiSafi: AFISAFI, flags: UInt8) { self.afiSafi = afiSafi; self.flags = flags }
        public init(afiSafi: AFISAFI, forwardingStatePreserved: Bool) {
            self.init(afiSafi: afiSafi, flags: forwardingStatePreserved ? 0x80 : 0)
        }
        public var forwardingStatePreserved: Bool { flags & 0x80 != 0 }
    }

    public init(restartFlags: UInt8, restartTime: UInt16, families: [Family]) {
        self.restartFlags = restartFlags
        self.restartTime = restartTime
        self.families = families
    }

    public init(restarting: Bool = false, notification: Bool = false, restartTime: UInt16, families: [Family]) {
        self.init(restartFlags: (restarting ? 0x8 : 0) | (notification ? 0x4 : 0), restartTime: restartTime, families: families)
    }

    /// R bit (RFC 4724 §3).
    public var restartState: Bool { restartFlags & 0x8 != 0 }
    /// N bit (RFC 8538 §2).
    public var notification: Bool { restartFlags & 0x4 != 0 }

    public var description: String {
        let fam = families.map { "\($0.afiSafi)\($0.forwardingStatePreserved ? "+F" : "")" }.joined(separator: ",")
        return "R=\(restartState ? 1 : 0) N=\(notification ? 1 : 0) time=\(restartTime) [\(fam)]"
    }
}
