import Foundation
import NetAddress
import Kube

// Covers MetalLB's own parsing rules, the CEL rules of its CRDs (which a Kubernetes 1.20 API server does
// not run) and the schema ranges, so offline input gets the same answers as the API server plus webhook.
//
// Decisions: a CIDR with host bits set ("198.51.100.10/24") is accepted and read as its network (what
// MetalLB does through Go's net.ParseCIDR), with a warning; references to pools and peers that do not
// exist are warnings (MetalLB ignores them); references to BFDProfiles, Secrets and Community aliases that
// do not exist are errors marked `isMissingReference`.

/// The one semantic validation of MetalLB configurations (webhook, controller, speaker, `metallb validate`).
public enum Validation {
    /// Validates one configuration snapshot.
    public static func validate(_ configuration: Configuration) -> ValidationReport {
        var v = ConfigurationValidator(configuration)
        v.run()
        return ValidationReport(issues: v.issues)
    }

    /// Loads already-parsed documents (see `Configuration.load`) and validates them; loading problems come first.
    public static func validate(documents: [JSONValue], operatorNamespace: String = MetalLBAPI.defaultNamespace) -> ValidationReport {
        let loaded = Configuration.load(documents: documents, operatorNamespace: operatorNamespace)
        var report = ValidationReport(issues: loaded.issues)
        report.append(validate(loaded.configuration))
        return report
    }

    /// Rules on changing a BGPPeer: enableGracefulRestart is immutable (MetalLB's CEL rule; unset counts as false).
    public static func validateUpdate(old: BGPPeer, new: BGPPeer) -> ValidationReport {
        var issues: [ValidationError] = []
        if (old.spec.enableGracefulRestart ?? false) != (new.spec.enableGracefulRestart ?? false) {
            issues.append(ObjectRef(new).issue(.error, "spec.enableGracefulRestart",
                "cannot be changed after creation (changing it needs a new BGP session); delete and re-create the BGPPeer instead"))
        }
        return ValidationReport(issues: issues)
    }

    /// Rules on changing a ServiceL2Status: node, serviceName and serviceNamespace are immutable once set.
    public static func validateUpdate(old: ServiceL2Status, new: ServiceL2Status) -> ValidationReport {
        immutableStatus(ObjectRef(new), [
            ("node", old.status?.node, new.status?.node),
            ("serviceName", old.status?.serviceName, new.status?.serviceName),
            ("serviceNamespace", old.status?.serviceNamespace, new.status?.serviceNamespace),
        ])
    }

    /// Rules on changing a ServiceBGPStatus: node, serviceName and serviceNamespace are immutable once set.
    public static func validateUpdate(old: ServiceBGPStatus, new: ServiceBGPStatus) -> ValidationReport {
        immutableStatus(ObjectRef(new), [
            ("node", old.status?.node, new.status?.node),
            ("serviceName", old.status?.serviceName, new.status?.serviceName),
            ("serviceNamespace", old.status?.serviceNamespace, new.status?.serviceNamespace),
        ])
    }

    static func immutableStatus(_ ref: ObjectRef, _ fields: [(String, String?, String?)]) -> ValidationReport {
        var issues: [ValidationError] = []
        for (f, o, n) in fields {
            if let o, let n, o != n {
                issues.append(ref.issue(.error, "status.\(f)", "is immutable: it was \"\(o)\" and cannot become \"\(n)\"; delete the object and create a new one"))
            }
        }
        return ValidationReport(issues: issues)
    }
}

/// Runs every rule over one configuration.
struct ConfigurationValidator {
    let c: Configuration
    var issues: [ValidationError] = []

    /// Parsed pool addresses: per pool, per entry (nil where the entry does not parse).
    var poolAddresses: [[PoolAddress?]] = []
    /// Community aliases by name.
    var aliases: [String: BGPCommunity] = [:]

    init(_ configuration: Configuration) {
        c = configuration
    }

    // MARK: helpers

    mutating func error(_ ref: ObjectRef, _ field: String, _ message: String, missingReference: Bool = false) {
        issues.append(ref.issue(.error, field, message, missingReference: missingReference))
    }

    mutating func warning(_ ref: ObjectRef, _ field: String, _ message: String) {
        issues.append(ref.issue(.warning, field, message))
    }

    var ns: String { c.operatorNamespace }

    func inOperatorNamespace(_ meta: ObjectMeta) -> Bool {
        (meta.namespace ?? "").isEmpty || meta.namespace == ns
    }

    static let labelKeyHelp = "a label key is an optional DNS subdomain prefix and \"/\", then at most 63 characters of [A-Za-z0-9-_.] starting and ending with a letter or digit"
    static let labelValueHelp = "a label value is empty or at most 63 characters of [A-Za-z0-9-_.] starting and ending with a letter or digit"

    /// Checks syntax, operators and duplicates of a list of label selectors.
    mutating func checkSelectors(_ ref: ObjectRef, _ path: String, _ selectors: [LabelSelector]?) {
        guard let selectors else { return }
        var seen: [String: Int] = [:]
        for (i, sel) in selectors.enumerated() {
            checkSelector(ref, "\(path)[\(i)]", sel)
            let key = sel.canonicalDescription
            if let j = seen[key] {
                error(ref, "\(path)[\(i)]", "duplicates \(path)[\(j)]; each selector may appear once")
            } else {
                seen[key] = i
            }
        }
    }

    mutating func checkSelector(_ ref: ObjectRef, _ p: String, _ sel: LabelSelector) {
        for (k, v) in (sel.matchLabels ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !KubeNames.isLabelKey(k) { error(ref, "\(p).matchLabels", "\"\(k)\" is not a valid label key: \(Self.labelKeyHelp)") }
            if !KubeNames.isLabelValue(v) { error(ref, "\(p).matchLabels.\(k)", "\"\(v)\" is not a valid label value: \(Self.labelValueHelp)") }
        }
        var seenExpr: [String: Int] = [:]
        for (j, e) in (sel.matchExpressions ?? []).enumerated() {
            let ep = "\(p).matchExpressions[\(j)]"
            if !KubeNames.isLabelKey(e.key) { error(ref, "\(ep).key", "\"\(e.key)\" is not a valid label key: \(Self.labelKeyHelp)") }
            let values = e.values ?? []
            switch LabelSelectorOperator(rawValue: e.operator) {
            case .in?, .notIn?:
                if values.isEmpty { error(ref, "\(ep).values", "must list at least one value for operator \(e.operator)") }
            case .exists?, .doesNotExist?:
                if !values.isEmpty { error(ref, "\(ep).values", "must be empty for operator \(e.operator)") }
            case nil:
                error(ref, "\(ep).operator", "\"\(e.operator)\" is not a selector operator; use In, NotIn, Exists or DoesNotExist")
            }
            for (vi, v) in values.enumerated() {
                if !KubeNames.isLabelValue(v) { error(ref, "\(ep).values[\(vi)]", "\"\(v)\" is not a valid label value: \(Self.labelValueHelp)") }
                if values[..<vi].contains(v) { error(ref, "\(ep).values[\(vi)]", "\"\(v)\" is listed twice; list each value once") }
            }
            let key = "\(e.key) \(e.operator) \(values.sorted())"
            if let prev = seenExpr[key] {
                error(ref, ep, "duplicates \(p).matchExpressions[\(prev)]; each expression may appear once")
            } else {
                seenExpr[key] = j
            }
        }
    }

    /// Errors for repeated entries of a list of names.
    mutating func checkNoDuplicates(_ ref: ObjectRef, _ path: String, _ list: [String]?, what: String) {
        guard let list else { return }
        for (i, s) in list.enumerated() where list[..<i].contains(s) {
            error(ref, "\(path)[\(i)]", "\(what) \"\(s)\" is listed twice; list each \(what) once")
        }
    }

    /// The indices of the pools an advertisement selects (all when it names none and selects none).
    func selectedPools(_ names: [String]?, _ selectors: [LabelSelector]?) -> [Int] {
        c.poolIndices(named: names, selectedBy: selectors)
    }

    /// Names of the nodes selected by `selectors` (all when empty); nil when the nodes are unknown.
    func selectedNodes(_ selectors: [LabelSelector]?) -> Set<String>? {
        guard let nodes = c.nodes else { return nil }
        let sels = selectors ?? []
        return Set(nodes.filter { n in sels.isEmpty || sels.contains { $0.matches(n.metadata.labels ?? [:]) } }.map(\.name))
    }

    // MARK: run

    mutating func run() {
        checkObjectIdentities()
        checkCommunities()
        checkPools()
        checkL2Advertisements()
        checkBGPAdvertisements()
        checkBFDProfiles()
        checkPeers()
        checkMetalLBs()
    }

    /// Names present, namespaces right, no object twice.
    mutating func checkObjectIdentities() {
        var all: [(ObjectRef, ObjectMeta)] = []
        all += c.ipAddressPools.map { (ObjectRef($0), $0.metadata) }
        all += c.l2Advertisements.map { (ObjectRef($0), $0.metadata) }
        all += c.bgpAdvertisements.map { (ObjectRef($0), $0.metadata) }
        all += c.bgpPeers.map { (ObjectRef($0), $0.metadata) }
        all += c.bfdProfiles.map { (ObjectRef($0), $0.metadata) }
        all += c.communities.map { (ObjectRef($0), $0.metadata) }
        all += c.metalLBs.map { (ObjectRef($0), $0.metadata) }
        var seen = Set<ObjectRef>()
        for (ref, meta) in all {
            if (meta.name ?? "").isEmpty {
                error(ref, "metadata.name", "is required")
                continue
            }
            if !inOperatorNamespace(meta) {
                error(ref, "metadata.namespace",
                    "is \"\(meta.namespace ?? "")\", but MetalLB reads \(ref.kind) objects only from its own namespace \"\(ns)\"; create the object there")
            }
            var key = ref
            key.namespace = (meta.namespace ?? "").isEmpty ? ns : meta.namespace
            if !seen.insert(key).inserted {
                error(ref, "metadata.name", "another \(ref.kind) with this name is in the same configuration; names must be unique per kind")
            }
        }
    }

    // MARK: Community

    mutating func checkCommunities() {
        var definedIn: [String: (String, Int)] = [:]
        for co in c.communities {
            let ref = ObjectRef(co)
            for (i, alias) in (co.spec?.communities ?? []).enumerated() {
                let p = "spec.communities[\(i)]"
                let name = alias.name ?? ""
                if name.isEmpty { error(ref, "\(p).name", "is required: the alias used in BGPAdvertisement.communities") }
                var parsed: BGPCommunity?
                if let value = alias.value, !value.isEmpty {
                    do { parsed = try BGPCommunity.parse(value) } catch let e as CommunityParseError {
                        error(ref, "\(p).value", e.mayBeAlias
                            ? "\"\(value)\" is not a community value: write AA:NN (two numbers 0-65535) or large:A:B:C (three numbers 0-4294967295); aliases cannot refer to other aliases"
                            : e.message)
                    } catch {}
                } else {
                    error(ref, "\(p).value", "is required: a community AA:NN (two numbers 0-65535) or large:A:B:C (three numbers 0-4294967295)")
                }
                guard !name.isEmpty else { continue }
                if let (other, j) = definedIn[name] {
                    error(ref, "\(p).name",
                        "alias \"\(name)\" is already defined in Community \(other) (spec.communities[\(j)]); alias names must be unique across all Community objects")
                    continue
                }
                definedIn[name] = (co.name, i)
                if let parsed { aliases[name] = parsed }
            }
        }
    }

    // MARK: IPAddressPool

    mutating func checkPools() {
        var earlier: [(pool: Int, entry: Int, addr: PoolAddress)] = []
        for (pi, pool) in c.ipAddressPools.enumerated() {
            let ref = ObjectRef(pool)
            var parsed: [PoolAddress?] = []
            if pool.spec.addresses.isEmpty {
                error(ref, "spec.addresses",
                    "must list at least one address range: a CIDR like 192.168.10.0/24 or a range like 192.168.9.1-192.168.9.5")
            }
            for (j, text) in pool.spec.addresses.enumerated() {
                let p = "spec.addresses[\(j)]"
                do {
                    let a = try PoolAddress.parse(text)
                    parsed.append(a)
                    if a.hostBitsSet {
                        warning(ref, p,
                            "\"\(text)\" has host bits set; it is read as \(a.canonical) (all \(a.range.count == .max ? "the" : String(a.range.count)) addresses of the prefix), as MetalLB does; write \(a.canonical), or \(a.writtenAddress!.description)/\(a.family.bitWidth) for that single address")
                    }
                    // Within the pool.
                    for (k, other) in parsed.dropLast().enumerated() {
                        if let other, other.range.overlaps(a.range) {
                            error(ref, p,
                                "\"\(text)\" overlaps \"\(other.text)\" (spec.addresses[\(k)]) of the same pool; each address may be listed once")
                        }
                    }
                    // Across pools.
                    for e in earlier where e.pool != pi && e.addr.range.overlaps(a.range) {
                        let o = c.ipAddressPools[e.pool]
                        error(ref, p,
                            "\"\(text)\" overlaps \"\(e.addr.text)\" of IPAddressPool \(o.name) (spec.addresses[\(e.entry)]); an address may belong to one pool only")
                    }
                    earlier.append((pi, j, a))
                } catch let e as IPParseError {
                    parsed.append(nil)
                    error(ref, p, "\"\(text)\" is not a valid address range: \(e.reason)")
                } catch {
                    parsed.append(nil)
                }
            }
            poolAddresses.append(parsed)

            if let alloc = pool.spec.serviceAllocation {
                if let prio = alloc.priority, prio < 0 {
                    warning(ref, "spec.serviceAllocation.priority",
                        "is negative; use 0 (no priority, tried last) or a positive number (lower numbers are tried first)")
                }
                for (i, n) in (alloc.namespaces ?? []).enumerated() {
                    if !KubeNames.isDNSLabel(n) {
                        error(ref, "spec.serviceAllocation.namespaces[\(i)]",
                            "\"\(n)\" is not a valid namespace name: at most 63 lowercase letters, digits and \"-\", starting and ending with a letter or digit")
                    }
                }
                checkNoDuplicates(ref, "spec.serviceAllocation.namespaces", alloc.namespaces, what: "namespace")
                checkSelectors(ref, "spec.serviceAllocation.namespaceSelectors", alloc.namespaceSelectors)
                checkSelectors(ref, "spec.serviceAllocation.serviceSelectors", alloc.serviceSelectors)
            }
            if let st = pool.status {
                for (f, v) in [("assignedIPv4", st.assignedIPv4), ("assignedIPv6", st.assignedIPv6), ("availableIPv4", st.availableIPv4), ("availableIPv6", st.availableIPv6)] {
                    if let v, v < 0 { error(ref, "status.\(f)", "must not be negative") }
                }
            }
        }
        // Pools nobody announces.
        var announced = Set<Int>()
        for a in c.l2Advertisements { announced.formUnion(selectedPools(a.spec?.ipAddressPools, a.spec?.ipAddressPoolSelectors)) }
        for a in c.bgpAdvertisements { announced.formUnion(selectedPools(a.spec?.ipAddressPools, a.spec?.ipAddressPoolSelectors)) }
        for (i, pool) in c.ipAddressPools.enumerated() where !announced.contains(i) {
            warning(ObjectRef(pool), "",
                "no L2Advertisement or BGPAdvertisement selects this pool (yet): until one does, its addresses are assigned to Services but not announced")
        }
    }

    /// Warns about pool names that match no IPAddressPool.
    mutating func checkPoolNames(_ ref: ObjectRef, _ names: [String]?) {
        let known = Set(c.ipAddressPools.map(\.name))
        for (i, n) in (names ?? []).enumerated() where !known.contains(n) {
            warning(ref, "spec.ipAddressPools[\(i)]", "no IPAddressPool named \"\(n)\" exists; this entry has no effect until one does")
        }
    }

    // MARK: L2Advertisement

    mutating func checkL2Advertisements() {
        for adv in c.l2Advertisements {
            let ref = ObjectRef(adv)
            guard let spec = adv.spec else { continue }
            checkNoDuplicates(ref, "spec.ipAddressPools", spec.ipAddressPools, what: "pool")
            checkPoolNames(ref, spec.ipAddressPools)
            checkSelectors(ref, "spec.ipAddressPoolSelectors", spec.ipAddressPoolSelectors)
            checkSelectors(ref, "spec.nodeSelectors", spec.nodeSelectors)
            checkSelectors(ref, "spec.serviceSelectors", spec.serviceSelectors)
            for (i, name) in (spec.interfaces ?? []).enumerated() where !KubeNames.isInterfaceName(name) {
                error(ref, "spec.interfaces[\(i)]",
                    "\"\(name)\" is not a network interface name: 1 to 15 characters without \"/\", \":\" or spaces, like eth0")
            }
            checkNoDuplicates(ref, "spec.interfaces", spec.interfaces, what: "interface")
            for (i, pref) in (spec.preferredNodeSelectors ?? []).enumerated() {
                if !(1...100).contains(pref.weight) {
                    error(ref, "spec.preferredNodeSelectors[\(i)].weight", "is \(pref.weight); the weight must be from 1 to 100")
                }
                checkSelector(ref, "spec.preferredNodeSelectors[\(i)].preference", pref.preference)
            }
        }
    }

    // MARK: BGPAdvertisement

    mutating func checkBGPAdvertisements() {
        let peerNames = Set(c.bgpPeers.map(\.name))
        // Advertisements attached to each pool so far, for the LOCAL_PREF rule.
        var attached: [Int: [Int]] = [:]
        for (ai, adv) in c.bgpAdvertisements.enumerated() {
            let ref = ObjectRef(adv)
            if c.bgpPeers.isEmpty {
                warning(ref, "", "no BGPPeer exists: nothing is announced over BGP until one does")
            }
            guard let spec = adv.spec else {
                attach(ai, &attached)
                continue
            }
            var v4Length = 32
            var v6Length = 128
            var lengthsValid = true
            if let l = spec.aggregationLength {
                if (1...32).contains(l) { v4Length = Int(l) } else {
                    lengthsValid = false
                    error(ref, "spec.aggregationLength",
                        "is \(l); it must be from 1 to 32 (the IPv4 prefix length service addresses are announced with; 32 announces each address alone)")
                }
            }
            if let l = spec.aggregationLengthV6 {
                if (1...128).contains(l) { v6Length = Int(l) } else {
                    lengthsValid = false
                    error(ref, "spec.aggregationLengthV6",
                        "is \(l); it must be from 1 to 128 (the IPv6 prefix length service addresses are announced with; 128 announces each address alone)")
                }
            }
            if !(spec.serviceSelectors ?? []).isEmpty && (v4Length != 32 || v6Length != 128) {
                error(ref, "spec.serviceSelectors",
                    "serviceSelectors and aggregationLength are mutually exclusive: services can be selected only with the default aggregationLength (32) and aggregationLengthV6 (128)")
            }
            // Communities.
            checkNoDuplicates(ref, "spec.communities", spec.communities, what: "community")
            for (i, text) in (spec.communities ?? []).enumerated() {
                if aliases[text] != nil { continue }
                do {
                    _ = try BGPCommunity.parse(text)
                } catch let e as CommunityParseError {
                    if e.mayBeAlias {
                        error(ref, "spec.communities[\(i)]",
                            "\"\(text)\" is not a community and no Community object defines an alias with this name; write AA:NN (two numbers 0-65535), large:A:B:C (three numbers 0-4294967295), or define the alias in a Community object in namespace \(ns)",
                            missingReference: true)
                    } else {
                        error(ref, "spec.communities[\(i)]", e.message)
                    }
                } catch {}
            }
            checkNoDuplicates(ref, "spec.ipAddressPools", spec.ipAddressPools, what: "pool")
            checkPoolNames(ref, spec.ipAddressPools)
            checkNoDuplicates(ref, "spec.peers", spec.peers, what: "peer")
            for (i, n) in (spec.peers ?? []).enumerated() where !peerNames.contains(n) {
                warning(ref, "spec.peers[\(i)]", "no BGPPeer named \"\(n)\" exists; nothing is announced through this entry until one does")
            }
            checkSelectors(ref, "spec.ipAddressPoolSelectors", spec.ipAddressPoolSelectors)
            checkSelectors(ref, "spec.nodeSelectors", spec.nodeSelectors)
            checkSelectors(ref, "spec.serviceSelectors", spec.serviceSelectors)

            // Aggregation length against the prefixes of the selected pools (MetalLB's validateBGPAdvPerPool).
            if lengthsValid {
                for pi in selectedPools(spec.ipAddressPools, spec.ipAddressPoolSelectors) where pi < poolAddresses.count {
                    let pool = c.ipAddressPools[pi]
                    for (j, entry) in poolAddresses[pi].enumerated() {
                        guard let entry else { continue }
                        let aggregation = entry.family == .ipv4 ? v4Length : v6Length
                        let lowest = entry.prefixes.map(\.length).min() ?? entry.family.bitWidth
                        if aggregation < lowest {
                            let field = entry.family == .ipv4 ? "spec.aggregationLength" : "spec.aggregationLengthV6"
                            error(ref, field,
                                "\(aggregation) is shorter than the /\(lowest) prefix of \"\(entry.text)\" in IPAddressPool \(pool.name) (spec.addresses[\(j)]): the aggregated route would cover addresses outside the pool; use a value from \(lowest) to \(entry.family.bitWidth)")
                        }
                    }
                }
            }
            attach(ai, &attached)
        }
        checkLocalPrefConflicts(attached)
    }

    func attach(_ ai: Int, _ attached: inout [Int: [Int]]) {
        let spec = c.bgpAdvertisements[ai].spec
        for pi in selectedPools(spec?.ipAddressPools, spec?.ipAddressPoolSelectors) { attached[pi, default: []].append(ai) }
    }

    // Needs the node list; skipped without it, as in MetalLB.
    /// MetalLB's rule: advertisements of a pool sending the same prefixes to the same peers from the same nodes agree on LOCAL_PREF.
    mutating func checkLocalPrefConflicts(_ attached: [Int: [Int]]) {
        guard c.nodes != nil else { return }
        var reported = Set<[Int]>()
        for pi in attached.keys.sorted() {
            let advs = attached[pi] ?? []
            let families = Set((pi < poolAddresses.count ? poolAddresses[pi] : []).compactMap { $0?.family })
            for (n, ai) in advs.enumerated() {
                let a = c.bgpAdvertisements[ai].spec ?? BGPAdvertisementSpec()
                if !(a.serviceSelectors ?? []).isEmpty { continue }
                for bi in advs[..<n] {
                    let b = c.bgpAdvertisements[bi].spec ?? BGPAdvertisementSpec()
                    if !(b.serviceSelectors ?? []).isEmpty { continue }
                    if (a.localPref ?? 0) == (b.localPref ?? 0) { continue }
                    let a4 = a.aggregationLength ?? 32, b4 = b.aggregationLength ?? 32
                    let a6 = a.aggregationLengthV6 ?? 128, b6 = b.aggregationLengthV6 ?? 128
                    let hasV4 = families.contains(.ipv4), hasV6 = families.contains(.ipv6)
                    if !hasV4 && !hasV6 { continue }
                    if a4 != b4 && !hasV6 { continue }
                    if a6 != b6 && !hasV4 { continue }
                    if a4 != b4 && a6 != b6 { continue }
                    let ap = a.peers ?? [], bp = b.peers ?? []
                    if !ap.isEmpty && !bp.isEmpty && Set(ap).isDisjoint(with: bp) { continue }
                    let an = selectedNodes(a.nodeSelectors) ?? [], bn = selectedNodes(b.nodeSelectors) ?? []
                    if an.isDisjoint(with: bn) { continue }
                    guard reported.insert([ai, bi]).inserted else { continue }
                    let other = c.bgpAdvertisements[bi]
                    error(ObjectRef(c.bgpAdvertisements[ai]), "spec.localPref",
                        "\(a.localPref ?? 0) conflicts with localPref \(b.localPref ?? 0) of BGPAdvertisement \(other.name): both announce the addresses of IPAddressPool \(c.ipAddressPools[pi].name) with the same aggregation to the same peers from the same nodes; use the same localPref, or tell them apart by aggregationLength, peers or nodeSelectors")
                }
            }
        }
    }

    // MARK: BFDProfile

    mutating func checkBFDProfiles() {
        for profile in c.bfdProfiles {
            let ref = ObjectRef(profile)
            guard let s = profile.spec else { continue }
            let checks: [(String, UInt32?, ClosedRange<UInt32>, String)] = [
                ("receiveInterval", s.receiveInterval, BFDProfileSpec.intervalRange, " milliseconds"),
                ("transmitInterval", s.transmitInterval, BFDProfileSpec.intervalRange, " milliseconds"),
                ("echoInterval", s.echoInterval, BFDProfileSpec.intervalRange, " milliseconds"),
                ("detectMultiplier", s.detectMultiplier, BFDProfileSpec.detectMultiplierRange, ""),
                ("minimumTtl", s.minimumTtl, BFDProfileSpec.minimumTtlRange, ""),
            ]
            for (field, value, range, unit) in checks {
                if let v = value, !range.contains(v) {
                    error(ref, "spec.\(field)", "is \(v); it must be from \(range.lowerBound) to \(range.upperBound)\(unit)")
                }
            }
        }
    }

    // MARK: BGPPeer

    mutating func checkPeers() {
        let profiles = Dictionary(c.bfdProfiles.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for peer in c.bgpPeers {
            checkPeer(peer, profiles)
        }
        checkDuplicatePeers()
        checkBFDEchoWithIPv6()
    }

    mutating func checkPeer(_ peer: BGPPeer, _ profiles: [String: BFDProfile]) {
        let ref = ObjectRef(peer)
        let s = peer.spec
        let v1beta1 = peer.isV1beta1

        // AS numbers.
        if s.myASN == 0 {
            error(ref, "spec.myASN", "is required: the local AS number, from 1 to 4294967295")
        }
        let peerASN = s.peerASN ?? 0
        let dynamic = s.dynamicASN ?? ""
        if peerASN == 0 && dynamic.isEmpty {
            error(ref, "spec.peerASN", v1beta1
                ? "is required: the peer's AS number, from 1 to 4294967295"
                : "is required unless dynamicASN is set: give the peer's AS number (1 to 4294967295), or dynamicASN: internal or external")
        }
        if peerASN != 0 && !dynamic.isEmpty {
            error(ref, "spec.dynamicASN", "peerASN and dynamicASN are mutually exclusive; set only one of them")
        }
        if !dynamic.isEmpty && DynamicASNMode(rawValue: dynamic) == nil {
            error(ref, "spec.dynamicASN", "is \"\(dynamic)\"; it must be internal (the peer has our AS number) or external (any other AS number)")
        }
        if let l = s.localASN, l == 0 {
            error(ref, "spec.localASN", "must be from 1 to 4294967295, or left unset to present myASN")
        }
        for (field, asn) in [("myASN", s.myASN), ("peerASN", s.peerASN ?? 0), ("localASN", s.localASN ?? 0)] {
            if let why = Self.reservedASNs[asn] {
                warning(ref, "spec.\(field)", "\(asn) is reserved (\(why)) and should not be used as an AS number")
            }
        }
        if s.ebgpMultiHop == true && s.myASN != 0 && s.isInternal {
            error(ref, "spec.ebgpMultiHop", "is for eBGP peers only, but this peer is iBGP (its AS number is myASN); remove ebgpMultiHop")
        }

        // Where to connect.
        let address = s.peerAddress ?? ""
        let iface = s.interface ?? ""
        var peerIP: IPAddress?
        if address.isEmpty && iface.isEmpty {
            error(ref, "spec.peerAddress", v1beta1
                ? "is required: the address of the router to connect to"
                : "is required unless interface is set: give the router's address, or the interface for unnumbered BGP")
        }
        if !address.isEmpty && !iface.isEmpty {
            error(ref, "spec.interface", "peerAddress and interface are mutually exclusive; set only one of them")
        }
        if !address.isEmpty {
            do {
                let ip = try IPAddress.parse(address)
                peerIP = ip
                if ip.isUnspecified || ip.isMulticast {
                    error(ref, "spec.peerAddress", "\(ip) is not a router address; use the unicast address of the router")
                }
            } catch let e as IPParseError {
                error(ref, "spec.peerAddress", "\"\(address)\" is not an IP address: \(e.reason)")
            } catch {}
        }
        if !iface.isEmpty && !KubeNames.isInterfaceName(iface) {
            error(ref, "spec.interface", "\"\(iface)\" is not a network interface name: 1 to 15 characters without \"/\", \":\" or spaces, like eth0")
        }
        if let src = s.sourceAddress, !src.isEmpty {
            do {
                let ip = try IPAddress.parse(src)
                if let peerIP, peerIP.family != ip.family {
                    warning(ref, "spec.sourceAddress",
                        "\(ip) is \(ip.family) but peerAddress \(peerIP) is \(peerIP.family): the session cannot be opened from this address")
                }
            } catch let e as IPParseError {
                error(ref, "spec.sourceAddress", "\"\(src)\" is not an IP address: \(e.reason)")
            } catch {}
        }
        if let rid = s.routerID, !rid.isEmpty {
            if let ip = IPAddress(rid), ip.isIPv4 {
                if ip.isUnspecified { error(ref, "spec.routerID", "must not be 0.0.0.0 (RFC 6286); use a non-zero IPv4 address") }
            } else {
                error(ref, "spec.routerID", "\"\(rid)\" is not valid: the BGP identifier is an IPv4 address (32 bits, RFC 6286), like 10.0.0.1")
            }
        }
        if let port = s.peerPort {
            if port == 0 && !v1beta1 {
                error(ref, "spec.peerPort", "must be from 1 to 16384, or left unset for the BGP port 179")
            } else if port > 16384 {
                error(ref, "spec.peerPort", "is \(port); it must be from 1 to 16384 (default 179)")
            }
        }
        if let vrf = s.vrf, !vrf.isEmpty, !KubeNames.isInterfaceName(vrf) {
            error(ref, "spec.vrf", "\"\(vrf)\" is not a VRF device name: 1 to 15 characters without \"/\", \":\" or spaces")
        }

        checkTimers(ref, s)

        if let ct = s.connectTime {
            do {
                let d = try GoDuration.parse(ct)
                if d.nanoseconds % 1_000_000_000 != 0 {
                    error(ref, "spec.connectTime", "\(ct) is not a whole number of seconds; use e.g. \"10s\"")
                } else if d < .seconds(1) || d > .seconds(65535) {
                    error(ref, "spec.connectTime", "is \(d); it must be from 1s to 65535s")
                }
            } catch let e as GoDurationError {
                error(ref, "spec.connectTime", e.description)
            } catch {}
        }

        // Authentication.
        let password = s.password ?? ""
        if !password.isEmpty && s.passwordSecretName != nil {
            error(ref, "spec.passwordSecret", "password and passwordSecret are mutually exclusive; set only one of them")
        }
        if password.utf8.count > 80 {
            error(ref, "spec.password", "is \(password.utf8.count) bytes long; TCP MD5 keys (RFC 2385) are at most 80 bytes")
        }
        if let secretName = s.passwordSecretName {
            if let sns = s.passwordSecret?.namespace, !sns.isEmpty, sns != ns {
                warning(ref, "spec.passwordSecret.namespace",
                    "is \"\(sns)\", but the Secret is always read from MetalLB's namespace \"\(ns)\"; this namespace is ignored")
            }
            if let secrets = c.secrets {
                checkPasswordSecret(ref, secretName, secrets)
            }
        }

        // BFD.
        if let profile = s.bfdProfile, !profile.isEmpty {
            if let p = profiles[profile] {
                if s.ebgpMultiHop == true && p.spec?.echoMode == true {
                    warning(ref, "spec.bfdProfile",
                        "BFDProfile \(profile) enables echoMode, which multihop sessions do not support (RFC 5883); echo packets will not be sent")
                }
            } else {
                error(ref, "spec.bfdProfile", "no BFDProfile named \"\(profile)\" exists in namespace \(ns); create it or remove bfdProfile",
                    missingReference: true)
            }
        }

        checkSelectors(ref, "spec.nodeSelectors", s.nodeSelectors)

        if s.disableMP == true {
            warning(ref, "spec.disableMP", "is deprecated; use dualStackAddressFamily instead")
        }
        if v1beta1 {
            let newer: [(String, Bool)] = [
                ("dynamicASN", s.dynamicASN != nil), ("localASN", s.localASN != nil), ("interface", s.interface != nil),
                ("connectTime", s.connectTime != nil), ("passwordSecret", s.passwordSecret != nil),
                ("enableGracefulRestart", s.enableGracefulRestart != nil), ("vrf", s.vrf != nil), ("disableMP", s.disableMP != nil),
                ("dualStackAddressFamily", s.dualStackAddressFamily != nil),
            ]
            for (f, set) in newer where set {
                warning(ref, "spec.\(f)", "is not part of metallb.io/v1beta1; use apiVersion metallb.io/v1beta2 for this field")
            }
        }
    }

    /// AS numbers that are not to be used by a BGP speaker.
    static let reservedASNs: [UInt32: String] = [
        23456: "AS_TRANS, RFC 6793",
        65535: "RFC 7300",
        4_294_967_295: "RFC 7300",
    ]

    mutating func checkTimers(_ ref: ObjectRef, _ s: BGPPeerSpec) {
        var ok = true
        for (field, text) in [("holdTime", s.holdTime), ("keepaliveTime", s.keepaliveTime)] {
            guard let text else { continue }
            do {
                let d = try GoDuration.parse(text)
                if d < .zero {
                    ok = false
                    error(ref, "spec.\(field)", "is negative (\(text)); use 0 or a positive duration like \"90s\"")
                } else if d.nanoseconds % 1_000_000_000 != 0 {
                    warning(ref, "spec.\(field)", "\(text) is not a whole number of seconds; BGP carries whole seconds, so it is rounded down")
                }
            } catch let e as GoDurationError {
                ok = false
                error(ref, "spec.\(field)", e.description)
            } catch {
                ok = false
            }
        }
        guard ok, let t = try? s.timers() else { return }
        let hold = t.holdTime
        if hold != .zero && hold < .seconds(3) {
            if s.holdTime != nil {
                error(ref, "spec.holdTime",
                    "is \(hold); the hold time must be 0 (no keepalives) or at least 3s (RFC 4271 section 4.2)")
            } else {
                error(ref, "spec.keepaliveTime",
                    "is \(t.keepaliveTime), which makes the hold time 3 × keepaliveTime = \(hold); the hold time must be 0 or at least 3s, so use a keepaliveTime of at least 1s or set holdTime")
            }
        } else if hold > .seconds(65535) {
            error(ref, s.holdTime != nil ? "spec.holdTime" : "spec.keepaliveTime",
                "gives a hold time of \(hold); the hold time is at most 65535s (a 16-bit number of seconds, RFC 4271 section 4.2)")
        }
        if t.keepaliveTime > hold {
            error(ref, "spec.keepaliveTime",
                "is \(t.keepaliveTime), longer than holdTime \(hold); the keepalive interval must not exceed the hold time (usually it is a third of it)")
        }
    }

    mutating func checkPasswordSecret(_ ref: ObjectRef, _ name: String, _ secrets: [Secret]) {
        guard let secret = secrets.first(where: { $0.name == name && ($0.metadata.namespace ?? ns) == ns }) else {
            error(ref, "spec.passwordSecret.name",
                "no Secret named \"\(name)\" exists in namespace \(ns); create one of type \(MetalLBAPI.basicAuthSecretType) with the key \"\(MetalLBAPI.passwordSecretKey)\"",
                missingReference: true)
            return
        }
        if secret.type != MetalLBAPI.basicAuthSecretType {
            error(ref, "spec.passwordSecret.name",
                "Secret \(name) has type \"\(secret.type ?? "Opaque")\"; it must be of type \(MetalLBAPI.basicAuthSecretType)")
        }
        if secret.data?[MetalLBAPI.passwordSecretKey] == nil && secret.stringData?[MetalLBAPI.passwordSecretKey] == nil {
            error(ref, "spec.passwordSecret.name",
                "Secret \(name) has no key \"\(MetalLBAPI.passwordSecretKey)\"; put the password under that key")
        }
    }

    /// Two sessions to the same address, port and VRF from one node cannot coexist.
    mutating func checkDuplicatePeers() {
        func key(_ p: BGPPeer) -> String? {
            let s = p.spec
            let target: String
            if let a = s.parsedPeerAddress { target = a.description } else if let i = s.interface, !i.isEmpty { target = "interface " + i } else { return nil }
            return "\(target)|\(s.effectivePort)|\(s.vrf ?? "")"
        }
        func shareNode(_ a: BGPPeer, _ b: BGPPeer) -> Bool {
            if let an = selectedNodes(a.spec.nodeSelectors), let bn = selectedNodes(b.spec.nodeSelectors), !(c.nodes ?? []).isEmpty {
                return !an.isDisjoint(with: bn)
            }
            // Nodes unknown: assume peers meet unless both are pinned by different selectors.
            let sa = a.spec.nodeSelectors ?? [], sb = b.spec.nodeSelectors ?? []
            if sa.isEmpty || sb.isEmpty { return true }
            return sa.map(\.canonicalDescription).sorted() == sb.map(\.canonicalDescription).sorted()
        }
        for (i, p) in c.bgpPeers.enumerated() {
            guard let k = key(p) else { continue }
            for q in c.bgpPeers[..<i] where key(q) == k && shareNode(p, q) {
                let s = p.spec
                let target = s.parsedPeerAddress?.description ?? s.interface ?? ""
                let vrf = (s.vrf ?? "").isEmpty ? "the default VRF" : "VRF \(s.vrf!)"
                error(ObjectRef(p), s.parsedPeerAddress != nil ? "spec.peerAddress" : "spec.interface",
                    "BGPPeer \(q.name) already connects to \(target) port \(s.effectivePort) in \(vrf) from the same nodes; a node can have one session per peer address, port and VRF, so merge the two or give them disjoint nodeSelectors")
                break
            }
        }
    }

    /// MetalLB's rule: BFD echo mode cannot be used on peers that IPv6 pools are advertised to.
    mutating func checkBFDEchoWithIPv6() {
        let echo = Set(c.bfdProfiles.filter { $0.spec?.echoMode == true }.map(\.name))
        guard !echo.isEmpty else { return }
        var reported = Set<Int>()
        for (pi, entries) in poolAddresses.enumerated() where entries.contains(where: { $0?.family == .ipv6 }) {
            for adv in c.bgpAdvertisements {
                let spec = adv.spec
                guard selectedPools(spec?.ipAddressPools, spec?.ipAddressPoolSelectors).contains(pi) else { continue }
                let names = spec?.peers ?? []
                for (qi, peer) in c.bgpPeers.enumerated() where names.isEmpty || names.contains(peer.name) {
                    guard let prof = peer.spec.bfdProfile, echo.contains(prof), reported.insert(qi).inserted else { continue }
                    error(ObjectRef(peer), "spec.bfdProfile",
                        "BFDProfile \(prof) enables echoMode, which cannot be used here: BGPAdvertisement \(adv.name) announces the IPv6 addresses of IPAddressPool \(c.ipAddressPools[pi].name) to this peer; use a profile without echoMode")
                }
            }
        }
    }

    // MARK: MetalLB

    static let loadBalancerClassHelp = "a label-style name with an optional DNS prefix, like internal-vip or example.com/internal-vip"

    mutating func checkMetalLBs() {
        for m in c.metalLBs {
            let ref = ObjectRef(m)
            if let name = m.metadata.name, !name.isEmpty, name != MetalLBAPI.operatorObjectName {
                error(ref, "metadata.name",
                    "is \"\(name)\"; the MetalLB object must be named \"\(MetalLBAPI.operatorObjectName)\" (only that one is acted on)")
            }
            guard let s = m.spec else { continue }
            if let level = s.logLevel, !level.isEmpty, MetalLBLogLevel(rawValue: level) == nil {
                error(ref, "spec.logLevel", "is \"\(level)\"; it must be one of all, debug, info, warn, error, none")
            }
            if let backend = s.bgpBackend, !backend.isEmpty, backend != BGPBackend.native.rawValue {
                if BGPBackend(rawValue: backend) != nil {
                    error(ref, "spec.bgpBackend",
                        "\"\(backend)\" is not available: this MetalLB has one BGP implementation built in, the native one, which supports BFD and graceful restart; remove bgpBackend or set it to native")
                } else {
                    error(ref, "spec.bgpBackend", "is \"\(backend)\"; it must be empty or native")
                }
            }
            if s.frrk8sConfig != nil {
                error(ref, "spec.frrk8sConfig",
                    "is not supported: there is no frr-k8s backend here (the built-in native BGP backend has BFD and graceful restart, set on BGPPeer and BFDProfile); remove frrk8sConfig")
            }
            if let cls = s.loadBalancerClass, !cls.isEmpty, !Self.isLoadBalancerClass(cls) {
                error(ref, "spec.loadBalancerClass", "\"\(cls)\" is not valid: use \(Self.loadBalancerClassHelp)")
            }
            if let garp = s.speakerGratuitousARPInterval {
                do {
                    let d = try GoDuration.parse(garp)
                    if d < .zero || (d != .zero && d < .seconds(1)) {
                        error(ref, "spec.speakerGratuitousARPInterval", "is \(garp); it must be 0 (off) or at least 1s")
                    }
                } catch let e as GoDurationError {
                    error(ref, "spec.speakerGratuitousARPInterval", e.description + " (0 turns it off; otherwise at least 1s)")
                } catch {}
            }
            if let image = s.image, !image.isEmpty {
                warning(ref, "spec.image", "is deprecated and ignored: the images are chosen by the installation")
            }
            checkNodeSelectorMap(ref, "spec.nodeSelector", s.nodeSelector)
            checkNodeSelectorMap(ref, "spec.controllerNodeSelector", s.controllerNodeSelector)
            checkTolerations(ref, "spec.speakerTolerations", s.speakerTolerations)
            checkTolerations(ref, "spec.controllerTolerations", s.controllerTolerations)
            checkComponentConfig(ref, "spec.speakerConfig", s.speakerConfig)
            checkComponentConfig(ref, "spec.controllerConfig", s.controllerConfig)
        }
    }

    /// The operator's pattern `^([a-z0-9A-Z]([\w.\-]*[a-z0-9A-Z])?/)?[a-z0-9A-Z]([\w.\-]*[a-z0-9A-Z])?$`.
    static func isLoadBalancerClass(_ s: String) -> Bool {
        func part(_ p: Substring) -> Bool {
            guard let f = p.first, let l = p.last, f.isASCII && (f.isLetter || f.isNumber), l.isASCII && (l.isLetter || l.isNumber) else { return false }
            return p.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "." || $0 == "-") }
        }
        let parts = s.split(separator: "/", omittingEmptySubsequences: false)
        switch parts.count {
        case 1: return part(parts[0])
        case 2: return part(parts[0]) && part(parts[1])
        default: return false
        }
    }

    mutating func checkNodeSelectorMap(_ ref: ObjectRef, _ path: String, _ map: [String: String]?) {
        for (k, v) in (map ?? [:]).sorted(by: { $0.key < $1.key }) {
            if !KubeNames.isLabelKey(k) { error(ref, path, "\"\(k)\" is not a valid label key: \(Self.labelKeyHelp)") }
            if !KubeNames.isLabelValue(v) { error(ref, "\(path).\(k)", "\"\(v)\" is not a valid label value: \(Self.labelValueHelp)") }
        }
    }

    mutating func checkTolerations(_ ref: ObjectRef, _ path: String, _ tolerations: [Toleration]?) {
        for (i, t) in (tolerations ?? []).enumerated() {
            let p = "\(path)[\(i)]"
            let op = t.operator ?? ""
            let effect = t.effect ?? ""
            if !["", "Exists", "Equal"].contains(op) {
                error(ref, "\(p).operator", "is \"\(op)\"; it must be Exists or Equal")
            }
            if !["", "NoSchedule", "PreferNoSchedule", "NoExecute"].contains(effect) {
                error(ref, "\(p).effect", "is \"\(effect)\"; it must be NoSchedule, PreferNoSchedule, NoExecute, or empty for all effects")
            }
            if (t.key ?? "").isEmpty && op != "Exists" {
                error(ref, "\(p).operator", "must be Exists when key is empty (to tolerate every taint)")
            }
            if op == "Exists" && !(t.value ?? "").isEmpty {
                error(ref, "\(p).value", "must be empty when operator is Exists")
            }
            if let key = t.key, !key.isEmpty, !KubeNames.isLabelKey(key) {
                error(ref, "\(p).key", "\"\(key)\" is not a valid taint key: \(Self.labelKeyHelp)")
            }
            if let secs = t.tolerationSeconds, secs > 0, effect != "NoExecute" {
                error(ref, "\(p).tolerationSeconds", "is only allowed with effect NoExecute")
            }
        }
    }

    mutating func checkComponentConfig(_ ref: ObjectRef, _ path: String, _ config: MetalLBComponentConfig?) {
        guard let config else { return }
        if let pc = config.priorityClassName, !pc.isEmpty, !KubeNames.isDNSSubdomain(pc) {
            error(ref, "\(path).priorityClassName", "\"\(pc)\" is not a valid PriorityClass name (a DNS subdomain: lowercase letters, digits, \"-\" and \".\")")
        }
        if let rc = config.runtimeClassName, !rc.isEmpty, !KubeNames.isDNSSubdomain(rc) {
            error(ref, "\(path).runtimeClassName", "\"\(rc)\" is not a valid RuntimeClass name (a DNS subdomain: lowercase letters, digits, \"-\" and \".\")")
        }
        if let affinity = config.affinity {
            for kind in ["nodeAffinity", "podAffinity", "podAntiAffinity"] {
                for (i, term) in (affinity[kind]?["preferredDuringSchedulingIgnoredDuringExecution"]?.arrayValue ?? []).enumerated() {
                    let w = term["weight"]?.intValue
                    if w == nil || !(1...100).contains(w!) {
                        error(ref, "\(path).affinity.\(kind).preferredDuringSchedulingIgnoredDuringExecution[\(i)].weight",
                            "must be from 1 to 100")
                    }
                }
            }
        }
    }
}
