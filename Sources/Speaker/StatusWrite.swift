/// One change a status plan asks for (`Layer2StatusPlan`, `BGPStatusPlan`): create an object for `Desired`, write
/// the status of an existing one, or delete one. `AnnounceReconciler.applyStatusWrites` carries them out.
public enum StatusWrite<Desired: Hashable & Sendable>: Hashable, Sendable {
    case create(Desired)
    case update(name: String, Desired)
    case delete(name: String)
}
