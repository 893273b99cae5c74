import Foundation

/// Writes ``EvaluationRecord``s into a directory as they are measured: `results.jsonl` (one JSON
/// object per line) and `results.csv` (rewritten after each record), so an interrupted run keeps
/// everything it finished.
public final class EvaluationRecordWriter {
    public let directory: URL
    public private(set) var records: [EvaluationRecord] = []

    public var jsonLinesURL: URL { directory.appendingPathComponent(EvaluationResultsFile.name) }
    public var csvURL: URL { directory.appendingPathComponent("results.csv") }

    /// Creates the directory if needed and starts both files empty, or with `appending`, keeps the
    /// records already in `results.jsonl` and adds to them (another task or length of one report).
    public init(directory path: String, appending: Bool = false) throws {
        directory = URL(fileURLWithPath: path, isDirectory: true)
        if appending, FileManager.default.fileExists(atPath: jsonLinesURL.path) {
            do {
                records = try EvaluationResultsFile.records(
                    fromJSONLines: String(decoding: try Data(contentsOf: jsonLinesURL), as: UTF8.self), path: jsonLinesURL.path)
            } catch {
                throw EvaluationError.invalidSetting("cannot append to \(jsonLinesURL.path): \(error)")
            }
            return
        }
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
        // Keyed, so the columns follow the header's order whatever order the fields are listed in.
        let fields: [EvaluationRecord.CodingKeys: String] = [
            .task: record.task, .length: "\(record.length)", .policy: record.policy, .setting: record.setting,
            .requestedRatio: optional(record.requestedRatio), .baselineBudget: record.baselineBudget?.rawValue ?? "",
            .compressionRatio: "\(record.compressionRatio)",
            .metric: record.metric, .value: "\(record.value)", .higherIsBetter: "\(record.higherIsBetter)",
            .samples: "\(record.samples)", .tokenReads: "\(record.tokenReads)", .peakKVTokens: "\(record.peakKVTokens)",
            .peakKVBytes: "\(record.peakKVBytes)", .decodeLatencyP50Milliseconds: optional(record.decodeLatencyP50Milliseconds),
            .decodeLatencyP99Milliseconds: optional(record.decodeLatencyP99Milliseconds),
            .decodeTokensPerSecond: optional(record.decodeTokensPerSecond),
        ]
        precondition(fields.count == EvaluationRecord.CodingKeys.allCases.count, "a record field has no CSV column")
        return EvaluationRecord.CodingKeys.allCases.map { key in
            let field = fields[key] ?? ""
            return field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" })
                ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
        }.joined(separator: ",")
    }
}
