import Foundation
import Logging

public enum EventType: String, Sendable { case normal = "Normal", warning = "Warning" }

/// Writes core/v1 Events about objects, as client-go's recorder: a repeat of the same event
/// (same object, type, reason and message) increments `count` and `lastTimestamp` of the
/// existing Event instead of creating a new one. Failures are logged, never thrown: events
/// are for people and must not stop a reconcile.
public actor EventRecorder {
    let client: KubeClient
    let component: String
    let host: String?
    let logger: Logger
    private var seen: [String: (namespace: String, name: String, count: Int32)] = [:]
    private var order: [String] = []
    private let capacity = 4096
    private nonisolated let pending: AsyncStream<Pending>.Continuation

    struct Pending: Sendable {
        var ref: ObjectReference
        var type: EventType
        var reason: String
        var message: String
    }

    public init(client: KubeClient, component: String, host: String? = nil, logger: Logger? = nil) {
        self.client = client
        self.component = component
        self.host = host
        self.logger = logger ?? Logger(label: "events")
        // Events posted with `emit` are written in order by one task; when more than 1,024
        // wait, the oldest are dropped (client-go drops them too when its queue is full).
        let (stream, continuation) = AsyncStream.makeStream(of: Pending.self, bufferingPolicy: .bufferingNewest(1024))
        pending = continuation
        Task { [weak self] in
            for await p in stream {
                guard let self else { return }
                await self.record(p.ref, p.type, reason: p.reason, message: p.message)
            }
        }
    }

    deinit { pending.finish() }

    /// Queues an event and returns at once: for reconcilers, whose next write should not wait
    /// for an event about the last one.
    public nonisolated func emit<T: KubeObject>(_ object: T, _ type: EventType, reason: String, message: String) {
        let ref = ObjectReference(
            kind: T.resourceType.kind, namespace: object.metadata.namespace, name: object.metadata.name,
            uid: object.metadata.uid, apiVersion: T.resourceType.apiVersion, resourceVersion: object.metadata.resourceVersion)
        pending.yield(Pending(ref: ref, type: type, reason: reason, message: message))
    }

    public func record<T: KubeObject>(_ object: T, _ type: EventType, reason: String, message: String) async {
        let ref = ObjectReference(
            kind: T.resourceType.kind, namespace: object.metadata.namespace, name: object.metadata.name,
            uid: object.metadata.uid, apiVersion: T.resourceType.apiVersion, resourceVersion: object.metadata.resourceVersion)
        await record(ref, type, reason: reason, message: message)
    }

    public func record(_ ref: ObjectReference, _ type: EventType, reason: String, message: String) async {
        let ns = (ref.namespace?.isEmpty ?? true) ? "default" : ref.namespace!
        let key = [ref.kind ?? "", ns, ref.name ?? "", ref.uid ?? "", type.rawValue, reason, message].joined(separator: "\u{1}")
        let now = KubeTime.time()
        let events = client.resource(Event.self, namespace: ns)
        if let prior = seen[key] {
            do {
                let patch: JSONValue = ["count": .int(Int64(prior.count + 1)), "lastTimestamp": .string(now)]
                _ = try await events.mergePatch(prior.name, patch: patch)
                seen[key]?.count = prior.count + 1
                return
            } catch let e as KubeError where e.isNotFound {
                seen[key] = nil
            } catch {
                logger.warning("could not update event", metadata: ["reason": "\(reason)", "error": "\(error)"])
                return
            }
        }
        let suffix = String(UInt64(Date().timeIntervalSince1970 * 1e9), radix: 16)
        var event = Event(
            metadata: ObjectMeta(name: "\(ref.name ?? "object").\(suffix)", namespace: ns),
            involvedObject: ref, reason: reason, message: message,
            source: EventSource(component: component, host: host), firstTimestamp: now, lastTimestamp: now,
            count: 1, type: type.rawValue, reportingComponent: component, reportingInstance: host)
        event.setTypeMeta()
        do {
            let created = try await events.create(event)
            remember(key, (ns, created.metadata.name ?? "", 1))
        } catch {
            logger.warning("could not create event", metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }

    private func remember(_ key: String, _ v: (namespace: String, name: String, count: Int32)) {
        if seen[key] == nil {
            order.append(key)
            if order.count > capacity { seen[order.removeFirst()] = nil }
        }
        seen[key] = v
    }
}
