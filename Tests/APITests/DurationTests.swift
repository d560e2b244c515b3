import Foundation
import Kube
import Testing

@testable import API

@Suite struct DurationTests {
    // Expected values follow Go's time.ParseDuration.
    @Test(arguments: [
        ("0", Int64(0)),
        ("0s", 0),
        ("+5s", 5_000_000_000),
        ("-5s", -5_000_000_000),
        ("90s", 90_000_000_000),
        ("1m30s", 90_000_000_000),
        ("1.5s", 1_500_000_000),
        (".5s", 500_000_000),
        ("1.s", 1_000_000_000),
        ("300ms", 300_000_000),
        ("2h", 7_200_000_000_000),
        ("9m0s", 540_000_000_000),
        ("1h2m3.5s", 3_723_500_000_000),
        ("10us", 10_000),
        ("10\u{00B5}s", 10_000),
        ("10\u{03BC}s", 10_000),
        ("7ns", 7),
        ("0.000000001s", 1),
        ("1.0000000001s", 1_000_000_000),  // below nanosecond precision
        ("2562047h47m16.854775807s", Int64.max),
        ("-2562047h47m16.854775808s", Int64.min),
    ])
    func parses(text: String, nanoseconds: Int64) throws {
        #expect(try GoDuration.parse(text).nanoseconds == nanoseconds)
    }

    @Test(arguments: [
        ("", "empty"),
        ("90", "no unit"),
        ("1.5", "no unit"),
        ("s", "expected a number"),
        ("1d", "unknown unit \"d\""),
        ("1 s", "unknown unit \" s\""),
        ("1m 30s", "unknown unit \"m \""),
        (".s", "next to a digit"),
        ("-", "a sign must be followed"),
        ("1h-1m", "unknown unit \"h-\""),
        ("2562047h47m16.854775808s", "too large"),
        ("9999999999999999999h", "too large"),
    ])
    func rejects(text: String, reason: String) {
        #expect {
            try GoDuration.parse(text)
        } throws: { error in
            guard let e = error as? GoDurationError else { return false }
            return e.reason.contains(reason) && e.description.contains("e.g. \"90s\"")
        }
    }

    // Expected strings follow Go's Duration.String.
    @Test(arguments: [
        (Int64(0), "0s"),
        (1, "1ns"),
        (1_500, "1.5\u{00B5}s"),
        (300_000_000, "300ms"),
        (1_500_000_000, "1.5s"),
        (90_000_000_000, "1m30s"),
        (540_000_000_000, "9m0s"),
        (3_600_000_000_000, "1h0m0s"),
        (3_723_500_000_000, "1h2m3.5s"),
        (-90_000_000_000, "-1m30s"),
        (Int64.min, "-2562047h47m16.854775808s"),
    ])
    func formats(nanoseconds: Int64, text: String) throws {
        let d = GoDuration(nanoseconds: nanoseconds)
        #expect(d.description == text)
        #expect(try GoDuration.parse(text) == d)
    }

    @Test func conversionsAndCoding() throws {
        let d = try GoDuration.parse("1m30s")
        #expect(d.seconds == 90)
        #expect(d.wholeSeconds == 90)
        #expect(d.duration == .seconds(90))
        #expect(GoDuration.seconds(3) < GoDuration.minutes(1))
        let json = try JSONEncoder().encode(["t": d])
        #expect(String(decoding: json, as: UTF8.self) == #"{"t":"1m30s"}"#)
        #expect(try JSONDecoder().decode([String: GoDuration].self, from: json)["t"] == d)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([GoDuration].self, from: Data(#"["90"]"#.utf8)) }
    }
}
