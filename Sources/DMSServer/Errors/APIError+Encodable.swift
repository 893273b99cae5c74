extension APIError: Encodable {
    private enum CodingKeys: String, CodingKey {
        case error
    }

    private enum DetailKeys: String, CodingKey {
        case message, type, param, code
    }

    /// Writes `param` and `code` as `null` when absent, as OpenAI does.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        var detail = container.nestedContainer(keyedBy: DetailKeys.self, forKey: .error)
        try detail.encode(message, forKey: .message)
        try detail.encode(type, forKey: .type)
        try detail.encode(param, forKey: .param)
        try detail.encode(code, forKey: .code)
    }
}
