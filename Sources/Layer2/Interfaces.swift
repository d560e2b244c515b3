#if os(Linux)
import Glibc

/// Which interfaces a speaker answers on when no L2Advertisement names any: MetalLB's rules.
public enum Layer2Interfaces {
    /// Every interface that is up, has a link-layer address and takes part in ARP: not loopback, not NOARP, not a
    /// port enslaved to a bridge or bond (its master answers), and not named in `excluding` (exact names, or a
    /// trailing `*` for a prefix, e.g. "veth*"). Sorted, so that two calls agree.
    public static func suitable(excluding: [String] = [], sysfs: String = "/sys/class/net") -> [String] {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return [] }
        defer { freeifaddrs(list) }
        var names = Set<String>()
        var p: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = p {
            defer { p = entry.pointee.ifa_next }
            let flags = Int32(entry.pointee.ifa_flags)
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == UInt16(AF_PACKET),
                  flags & Int32(IFF_UP) != 0, flags & Int32(IFF_LOOPBACK) == 0, flags & Int32(IFF_NOARP) == 0
            else { continue }
            let name = String(cString: entry.pointee.ifa_name)
            if isExcluded(name, excluding) { continue }
            // /sys/class/net/NAME/master exists for a bridge or bond port.
            if access("\(sysfs)/\(name)/master", F_OK) == 0 { continue }
            names.insert(name)
        }
        return names.sorted()
    }

    static func isExcluded(_ name: String, _ patterns: [String]) -> Bool {
        patterns.contains { p in p.hasSuffix("*") ? name.hasPrefix(String(p.dropLast())) : name == p }
    }
}
#endif
