#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a file could not be memory-mapped.
public enum MappedFileError: Error, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case stat(path: String, errno: Int32)
    case notRegularFile(path: String)
    case map(path: String, errno: Int32)

    public var description: String {
        switch self {
        case let .open(path, code): return "cannot open \(path): \(Self.text(code))"
        case let .stat(path, code): return "cannot stat \(path): \(Self.text(code))"
        case let .notRegularFile(path): return "cannot map \(path): not a regular file"
        case let .map(path, code): return "cannot memory-map \(path): \(Self.text(code))"
        }
    }

    private static func text(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}
