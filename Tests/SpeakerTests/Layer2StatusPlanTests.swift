import API
import Kube
import Speaker
import Testing

/// One ServiceL2Status per announced Service, none for the others, duplicates removed.
@Suite struct Layer2StatusPlanTests {
    typealias D = Layer2StatusPlan.Desired

    static func existing(_ name: String, _ ns: String, _ svc: String, interfaces: [String] = [], node: String? = "n1") -> ServiceL2Status {
        ServiceL2Status(
            metadata: ObjectMeta(name: name, labels: [Layer2StatusPlan.nodeLabel: "n1", Layer2StatusPlan.serviceNamespaceLabel: ns,
                                                      Layer2StatusPlan.serviceNameLabel: svc]),
            status: ServiceL2StatusStatus(node: node, serviceName: svc, serviceNamespace: ns,
                                          interfaces: interfaces.isEmpty ? nil : interfaces.map { InterfaceInfo(name: $0) }))
    }

    static func written(by writer: String, _ name: String, _ ns: String, _ svc: String) -> ServiceL2Status {
        var o = existing(name, ns, svc, node: writer)
        o.metadata.labels?[Layer2StatusPlan.nodeLabel] = writer
        return o
    }

    @Test func theNewOwnerRemovesObjectsOfGoneNodesOnlyForWhatItAnnounces() {
        let announced: Set<D> = [D(serviceNamespace: "a", serviceName: "web", interfaces: [])]
        let all = [
            Self.written(by: "n1", "l2-1", "a", "web"),     // ours: kept (the other plan handles it)
            Self.written(by: "n2", "l2-2", "a", "web"),     // a dead node's, for a Service we announce now: deleted
            Self.written(by: "n3", "l2-3", "a", "web"),     // a node not gone (alive, or not heard yet): kept
            Self.written(by: "n2", "l2-4", "a", "db"),      // a dead node's, for a Service we do not announce: not ours to touch
        ]
        #expect(Layer2StatusPlan.staleOfGoneNodes(all, node: "n1", gone: ["n2"], announced: announced) == ["l2-2"])
        #expect(Layer2StatusPlan.staleOfGoneNodes(all, node: "n1", gone: [], announced: announced).isEmpty)
        #expect(Layer2StatusPlan.staleOfGoneNodes(all, node: "n1", gone: ["n2", "n3"], announced: []).isEmpty)
        // Our own objects are never "gone".
        #expect(Layer2StatusPlan.staleOfGoneNodes(all, node: "n1", gone: ["n1"], announced: announced).isEmpty)
    }

    @Test func createsMissingDeletesStaleAndDuplicates() {
        let want: Set<D> = [D(serviceNamespace: "a", serviceName: "web", interfaces: []), D(serviceNamespace: "a", serviceName: "db", interfaces: ["eth1"])]
        let have = [Self.existing("l2-1", "a", "web"), Self.existing("l2-2", "a", "web"), Self.existing("l2-3", "a", "gone")]
        let writes = Layer2StatusPlan.writes(desired: want, existing: have)
        #expect(writes == [.delete(name: "l2-2"), .delete(name: "l2-3"), .create(D(serviceNamespace: "a", serviceName: "db", interfaces: ["eth1"]))])
    }

    @Test func updatesChangedInterfacesAndMissingStatus() {
        let want: Set<D> = [D(serviceNamespace: "a", serviceName: "web", interfaces: ["eth2", "eth1"])]
        #expect(Layer2StatusPlan.writes(desired: want, existing: [Self.existing("l2-1", "a", "web", interfaces: ["eth1", "eth2"])]).isEmpty)
        #expect(Layer2StatusPlan.writes(desired: want, existing: [Self.existing("l2-1", "a", "web", interfaces: ["eth1"])])
                == [.update(name: "l2-1", D(serviceNamespace: "a", serviceName: "web", interfaces: ["eth1", "eth2"]))])
        // Created, status not written yet (a crash between the two writes): written now.
        #expect(Layer2StatusPlan.writes(desired: want, existing: [Self.existing("l2-1", "a", "web", interfaces: ["eth1", "eth2"], node: nil)]).count == 1)
        #expect(Layer2StatusPlan.writes(desired: [], existing: []).isEmpty)
    }

    @Test func objectsCarryMetalLBsLabelsAndOwner() {
        let d = D(serviceNamespace: "apps", serviceName: "web", interfaces: ["eth0"])
        let o = Layer2StatusPlan.object(d, node: "n1", namespace: "metallb-system",
                                        owner: OwnerReference(apiVersion: "v1", kind: "Pod", name: "speaker-x", uid: "u"))
        #expect(o.metadata.generateName == "l2-" && o.metadata.namespace == "metallb-system")
        #expect(o.metadata.labels == ["metallb.io/node": "n1", "metallb.io/service-name": "web", "metallb.io/service-namespace": "apps"])
        #expect(o.metadata.ownerReferences?.first?.kind == "Pod")
        #expect(o.status == ServiceL2StatusStatus(node: "n1", serviceName: "web", serviceNamespace: "apps", interfaces: [InterfaceInfo(name: "eth0")]))
    }
}
