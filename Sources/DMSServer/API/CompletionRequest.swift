/// The body of `POST /v1/completions`: one prompt, as a string or an array holding one string.
struct CompletionRequest: Decodable, Sendable {
    var prompt: String
    var parameters: GenerationParameters

    private enum CodingKeys: String, CodingKey {
        case prompt
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let text = try? container.decode(String.self, forKey: .prompt) {
            prompt = text
        } else {
            let prompts = try container.decode([String].self, forKey: .prompt)
            guard prompts.count == 1 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .prompt, in: container, debugDescription: "Exactly one prompt per request is supported.")
            }
            prompt = prompts[0]
        }
        parameters = try GenerationParameters(from: decoder)
    }

    func validate() throws {
        guard !prompt.isEmpty else { throw APIError.invalidRequest("'prompt' must not be empty.", param: "prompt") }
        try parameters.validate()
    }
}
