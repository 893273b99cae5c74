import DMSEvaluation
import Foundation
import Testing

@Suite("results.jsonl and results.csv")
struct EvaluationRecordWriterTests {
    static func directory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("dms-writer-\(UUID().uuidString)")
    }

    @Test("a new writer starts both files empty; an appending one keeps their records")
    func appendingKeepsEarlierRecords() throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try EvaluationRecordWriter(directory: directory.path)
        try first.append(ReportFixtures.record(length: 1024, policy: "full", ratio: 1, value: 0.75))
        try first.append(ReportFixtures.record(length: 1024, policy: "streaming", ratio: 4, value: 0.25))

        let appending = try EvaluationRecordWriter(directory: directory.path, appending: true)
        try appending.append(ReportFixtures.record(length: 8192, policy: "full", ratio: 1, value: 0.5))
        let records = try EvaluationResultsFile.records(inDirectory: directory)
        #expect(records.map(\.length) == [1024, 1024, 8192])
        let csv = try String(contentsOf: appending.csvURL, encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 4)
        #expect(csv[0] == Substring(EvaluationRecord.csvHeader))
        #expect(csv.dropFirst().allSatisfy { $0.split(separator: ",", omittingEmptySubsequences: false).count == csv[0].split(separator: ",").count })

        _ = try EvaluationRecordWriter(directory: directory.path)
        #expect(throws: (any Error).self) { try EvaluationResultsFile.records(inDirectory: directory) }
    }
}
