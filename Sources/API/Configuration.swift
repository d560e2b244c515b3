import Foundation
import Kube

/// One snapshot of MetalLB's configuration kinds, with the operator namespace, Secrets and (optionally) Nodes.
public struct Configuration: Sendable, Hashable {
    /// The namespace MetalLB runs in and reads its configuration from.
    public var operatorNamespace: String
    public var ipAddressPools: [IPAddressPool]
    public var l2Advertisements: [L2Advertisement]
    public var bgpAdvertisements: [BGPAdvertisement]
    public var bgpPeers: [BGPPeer]
    public var bfdProfiles: [BFDProfile]
    public var communities: [Community]
    public var metalLBs: [MetalLB]
    /// Secrets that BGPPeers may reference; nil when unknown (the Secret checks are then skipped).
    public var secrets: [Secret]?
    /// The cluster's nodes; nil when unknown (rules that need node sets then assume the worst or are skipped).
    public var nodes: [Node]?

    public init(
        operatorNamespace: String = MetalLBAPI.defaultNamespace, ipAddressPools: [IPAddressPool] = [],
        l2Advertisements: [L2Advertisement] = [], bgpAdvertisements: [BGPAdvertisement] = [], bgpPeers: [BGPPeer] = [],
        bfdProfiles: [BFDProfile] = [], communities: [Community] = [], metalLBs: [MetalLB] = [],
        secrets: [Secret]? = nil, nodes: [Node]? = nil
    ) {
        self.operatorNamespace = operatorNamespace
        self.ipAddressPools = ipAddressPools
        self.l2Advertisements = l2Advertisements
        self.bgpAdvertisements = bgpAdvertisements
        self.bgpPeers = bgpPeers
        self.bfdProfiles = bfdProfiles
        self.communities = communities
        self.metalLBs = metalLBs
        self.secrets = secrets
        self.nodes = nodes
    }

    /// Validates the snapshot (see `Validation.validate(_:)`).
    public func validate() -> ValidationReport { Validation.validate(self) }
}

/// The result of turning parsed documents into a `Configuration`.
public struct LoadedConfiguration: Sendable, Hashable {
    public var configuration: Configuration
    /// Documents that could not be decoded, unknown fields, unsupported kinds and versions.
    public var issues: [ValidationError]
}

extension Configuration {
    // `List` documents are expanded; objects without a namespace are taken to be in `operatorNamespace`.
    // Secrets are collected from the documents and checked (a referenced Secret must be among them);
    // Nodes are collected too, and enable the node-dependent rules when any is present.

    /// Builds a configuration from already-parsed documents (YAML or JSON).
    public static func load(documents: [JSONValue], operatorNamespace: String = MetalLBAPI.defaultNamespace) -> LoadedConfiguration {
        var loader = DocumentLoader(operatorNamespace: operatorNamespace)
        for d in documents { loader.add(d, index: nil) }
        loader.config.secrets = loader.config.secrets ?? []
        return LoadedConfiguration(configuration: loader.config, issues: loader.issues)
    }
}

extension Configuration {
    /// This configuration with `document` added, replacing an object of the same kind, namespace and name.
    public func upserting(document: JSONValue) -> LoadedConfiguration {
        let loaded = Configuration.load(documents: [document], operatorNamespace: operatorNamespace)
        var c = self
        let n = loaded.configuration
        func merge<T: KubeObject>(_ list: inout [T], _ new: [T]) {
            for o in new {
                list.removeAll { $0.sameObject(as: o, defaultNamespace: operatorNamespace) }
                list.append(o)
            }
        }
        merge(&c.ipAddressPools, n.ipAddressPools)
        merge(&c.l2Advertisements, n.l2Advertisements)
        merge(&c.bgpAdvertisements, n.bgpAdvertisements)
        merge(&c.bgpPeers, n.bgpPeers)
        merge(&c.bfdProfiles, n.bfdProfiles)
        merge(&c.communities, n.communities)
        merge(&c.metalLBs, n.metalLBs)
        if let s = n.secrets, !s.isEmpty {
            var all = c.secrets ?? []
            merge(&all, s)
            c.secrets = all
        }
        if let nodes = n.nodes {
            var all = c.nodes ?? []
            merge(&all, nodes)
            c.nodes = all
        }
        return LoadedConfiguration(configuration: c, issues: loaded.issues)
    }

    /// This configuration without the object of the given kind, namespace and name (e.g. for a DELETE admission).
    public func removing(kind: String, namespace: String?, name: String) -> Configuration {
        var c = self
        let key = ObjectKey(namespace: (namespace ?? "").isEmpty ? operatorNamespace : namespace, name: name)
        func drop<T: KubeObject>(_ list: inout [T]) {
            guard T.resourceType.kind == kind else { return }
            list.removeAll { ObjectKey(namespace: $0.metadata.namespace ?? operatorNamespace, name: $0.name) == key }
        }
        drop(&c.ipAddressPools)
        drop(&c.l2Advertisements)
        drop(&c.bgpAdvertisements)
        drop(&c.bgpPeers)
        drop(&c.bfdProfiles)
        drop(&c.communities)
        drop(&c.metalLBs)
        if var s = c.secrets { drop(&s); c.secrets = s }
        if var n = c.nodes { drop(&n); c.nodes = n }
        return c
    }
}

extension KubeObject {
    /// Same name and namespace (a missing namespace counting as `defaultNamespace`).
    func sameObject(as other: Self, defaultNamespace: String) -> Bool {
        func ns(_ m: ObjectMeta) -> String { (m.namespace ?? "").isEmpty ? defaultNamespace : m.namespace! }
        return name == other.name && ns(metadata) == ns(other.metadata)
    }
}

/// Decodes documents by apiVersion and kind, turning decoding failures into validation errors.
struct DocumentLoader {
    var config: Configuration
    var issues: [ValidationError] = []

    init(operatorNamespace: String) {
        config = Configuration(operatorNamespace: operatorNamespace)
    }

    /// Kinds that report state and are not configuration; documents of these kinds are skipped quietly.
    static let statusKinds: Set<String> = ["ServiceL2Status", "ServiceBGPStatus", "ConfigurationState", "BGPSessionState"]

    mutating func add(_ doc: JSONValue, index: Int?) {
        guard case .object(var obj) = doc else {
            if doc == .null { return }  // an empty YAML document
            issues.append(ValidationError(
                severity: .error, kind: "", namespace: nil, name: index.map { "document \($0)" } ?? "document",
                field: "", message: "is not an object; each document must be a Kubernetes object with apiVersion and kind"))
            return
        }
        let apiVersion = obj["apiVersion"]?.stringValue ?? ""
        let kind = obj["kind"]?.stringValue ?? ""
        let meta = obj["metadata"]?.objectValue
        let name = meta?["name"]?.stringValue ?? ""
        let namespace = meta?["namespace"]?.stringValue
        let ref = ObjectRef(kind: kind, namespace: namespace, name: name)

        if kind.hasSuffix("List"), let items = obj["items"]?.arrayValue {
            for (i, item) in items.enumerated() { add(item, index: i) }
            return
        }
        if kind.isEmpty || apiVersion.isEmpty {
            issues.append(ref.issue(.error, kind.isEmpty ? "kind" : "apiVersion", "is required"))
            return
        }
        // Objects without a namespace land in the operator's namespace (as with `kubectl apply -n`).
        if namespace == nil || namespace == "" {
            var m = meta ?? [:]
            m["namespace"] = .string(config.operatorNamespace)
            obj["metadata"] = .object(m)
        }
        let value = JSONValue.object(obj)
        let group = apiVersion.split(separator: "/").count == 2 ? String(apiVersion.split(separator: "/")[0]) : ""

        func want(_ versions: [String]) -> Bool {
            if versions.contains(apiVersion) { return true }
            issues.append(ref.issue(.error, "apiVersion",
                "\"\(apiVersion)\" is not served for \(kind); use \(versions.map { "\"\($0)\"" }.joined(separator: " or "))"))
            return false
        }

        switch (group, kind) {
        case ("metallb.io", "IPAddressPool"):
            if want([IPAddressPool.resourceType.apiVersion]), let o = decode(IPAddressPool.self, value, ref) { config.ipAddressPools.append(o) }
        case ("metallb.io", "L2Advertisement"):
            if want([L2Advertisement.resourceType.apiVersion]), let o = decode(L2Advertisement.self, value, ref) { config.l2Advertisements.append(o) }
        case ("metallb.io", "BGPAdvertisement"):
            if want([BGPAdvertisement.resourceType.apiVersion]), let o = decode(BGPAdvertisement.self, value, ref) { config.bgpAdvertisements.append(o) }
        case ("metallb.io", "BGPPeer"):
            if want([BGPPeer.resourceType.apiVersion, BGPPeer.v1beta1ResourceType.apiVersion]), let o = decode(BGPPeer.self, value, ref) {
                config.bgpPeers.append(o)
            }
        case ("metallb.io", "BFDProfile"):
            if want([BFDProfile.resourceType.apiVersion]), let o = decode(BFDProfile.self, value, ref) { config.bfdProfiles.append(o) }
        case ("metallb.io", "Community"):
            if want([Community.resourceType.apiVersion]), let o = decode(Community.self, value, ref) { config.communities.append(o) }
        case ("metallb.io", "MetalLB"):
            if want([MetalLB.resourceType.apiVersion]), let o = decode(MetalLB.self, value, ref) { config.metalLBs.append(o) }
        case ("metallb.io", "AddressPool"):
            issues.append(ref.issue(.error, "kind",
                "AddressPool was removed from MetalLB (in 0.14); declare the addresses in an IPAddressPool and announce them with an L2Advertisement or a BGPAdvertisement"))
        case ("metallb.io", let k) where Self.statusKinds.contains(k):
            break
        case ("metallb.io", _):
            issues.append(ref.issue(.error, "kind",
                "metallb.io has no kind \"\(kind)\"; the configuration kinds are IPAddressPool, L2Advertisement, BGPAdvertisement, BGPPeer, BFDProfile, Community and MetalLB"))
        case ("", "Secret") where apiVersion == "v1":
            if let o = decode(Secret.self, value, ref, checkUnknownFields: false) { config.secrets = (config.secrets ?? []) + [o] }
        case ("", "Node") where apiVersion == "v1":
            if let o = decode(Node.self, value, ref, checkUnknownFields: false) { config.nodes = (config.nodes ?? []) + [o] }
        case ("", "ConfigMap") where apiVersion == "v1":
            if name == "config", (meta?["namespace"]?.stringValue ?? config.operatorNamespace) == config.operatorNamespace,
               obj["data"]?["config"] != nil
            {
                issues.append(ref.issue(.warning, "data.config",
                    "MetalLB no longer reads its configuration from a ConfigMap (since 0.13); convert it to IPAddressPool, BGPPeer and advertisement objects with MetalLB's configmaptocrs tool"))
            }
        default:
            issues.append(ref.issue(.warning, "kind", "\(apiVersion) \(kind) is not part of MetalLB's configuration; it is ignored"))
        }
    }

    /// Decodes `value` as `T`, recording decoding errors and (optionally) unknown fields as issues.
    mutating func decode<T: Codable>(_ type: T.Type, _ value: JSONValue, _ ref: ObjectRef, checkUnknownFields: Bool = true) -> T? {
        do {
            let o = try JSONValueDecoder.decode(T.self, from: value)
            if checkUnknownFields, let back = try? JSONValue(encoding: o) {
                for path in unknownFields(value, back, path: "", top: true) {
                    issues.append(ref.issue(.warning, path, "is not a field of \(ref.kind); it is ignored (the API server drops it). Check the spelling"))
                }
            }
            return o
        } catch let e as DecodingError {
            issues.append(DocumentLoader.issue(for: e, ref, document: value))
            return nil
        } catch {
            issues.append(ref.issue(.error, "", "cannot be read: \(error)"))
            return nil
        }
    }

    /// Paths present in `original` but missing from the re-encoded `decoded`, skipping metadata and nulls.
    func unknownFields(_ original: JSONValue, _ decoded: JSONValue, path: String, top: Bool) -> [String] {
        switch (original, decoded) {
        case (.object(let o), .object(let d)):
            var out: [String] = []
            for (k, v) in o.sorted(by: { $0.key < $1.key }) {
                if top && (k == "metadata" || k == "apiVersion" || k == "kind") { continue }
                if v == .null { continue }
                let p = path.isEmpty ? k : "\(path).\(k)"
                guard let dv = d[k] else { out.append(p); continue }
                out.append(contentsOf: unknownFields(v, dv, path: p, top: false))
            }
            return out
        case (.array(let o), .array(let d)) where o.count == d.count:
            return zip(o, d).enumerated().flatMap { i, pair in unknownFields(pair.0, pair.1, path: "\(path)[\(i)]", top: false) }
        default:
            return []
        }
    }

    /// "spec.addresses[1]" from a decoding path.
    static func pathString(_ keys: [any CodingKey]) -> String {
        var s = ""
        for k in keys {
            if let i = k.intValue {
                s += "[\(i)]"
            } else {
                s += s.isEmpty ? k.stringValue : ".\(k.stringValue)"
            }
        }
        return s
    }

    /// What a required field holds, for "is required" errors.
    static let requiredHelp: [String: String] = [
        "spec": "the object's settings",
        "spec.addresses": "a list of CIDRs (like 192.168.10.0/24) or ranges (like 192.168.9.1-192.168.9.5)",
        "spec.myASN": "the local AS number, from 1 to 4294967295",
    ]

    /// Allowed values of numeric fields, for decoding errors (the JSON type cannot say the range).
    static let numericRanges: [String: String] = [
        "myASN": "an integer from 1 to 4294967295",
        "peerASN": "an integer from 0 to 4294967295",
        "localASN": "an integer from 1 to 4294967295",
        "peerPort": "an integer from 1 to 16384",
        "localPref": "an integer from 0 to 4294967295",
        "aggregationLength": "an integer from 1 to 32",
        "aggregationLengthV6": "an integer from 1 to 128",
        "receiveInterval": "an integer from 10 to 60000 (milliseconds)",
        "transmitInterval": "an integer from 10 to 60000 (milliseconds)",
        "echoInterval": "an integer from 10 to 60000 (milliseconds)",
        "detectMultiplier": "an integer from 2 to 255",
        "minimumTtl": "an integer from 1 to 254",
        "weight": "an integer from 1 to 100",
        "priority": "an integer",
        "tolerationSeconds": "an integer",
    ]

    static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int32.Type, is Int64.Type, is UInt16.Type, is UInt32.Type, is UInt64.Type: return "an integer"
        case is [String].Type: return "a list of strings"
        case is [String: String].Type: return "a map of strings to strings"
        default:
            let n = String(describing: type)
            if n.hasPrefix("Array<") { return "a list" }
            if n.hasPrefix("Dictionary<") { return "a map" }
            return "an object"
        }
    }

    static func issue(for error: DecodingError, _ ref: ObjectRef, document: JSONValue) -> ValidationError {
        switch error {
        case .keyNotFound(let key, let ctx):
            let p = pathString(ctx.codingPath + [key])
            return ref.issue(.error, p, requiredHelp[p].map { "is required: \($0)" } ?? "is required")
        case .valueNotFound(let type, let ctx):
            return ref.issue(.error, pathString(ctx.codingPath), "must not be null; expected \(describe(type))")
        case .typeMismatch(let type, let ctx):
            let last = ctx.codingPath.last(where: { $0.intValue == nil })?.stringValue ?? ""
            let expected = numericRanges[last] ?? describe(type)
            return ref.issue(.error, pathString(ctx.codingPath), "has the wrong type; expected \(expected)")
        case .dataCorrupted(let ctx):
            let last = ctx.codingPath.last(where: { $0.intValue == nil })?.stringValue ?? ""
            if let range = numericRanges[last] {
                return ref.issue(.error, pathString(ctx.codingPath), "is out of range; expected \(range)")
            }
            return ref.issue(.error, pathString(ctx.codingPath), "is not valid: \(ctx.debugDescription)")
        @unknown default:
            return ref.issue(.error, "", "cannot be read: \(error)")
        }
    }
}
