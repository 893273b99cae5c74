import Foundation
import ArgumentParser

/// A memory size on the command line: bytes, or a number with a unit (`256MiB`, `1GiB`, `512MB`, `64k`).
struct ByteSize: ExpressibleByArgument, Equatable, CustomStringConvertible {
    let bytes: Int

    init(bytes: Int) { self.bytes = bytes }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces)
        let digits = text.prefix { $0.isNumber || $0 == "." }
        let unit = text.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        let multipliers: [String: Double] = [
            "": 1, "b": 1,
            "k": 1024, "kib": 1024, "kb": 1e3,
            "m": 1_048_576, "mib": 1_048_576, "mb": 1e6,
            "g": 1_073_741_824, "gib": 1_073_741_824, "gb": 1e9,
        ]
        guard let value = Double(digits), value > 0, let multiplier = multipliers[unit] else { return nil }
        let bytes = value * multiplier
        guard bytes >= 1, bytes < Double(Int.max / 2) else { return nil }
        self.bytes = Int(bytes)
    }

    var description: String {
        bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
