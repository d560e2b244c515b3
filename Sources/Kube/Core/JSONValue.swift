import Foundation

/// Any JSON value. Used for the parts of Kubernetes objects that we pass through without
/// interpreting them (affinity, resources, CRD schemas) and for unstructured objects.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Decodes by asking for the common container shapes first: every failed guess costs a
    /// thrown DecodingError, so the order matters for large documents.
    public init(from decoder: any Decoder) throws {
        let single = try decoder.singleValueContainer()
        if single.decodeNil() { self = .null; return }
        if let c = try? decoder.container(keyedBy: AnyCodingKey.self) {
            var o: [String: JSONValue] = [:]
            o.reserveCapacity(c.allKeys.count)
            for k in c.allKeys { o[k.stringValue] = try c.decode(JSONValue.self, forKey: k) }
            self = .object(o)
            return
        }
        if let s = try? single.decode(String.self) { self = .string(s); return }
        if var c = try? decoder.unkeyedContainer() {
            var a: [JSONValue] = []
            if let n = c.count { a.reserveCapacity(n) }
            while !c.isAtEnd { a.append(try c.decode(JSONValue.self)) }
            self = .array(a)
            return
        }
        if let b = try? single.decode(Bool.self) { self = .bool(b); return }
        if let i = try? single.decode(Int64.self) { self = .int(i); return }
        if let d = try? single.decode(Double.self) { self = .double(d); return }
        throw DecodingError.dataCorruptedError(in: single, debugDescription: "not a JSON value")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .int(let i): try c.encode(i)
        case .double(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public subscript(key: String) -> JSONValue? {
        get { if case .object(let o) = self { return o[key] }; return nil }
        set {
            guard case .object(var o) = self else { return }
            o[key] = newValue
            self = .object(o)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var intValue: Int64? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d == d.rounded(): return Int64(exactly: d)
        default: return nil
        }
    }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: [String: JSONValue]? { if case .object(let o) = self { return o }; return nil }

    /// Converts any Encodable value into a JSONValue (through JSON).
    public init<T: Encodable>(encoding value: T) throws {
        let data = try KubeJSON.encoder.encode(value)
        self = try KubeJSON.decoder.decode(JSONValue.self, from: data)
    }

    /// Decodes this value as `T` (through JSON).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try KubeJSON.decoder.decode(T.self, from: KubeJSON.encoder.encode(self))
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral, ExpressibleByFloatLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int?
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) {
        self.stringValue = String(intValue)
        self.intValue = intValue
    }
}

/// The JSON coders used for every request and response: Kubernetes times are RFC 3339 strings
/// (kept as strings in the models, see `ObjectMeta.creationTimestamp`), and keys are sorted so
/// that rendered manifests are byte-stable.
public enum KubeJSON {
    public static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
    public static var decoder: JSONDecoder { JSONDecoder() }
}
