import API
import Kube

/// What the operator saw of what it runs, to compute the `MetalLB` status from (pure: `MetalLBStatusPlan.status`).
public struct OperatorObservation: Sendable, Hashable {
    /// Why nothing could be rendered (refused spec), if so.
    public var renderError: RenderError?
    /// Objects that could not be applied, with the API server's answer.
    public var applyErrors: [String] = []
    public var deployment: DeploymentStatus?
    public var deploymentGeneration: Int64?
    public var daemonSet: DaemonSetStatus?
    public var daemonSetGeneration: Int64?
    /// Pods of the controller and the speakers (label app=metallb).
    public var pods: [Pod] = []
    /// Whether the webhook is registered (its configuration applied with a CA bundle).
    public var webhookRegistered = false
    /// A webhook certificate problem, if any.
    public var certificateError: String?

    public init() {}
}

/// The `MetalLB` status from an observation: conditions Available, Progressing, Degraded, Upgradeable with reasons a
/// user can act on; `lastTransitionTime` moves only when a condition's status changes.
public enum MetalLBStatusPlan {
    public static func status(for metallb: MetalLB, observed o: OperatorObservation, previous: MetalLBStatus?, now: String) -> MetalLBStatus {
        var s = MetalLBStatus(observedGeneration: metallb.metadata.generation)
        let desired = o.daemonSet?.desiredNumberScheduled ?? 0
        let ready = o.daemonSet?.numberReady ?? 0
        s.setSpeakers(ready: ready, desired: desired)
        let controllerReady = (o.deployment?.readyReplicas ?? 0) >= 1
        s.controllerReady = controllerReady

        // Degraded: something is wrong that waiting will not fix.
        var degraded: (String, String)?
        if let e = o.renderError {
            degraded = (e.reason, e.message)
        } else if let e = o.certificateError {
            degraded = ("WebhookCertificateError", e)
        } else if !o.applyErrors.isEmpty {
            degraded = ("ApplyFailed", "could not apply: " + o.applyErrors.joined(separator: "; "))
        } else if let crash = crashLooping(o.pods) {
            degraded = ("ComponentCrashLooping", crash)
        }

        let rolloutDone = rolledOut(o)
        let available = o.renderError == nil && controllerReady && desired > 0 && ready == desired
        var conditions: [(MetalLBConditionType, Bool, String, String)] = []
        if available {
            conditions.append((.available, true, "AllComponentsReady", "controller ready, speakers \(ready)/\(desired)"
                + (o.webhookRegistered ? ", webhook registered" : ", webhook not registered yet")))
        } else {
            let why = o.renderError != nil ? "the MetalLB spec is refused (see Degraded)"
                : desired == 0 ? (o.daemonSet == nil ? "the speaker DaemonSet does not exist yet" : "no node runs a speaker (check nodeSelector and speakerTolerations)")
                : "controller \(controllerReady ? "ready" : "not ready"), speakers \(ready)/\(desired)"
            conditions.append((.available, false, o.renderError != nil ? "SpecRefused" : "ComponentsNotReady", why))
        }
        if o.renderError == nil && !rolloutDone {
            conditions.append((.progressing, true, "RollingOut", "controller \(o.deployment?.updatedReplicas ?? 0) updated, speakers \(o.daemonSet?.updatedNumberScheduled ?? 0)/\(desired) updated, \(ready) ready"))
        } else {
            conditions.append((.progressing, false, o.renderError != nil ? "SpecRefused" : "RolloutComplete", o.renderError != nil ? "nothing is rolled out for a refused spec" : "every component runs the current version"))
        }
        if let (reason, message) = degraded {
            conditions.append((.degraded, true, reason, message))
        } else {
            conditions.append((.degraded, false, "AsExpected", "no problem seen"))
        }
        conditions.append((.upgradeable, degraded == nil, degraded == nil ? "AsExpected" : "Degraded",
                           degraded == nil ? "an upgrade may start" : "fix what Degraded says before upgrading"))

        s.conditions = conditions.map { type, isTrue, reason, message in
            let status = isTrue ? "True" : "False"
            let old = previous?.conditions?.first { $0.type == type.rawValue }
            return Condition(type: type.rawValue, status: status, observedGeneration: metallb.metadata.generation,
                             lastTransitionTime: old?.status == status ? old!.lastTransitionTime : now, reason: reason,
                             message: String(message.prefix(1000)))
        }
        return s
    }

    /// Whether both workloads have seen their latest spec and every replica runs it.
    static func rolledOut(_ o: OperatorObservation) -> Bool {
        guard let d = o.deployment, let ds = o.daemonSet else { return false }
        if let g = o.deploymentGeneration, (d.observedGeneration ?? 0) < g { return false }
        if let g = o.daemonSetGeneration, (ds.observedGeneration ?? 0) < g { return false }
        return (d.updatedReplicas ?? 0) >= 1 && (ds.updatedNumberScheduled ?? 0) == (ds.desiredNumberScheduled ?? 0)
    }

    /// "speaker on node-2: CrashLoopBackOff (back-off 40s restarting failed container...)" for the first pod whose
    /// container waits in a crash loop or cannot get its image; nil when none.
    static func crashLooping(_ pods: [Pod]) -> String? {
        let bad = ["CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError", "CreateContainerError", "RunContainerError"]
        for pod in pods.sorted(by: { $0.name < $1.name }) {
            for c in pod.status?.containerStatuses ?? [] {
                guard let waiting = c.state?["waiting"], let reason = waiting["reason"]?.stringValue, bad.contains(reason) else { continue }
                let component = pod.metadata.labels?["component"] ?? pod.name
                let node = pod.spec?.nodeName.map { " on \($0)" } ?? ""
                let message = waiting["message"]?.stringValue.map { " (\($0.prefix(200)))" } ?? ""
                return "\(component)\(node): \(reason), \(c.restartCount) restart(s)\(message)"
            }
        }
        return nil
    }
}
