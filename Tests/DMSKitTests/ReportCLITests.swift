import Foundation
import Testing

/// `dms report` as a user runs it: the built binary on a results.jsonl written here.
@Suite("dms report from the command line", .serialized)
struct ReportCLITests {
    /// One line of results.jsonl as `dms eval --out` writes it.
    static func line(task: String, length: Int, policy: String, ratio: Double, value: Double) -> String {
        let (metric, higherIsBetter) = task == "latency" ? ("decode_latency_ms", false) : ("accuracy", true)
        return """
            {"task":"\(task)","length":\(length),"policy":"\(policy)","setting":"","requested_ratio":null,\
            "compression_ratio":\(ratio),"metric":"\(metric)","value":\(value),"higher_is_better":\(higherIsBetter),\
            "samples":4,"token_reads":\(Double(length) * 900 / ratio),"peak_kv_tokens":\(Int(Double(length) * 60 / ratio)),\
            "peak_kv_bytes":\(Int(Double(length) * 7_680 / ratio)),"decode_latency_p50_ms":1.5,"decode_latency_p99_ms":2.5,\
            "decode_tokens_per_s":600}
            """
    }

    static let results = [
        line(task: "passkey", length: 4096, policy: "full", ratio: 1, value: 1),
        line(task: "passkey", length: 4096, policy: "dms", ratio: 7.5, value: 0.9),
        line(task: "latency", length: 4096, policy: "full", ratio: 1, value: 4.2),
        line(task: "latency", length: 4096, policy: "dms", ratio: 7.5, value: 2.1),
    ].joined(separator: "\n") + "\n"

    static func directory(results: String?) throws -> URL {
        let directory = try CLITests.temporaryDirectory()
        try results?.write(to: directory.appendingPathComponent("results.jsonl"), atomically: true, encoding: .utf8)
        return directory
    }

    @Test func writesPlotsAndReportAndPrintsTheirPaths() throws {
        let directory = try Self.directory(results: Self.results)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outcome = try CLITests.run(["report", directory.path])
        #expect(outcome.status == 0, "\(outcome.error)")
        let paths = outcome.output.split(separator: "\n").map(String.init)
        let names = paths.map { URL(fileURLWithPath: $0).lastPathComponent }
        for name in ["passkey-4096-reads.svg", "passkey-4096-memory.svg", "latency.svg", "report.md"] {
            #expect(names.contains(name), "\(names)")
        }
        #expect(names.last == "report.md")
        for path in paths { #expect(FileManager.default.fileExists(atPath: path), "\(path)") }
        let report = try String(contentsOf: directory.appendingPathComponent("report.md"), encoding: .utf8)
        #expect(report.contains("![passkey, 4096 tokens: accuracy vs KV token reads](passkey-4096-reads.svg)"))
        #expect(report.contains("| dms | - | 7.50 | 0.9 | 4 | 491520 | 32768 | 4.00 | 1.50 | 2.50 | 600.0 |"))

        let elsewhere = directory.appendingPathComponent("site/index.md")
        let moved = try CLITests.run(["report", directory.path, "--out", elsewhere.path])
        #expect(moved.status == 0, "\(moved.error)")
        #expect(FileManager.default.fileExists(atPath: elsewhere.path))
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("site/latency.svg").path))
    }

    @Test func badInputFailsCleanly() throws {
        let valid = Self.line(task: "passkey", length: 4096, policy: "full", ratio: 1, value: 1)
        let cases: [(String?, String)] = [
            (nil, "results.jsonl"),
            ("", "has no records"),
            (valid + "\nnot json\n", "line 2"),
            (valid + "\n" + valid.replacingOccurrences(of: "\"value\":1.0,", with: ""), "key 'value' is missing"),
        ]
        for (results, fragment) in cases {
            let directory = try Self.directory(results: results)
            defer { try? FileManager.default.removeItem(at: directory) }
            try CLITests.expectCleanFailure(["report", directory.path], mentions: fragment)
        }
        try CLITests.expectCleanFailure(["report", "/nonexistent/dms-eval-run"], mentions: "not a directory")
        try CLITests.expectCleanFailure(["report"], mentions: "directory")
    }
}
