import Foundation
import NetAddress
@testable import Layer2

/// Loads the captured frames under `Vectors/` (found next to this file, so no resource bundle is needed).
enum Vectors {
    static let directory: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Vectors")

    struct LoadError: Error, CustomStringConvertible {
        var description: String
    }

    /// The frame bytes of `name` (comment lines starting with `#` skipped).
    static func load(_ name: String) throws -> [UInt8] {
        let url = directory.appendingPathComponent(name)
        let text = try String(contentsOf: url, encoding: .utf8)
        let hex = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#") }
            .joined(separator: "\n")
        guard let bytes = Hex.decode(hex), !bytes.isEmpty else {
            throw LoadError(description: "\(name): no hex frame")
        }
        return bytes
    }

    /// The comment lines of `name`, for checking provenance is recorded.
    static func comments(_ name: String) throws -> [String] {
        let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
        return text.split(separator: "\n").filter { $0.hasPrefix("#") }.map(String.init)
    }

    /// Every vector file name.
    static func all() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".hex") }.sorted()
    }
}

/// Shorthand constructors for tests.
func mac(_ text: String) -> MACAddress { MACAddress(text)! }
func ip4(_ text: String) -> IPv4Address { IPv4Address(text)! }
func ip6(_ text: String) -> IPv6Address { IPv6Address(text)! }

/// The two stations of the capture setup.
enum Station {
    static let aMAC = MACAddress(0x02, 0, 0, 0, 0x0A, 0x01)
    static let bMAC = MACAddress(0x02, 0, 0, 0, 0x0B, 0x02)
    static let aIPv4 = IPv4Address(10, 254, 0, 1)
    static let bIPv4 = IPv4Address(10, 254, 0, 2)
    static let aIPv6 = IPv6Address(0xfd00, 0x254, 0, 0, 0, 0, 0, 1)
    static let bIPv6 = IPv6Address(0xfd00, 0x254, 0, 0, 0, 0, 0, 2)
    static let aLinkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x0a01)
    static let bLinkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x0b02)
}

