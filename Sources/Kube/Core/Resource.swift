import Foundation

/// Where a kind lives in the API: group, version, plural resource name, and scope.
public struct ResourceType: Sendable, Hashable, CustomStringConvertible {
    public var group: String
    public var version: String
    public var plural: String
    public var kind: String
    public var namespaced: Bool

    public init(group: String, version: String, plural: String, kind: String, namespaced: Bool) {
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
    }

    /// "v1" for the core group, "group/version" otherwise.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }

    /// "/api/v1" or "/apis/group/version".
    public var groupVersionPath: String { group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)" }

    /// Collection path, in a namespace when one is given and the kind is namespaced.
    public func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var p = groupVersionPath
        if namespaced, let ns = namespace { p += "/namespaces/\(ns.pathEscaped)" }
        p += "/\(plural)"
        if let name { p += "/\(name.pathEscaped)" }
        if let subresource { p += "/\(subresource)" }
        return p
    }

    public var description: String { group.isEmpty ? "\(plural)/\(version)" : "\(plural).\(version).\(group)" }

    public func withVersion(_ v: String) -> ResourceType {
        var r = self
        r.version = v
        return r
    }
}

/// A Kubernetes object with a known place in the API.
public protocol KubeObject: Codable, Sendable {
    static var resourceType: ResourceType { get }
    var apiVersion: String? { get set }
    var kind: String? { get set }
    var metadata: ObjectMeta { get set }
}

extension KubeObject {
    public var name: String { metadata.name ?? "" }
    public var namespace: String? { metadata.namespace }
    /// "namespace/name" or "name" for cluster-scoped objects: the cache and work-queue key.
    public var key: ObjectKey { ObjectKey(namespace: metadata.namespace, name: metadata.name ?? "") }

    /// Fills apiVersion and kind from the static type (the API server needs them on writes).
    public mutating func setTypeMeta() {
        if apiVersion == nil { apiVersion = Self.resourceType.apiVersion }
        if kind == nil { kind = Self.resourceType.kind }
    }
}

/// Identifies an object: namespace (nil for cluster-scoped) and name.
public struct ObjectKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var namespace: String?
    public var name: String

    public init(namespace: String?, name: String) {
        self.namespace = (namespace?.isEmpty ?? true) ? nil : namespace
        self.name = name
    }

    /// Parses "ns/name" or "name".
    public init(_ string: String) {
        if let i = string.firstIndex(of: "/") {
            self.init(namespace: String(string[..<i]), name: String(string[string.index(after: i)...]))
        } else {
            self.init(namespace: nil, name: string)
        }
    }

    public var description: String { namespace.map { "\($0)/\(name)" } ?? name }
    public static func < (a: ObjectKey, b: ObjectKey) -> Bool { a.description < b.description }
}

/// A list response: `items` plus list metadata.
public struct ObjectList<T: Codable & Sendable>: Codable, Sendable {
    public var apiVersion: String?
    public var kind: String?
    public var metadata: ListMeta?
    public var items: [T]

    public init(items: [T], metadata: ListMeta? = nil) {
        self.items = items
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey { case apiVersion, kind, metadata, items }
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        apiVersion = try c.decodeIfPresent(String.self, forKey: .apiVersion)
        kind = try c.decodeIfPresent(String.self, forKey: .kind)
        metadata = try c.decodeIfPresent(ListMeta.self, forKey: .metadata)
        // The API server sends `"items": null` for an empty list.
        items = try c.decodeIfPresent([T].self, forKey: .items) ?? []
    }
}

extension String {
    var pathEscaped: String {
        addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(CharacterSet(charactersIn: "/"))) ?? self
    }
}
