import Foundation
import Kube

// Defaulting as the CRD schemas do it: a default fills an absent field of an object that is present
// (a missing spec stays missing). Use these offline, e.g. in `metallb validate`, or on objects read
// from an API server that did not apply the defaults.

extension IPAddressPool {
    /// autoAssign true, avoidBuggyIPs false.
    public func defaulted() -> IPAddressPool {
        var o = self
        o.spec.autoAssign = o.spec.autoAssign ?? true
        o.spec.avoidBuggyIPs = o.spec.avoidBuggyIPs ?? false
        return o
    }
}

extension BGPAdvertisement {
    /// aggregationLength 32, aggregationLengthV6 128 (when a spec is present).
    public func defaulted() -> BGPAdvertisement {
        var o = self
        if var s = o.spec {
            s.aggregationLength = s.aggregationLength ?? 32
            s.aggregationLengthV6 = s.aggregationLengthV6 ?? 128
            o.spec = s
        }
        return o
    }
}

extension BGPAdvertisementSpec {
    /// The IPv4 aggregation length with its default.
    public var effectiveAggregationLength: Int32 { aggregationLength ?? 32 }
    /// The IPv6 aggregation length with its default.
    public var effectiveAggregationLengthV6: Int32 { aggregationLengthV6 ?? 128 }
    /// LOCAL_PREF with its default (0, not sent).
    public var effectiveLocalPref: UInt32 { localPref ?? 0 }
}

extension IPAddressPoolSpec {
    /// autoAssign with its default.
    public var effectiveAutoAssign: Bool { autoAssign ?? true }
    /// avoidBuggyIPs with its default.
    public var effectiveAvoidBuggyIPs: Bool { avoidBuggyIPs ?? false }
}

extension BGPPeer {
    /// v1beta2: peerPort 179, disableMP false, dualStackAddressFamily false. v1beta1 has no defaults.
    public func defaulted() -> BGPPeer {
        var o = self
        guard !isV1beta1 else { return o }
        o.spec.peerPort = o.spec.peerPort ?? BGPPeerSpec.defaultPort
        o.spec.disableMP = o.spec.disableMP ?? false
        o.spec.dualStackAddressFamily = o.spec.dualStackAddressFamily ?? false
        return o
    }
}

extension Configuration {
    /// Every object with its CRD defaults applied.
    public func defaulted() -> Configuration {
        var c = self
        c.ipAddressPools = ipAddressPools.map { $0.defaulted() }
        c.bgpAdvertisements = bgpAdvertisements.map { $0.defaulted() }
        c.bgpPeers = bgpPeers.map { $0.defaulted() }
        return c
    }
}
