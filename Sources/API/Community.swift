import Foundation
import Kube

/// metallb.io/v1beta1 Community: names for BGP community values, usable in BGPAdvertisement.communities.
public struct Community: KubeObject, Hashable {
    public static let resourceType = metallbResource("v1beta1", "communities", "Community")

    public var apiVersion: String?
    public var kind: String?
    public var metadata: ObjectMeta
    public var spec: CommunitySpec?
    public var status: JSONValue?

    public init(
        apiVersion: String? = nil, kind: String? = nil, metadata: ObjectMeta = ObjectMeta(),
        spec: CommunitySpec? = nil, status: JSONValue? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// Community spec: a list of aliases.
public struct CommunitySpec: Codable, Sendable, Hashable {
    public var communities: [CommunityAlias]?

    public init(communities: [CommunityAlias]? = nil) {
        self.communities = communities
    }
}

/// A name for a community value.
public struct CommunityAlias: Codable, Sendable, Hashable {
    /// The alias, used in place of the value.
    public var name: String?
    /// "AA:NN" or "large:A:B:C".
    public var value: String?

    public init(name: String? = nil, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// Why a string is not a BGP community value.
public struct CommunityParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// True when the string is not shaped like a community at all, so it may be an alias name.
    public var mayBeAlias: Bool
    public var message: String

    public var description: String { message }
}

/// A BGP community value: standard (RFC 1997) or large (RFC 8092).
public enum BGPCommunity: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// "AA:NN": two 16-bit numbers.
    case standard(UInt16, UInt16)
    /// "large:A:B:C": global administrator and two local data parts, 32 bits each.
    case large(UInt32, UInt32, UInt32)

    /// Parses "AA:NN" (two numbers 0-65535) or "large:A:B:C" (three numbers 0-4294967295).
    public static func parse(_ text: String) throws -> BGPCommunity {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        func number<T: FixedWidthInteger & UnsignedInteger>(_ s: Substring, _: T.Type) -> T? {
            guard !s.isEmpty, s.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
            return T(s)
        }
        switch parts.count {
        case 2:
            guard let a = number(parts[0], UInt16.self), let b = number(parts[1], UInt16.self) else {
                throw CommunityParseError(
                    mayBeAlias: false,
                    message: "\"\(text)\" is not a valid standard community: write two numbers from 0 to 65535 separated by \":\", like 65535:65282")
            }
            return .standard(a, b)
        case 4:
            guard parts[0] == "large" else {
                throw CommunityParseError(
                    mayBeAlias: false,
                    message: "\"\(text)\" is not a valid large community: write large:A:B:C with three numbers from 0 to 4294967295, like large:64512:1:2")
            }
            guard let a = number(parts[1], UInt32.self), let b = number(parts[2], UInt32.self), let c = number(parts[3], UInt32.self) else {
                throw CommunityParseError(
                    mayBeAlias: false,
                    message: "\"\(text)\" is not a valid large community: each of the three parts after \"large:\" must be a number from 0 to 4294967295")
            }
            return .large(a, b, c)
        default:
            throw CommunityParseError(
                mayBeAlias: true,
                message: "\"\(text)\" is neither a standard community (AA:NN, two numbers 0-65535), a large community (large:A:B:C, three numbers 0-4294967295), nor the name of an alias defined in a Community object")
        }
    }

    /// The 32-bit value of a standard community.
    public var standardValue: UInt32? {
        if case .standard(let a, let b) = self { return UInt32(a) << 16 | UInt32(b) }
        return nil
    }

    public var isLarge: Bool { if case .large = self { return true }; return false }

    /// The canonical text: "AA:NN" or "large:A:B:C".
    public var description: String {
        switch self {
        case .standard(let a, let b): return "\(a):\(b)"
        case .large(let a, let b, let c): return "large:\(a):\(b):\(c)"
        }
    }

    /// Orders standard communities as large ones of the form (value, 0, 0), as MetalLB does.
    public static func < (x: BGPCommunity, y: BGPCommunity) -> Bool {
        func key(_ c: BGPCommunity) -> (UInt32, UInt32, UInt32) {
            switch c {
            case .standard: return (c.standardValue!, 0, 0)
            case .large(let a, let b, let d): return (a, b, d)
            }
        }
        return key(x) < key(y)
    }
}
