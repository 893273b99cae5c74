import DMSEvaluation
import Foundation
import Testing

@Suite("Evaluation report: files and Markdown")
struct EvaluationReportWriterTests {
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dms-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// An executable shell script in `directory`.
    static func script(_ body: String, in directory: URL) throws -> PNGConverter {
        let url = directory.appendingPathComponent("fake-rsvg-convert")
        try "#!/bin/sh\n\(body)\n".write(to: url, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        return PNGConverter(executable: url)
    }

    @Test func reportEmbedsPlotsThatExistAndHasARowPerRecord() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let reportFile = directory.appendingPathComponent("report.md")
        let writer = EvaluationReportWriter(records: ReportFixtures.records, source: "runs/results.jsonl", pngConverter: nil)
        let written = try writer.write(reportFile: reportFile)
        #expect(written.last == reportFile)
        #expect(written.count == 8)  // seven plots and the report
        for file in written { #expect(FileManager.default.fileExists(atPath: file.path), "\(file.path)") }

        let markdown = try String(contentsOf: reportFile, encoding: .utf8)
        let lines = markdown.split(separator: "\n").map(String.init)
        let images = lines.filter { $0.hasPrefix("![") }
        #expect(images.count == 7)
        for image in images {
            let name = try #require(image.split(separator: "(").last?.dropLast())
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent(String(name)).path), "\(image)")
        }
        let rows = lines.filter { $0.hasPrefix("| ") && !$0.hasPrefix("| policy ") && !$0.hasPrefix("| --- ") }
        #expect(rows.count == ReportFixtures.records.count)
        #expect(rows.contains { $0.hasPrefix("| dms | adapter.safetensors | 7.80 | 0.95 | 20 | 1050256 | ") }, "\(rows)")
        #expect(lines.filter { $0.hasPrefix("## ") }.count == 6)
        #expect(lines.filter { $0.hasPrefix("**Findings.** Best ") }.count == 5)
        #expect(markdown.contains("Source: `runs/results.jsonl`, \(ReportFixtures.records.count) records."))
        #expect(markdown.contains("passkey (4096, 8192), kl (4096), latency (4096, 8192)"))
        #expect(markdown.contains("no PNG copies"))
    }

    @Test func pngCopiesWhenAConverterIsInstalled() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = ReportFixtures.records.filter { $0.task == "latency" }
        let reportFile = directory.appendingPathComponent("out/report.md")

        let copying = try Self.script(#"cat "$1""#, in: directory)
        let written = try EvaluationReportWriter(records: records, source: "r", pngConverter: copying).write(reportFile: reportFile)
        #expect(written.map(\.lastPathComponent) == ["latency.svg", "latency.png", "report.md"])
        let png = directory.appendingPathComponent("out/latency.png")
        #expect(try Data(contentsOf: png) == Data(contentsOf: directory.appendingPathComponent("out/latency.svg")))
        #expect(try String(contentsOf: reportFile, encoding: .utf8).contains("PNG copy of the same name made by fake-rsvg-convert"))

        let failing = try Self.script("exit 1", in: directory)
        try FileManager.default.removeItem(at: png)
        let again = try EvaluationReportWriter(records: records, source: "r", pngConverter: failing).write(reportFile: reportFile)
        #expect(again.map(\.lastPathComponent) == ["latency.svg", "report.md"])
        #expect(!FileManager.default.fileExists(atPath: png.path))
        #expect(try String(contentsOf: reportFile, encoding: .utf8).contains("fake-rsvg-convert failed on 1 of 1"))
    }

    @Test func converterIsFoundOnPathOnlyWhereItIs() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(PNGConverter.onPath(directory.path) == nil)
        #expect(PNGConverter.onPath(nil) == nil)
        let installed = directory.appendingPathComponent("rsvg-convert")
        try "#!/bin/sh\n".write(to: installed, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: installed.path)
        #expect(PNGConverter.onPath("/nonexistent:\(directory.path)")?.executable.path == installed.path)
    }
}
