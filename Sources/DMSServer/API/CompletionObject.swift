/// A whole response or one stream chunk: `{"id", "object", "created", "model", "choices", "usage"}`.
struct CompletionObject<Choice: Encodable & Sendable>: Encodable, Sendable {
    var id: String
    var object: String
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    /// Stream chunks carry `"usage": null` when the client asked for a usage chunk at the end.
    var writesNullUsage = false

    private enum CodingKeys: String, CodingKey {
        case id, object, created, model, choices, usage
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(object, forKey: .object)
        try container.encode(created, forKey: .created)
        try container.encode(model, forKey: .model)
        try container.encode(choices, forKey: .choices)
        if usage != nil || writesNullUsage { try container.encode(usage, forKey: .usage) }
    }
}
