// Address counts and the few saturating operations on 128-bit address numbers the allocator needs.

extension UInt128 {
    /// The low 64 bits.
    var low64: UInt64 { UInt64(truncatingIfNeeded: self) }

    /// Adds, clamping at `UInt128.max`.
    func saturatingAdding(_ b: UInt128) -> UInt128 {
        let r = addingReportingOverflow(b)
        return r.overflow ? .max : r.partialValue
    }

    /// Subtracts, clamping at zero.
    func saturatingSubtracting(_ b: UInt128) -> UInt128 {
        let r = subtractingReportingOverflow(b)
        return r.overflow ? 0 : r.partialValue
    }

    /// The successor, or nil at `UInt128.max`.
    var successor: UInt128? { self == .max ? nil : self + 1 }
}

/// Exact number of addresses: a /64 holds 2^64, one past UInt64.max, so counts are 128-bit; only ::/0 saturates (at 2^128−1).
public struct AddressCount: Hashable, Comparable, Sendable, CustomStringConvertible, ExpressibleByIntegerLiteral {
    var value: UInt128

    public init(_ value: UInt128) {
        self.value = value
    }

    /// Builds a count from its two 64-bit words.
    public init(high: UInt64, low: UInt64) {
        self.value = UInt128(high) << 64 | UInt128(low)
    }

    /// Builds a count from a non-negative integer.
    public init(_ n: Int) {
        self.value = UInt128(max(0, n))
    }

    public init(integerLiteral n: UInt64) {
        self.value = UInt128(n)
    }

    public static let zero = AddressCount(UInt128(0))

    /// Upper 64 bits.
    public var high: UInt64 { UInt64(truncatingIfNeeded: value >> 64) }
    /// Lower 64 bits.
    public var low: UInt64 { UInt64(truncatingIfNeeded: value) }

    /// The count clamped to UInt64.max (a /64 reads as UInt64.max).
    public var uint64Saturating: UInt64 { UInt64(clamping: value) }

    /// The count clamped to Int64.max, the range of Kubernetes status integers.
    public var int64Saturating: Int64 {
        Int64(clamping: value)
    }

    /// The count as a Double (Prometheus gauges are floats).
    public var doubleValue: Double {
        Double(value)
    }

    public var description: String { String(value) }

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
