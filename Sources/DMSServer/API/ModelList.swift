/// `GET /v1/models`: `{"object": "list", "data": [model]}`.
struct ModelList: Encodable, Sendable {
    /// One served model as OpenAI describes it.
    struct Model: Encodable, Sendable {
        var id: String
        var object = "model"
        var created: Int
        var ownedBy = "dms"

        private enum CodingKeys: String, CodingKey {
            case id, object, created
            case ownedBy = "owned_by"
        }
    }

    var object = "list"
    var data: [Model]
}
