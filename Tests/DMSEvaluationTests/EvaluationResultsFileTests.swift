import DMSEvaluation
import Foundation
import Testing

@Suite("Reading results.jsonl")
struct EvaluationResultsFileTests {
    static func directory(withResults contents: String?) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dms-results-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try contents?.write(to: url.appendingPathComponent(EvaluationResultsFile.name), atomically: true, encoding: .utf8)
        return url
    }

    static func jsonLine(_ record: EvaluationRecord) throws -> String {
        String(decoding: try JSONEncoder().encode(record), as: UTF8.self)
    }

    @Test func recordsRoundTripSkippingBlankLines() throws {
        let records = Array(ReportFixtures.records.prefix(3))
        let text = try records.map(Self.jsonLine).joined(separator: "\r\n") + "\n\n  \n"
        let directory = try Self.directory(withResults: text)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try EvaluationResultsFile.records(inDirectory: directory) == records)
    }

    @Test func theBaselineBudgetRoundTripsAndIsAbsentFromOlderRecords() throws {
        var fixed = ReportFixtures.record(policy: "h2o", ratio: 4, requested: 4, value: 0.5, setting: "ratio 4, fixed budget")
        fixed.baselineBudget = .fixed
        let line = try Self.jsonLine(fixed)
        #expect(line.contains(#""baseline_budget":"fixed""#))
        let older = try Self.jsonLine(ReportFixtures.records[0])
            .replacingOccurrences(of: #""baseline_budget":null,"#, with: "").replacingOccurrences(of: #","baseline_budget":null"#, with: "")
        #expect(!older.contains("baseline_budget"))
        let directory = try Self.directory(withResults: line + "\n" + older)
        defer { try? FileManager.default.removeItem(at: directory) }
        #expect(try EvaluationResultsFile.records(inDirectory: directory) == [fixed, ReportFixtures.records[0]])
    }

    @Test func badInputIsNamed() throws {
        let good = try Self.jsonLine(ReportFixtures.records[0])
        let cases: [(String?, (String) -> EvaluationReportError)] = [
            (nil, { .missingResults($0 + "/results.jsonl") }),
            ("", { .noRecords($0 + "/results.jsonl") }),
            ("\n \n", { .noRecords($0 + "/results.jsonl") }),
            (good + "\n{\"task\": ", { .malformedLine(path: $0 + "/results.jsonl", line: 2, reason: "not valid JSON") }),
            (good + "\n\n[1, 2]", { .malformedLine(path: $0 + "/results.jsonl", line: 3, reason: "not a JSON object") }),
            (good.replacingOccurrences(of: "\"metric\"", with: "\"metrics\""),
             { .malformedLine(path: $0 + "/results.jsonl", line: 1, reason: "key 'metric' is missing") }),
            (good.replacingOccurrences(of: "\"samples\":20", with: "\"samples\":\"many\""),
             { .malformedLine(path: $0 + "/results.jsonl", line: 1, reason: "'samples' has the wrong type or is null") }),
        ]
        for (contents, expected) in cases {
            let directory = try Self.directory(withResults: contents)
            defer { try? FileManager.default.removeItem(at: directory) }
            #expect(throws: expected(directory.path)) { try EvaluationResultsFile.records(inDirectory: directory) }
        }
        let missing = URL(fileURLWithPath: "/nonexistent/dms-eval")
        #expect(throws: EvaluationReportError.notADirectory(missing.path)) { try EvaluationResultsFile.records(inDirectory: missing) }
        #expect(EvaluationReportError.malformedLine(path: "r.jsonl", line: 2, reason: "not valid JSON").description
            == "r.jsonl line 2 is not an evaluation record: not valid JSON")
    }
}
