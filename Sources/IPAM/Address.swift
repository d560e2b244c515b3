import NetAddress

extension IPAddress {
    /// True for IPv4 addresses ending in .0 or .255, which avoidBuggyIPs skips (MetalLB's ipConfusesBuggyFirmwares).
    public var isBuggyForOldFirmware: Bool {
        guard case .v4(let a) = self else { return false }
        let last = a.rawValue & 0xff
        return last == 0 || last == 255
    }
}
