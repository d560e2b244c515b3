// 128-bit arithmetic for IPv6 addresses and address counts.
//
// Swift's UInt128 needs macOS 15 while the package targets macOS 14, so this small
// two-word integer carries exactly the operations the module needs.

/// Unsigned 128-bit integer (two 64-bit words) used for address arithmetic.
struct U128: Hashable, Comparable, Sendable {
    var hi: UInt64
    var lo: UInt64

    /// Builds a value from its two words.
    init(hi: UInt64, lo: UInt64) {
        self.hi = hi
        self.lo = lo
    }

    /// Builds a value that fits in 64 bits.
    init(_ value: UInt64) {
        self.hi = 0
        self.lo = value
    }

    static let zero = U128(0)
    static let one = U128(1)
    static let max = U128(hi: .max, lo: .max)

    static func < (a: U128, b: U128) -> Bool {
        a.hi != b.hi ? a.hi < b.hi : a.lo < b.lo
    }

    /// Adds, reporting wrap-around.
    func addingReportingOverflow(_ b: U128) -> (partialValue: U128, overflow: Bool) {
        let (l, carry) = lo.addingReportingOverflow(b.lo)
        let (h1, o1) = hi.addingReportingOverflow(b.hi)
        let (h2, o2) = h1.addingReportingOverflow(carry ? 1 : 0)
        return (U128(hi: h2, lo: l), o1 || o2)
    }

    /// Subtracts, reporting wrap-around.
    func subtractingReportingOverflow(_ b: U128) -> (partialValue: U128, overflow: Bool) {
        let (l, borrow) = lo.subtractingReportingOverflow(b.lo)
        let (h1, o1) = hi.subtractingReportingOverflow(b.hi)
        let (h2, o2) = h1.subtractingReportingOverflow(borrow ? 1 : 0)
        return (U128(hi: h2, lo: l), o1 || o2)
    }

    /// Adds; traps on overflow like the standard integer types.
    static func + (a: U128, b: U128) -> U128 {
        let r = a.addingReportingOverflow(b)
        precondition(!r.overflow, "U128 addition overflow")
        return r.partialValue
    }

    /// Subtracts; traps on underflow like the standard integer types.
    static func - (a: U128, b: U128) -> U128 {
        let r = a.subtractingReportingOverflow(b)
        precondition(!r.overflow, "U128 subtraction underflow")
        return r.partialValue
    }

    /// Adds, clamping at `U128.max`.
    func saturatingAdding(_ b: U128) -> U128 {
        let r = addingReportingOverflow(b)
        return r.overflow ? .max : r.partialValue
    }

    /// Subtracts, clamping at zero.
    func saturatingSubtracting(_ b: U128) -> U128 {
        let r = subtractingReportingOverflow(b)
        return r.overflow ? .zero : r.partialValue
    }

    /// The successor, or nil at `U128.max`.
    var successor: U128? {
        let r = addingReportingOverflow(.one)
        return r.overflow ? nil : r.partialValue
    }

    static func << (a: U128, n: Int) -> U128 {
        if n <= 0 { return a }
        if n >= 128 { return .zero }
        if n >= 64 { return U128(hi: a.lo << UInt64(n - 64), lo: 0) }
        return U128(hi: (a.hi << UInt64(n)) | (a.lo >> UInt64(64 - n)), lo: a.lo << UInt64(n))
    }

    static func >> (a: U128, n: Int) -> U128 {
        if n <= 0 { return a }
        if n >= 128 { return .zero }
        if n >= 64 { return U128(hi: 0, lo: a.hi >> UInt64(n - 64)) }
        return U128(hi: a.hi >> UInt64(n), lo: (a.lo >> UInt64(n)) | (a.hi << UInt64(64 - n)))
    }

    static func & (a: U128, b: U128) -> U128 { U128(hi: a.hi & b.hi, lo: a.lo & b.lo) }
    static func | (a: U128, b: U128) -> U128 { U128(hi: a.hi | b.hi, lo: a.lo | b.lo) }
    static prefix func ~ (a: U128) -> U128 { U128(hi: ~a.hi, lo: ~a.lo) }

    /// A value with the lowest `bits` bits set (0...128).
    static func lowMask(_ bits: Int) -> U128 {
        bits >= 128 ? .max : (U128.one << bits) - .one
    }

    /// Divides by a 64-bit divisor.
    func quotientAndRemainder(dividingBy d: UInt64) -> (quotient: U128, remainder: UInt64) {
        let qhi = hi / d
        let r = hi % d
        let (qlo, rem) = d.dividingFullWidth((r, lo))
        return (U128(hi: qhi, lo: qlo), rem)
    }

    /// Base-10 text.
    var decimalString: String {
        if hi == 0 { return String(lo) }
        // Peel off 19 decimal digits at a time (10^19 is the largest power of ten below 2^64).
        let chunk: UInt64 = 10_000_000_000_000_000_000
        var parts: [UInt64] = []
        var v = self
        while v.hi != 0 {
            let (q, r) = v.quotientAndRemainder(dividingBy: chunk)
            parts.append(r)
            v = q
        }
        var s = String(v.lo)
        for p in parts.reversed() {
            let digits = String(p)
            s += String(repeating: "0", count: 19 - digits.count) + digits
        }
        return s
    }
}

/// Exact number of addresses: a /64 holds 2^64, one past UInt64.max, so counts are 128-bit; only ::/0 saturates (at 2^128−1).
public struct AddressCount: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    var value: U128

    init(_ value: U128) {
        self.value = value
    }

    /// Builds a count from its two 64-bit words.
    public init(high: UInt64, low: UInt64) {
        self.value = U128(hi: high, lo: low)
    }

    /// Builds a count from a non-negative integer.
    public init(_ n: Int) {
        precondition(n >= 0, "AddressCount cannot be negative")
        self.value = U128(UInt64(n))
    }

    public init(integerLiteral n: UInt64) {
        self.value = U128(n)
    }

    public static let zero = AddressCount(U128.zero)

    /// Upper 64 bits.
    public var high: UInt64 { value.hi }
    /// Lower 64 bits.
    public var low: UInt64 { value.lo }

    /// The count clamped to UInt64.max (a /64 reads as UInt64.max).
    public var uint64Saturating: UInt64 { value.hi == 0 ? value.lo : .max }

    /// The count clamped to Int64.max, the range of Kubernetes status integers.
    public var int64Saturating: Int64 {
        value.hi == 0 && value.lo <= UInt64(Int64.max) ? Int64(value.lo) : .max
    }

    /// The count as a Double (Prometheus gauges are floats).
    public var doubleValue: Double {
        Double(value.hi) * 18_446_744_073_709_551_616.0 + Double(value.lo)
    }

    public var description: String { value.decimalString }

    public static func < (a: AddressCount, b: AddressCount) -> Bool { a.value < b.value }

    /// Saturating sum.
    public static func + (a: AddressCount, b: AddressCount) -> AddressCount {
        AddressCount(a.value.saturatingAdding(b.value))
    }

    /// Difference clamped at zero.
    public static func - (a: AddressCount, b: AddressCount) -> AddressCount {
        AddressCount(a.value.saturatingSubtracting(b.value))
    }
}
