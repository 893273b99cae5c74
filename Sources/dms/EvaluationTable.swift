import DMSEvaluation
import Foundation

/// The readable form of an ``EvaluationReport``: a heading and one row per policy.
struct EvaluationTable {
    let report: EvaluationReport

    init(_ report: EvaluationReport) {
        self.report = report
    }

    var rendered: String {
        var lines: [String] = []
        lines.append("model \(report.model)" + (report.adapter.map { ", adapter \($0)" } ?? ""))
        lines.append("text \(report.text ?? "-"), \(report.tokens) tokens, task \(report.task.rawValue)"
            + (report.cutPoints.isEmpty ? "" : ", continuations of \(report.continuationLength ?? 0) tokens after "
                + report.cutPoints.map(String.init).joined(separator: ", "))
            + String(format: ", wall %.1f s", report.wallSeconds))
        var table = TextTable(header: ["policy", "ratio", "CR", "KL nats", "NLL", "PPL", "PPL/full", "top-1", "cont agr",
                                       "cont run", "KV reads", "peak tok", "peak MiB", "s", "tok/s"])
        for row in report.policies {
            table.rows.append([
                row.budget == .fixed ? row.policy + " (fixed)" : row.policy,
                row.requestedRatio.map { String(format: "%.2f", $0) } ?? "-",
                String(format: "%.2f", row.compressionRatio),
                row.klDivergence.map(Self.small) ?? "-",
                String(format: "%.4f", row.meanNegativeLogLikelihood),
                String(format: "%.3f", row.perplexity),
                row.perplexityRatio.map { String(format: "%.4f", $0) } ?? "-",
                row.top1Agreement.map { String(format: "%.4f", $0) } ?? "-",
                row.continuationAgreement.map { String(format: "%.4f", $0) } ?? "-",
                row.continuationInitialRun.map { String(format: "%.1f", $0) } ?? "-",
                String(row.tokenReads),
                String(row.peakTokens),
                String(format: "%.2f", Double(row.peakBytes) / 1_048_576),
                String(format: "%.1f", row.seconds),
                String(format: "%.1f", row.tokensPerSecond),
            ])
        }
        return (lines + table.lines).joined(separator: "\n")
    }

    /// Five decimals, or two significant digits below 1e-4 (a KL near the rounding floor).
    static func small(_ value: Double) -> String {
        value == 0 || value >= 1e-4 ? String(format: "%.5f", value) : String(format: "%.1e", value)
    }
}
