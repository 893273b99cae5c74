import Foundation

/// Writes ``EvaluationRecord``s into a directory as they are measured: `results.jsonl` (one JSON
/// object per line) and `results.csv` (rewritten after each record), so an interrupted run keeps
/// everything it finished.
public final class EvaluationRecordWriter {
    public let directory: URL
    public private(set) var records: [EvaluationRecord] = []

    public var jsonLinesURL: URL { directory.appendingPathComponent(EvaluationResultsFile.name) }
    public var csvURL: URL { directory.appendingPathComponent("results.csv") }

    /// Creates the directory if needed and starts both files empty.
    public init(directory path: String) throws {
        directory = URL(fileURLWithPath: path, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data().write(to: jsonLinesURL)
            try Data((EvaluationRecord.csvHeader + "\n").utf8).write(to: csvURL)
        } catch {
            throw EvaluationError.invalidSetting("cannot write results to \(path): \(error.localizedDescription)")
        }
    }

    /// Appends one record to both files.
    public func append(_ record: EvaluationRecord) throws {
        records.append(record)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = try encoder.encode(record) + Data("\n".utf8)
        let handle = try FileHandle(forWritingTo: jsonLinesURL)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: line)
        let csv = ([EvaluationRecord.csvHeader] + records.map(Self.csvRow)).joined(separator: "\n") + "\n"
        try Data(csv.utf8).write(to: csvURL, options: .atomic)
    }

    /// The record's values in ``EvaluationRecord/csvHeader`` order; empty for nil, quoted when needed.
    static func csvRow(_ record: EvaluationRecord) -> String {
        let optional = { (value: Double?) in value.map { "\($0)" } ?? "" }
        let fields = [
            record.task, "\(record.length)", record.policy, record.setting, optional(record.requestedRatio),
            "\(record.compressionRatio)", record.metric, "\(record.value)", "\(record.higherIsBetter)", "\(record.samples)",
            "\(record.tokenReads)", "\(record.peakKVTokens)", "\(record.peakKVBytes)",
            optional(record.decodeLatencyP50Milliseconds), optional(record.decodeLatencyP99Milliseconds),
            optional(record.decodeTokensPerSecond),
        ]
        return fields.map { field in
            field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }
}
