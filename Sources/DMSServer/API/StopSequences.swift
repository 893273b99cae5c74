/// OpenAI's `stop`: a string or an array of up to four strings.
struct StopSequences: Decodable, Sendable {
    static let limit = 4

    var strings: [String]

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let single = try? container.decode(String.self) {
            strings = [single]
        } else {
            strings = try container.decode([String].self)
        }
    }
}
