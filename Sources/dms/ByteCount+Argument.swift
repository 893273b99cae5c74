import ArgumentParser
import DMSServer

extension ByteCount: ExpressibleByArgument {
    /// `1GiB` rather than `1073741824` in `--help`.
    public var defaultValueDescription: String {
        let units = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        guard let (unit, scale) = units.first(where: { bytes >= $0.1 && bytes % $0.1 == 0 }) else { return description }
        return "\(bytes / scale)\(unit)"
    }
}
