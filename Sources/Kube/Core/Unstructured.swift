import Foundation

/// An object of any kind, kept as JSON. Used for CRDs applied from YAML, kinds we do not
/// model, and tests. Its `ResourceType` is given to the client explicitly.
public struct UnstructuredObject: Codable, Sendable, Hashable {
    public var object: [String: JSONValue]

    public init(_ object: [String: JSONValue]) { self.object = object }

    public init(from decoder: any Decoder) throws {
        object = try [String: JSONValue](from: decoder)
    }

    public func encode(to encoder: any Encoder) throws {
        try object.encode(to: encoder)
    }

    public var apiVersion: String? { object["apiVersion"]?.stringValue }
    public var kind: String? { object["kind"]?.stringValue }
    public var metadata: ObjectMeta {
        get { (try? object["metadata"]?.decode(as: ObjectMeta.self)) ?? ObjectMeta() }
        set { object["metadata"] = try? JSONValue(encoding: newValue) }
    }
    public subscript(key: String) -> JSONValue? {
        get { object[key] }
        set { object[key] = newValue }
    }
}
