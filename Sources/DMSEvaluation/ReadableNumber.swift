import Foundation

/// Short, readable renderings of numbers for axis ticks, findings and tables.
public enum ReadableNumber {
    /// Integers in full (`4096`), anything else to four significant digits (`0.1093`, `1.5e-05`).
    public static func plain(_ value: Double) -> String {
        if value.rounded() == value && value.magnitude < 1e7 { return String(Int(value)) }
        return String(format: "%.4g", value)
    }

    /// Decimal suffixes for counts: `512K`, `1.2M`, `3G`.
    public static func count(_ value: Double) -> String {
        scaled(value, units: [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")], separator: "") ?? plain(value)
    }

    /// Binary units for sizes: `512 B`, `64 MiB`, `1.5 GiB`.
    public static func bytes(_ value: Double) -> String {
        scaled(value, units: [(0x1p40, "TiB"), (0x1p30, "GiB"), (0x1p20, "MiB"), (0x1p10, "KiB")], separator: " ")
            ?? plain(value) + " B"
    }

    /// `value` in the largest unit it reaches, to three significant digits; nil below every unit.
    private static func scaled(_ value: Double, units: [(size: Double, suffix: String)], separator: String) -> String? {
        guard value.isFinite else { return nil }
        // From 0.9995 of a unit on, the value prints as "1" of it rather than as "1e+03" of the unit below.
        guard let unit = units.first(where: { value.magnitude >= $0.size * 0.9995 }) else { return nil }
        return String(format: "%.3g", value / unit.size) + separator + unit.suffix
    }
}
