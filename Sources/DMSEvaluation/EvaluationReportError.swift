/// Why `dms report` cannot read an evaluation's results or write its report.
public enum EvaluationReportError: Error, CustomStringConvertible, Equatable {
    /// The directory does not exist or is not a directory.
    case notADirectory(String)
    /// The directory has no results file.
    case missingResults(String)
    /// The results file cannot be read.
    case unreadable(path: String, reason: String)
    /// A line of the results file is not an evaluation record (`line` counts from 1).
    case malformedLine(path: String, line: Int, reason: String)
    /// The results file holds no record.
    case noRecords(String)
    /// A report file cannot be written.
    case cannotWrite(path: String, reason: String)

    public var description: String {
        switch self {
        case .notADirectory(let path):
            return "\(path) is not a directory (give the directory that dms eval --out wrote)"
        case .missingResults(let path):
            return "no \(path) (dms eval --out DIR writes it)"
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .malformedLine(let path, let line, let reason):
            return "\(path) line \(line) is not an evaluation record: \(reason)"
        case .noRecords(let path):
            return "\(path) has no records"
        case .cannotWrite(let path, let reason):
            return "cannot write \(path): \(reason)"
        }
    }
}
