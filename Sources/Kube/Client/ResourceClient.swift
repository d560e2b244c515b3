import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Options of list and watch calls.
public struct ListOptions: Sendable, Hashable {
    public var labelSelector: String?
    public var fieldSelector: String?
    /// Page size; the server returns a `continue` token when more remain.
    public var limit: Int?
    public var continueToken: String?
    public var resourceVersion: String?
    /// Server-side watch timeout; the server ends the watch after it, and watchers reconnect.
    public var timeoutSeconds: Int?

    public init(labelSelector: String? = nil, fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil, resourceVersion: String? = nil, timeoutSeconds: Int? = nil) {
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.limit = limit
        self.continueToken = continueToken
        self.resourceVersion = resourceVersion
        self.timeoutSeconds = timeoutSeconds
    }

    var query: [(String, String)] {
        var q: [(String, String)] = []
        if let labelSelector { q.append(("labelSelector", labelSelector)) }
        if let fieldSelector { q.append(("fieldSelector", fieldSelector)) }
        if let limit { q.append(("limit", String(limit))) }
        if let continueToken { q.append(("continue", continueToken)) }
        if let resourceVersion { q.append(("resourceVersion", resourceVersion)) }
        if let timeoutSeconds { q.append(("timeoutSeconds", String(timeoutSeconds))) }
        return q
    }
}

public enum PropagationPolicy: String, Sendable, Codable {
    case foreground = "Foreground", background = "Background", orphan = "Orphan"
}

/// metav1.DeleteOptions.
public struct DeleteOptions: Codable, Sendable {
    public struct Preconditions: Codable, Sendable {
        public var uid: String?
        public var resourceVersion: String?
        public init(uid: String? = nil, resourceVersion: String? = nil) {
            self.uid = uid
            self.resourceVersion = resourceVersion
        }
    }
    public var apiVersion = "v1"
    public var kind = "DeleteOptions"
    public var propagationPolicy: PropagationPolicy?
    public var gracePeriodSeconds: Int64?
    public var preconditions: Preconditions?

    public init(propagationPolicy: PropagationPolicy? = nil, gracePeriodSeconds: Int64? = nil, preconditions: Preconditions? = nil) {
        self.propagationPolicy = propagationPolicy
        self.gracePeriodSeconds = gracePeriodSeconds
        self.preconditions = preconditions
    }
}

/// One event of a watch stream.
public enum WatchEvent<T: Sendable>: Sendable {
    case added(T)
    case modified(T)
    case deleted(T)
    /// The server's progress marker: the stream is current up to this resourceVersion.
    case bookmark(resourceVersion: String)
}

/// Typed access to one kind: CRUD, patch, server-side apply, status subresource, watch.
/// Writes use the object's namespace when the client has none.
public struct ResourceClient<T: Codable & Sendable>: Sendable {
    public let client: KubeClient
    public let type: ResourceType
    public let namespace: String?

    public init(client: KubeClient, type: ResourceType, namespace: String?) {
        self.client = client
        self.type = type
        self.namespace = type.namespaced ? namespace : nil
    }

    /// The same kind in another namespace (nil: all namespaces).
    public func inNamespace(_ ns: String?) -> ResourceClient<T> { ResourceClient(client: client, type: type, namespace: ns) }

    private func path(_ ns: String?, _ name: String? = nil, _ sub: String? = nil) throws -> String {
        if type.namespaced, name != nil, (ns ?? namespace) == nil {
            throw KubeError.config("\(type.kind) is namespaced: a namespace is needed to address \(name!)")
        }
        return type.path(namespace: ns ?? namespace, name: name, subresource: sub)
    }

    private func nsOf(_ object: T) -> String? {
        guard type.namespaced else { return nil }
        return namespace ?? metadataOf(object)?.namespace
    }

    public func get(_ name: String, namespace ns: String? = nil) async throws -> T {
        try client.decode(T.self, from: await client.send(method: .GET, path: path(ns, name)))
    }

    /// Returns nil instead of throwing NotFound.
    public func getIfExists(_ name: String, namespace ns: String? = nil) async throws -> T? {
        do { return try await get(name, namespace: ns) } catch let e as KubeError where e.isNotFound { return nil }
    }

    /// One page of a list.
    public func list(_ options: ListOptions = ListOptions()) async throws -> ObjectList<T> {
        try client.decode(ObjectList<T>.self, from: await client.send(method: .GET, path: path(nil), query: options.query))
    }

    /// Every item, following `continue` tokens page by page; returns the items and the list's
    /// resourceVersion (the point from which to watch). A `continue` token that expired
    /// mid-way (410) restarts the list from the beginning.
    public func listAll(_ options: ListOptions = ListOptions(), pageSize: Int = 500) async throws -> (items: [T], resourceVersion: String) {
        var attempts = 0
        while true {
            var items: [T] = []
            var opts = options
            opts.limit = pageSize
            opts.continueToken = nil
            do {
                while true {
                    let page = try await list(opts)
                    items.append(contentsOf: page.items)
                    guard let next = page.metadata?.continue, !next.isEmpty else {
                        return (items, page.metadata?.resourceVersion ?? "")
                    }
                    opts.continueToken = next
                    // The continue token fixes the snapshot; resourceVersion must not be sent with it.
                    opts.resourceVersion = nil
                }
            } catch let e as KubeError where e.isGone && attempts < 3 {
                attempts += 1
            }
        }
    }

    /// Creates the object. With `dryRun`, the server validates and admits it (schema,
    /// defaults, webhooks) without storing anything.
    public func create(_ object: T, namespace ns: String? = nil, dryRun: Bool = false) async throws -> T {
        try client.decode(
            T.self,
            from: await client.send(method: .POST, path: path(ns ?? nsOf(object)), query: dryRun ? [("dryRun", "All")] : [], body: client.encode(object)))
    }

    /// PUT: fails with Conflict when `metadata.resourceVersion` is stale.
    public func update(_ object: T) async throws -> T {
        let name = try nameOf(object)
        return try client.decode(T.self, from: await client.send(method: .PUT, path: path(nsOf(object), name), body: client.encode(object)))
    }

    /// PUT on the status subresource: the server keeps spec as it is.
    public func updateStatus(_ object: T) async throws -> T {
        let name = try nameOf(object)
        return try client.decode(T.self, from: await client.send(method: .PUT, path: path(nsOf(object), name, "status"), body: client.encode(object)))
    }

    public func delete(_ name: String, namespace ns: String? = nil, options: DeleteOptions = DeleteOptions()) async throws {
        _ = try await client.send(method: .DELETE, path: path(ns, name), body: client.encode(options))
    }

    /// Deletes and ignores NotFound; returns whether something was deleted.
    @discardableResult
    public func deleteIfExists(_ name: String, namespace ns: String? = nil, options: DeleteOptions = DeleteOptions()) async throws -> Bool {
        do { try await delete(name, namespace: ns, options: options); return true } catch let e as KubeError where e.isNotFound { return false }
    }

    /// JSON merge patch (RFC 7386), optionally on a subresource such as "status".
    public func mergePatch(_ name: String, namespace ns: String? = nil, patch: JSONValue, subresource: String? = nil) async throws -> T {
        try client.decode(
            T.self,
            from: await client.send(method: .PATCH, path: path(ns, name, subresource), body: client.encode(patch), contentType: "application/merge-patch+json"))
    }

    /// JSON patch (RFC 6902), e.g. a `test` of resourceVersion followed by `replace`.
    public func jsonPatch(_ name: String, namespace ns: String? = nil, operations: [JSONValue], subresource: String? = nil) async throws -> T {
        try client.decode(
            T.self,
            from: await client.send(method: .PATCH, path: path(ns, name, subresource), body: client.encode(operations), contentType: "application/json-patch+json"))
    }

    /// Server-side apply: the server merges `object` (which must carry apiVersion, kind and
    /// name) into the live object and records `fieldManager` as owner of every field it sets.
    /// With `force`, conflicting fields are taken over from other managers.
    public func apply<Body: Encodable>(_ object: Body, name: String, namespace ns: String? = nil, fieldManager: String, force: Bool = false, subresource: String? = nil) async throws -> T {
        var q = [("fieldManager", fieldManager)]
        if force { q.append(("force", "true")) }
        return try client.decode(
            T.self,
            from: await client.send(method: .PATCH, path: path(ns, name, subresource), query: q, body: client.encode(object), contentType: "application/apply-patch+yaml"))
    }

    /// Opens one watch connection from `resourceVersion`. The stream ends when the server
    /// closes it (timeout) and throws `KubeError` (`isGone` when the version is too old).
    /// Bookmarks are requested; callers resume from the last version they saw.
    public func watch(resourceVersion: String?, options: ListOptions = ListOptions()) -> AsyncThrowingStream<WatchEvent<T>, any Error> {
        var q = options.query.filter { $0.0 != "limit" && $0.0 != "continue" && $0.0 != "resourceVersion" }
        q.append(("watch", "true"))
        q.append(("allowWatchBookmarks", "true"))
        if let rv = resourceVersion, !rv.isEmpty { q.append(("resourceVersion", rv)) }
        let query = q
        let client = self.client
        let p = type.path(namespace: namespace)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await client.start(method: .GET, path: p, query: query, body: nil, contentType: "", timeout: .seconds(30))
                    guard (200..<300).contains(response.status.code) else {
                        let body = (try? await response.body.collect(upTo: 1 << 20)) ?? ByteBuffer()
                        throw KubeClient.error(from: .init(status: response.status, headers: response.headers, body: body))
                    }
                    var pending = ByteBuffer()
                    for try await chunk in response.body {
                        var c = chunk
                        pending.writeBuffer(&c)
                        while let nl = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) {
                            let len = nl - pending.readerIndex
                            let line = pending.readSlice(length: len)!
                            pending.moveReaderIndex(forwardBy: 1)
                            if line.readableBytes == 0 { continue }
                            if let event = try Self.decodeWatchLine(line) { continuation.yield(event) }
                        }
                        pending.discardReadBytes()
                    }
                    continuation.finish()
                } catch let e as KubeError {
                    continuation.finish(throwing: e)
                } catch is CancellationError {
                    continuation.finish(throwing: KubeError.cancelled)
                } catch let e as HTTPClientError where e == .cancelled || e == .alreadyShutdown {
                    continuation.finish(throwing: KubeError.cancelled)
                } catch {
                    continuation.finish(throwing: Task.isCancelled ? KubeError.cancelled : KubeError.transport("watch \(p): \(error)"))
                }
            }
            // A connection that died without a FIN or RST (a node's link down and up, a NAT or conntrack entry gone) never
            // ends by itself: the server's timeoutSeconds plus a grace bounds how long such a watch can sit silent.
            let watchdog: Task<Void, Never>? = options.timeoutSeconds.map { seconds in
                let limit = Duration.seconds(seconds + Self.watchGraceSeconds)
                return Task {
                    do { try await Task.sleep(for: limit) } catch { return }
                    continuation.finish(throwing: KubeError.timeout("watch \(p): not ended \(limit) after it began (server timeout \(seconds) s): the connection is presumed dead"))
                    task.cancel()
                }
            }
            continuation.onTermination = { _ in
                task.cancel()
                watchdog?.cancel()
            }
        }
    }

    /// How long after its server-side timeout a watch may still run before the client gives up on its connection.
    static var watchGraceSeconds: Int { 10 }

    static func decodeWatchLine(_ line: ByteBuffer) throws -> WatchEvent<T>? {
        let frame: WatchFrame<T>
        do {
            frame = try KubeJSON.decoder.decode(WatchFrame<T>.self, from: Data(buffer: line))
        } catch {
            throw KubeError.decoding("watch event: \(error)")
        }
        switch frame.event {
        case .event(let e): return e
        case .error(let s): throw KubeError.api(s, retryAfter: nil)
        case .unknown: return nil
        }
    }

    private func nameOf(_ object: T) throws -> String {
        guard let n = metadataOf(object)?.name, !n.isEmpty else { throw KubeError.config("\(type.kind) without metadata.name") }
        return n
    }

    private func metadataOf(_ object: T) -> ObjectMeta? {
        if let o = object as? any KubeObject { return o.metadata }
        if let u = object as? UnstructuredObject { return u.metadata }
        return nil
    }
}

/// One line of a watch stream, decoded in a single pass: `type` first, then `object` as the
/// type it announces.
struct WatchFrame<T: Decodable & Sendable>: Decodable {
    enum Kind { case event(WatchEvent<T>), error(APIStatus), unknown }
    let event: Kind

    private struct BookmarkObject: Decodable { struct M: Decodable { var resourceVersion: String? }; var metadata: M? }
    enum CodingKeys: String, CodingKey { case type, object }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "ADDED": event = .event(.added(try c.decode(T.self, forKey: .object)))
        case "MODIFIED": event = .event(.modified(try c.decode(T.self, forKey: .object)))
        case "DELETED": event = .event(.deleted(try c.decode(T.self, forKey: .object)))
        case "BOOKMARK":
            let b = try c.decode(BookmarkObject.self, forKey: .object)
            event = .event(.bookmark(resourceVersion: b.metadata?.resourceVersion ?? ""))
        case "ERROR": event = .error(try c.decode(APIStatus.self, forKey: .object))
        default: event = .unknown
        }
    }
}
