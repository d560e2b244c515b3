import Kube
import Yams

extension MetalLBRenderer {
    /// The objects as one multi-document YAML text (`---` between documents), mapping keys sorted, so that the same
    /// objects always give the same bytes (the golden files; `metallb operator render`-style output). Strings that a
    /// YAML reader would take for another type (`true`, `0`, `1.5`, `null`, `0400`, …) are quoted, so the text reads
    /// back as the same objects with `YAMLDocuments.parse` and with kubectl.
    public static func yaml(_ objects: [RenderedObject]) throws -> String {
        try objects.map { try yaml(.object($0.object.object)) }.joined(separator: "---\n")
    }

    /// One JSON value as a YAML document, keys sorted.
    public static func yaml(_ value: JSONValue) throws -> String {
        try Yams.serialize(node: yamlNode(value), indent: 2, width: -1, allowUnicode: true)
    }

    static func yamlNode(_ value: JSONValue) -> Yams.Node {
        switch value {
        case .null: return .scalar(.init("null", .implicit, .plain))
        case .bool(let b): return .scalar(.init(b ? "true" : "false", .implicit, .plain))
        case .int(let i): return .scalar(.init(String(i), .implicit, .plain))
        case .double(let d): return .scalar(.init(d.description, .implicit, .plain))
        case .string(let s): return .scalar(.init(s, .implicit, mayBeMisread(s) ? .singleQuoted : .any))
        case .array(let a): return .sequence(.init(a.map(yamlNode)))
        case .object(let o):
            return .mapping(.init(o.sorted { $0.key < $1.key }.map { (yamlNode(.string($0.key)), yamlNode($0.value)) }))
        }
    }

    /// Whether a plain scalar `s` could be read as something other than a string by a YAML 1.1 or 1.2 reader:
    /// empty, null/boolean/infinity words, or anything that starts like a number (a digit, or a sign or point before
    /// one; quoting "1.2.3" or a UID too is harmless). "--log-level=info" stays plain.
    static func mayBeMisread(_ s: String) -> Bool {
        guard let first = s.first else { return true }
        let words: Set<String> = ["~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", "<<", "=", ".inf", ".nan"]
        if words.contains(s.lowercased()) { return true }
        if first.isNumber { return true }
        if first == "+" || first == "-" || first == "." {
            let rest = s.dropFirst()
            guard let next = rest.first else { return true }
            if next.isNumber || next == "." { return true }
            if first != "." && words.contains(rest.lowercased()) { return true }
        }
        return false
    }
}
