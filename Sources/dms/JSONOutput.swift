import Foundation

/// Prints one JSON object on standard output.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = try encoder.encode(value)
    print(String(decoding: data, as: UTF8.self))
}

/// Writes to standard output immediately (streamed text).
func writeOut(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}

/// Writes to standard error.
func writeError(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
