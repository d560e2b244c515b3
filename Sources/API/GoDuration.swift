import Foundation

/// Why a string is not a Go duration.
public struct GoDurationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var input: String
    public var reason: String

    public var description: String {
        "\"\(input)\" is not a duration: \(reason); write a number with a unit (ns, us, ms, s, m, h), e.g. \"90s\", \"1m30s\", \"300ms\""
    }
}

/// A Go `time.Duration` (metav1.Duration in Kubernetes objects): signed nanoseconds, written like "1m30s".
public struct GoDuration: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The length in nanoseconds.
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    public static let zero = GoDuration(nanoseconds: 0)
    public static func milliseconds(_ n: Int64) -> GoDuration { GoDuration(nanoseconds: n * 1_000_000) }
    public static func seconds(_ n: Int64) -> GoDuration { GoDuration(nanoseconds: n * 1_000_000_000) }
    public static func minutes(_ n: Int64) -> GoDuration { GoDuration(nanoseconds: n * 60_000_000_000) }

    /// The length in seconds, with fraction.
    public var seconds: Double { Double(nanoseconds) / 1e9 }

    /// Whole seconds, truncated toward zero (Go's `int(d.Seconds())`).
    public var wholeSeconds: Int64 { nanoseconds / 1_000_000_000 }

    /// The same length as a Swift `Duration`.
    public var duration: Swift.Duration { .nanoseconds(nanoseconds) }

    public static func < (a: GoDuration, b: GoDuration) -> Bool { a.nanoseconds < b.nanoseconds }

    private static let units: [String: UInt64] = [
        "ns": 1,
        "us": 1_000,
        "\u{00B5}s": 1_000,  // micro sign
        "\u{03BC}s": 1_000,  // Greek small letter mu
        "ms": 1_000_000,
        "s": 1_000_000_000,
        "m": 60_000_000_000,
        "h": 3_600_000_000_000,
    ]

    /// Parses Go duration syntax ("300ms", "-1.5h", "2h45m", or a bare "0"), as time.ParseDuration does.
    public static func parse(_ text: String) throws -> GoDuration {
        let fail = { (reason: String) in GoDurationError(input: text, reason: reason) }
        var s = Substring(text).unicodeScalars[...]
        var negative = false
        if let c = s.first, c == "-" || c == "+" {
            negative = c == "-"
            s = s.dropFirst()
        }
        if String(s) == "0" { return .zero }
        if s.isEmpty { throw fail(text.isEmpty ? "it is empty" : "a sign must be followed by a number") }

        func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
        let limit: UInt64 = 1 << 63
        var total: UInt64 = 0
        while !s.isEmpty {
            guard let c = s.first, c == "." || isDigit(c) else {
                throw fail("expected a number at \"\(String(s))\"")
            }
            // Integer part.
            var v: UInt64 = 0
            var sawInt = false
            while let c = s.first, isDigit(c) {
                sawInt = true
                let d = UInt64(c.value - 48)
                if v > (limit - d) / 10 { throw fail("the value is too large (the maximum is about 2562047h)") }
                v = v * 10 + d
                s = s.dropFirst()
            }
            // Fraction part: digits past 63 bits of precision are ignored, as Go does.
            var f: UInt64 = 0
            var scale: Double = 1
            var sawFrac = false
            if s.first == "." {
                s = s.dropFirst()
                var overflow = false
                while let c = s.first, isDigit(c) {
                    sawFrac = true
                    s = s.dropFirst()
                    if overflow { continue }
                    let d = UInt64(c.value - 48)
                    if f > (UInt64.max >> 1) / 10 { overflow = true; continue }
                    let nf = f * 10 + d
                    if nf > limit { overflow = true; continue }
                    f = nf
                    scale *= 10
                }
            }
            if !sawInt && !sawFrac { throw fail("a \".\" must be next to a digit") }
            // Unit.
            var unitText = ""
            while let c = s.first, !(c == "." || isDigit(c)) {
                unitText.unicodeScalars.append(c)
                s = s.dropFirst()
            }
            if unitText.isEmpty { throw fail("the number has no unit") }
            guard let unit = units[unitText] else { throw fail("unknown unit \"\(unitText)\"") }
            if v > limit / unit { throw fail("the value is too large (the maximum is about 2562047h)") }
            v *= unit
            if f > 0 {
                v += UInt64(Double(f) * (Double(unit) / scale))
                if v > limit { throw fail("the value is too large (the maximum is about 2562047h)") }
            }
            total += v
            if total > limit { throw fail("the value is too large (the maximum is about 2562047h)") }
        }
        if negative { return GoDuration(nanoseconds: total == limit ? .min : -Int64(total)) }
        if total > limit - 1 { throw fail("the value is too large (the maximum is about 2562047h)") }
        return GoDuration(nanoseconds: Int64(total))
    }

    /// Go's `Duration.String()`: "1h2m3.5s", "300ms", "1.5µs", "0s".
    public var description: String {
        var u = nanoseconds.magnitude
        let negative = nanoseconds < 0
        var out = ""

        /// Writes v / 10^prec's fractional digits (trailing zeros dropped), returns v / 10^prec.
        func fraction(_ v: UInt64, _ prec: Int) -> (String, UInt64) {
            var v = v
            var digits = ""
            var printed = false
            for _ in 0..<prec {
                let d = v % 10
                printed = printed || d != 0
                if printed { digits = String(d) + digits }
                v /= 10
            }
            return (printed ? "." + digits : "", v)
        }

        if u < 1_000_000_000 {
            let unit: String
            let prec: Int
            switch u {
            case 0: return "0s"
            case ..<1_000: unit = "ns"; prec = 0
            case ..<1_000_000: unit = "\u{00B5}s"; prec = 3
            default: unit = "ms"; prec = 6
            }
            let (frac, whole) = fraction(u, prec)
            out = String(whole) + frac + unit
        } else {
            let (frac, secsTotal) = fraction(u, 9)
            u = secsTotal
            out = String(u % 60) + frac + "s"
            u /= 60
            if u > 0 {
                out = String(u % 60) + "m" + out
                u /= 60
                if u > 0 { out = String(u) + "h" + out }
            }
        }
        return negative ? "-" + out : out
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let s = try c.decode(String.self)
        do {
            self = try GoDuration.parse(s)
        } catch let e as GoDurationError {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: e.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
