import Foundation

extension JSONEncoder {
    /// How every body and event is written: keys sorted, so output is stable, and `/` unescaped.
    static var api: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
