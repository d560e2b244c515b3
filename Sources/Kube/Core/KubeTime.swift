import Foundation

/// Kubernetes timestamps: metav1.Time is RFC 3339 with seconds, metav1.MicroTime with
/// microseconds, both in UTC.
public enum KubeTime {
    public static func time(_ date: Date = Date()) -> String { format(date, fraction: false) }
    public static func microTime(_ date: Date = Date()) -> String { format(date, fraction: true) }

    public static func parse(_ s: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: s) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: s)
    }

    private static func format(_ date: Date, fraction: Bool) -> String {
        let t = date.timeIntervalSince1970
        let secs = floor(t)
        var tmv = tm()
        var tt = time_t(secs)
        gmtime_r(&tt, &tmv)
        var s = String(format: "%04d-%02d-%02dT%02d:%02d:%02d", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1, Int(tmv.tm_mday), Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec))
        if fraction { s += String(format: ".%06d", min(Int((t - secs) * 1_000_000), 999_999)) }
        return s + "Z"
    }
}
