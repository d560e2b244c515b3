import API
import Foundation
import Kube
import Logging

/// The configuration a role runs on: the last one that validated. An invalid change is
/// refused and reported; the role keeps working on the previous one.
public actor ConfigurationTracker {
    public private(set) var current: Configuration?
    public private(set) var lastReport: ValidationReport?
    /// The last configuration whose verdict was written to the ConfigurationState.
    private(set) var lastReported: Configuration?
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    func record(_ config: Configuration, _ report: ValidationReport) {
        lastReport = report
        if report.isValid {
            current = config
            for w in waiters { w.resume() }
            waiters.removeAll()
        }
    }

    func markReported(_ config: Configuration) { lastReported = config }

    /// Returns once a valid configuration has been seen.
    public func waitForValid() async {
        if current != nil { return }
        await withCheckedContinuation { waiters.append($0) }
    }
}

/// Informers on every `metallb.io` configuration kind of a namespace, plus its basic-auth Secrets.
public struct ConfigurationInformers: Sendable {
    public let namespace: String
    public let pools: Informer<IPAddressPool>
    public let l2: Informer<L2Advertisement>
    public let bgpAdvertisements: Informer<BGPAdvertisement>
    public let peers: Informer<BGPPeer>
    public let bfdProfiles: Informer<BFDProfile>
    public let communities: Informer<Community>
    public let metalLBs: Informer<MetalLB>
    public let secrets: Informer<Secret>

    /// The informers of `namespace`, from the process's shared cache.
    public init(cache: InformerCache, namespace: String) async {
        self.namespace = namespace
        pools = await cache.informer(IPAddressPool.self, namespace: namespace)
        l2 = await cache.informer(L2Advertisement.self, namespace: namespace)
        bgpAdvertisements = await cache.informer(BGPAdvertisement.self, namespace: namespace)
        peers = await cache.informer(BGPPeer.self, namespace: namespace)
        bfdProfiles = await cache.informer(BFDProfile.self, namespace: namespace)
        communities = await cache.informer(Community.self, namespace: namespace)
        metalLBs = await cache.informer(MetalLB.self, namespace: namespace)
        secrets = await cache.informer(Secret.self, namespace: namespace, options: ListOptions(fieldSelector: "type=\(MetalLBAPI.basicAuthSecretType)"))
    }

    /// The configuration as the caches have it now.
    public func snapshot() async -> Configuration {
        func sorted<T: KubeObject>(_ xs: [T]) -> [T] { xs.sorted { $0.name < $1.name } }
        return Configuration(
            operatorNamespace: namespace, ipAddressPools: sorted(await pools.list()), l2Advertisements: sorted(await l2.list()),
            bgpAdvertisements: sorted(await bgpAdvertisements.list()), bgpPeers: sorted(await peers.list()),
            bfdProfiles: sorted(await bfdProfiles.list()), communities: sorted(await communities.list()),
            metalLBs: sorted(await metalLBs.list()), secrets: sorted(await secrets.list()), nodes: nil)
    }

    /// Feeds every change of any kind to `controller` as the one key `key`.
    public func watch(with controller: Controller, key: ObjectKey) async {
        let one: @Sendable (any Sendable) -> [ObjectKey] = { _ in [key] }
        await controller.watch(pools, map: one)
        await controller.watch(l2, map: one)
        await controller.watch(bgpAdvertisements, map: one)
        await controller.watch(peers, map: one)
        await controller.watch(bfdProfiles, map: one)
        await controller.watch(communities, map: one)
        await controller.watch(metalLBs, map: one)
        await controller.watch(secrets, map: one)
    }
}

/// Validates the configuration whenever it changes, records it in the tracker, and writes
/// the role's `ConfigurationState` (`controller`, or `speaker-<node>`): result Valid/Invalid,
/// the errors, and a `ConfigurationValid` condition whose transition time moves only when its
/// status does.
public struct ConfigurationReconciler: Reconciler {
    let client: KubeClient
    /// The object this role reports in (name and labels; see `ConfigurationState.forController`/`forSpeaker`).
    let stateObject: ConfigurationState
    /// The server-side-apply field manager of the role, e.g. "metallb-controller".
    let fieldManager: String
    let informers: ConfigurationInformers
    let tracker: ConfigurationTracker
    let recorder: EventRecorder?
    let onValid: (@Sendable () async -> Void)?
    let onValidated: (@Sendable (Bool) async -> Void)?
    let logger: Logger

    /// - Parameter onValid: called after each valid configuration is recorded (the Service
    ///   controller re-checks every Service then).
    /// - Parameter onValidated: called after every validation with its verdict (metrics).
    public init(
        client: KubeClient, informers: ConfigurationInformers, tracker: ConfigurationTracker,
        stateObject: ConfigurationState, fieldManager: String, recorder: EventRecorder? = nil,
        onValid: (@Sendable () async -> Void)? = nil, onValidated: (@Sendable (_ valid: Bool) async -> Void)? = nil,
        logger: Logger = Logger(label: "config")
    ) {
        self.stateObject = stateObject
        self.fieldManager = fieldManager
        self.onValidated = onValidated
        self.client = client
        self.informers = informers
        self.tracker = tracker
        self.recorder = recorder
        self.onValid = onValid
        self.logger = logger
    }

    public func reconcile(_ key: ObjectKey) async throws -> ReconcileResult {
        let config = await informers.snapshot().withoutStatus
        // The pool status the controller writes after allocations comes back here as a pool
        // change: nothing the rules read changed, so nothing is validated, written or re-run.
        if await tracker.lastReported == config { return .done }
        let report = config.validate()
        let hadValid = await tracker.current != nil
        await tracker.record(config, report)
        await onValidated?(report.isValid)
        if report.isValid {
            logger.info("configuration valid", metadata: ["pools": "\(config.ipAddressPools.count)", "warnings": "\(report.warnings.count)"])
        } else {
            logger.error("configuration invalid; \(hadValid ? "keeping the last valid one" : "no valid configuration yet")", metadata: ["errors": "\(report.errors.map(\.description))"])
        }
        try await writeState(report, namespace: informers.namespace)
        await tracker.markReported(config)
        if report.isValid { await onValid?() }
        return .done
    }

    func writeState(_ report: ValidationReport, namespace: String) async throws {
        let states = client.resource(ConfigurationState.self, namespace: namespace)
        var object = stateObject
        object.metadata.namespace = namespace
        object.setTypeMeta()
        let live = try await states.getIfExists(object.name)
        if live == nil { _ = try await states.apply(object, name: object.name, fieldManager: fieldManager, force: true) }

        let valid = report.isValid
        let summary = report.errors.map(\.description).joined(separator: "; ")
        let previous = live?.status?.conditions?.first { $0.type == "ConfigurationValid" }
        let status = valid ? "True" : "False"
        let condition = Condition(
            type: "ConfigurationValid", status: status, observedGeneration: nil,
            lastTransitionTime: previous?.status == status ? previous!.lastTransitionTime : KubeTime.time(),
            reason: valid ? "Valid" : "Invalid",
            message: valid ? "the configuration is valid (\(report.warnings.count) warnings)" : String(summary.prefix(1024)))
        var state = object
        state.status = ConfigurationStateStatus(result: valid ? .valid : .invalid, errorSummary: valid ? nil : String(summary.prefix(4096)), conditions: [condition])
        if live?.status?.result != state.status?.result || live?.status?.errorSummary != state.status?.errorSummary {
            if !valid, let recorder {
                await recorder.record(state, .warning, reason: "InvalidConfiguration", message: String(summary.prefix(1024)))
            }
        }
        _ = try await states.apply(state, name: state.name, fieldManager: fieldManager, force: true, subresource: "status")
    }
}

extension Configuration {
    /// The configuration without what changes while nothing the rules read does: the status
    /// of pools and MetalLB objects, and their resourceVersions and managed fields.
    public var withoutStatus: Configuration {
        var c = self
        c.ipAddressPools = c.ipAddressPools.map { Self.unversioned($0, clearing: \.status) }
        c.metalLBs = c.metalLBs.map { Self.unversioned($0, clearing: \.status) }
        return c
    }

    /// `object` without `status`, its resourceVersion and its managed fields.
    static func unversioned<T: KubeObject, S>(_ object: T, clearing status: WritableKeyPath<T, S?>) -> T {
        var o = object
        o[keyPath: status] = nil
        o.metadata.resourceVersion = nil
        o.metadata.managedFields = nil
        return o
    }
}
