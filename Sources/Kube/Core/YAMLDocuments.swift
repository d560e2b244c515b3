import Foundation
import Yams

/// YAML manifests as kubectl reads them: multi-document files, each document turned into
/// JSON. Plain scalars are typed the way kubectl (go-yaml v2) types them — `true`/`yes`/`on`
/// and friends are booleans, `~`/`null` is null, decimal, `0x` and leading-zero octal are
/// integers — and nothing else, so a community such as `1234:1` stays a string (a YAML 1.1
/// reader would take it for a base-60 number). Quoted and block scalars are always strings.
public enum YAMLDocuments {
    public struct ParseError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public init(message: String) { self.message = message }
        public var description: String { message }
    }

    /// Every non-empty document of `text`, in order.
    public static func parse(_ text: String, source: String = "input") throws(ParseError) -> [JSONValue] {
        do {
            var out: [JSONValue] = []
            for node in try Yams.compose_all(yaml: text, .basic) {
                let v = try convert(node)
                if v != .null { out.append(v) }
            }
            return out
        } catch let e as ParseError {
            throw ParseError(message: "\(source): \(e.message)")
        } catch {
            throw ParseError(message: "\(source): not valid YAML: \(error)")
        }
    }

    static func convert(_ node: Yams.Node) throws -> JSONValue {
        switch node {
        case .scalar(let s):
            return s.style == .plain || s.style == .any ? plain(s.string) : .string(s.string)
        case .sequence(let seq):
            return .array(try seq.map(convert))
        case .mapping(let map):
            var o: [String: JSONValue] = [:]
            for (k, v) in map {
                guard case .scalar(let ks) = k else {
                    throw ParseError(message: "line \((k.mark?.line).map { String($0) } ?? "?"): mapping keys must be scalars")
                }
                o[ks.string] = try convert(v)
            }
            return .object(o)
        case .alias(let a):
            throw ParseError(message: "line \((a.mark?.line).map { String($0) } ?? "?"): YAML aliases are not supported in manifests")
        }
    }

    static let trueWords: Set<String> = ["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"]
    static let falseWords: Set<String> = ["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"]
    static let nullWords: Set<String> = ["", "~", "null", "Null", "NULL"]

    static func plain(_ s: String) -> JSONValue {
        if nullWords.contains(s) { return .null }
        if trueWords.contains(s) { return .bool(true) }
        if falseWords.contains(s) { return .bool(false) }
        if let i = integer(s) { return .int(i) }
        if isFloat(s), let d = Double(s) { return .double(d) }
        return .string(s)
    }

    static func integer(_ s: String) -> Int64? {
        var t = Substring(s)
        var negative = false
        if t.first == "-" || t.first == "+" {
            negative = t.first == "-"
            t = t.dropFirst()
        }
        guard !t.isEmpty else { return nil }
        var v: Int64?
        if t.hasPrefix("0x") || t.hasPrefix("0X") {
            v = Int64(t.dropFirst(2), radix: 16)
        } else if t.hasPrefix("0o") {
            v = Int64(t.dropFirst(2), radix: 8)
        } else if t.count > 1 && t.first == "0" {
            v = Int64(t.dropFirst(), radix: 8)
        } else if t.allSatisfy({ $0.isASCII && $0.isNumber }) {
            v = Int64(t)
        }
        guard let v else { return nil }
        return negative ? -v : v
    }

    static func isFloat(_ s: String) -> Bool {
        // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
        var t = Substring(s)
        if t.first == "-" || t.first == "+" { t = t.dropFirst() }
        var digits = 0
        var sawDot = false
        while let c = t.first, c.isASCII, c.isNumber || (c == "." && !sawDot) {
            if c == "." { sawDot = true } else { digits += 1 }
            t = t.dropFirst()
        }
        guard digits > 0 else { return false }
        if t.isEmpty { return true }
        guard t.first == "e" || t.first == "E" else { return false }
        t = t.dropFirst()
        if t.first == "-" || t.first == "+" { t = t.dropFirst() }
        return !t.isEmpty && t.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
