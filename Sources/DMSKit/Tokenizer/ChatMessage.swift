/// One message of a conversation.
public struct ChatMessage: Hashable, Sendable {
    /// Who wrote it.
    public var role: ChatRole
    /// The text. For an assistant message of a thinking model it may include `<think>…</think>`.
    public var content: String

    /// A message from `role` with text `content`.
    public init(role: ChatRole, content: String) {
        self.role = role
        self.content = content
    }

    /// A system message.
    public static func system(_ content: String) -> ChatMessage { ChatMessage(role: .system, content: content) }
    /// A user message.
    public static func user(_ content: String) -> ChatMessage { ChatMessage(role: .user, content: content) }
    /// An assistant message.
    public static func assistant(_ content: String) -> ChatMessage { ChatMessage(role: .assistant, content: content) }
}
