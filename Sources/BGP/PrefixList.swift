import NetAddress
/// A list of prefixes as text: one per line, `#` to the end of a line is a comment, blank lines and surrounding
/// whitespace are skipped, LF or CRLF line ends (the `--prefix-file` format of `metallb diagnose bgp`).
public enum PrefixList {
    /// A line that is not a prefix: where, what, and why in words.
    public struct BadLine: Error, Hashable, Sendable, CustomStringConvertible {
        public var source: String
        public var line: Int
        public var text: String
        public var reason: String
        public var description: String { "\(source) line \(line): '\(text)' \(reason)" }
    }

    /// Parses `text`; `source` names it in errors (a file name). Host bits set are an error, with the prefix meant.
    public static func parse(_ text: String, source: String) throws(BadLine) -> [IPPrefix] {
        var out: [IPPrefix] = []
        var n = 0
        // isNewline: "\r\n" is one Character, so CRLF files work too.
        for raw in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            n += 1
            var line = raw[...]
            if let hash = line.firstIndex(of: "#") { line = line[..<hash] }
            let t = line.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed()
            if t.isEmpty { continue }
            let entry = String(t)
            do {
                out.append(try IPPrefix(parsing: entry))
            } catch {
                let why: String
                switch error.kind {
                case .hostBitsSet(let c): why = "has host bits set (did you mean \(c)?)"
                case .prefixLength:
                    let length = entry.firstIndex(of: "/").map { entry[entry.index(after: $0)...] } ?? ""
                    why = "has an invalid prefix length '\(length)'"
                default: why = "is not an IP prefix (address/length)"
                }
                throw BadLine(source: source, line: n, text: entry, reason: why)
            }
        }
        return out
    }
}
