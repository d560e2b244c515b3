#if os(Linux)
import Glibc
import Testing
import TestSupport
@testable import Layer2

/// Which interfaces are suitable by default, in a network namespace of the test's own: a plain veth is, loopback,
/// a down link, a NOARP link and a bridge port are not.
@Suite struct InterfacesTests {
    @Test func suitableInterfacesFollowMetalLBsRules() throws {
        guard getuid() == 0 else {
            Issue.record("needs root (network namespaces): this test did not run")
            return
        }
        let netns = try TestNetworkNamespace(prefix: "l2if")
        defer { netns.remove() }
        let ns = netns.name
        try netns.ip(["link", "add", "good0", "type", "veth", "peer", "name", "good1"])
        try netns.ip(["link", "add", "noarp0", "type", "veth", "peer", "name", "down0"])
        try netns.ip(["link", "add", "port0", "type", "veth", "peer", "name", "veth9"])
        try netns.ip(["link", "add", "br0", "type", "bridge"])
        try netns.ip(["link", "set", "port0", "master", "br0"])
        for l in ["good0", "good1", "noarp0", "port0", "br0", "veth9"] { try netns.ip(["link", "set", l, "up"]) }
        try netns.ip(["link", "set", "noarp0", "arp", "off"])

        // /sys shows the namespace of whoever mounted it: a sysfs mounted from inside the namespace shows its links
        // (a speaker's pod, with the host's network, sees the host's).
        let dir = "/tmp/\(ns)-sys"
        mkdir(dir, 0o700)
        defer { rmdir(dir) }
        let (all, some) = try NetworkNamespace.run(in: ns) { () throws -> ([String], [String]) in
            guard mount("sysfs", dir, "sysfs", 0, nil) == 0 else {
                throw TestSetupError(description: "mount sysfs: \(String(cString: strerror(errno)))")
            }
            defer { umount2(dir, 0) }
            return (Layer2Interfaces.suitable(sysfs: dir + "/class/net"),
                    Layer2Interfaces.suitable(excluding: ["good1", "veth*"], sysfs: dir + "/class/net"))
        }
        #expect(all == ["br0", "good0", "good1", "veth9"])
        #expect(some == ["br0", "good0"])
    }
}
#endif
