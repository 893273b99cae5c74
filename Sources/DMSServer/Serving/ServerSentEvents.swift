import Foundation
import Hummingbird

/// The `text/event-stream` framing of OpenAI's streams: `data: <json>\n\n` per event and a
/// final `data: [DONE]\n\n`.
enum ServerSentEvents {
    static let contentType = "text/event-stream"
    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// One event carrying `value` as compact JSON (JSON never holds a raw newline, so one `data:` line suffices).
    static func event(_ value: some Encodable) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeData(try JSONEncoder.api.encode(value))
        buffer.writeString("\n\n")
        return buffer
    }
}
