import NetAddress

func ip(_ text: String) -> IPAddress { IPAddress(text)! }
func ip4(_ text: String) -> IPv4Address { IPv4Address(text)! }
func ip6(_ text: String) -> IPv6Address { IPv6Address(text)! }
func v4(_ s: String) -> IPv4Address { IPv4Address(s) ?? .any }
func v6(_ s: String) -> IPv6Address { IPv6Address(s) ?? .any }
func mac(_ text: String) -> MACAddress { MACAddress(text)! }
func pfx(_ s: String) -> IPPrefix { IPPrefix(s) ?? IPPrefix(masking: .v4(.any), length: 0) }

/// The Layer 2 tests' two stations, used by the address tests too.
enum Station {
    static let aMAC = MACAddress(0x02, 0, 0, 0, 0x0A, 0x01)
    static let aIPv4 = IPv4Address(10, 254, 0, 1)
    static let aIPv6 = IPv6Address(0xfd00, 0x254, 0, 0, 0, 0, 0, 1)
    static let bIPv6 = IPv6Address(0xfd00, 0x254, 0, 0, 0, 0, 0, 2)
    static let aLinkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x0a01)
    static let bLinkLocal = IPv6Address(0xfe80, 0, 0, 0, 0, 0xff, 0xfe00, 0x0b02)
}

