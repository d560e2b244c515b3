import Testing
import NetAddress

@Suite struct SocketEndpointTests {
    @Test func parsesAndFormats() throws {
        #expect(try SocketEndpoint.parse("10.1.2.3:7946").description == "10.1.2.3:7946")
        #expect(try SocketEndpoint.parse("[fd00::1]:7946").description == "[fd00::1]:7946")
        #expect(try SocketEndpoint.parse("[fd00::1]:7946").isIPv6)
        #expect(try SocketEndpoint(host: "[fd00::1]", port: 9).description == "[fd00::1]:9")
        #expect(try SocketEndpoint(host: "10.0.0.1", port: 0).port == 0)
        #expect(SocketEndpoint("10.1.2.3:7946")?.address == .v4(IPv4Address(10, 1, 2, 3)))
    }

    /// An unbracketed IPv6 literal with a port is ambiguous ("fd00::1:7946"), so it is refused.
    @Test(arguments: ["fd00::1:7946", "10.1.2.3", "node:1", "10.1.2.3:65536", "[fd00::1]", "10.1.2.3:", ":7946", ""])
    func refusesMalformed(_ text: String) {
        #expect(throws: IPParseError.self) { try SocketEndpoint.parse(text) }
        #expect(SocketEndpoint(text) == nil)
    }

    @Test func errorKindAndReason() {
        #expect(throws: IPParseError.self) { try SocketEndpoint(host: "not-an-address", port: 1) }
        do {
            _ = try SocketEndpoint.parse("fd00::1:7946")
        } catch {
            #expect(error.kind == .endpoint)
            #expect(error.reason.contains("[fd00::1]:7946"))
        }
    }
}
