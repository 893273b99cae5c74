import ArgumentParser
import DMSEvaluation
import Foundation

/// `dms report DIR`: plots and a Markdown report of the records `dms eval --out DIR` wrote.
struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Plots (SVG) and a Markdown report of the results that dms eval --out DIR wrote.",
        discussion: """
        Reads DIR/results.jsonl. For each task and context length it plots the metric against KV \
        token reads and against peak KV memory (one line per policy, a dashed one per baseline run \
        at a fixed budget, points labelled with the compression ratio), and from the latency task \
        the p50 decode latency per token against context length. report.md embeds the plots and \
        has, per task and length, a findings line computed from the records and a table of them. \
        With rsvg-convert on PATH each plot also gets a PNG copy. Prints the paths written.
        """)

    @Argument(help: "The directory dms eval --out wrote (it holds results.jsonl).")
    var directory: String

    @Option(help: "The Markdown report's path (default DIR/report.md); the plots are written beside it.")
    var out: String?

    func run() throws {
        let directoryURL = URL(fileURLWithPath: directory)
        let records = try EvaluationResultsFile.records(inDirectory: directoryURL)
        let reportFile = out.map { URL(fileURLWithPath: $0) } ?? directoryURL.appendingPathComponent("report.md")
        // Named as the reader of the report finds it: beside the report, or as given.
        let source = out == nil ? EvaluationResultsFile.name
            : (directory.hasSuffix("/") ? directory : directory + "/") + EvaluationResultsFile.name
        for file in try EvaluationReportWriter(records: records, source: source).write(reportFile: reportFile) {
            print(file.path)
        }
    }
}
