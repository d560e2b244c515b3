import Testing
import NetAddress
@testable import API

@Suite struct PoolAddressTests {
    @Test func poolAddresses() throws {
        let cidr = try PoolAddress.parse("198.51.100.10/24")
        #expect(cidr.hostBitsSet)
        #expect(cidr.canonical == "198.51.100.0/24")
        let exact = try PoolAddress.parse("192.168.10.0/24")
        #expect(!exact.hostBitsSet && exact.prefixes.count == 1)
        let range = try PoolAddress.parse("192.168.9.1-192.168.9.5")
        #expect(range.prefix == nil && range.prefixes.count == 3)
        #expect(range.canonical == "192.168.9.1-192.168.9.5")
        #expect(throws: IPParseError.self) { try PoolAddress.parse("192.168.9.1") }
        #expect(throws: IPParseError.self) { try PoolAddress.parse("192.168.9.1/24-192.168.9.5") }
        #expect(throws: IPParseError.self) { try PoolAddress.parse("") }
    }
}
