import Foundation

/// A number of bytes written as a plain integer or with a unit: `268435456`, `512MB`, `256MiB`,
/// `1GiB`, `64k`. Decimal units (kB, MB, GB, TB) are powers of 1000, binary ones (KiB, MiB, GiB,
/// TiB, and the bare letters k, M, G, T as in `dd`) powers of 1024.
public struct ByteCount: Sendable, Hashable, LosslessStringConvertible {
    public var bytes: Int

    public init(bytes: Int) {
        self.bytes = bytes
    }

    private static let units: [String: Int] = [
        "": 1, "b": 1,
        "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
        "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
    ]

    /// Parses a count; nil for anything else, including negative or overflowing counts.
    public init?(_ description: String) {
        let text = description.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let count = Int(digits), let scale = Self.units[unit] else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: scale)
        guard !overflow else { return nil }
        self.bytes = bytes
    }

    public var description: String { String(bytes) }
}
