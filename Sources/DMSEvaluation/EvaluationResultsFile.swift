import Foundation

/// The `results.jsonl` that `dms eval --out DIR` writes: one ``EvaluationRecord`` per line.
public enum EvaluationResultsFile {
    /// The file's name inside the output directory.
    public static let name = "results.jsonl"

    /// The records of `directory`'s results file; blank lines are skipped.
    ///
    /// - Throws: ``EvaluationReportError`` when the directory or the file is missing or
    ///   unreadable, a line is not a record (naming the line), or there are no records.
    public static func records(inDirectory directory: URL) throws -> [EvaluationRecord] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw EvaluationReportError.notADirectory(directory.path)
        }
        let file = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: file.path) else { throw EvaluationReportError.missingResults(file.path) }
        let data: Data
        do {
            data = try Data(contentsOf: file)
        } catch {
            throw EvaluationReportError.unreadable(path: file.path, reason: error.localizedDescription)
        }
        let records = try records(fromJSONLines: String(decoding: data, as: UTF8.self), path: file.path)
        guard !records.isEmpty else { throw EvaluationReportError.noRecords(file.path) }
        return records
    }

    /// The records of JSON-lines `text` (blank lines skipped); `path` names it in errors.
    public static func records(fromJSONLines text: String, path: String) throws -> [EvaluationRecord] {
        let decoder = JSONDecoder()
        var records: [EvaluationRecord] = []
        for (index, line) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            guard !line.allSatisfy(\.isWhitespace) else { continue }
            do {
                records.append(try decoder.decode(EvaluationRecord.self, from: Data(line.utf8)))
            } catch {
                throw EvaluationReportError.malformedLine(path: path, line: index + 1, reason: reason(error))
            }
        }
        return records
    }

    /// A decoding error in a sentence, without the decoder's internals.
    static func reason(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        switch error {
        case .keyNotFound(let key, _):
            return "key '\(key.stringValue)' is missing"
        case .typeMismatch(_, let context) where context.codingPath.isEmpty:
            return "not a JSON object"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))' has the wrong type or is null"
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            return "not valid JSON"
        case .dataCorrupted(let context):
            return "'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
