import DMSKit

/// One entry of `messages`: a role the chat template knows and text content, given as a string or
/// as an array of `{"type": "text", "text": ...}` parts.
struct RequestMessage: Decodable, Sendable {
    var message: ChatMessage

    private enum CodingKeys: String, CodingKey {
        case role, content
    }

    private enum PartKeys: String, CodingKey {
        case type, text
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let role = try container.decode(String.self, forKey: .role)
        message = ChatMessage(role: try Self.chatRole(role, container: container), content: try Self.content(container))
    }

    /// The role as the template spells it; OpenAI's `developer` is the newer name of `system`.
    private static func chatRole(_ role: String, container: KeyedDecodingContainer<CodingKeys>) throws -> ChatRole {
        switch role {
        case "system", "developer": return .system
        case "user": return .user
        case "assistant": return .assistant
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .role, in: container,
                debugDescription: "Unsupported role '\(role)' (supported: system, developer, user, assistant).")
        }
    }

    /// The text of `content`: a string, text parts joined, or nothing (an assistant turn without text).
    private static func content(_ container: KeyedDecodingContainer<CodingKeys>) throws -> String {
        guard container.contains(.content), try !container.decodeNil(forKey: .content) else { return "" }
        if let text = try? container.decode(String.self, forKey: .content) { return text }
        var parts = try container.nestedUnkeyedContainer(forKey: .content)
        var text = ""
        while !parts.isAtEnd {
            let part = try parts.nestedContainer(keyedBy: PartKeys.self)
            let type = try part.decode(String.self, forKey: .type)
            guard type == "text" else {
                throw DecodingError.dataCorruptedError(
                    forKey: .type, in: part, debugDescription: "Unsupported content part type '\(type)' (only 'text').")
            }
            text += try part.decode(String.self, forKey: .text)
        }
        return text
    }
}
