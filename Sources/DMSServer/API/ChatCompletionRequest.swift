import DMSKit

/// The body of `POST /v1/chat/completions`.
struct ChatCompletionRequest: Decodable, Sendable {
    var messages: [ChatMessage]
    var parameters: GenerationParameters

    private enum CodingKeys: String, CodingKey {
        case messages
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        messages = try container.decode([RequestMessage].self, forKey: .messages).map(\.message)
        parameters = try GenerationParameters(from: decoder)
    }

    func validate() throws {
        guard !messages.isEmpty else {
            throw APIError.invalidRequest("'messages' must hold at least one message.", param: "messages")
        }
        try parameters.validate()
    }
}
