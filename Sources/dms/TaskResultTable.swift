import DMSEvaluation
import Foundation

/// The readable form of a generation task's records: one row per length, policy and setting.
struct TaskResultTable {
    let records: [EvaluationRecord]

    init(_ records: [EvaluationRecord]) {
        self.records = records
    }

    var rendered: String {
        var table = TextTable(header: ["task", "length", "policy", "setting", "CR", "metric", "value", "samples",
                                       "KV reads", "peak tok", "peak MiB", "p50 ms", "p99 ms", "tok/s"])
        for record in records {
            let milliseconds = { (value: Double?) in value.map { String(format: "%.2f", $0) } ?? "-" }
            table.rows.append([
                record.task, String(record.length), record.policy, record.setting,
                String(format: "%.2f", record.compressionRatio), record.metric, String(format: "%.4f", record.value),
                String(record.samples), String(format: "%.0f", record.tokenReads), String(record.peakKVTokens),
                String(format: "%.2f", Double(record.peakKVBytes) / 1_048_576),
                milliseconds(record.decodeLatencyP50Milliseconds), milliseconds(record.decodeLatencyP99Milliseconds),
                record.decodeTokensPerSecond.map { String(format: "%.1f", $0) } ?? "-",
            ])
        }
        return table.lines.joined(separator: "\n")
    }
}
