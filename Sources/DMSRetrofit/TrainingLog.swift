import Foundation

/// The JSON-lines log of a retrofit: one object per step, flushed as it is written so a killed
/// run keeps every finished step.
public final class TrainingLog {
    private let handle: FileHandle
    private let encoder: JSONEncoder

    /// Opens the log at `path`. A fresh run (`resumingAfter` nil) starts it over; a resumed run
    /// keeps the lines of steps up to the checkpoint's and drops later ones, which will run again.
    public init(path: String, resumingAfter step: Int?) throws {
        var kept = Data()
        if let step, let existing = FileManager.default.contents(atPath: path) {
            for line in existing.split(separator: 0x0A) {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                      let lineStep = object["step"] as? Int, lineStep <= step else { continue }
                kept.append(contentsOf: line)
                kept.append(0x0A)
            }
        }
        try kept.write(to: URL(fileURLWithPath: path), options: .atomic)
        handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
    }

    deinit { try? handle.close() }

    public func append(_ report: RetrofitStepReport) throws {
        var line = try encoder.encode(report)
        line.append(0x0A)
        try handle.write(contentsOf: line)
    }
}
