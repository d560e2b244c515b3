import API
import Kube
import Operator
import Testing

/// The MetalLB status from what the operator saw.
struct MetalLBStatusPlanTests {
    static func metallb(generation: Int64 = 3, status: MetalLBStatus? = nil) -> MetalLB {
        var m = MetalLB(metadata: ObjectMeta(name: "metallb", namespace: "metallb-system"), status: status)
        m.metadata.generation = generation
        return m
    }

    static func healthy() -> OperatorObservation {
        var o = OperatorObservation()
        o.deployment = DeploymentStatus(observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1)
        o.deploymentGeneration = 1
        o.daemonSet = DaemonSetStatus(desiredNumberScheduled: 3, numberReady: 3, observedGeneration: 2, updatedNumberScheduled: 3)
        o.daemonSetGeneration = 2
        o.webhookRegistered = true
        return o
    }

    func condition(_ s: MetalLBStatus, _ t: MetalLBConditionType) -> Condition? { s.conditions?.first { $0.type == t.rawValue } }

    @Test func allReady() {
        let s = MetalLBStatusPlan.status(for: Self.metallb(), observed: Self.healthy(), previous: nil, now: "2026-12-06T07:00:00Z")
        #expect(s.speakers == "3/3")
        #expect(s.controllerReady == true)
        #expect(s.observedGeneration == 3)
        #expect(condition(s, .available)?.status == "True")
        #expect(condition(s, .progressing)?.status == "False")
        #expect(condition(s, .degraded)?.status == "False")
        #expect(condition(s, .upgradeable)?.status == "True")
        #expect(s.conditions?.allSatisfy { $0.lastTransitionTime == "2026-12-06T07:00:00Z" && $0.observedGeneration == 3 } == true)
    }

    @Test func transitionTimeMovesOnlyWhenTheStatusDoes() {
        let first = MetalLBStatusPlan.status(for: Self.metallb(), observed: Self.healthy(), previous: nil, now: "T1")
        var o = Self.healthy()
        o.daemonSet?.numberReady = 2
        let second = MetalLBStatusPlan.status(for: Self.metallb(status: first), observed: o, previous: first, now: "T2")
        #expect(condition(second, .available)?.status == "False")
        #expect(condition(second, .available)?.lastTransitionTime == "T2")
        #expect(condition(second, .degraded)?.lastTransitionTime == "T1", "Degraded stayed False")
        #expect(second.speakers == "2/3")
        #expect(condition(second, .available)?.message.contains("speakers 2/3") == true)
    }

    @Test func rollingOutIsProgressing() {
        var o = Self.healthy()
        o.daemonSet?.updatedNumberScheduled = 1
        let s = MetalLBStatusPlan.status(for: Self.metallb(), observed: o, previous: nil, now: "T")
        #expect(condition(s, .progressing)?.status == "True")
        #expect(condition(s, .progressing)?.reason == "RollingOut")
        o = Self.healthy()
        o.daemonSetGeneration = 5  // the DaemonSet controller has not seen the new spec yet
        #expect(condition(MetalLBStatusPlan.status(for: Self.metallb(), observed: o, previous: nil, now: "T"), .progressing)?.status == "True")
    }

    @Test func degradedNamesTheFailingPiece() {
        var o = Self.healthy()
        o.daemonSet?.numberReady = 2
        var pod = Pod(metadata: ObjectMeta(name: "speaker-x", namespace: "metallb-system", labels: ["app": "metallb", "component": "speaker"]))
        pod.spec = PodSpec(containers: [Container(name: "speaker", image: "i")], nodeName: "node-2")
        pod.status = PodStatus()
        pod.status?.containerStatuses = [ContainerStatus(name: "speaker", restartCount: 4, state: ["waiting": ["reason": "CrashLoopBackOff", "message": "back-off 40s"]])]
        o.pods = [pod]
        let s = MetalLBStatusPlan.status(for: Self.metallb(), observed: o, previous: nil, now: "T")
        let d = condition(s, .degraded)
        #expect(d?.status == "True")
        #expect(d?.reason == "ComponentCrashLooping")
        #expect(d?.message == "speaker on node-2: CrashLoopBackOff, 4 restart(s) (back-off 40s)")
        #expect(condition(s, .upgradeable)?.status == "False")
    }

    @Test func aRefusedSpecIsDegradedWithItsReason() {
        var o = OperatorObservation()
        o.renderError = RenderError(reason: "UnsupportedBGPBackend", message: "bgpBackend frr is not supported")
        let s = MetalLBStatusPlan.status(for: Self.metallb(), observed: o, previous: nil, now: "T")
        #expect(condition(s, .degraded)?.reason == "UnsupportedBGPBackend")
        #expect(condition(s, .available)?.status == "False")
        #expect(condition(s, .available)?.reason == "SpecRefused")
        #expect(s.speakers == "0/0")
    }

    @Test func noNodeSelectedIsNotAvailableAndSaysWhy() {
        var o = Self.healthy()
        o.daemonSet = DaemonSetStatus(desiredNumberScheduled: 0, numberReady: 0, observedGeneration: 2, updatedNumberScheduled: 0)
        let s = MetalLBStatusPlan.status(for: Self.metallb(), observed: o, previous: nil, now: "T")
        #expect(condition(s, .available)?.status == "False")
        #expect(condition(s, .available)?.message.contains("nodeSelector") == true)
    }
}
