import Foundation

/// Writes `dms report`'s output for a set of ``EvaluationRecord``s: the ``EvaluationPlots`` as
/// SVG files (with PNG copies when a ``PNGConverter`` is at hand) and a Markdown report that
/// embeds them, with a findings line and a table per task and context length.
public struct EvaluationReportWriter: Sendable {
    public var records: [EvaluationRecord]
    /// Where the records came from (the results file's path), for the report's source line.
    public var source: String
    /// Makes PNG copies of the plots; nil for none.
    public var pngConverter: PNGConverter?

    public init(records: [EvaluationRecord], source: String, pngConverter: PNGConverter? = .onPath()) {
        self.records = records
        self.source = source
        self.pngConverter = pngConverter
    }

    /// Writes the plots into `reportFile`'s directory (made if missing), then the report at
    /// `reportFile`, which links to them by name.
    ///
    /// - Returns: Every file written: the SVGs, the PNG copies, the report last.
    /// - Throws: ``EvaluationReportError/cannotWrite(path:reason:)``.
    public func write(reportFile: URL) throws -> [URL] {
        let directory = reportFile.deletingLastPathComponent()
        try Self.attempt(directory) { try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true) }
        let plots = EvaluationPlots(records: records).all
        var written: [URL] = []
        for plot in plots {
            let file = directory.appendingPathComponent(plot.fileName)
            try Self.attempt(file) { try plot.chart.svg.write(to: file, atomically: true, encoding: .utf8) }
            written.append(file)
        }
        var copies: [URL] = []
        if let converter = pngConverter {
            for svg in written {
                let png = svg.deletingPathExtension().appendingPathExtension("png")
                if converter.convert(svg, to: png) { copies.append(png) }
            }
        }
        try Self.attempt(reportFile) {
            try markdown(pngCopies: copies.count).write(to: reportFile, atomically: true, encoding: .utf8)
        }
        return written + copies + [reportFile]
    }

    /// The Markdown report, linking to the plots by file name; `pngCopies` of them got a PNG copy.
    public func markdown(pngCopies: Int) -> String {
        let plots = EvaluationPlots(records: records)
        let groups = EvaluationGroup.groups(of: records)
        let tasks = EvaluationGroup.unique(groups.map(\.task)).map { task in
            "\(task) (\(groups.filter { $0.task == task }.map { String($0.length) }.joined(separator: ", ")))"
        }
        var lines = [
            "# KV cache policy evaluation",
            "",
            "Source: `\(source)`, \(records.count) record\(records.count == 1 ? "" : "s"). "
                + "Tasks (context lengths): \(tasks.joined(separator: ", ")). "
                + "Policies: \(EvaluationGroup.series(in: records).joined(separator: ", ")).",
            "",
            pngSentence(plotCount: plots.all.count, pngCopies: pngCopies),
        ]
        for group in groups {
            lines += ["", "## \(group.task), \(group.length) tokens", "", "**Findings.** \(EvaluationFindings.summary(of: group))"]
            for plot in plots.plots(for: group) {
                lines += ["", Self.image(plot)]
            }
            lines += [""] + table(group)
        }
        if let latency = plots.latencyPlot {
            lines += ["", "## Decode latency against context length", "", Self.image(latency)]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// What the reader gets besides the SVGs.
    func pngSentence(plotCount: Int, pngCopies: Int) -> String {
        let plotsAre = "The plots are SVG files beside this report"
        guard let converter = pngConverter else { return plotsAre + " (no PNG copies: rsvg-convert is not on PATH)." }
        let program = converter.executable.lastPathComponent
        if pngCopies == plotCount { return plotsAre + ", each with a PNG copy of the same name made by \(program)." }
        return plotsAre + "; \(program) failed on \(plotCount - pngCopies) of \(plotCount), "
            + "the other \(pngCopies) have a PNG copy of the same name."
    }

    /// One row per record of `group`.
    func table(_ group: EvaluationGroup) -> [String] {
        let header = ["policy", "setting", "compression ratio",
                      EvaluationPlots.metricTitle(group.metric, higherIsBetter: group.higherIsBetter),
                      "samples", "KV token reads", "peak KV tokens", "peak KV MiB",
                      "decode p50 ms", "decode p99 ms", "decode tokens/s"]
        let rows = group.records.map { record in
            [record.policy, record.setting.isEmpty ? "-" : record.setting,
             String(format: "%.2f", record.compressionRatio), ReadableNumber.plain(record.value),
             String(record.samples), String(format: "%.0f", record.tokenReads), String(record.peakKVTokens),
             String(format: "%.2f", Double(record.peakKVBytes) / 1_048_576),
             Self.optional(record.decodeLatencyP50Milliseconds, format: "%.2f"),
             Self.optional(record.decodeLatencyP99Milliseconds, format: "%.2f"),
             Self.optional(record.decodeTokensPerSecond, format: "%.1f")]
        }
        // Text columns left-aligned, numbers right-aligned.
        let rule = header.indices.map { $0 < 2 ? "---" : "---:" }
        return ([header, rule] + rows).map { "| " + $0.map(Self.cell).joined(separator: " | ") + " |" }
    }

    /// `![title](file)`.
    static func image(_ plot: EvaluationPlot) -> String {
        let alt = plot.chart.title.replacingOccurrences(of: "[", with: "(").replacingOccurrences(of: "]", with: ")")
        return "![\(alt)](\(plot.fileName))"
    }

    /// `text` safe inside a Markdown table cell.
    static func cell(_ text: String) -> String {
        text.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "\n", with: " ")
    }

    static func optional(_ value: Double?, format: String) -> String {
        value.map { String(format: format, $0) } ?? "-"
    }

    /// Runs `body`, reporting any failure as one to write `file`.
    static func attempt(_ file: URL, _ body: () throws -> Void) throws {
        do {
            try body()
        } catch {
            throw EvaluationReportError.cannotWrite(path: file.path, reason: error.localizedDescription)
        }
    }
}
