/// Encodes as `null`: for fields OpenAI always sends but this server never fills (`logprobs`).
struct JSONNull: Encodable, Sendable {
    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encodeNil()
    }
}
