/// The author of a chat message: `system`, `user`, `assistant`, `tool`, or any other role name the
/// template passes through.
public struct ChatRole: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The role name as the template sees it (`message.role`).
    public let rawValue: String

    /// A role with this name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// A role with this name.
    public init(_ rawValue: String) { self.rawValue = rawValue }
    /// A role with this name.
    public init(stringLiteral value: String) { rawValue = value }

    /// Instructions for the whole conversation.
    public static let system = ChatRole("system")
    /// The person talking to the model.
    public static let user = ChatRole("user")
    /// The model.
    public static let assistant = ChatRole("assistant")
    /// A tool's result (Qwen3 renders it as a `<tool_response>` inside a user turn).
    public static let tool = ChatRole("tool")

    /// The role name.
    public var description: String { rawValue }
}
