/// A model's chat template, recognised from its Jinja source and rendered natively.
///
/// Only templates known to produce ChatML are accepted: plain ChatML, ChatML with a default system
/// message (SmolLM2-Instruct, whose message is read from the template), and Qwen3's hybrid-thinking
/// template (both published revisions). The source is compared token by token with the published
/// text after normalising formatting (see ``JinjaCanonicalForm``); any other template is rejected with
/// ``ChatTemplateError/unrecognised(excerpt:)`` instead of being guessed at.
///
/// ``render(messages:addGenerationPrompt:enableThinking:tools:)`` gives byte-for-byte what
/// `tokenizer.apply_chat_template(messages, tokenize=False, ...)` in transformers gives.
public struct ChatTemplate: Sendable, Hashable {
    /// The Jinja source.
    public let source: String
    /// Which format it is.
    public let family: ChatTemplateFamily
    /// The system message put first when a conversation has none (``ChatTemplateFamily/chatMLWithDefaultSystem``).
    public let defaultSystemMessage: String?

    /// Whether `enableThinking` has an effect (Qwen3).
    public var supportsThinking: Bool { family == .qwen3 }

    private static let references: [(ChatTemplateFamily, JinjaCanonicalForm)] = {
        let sources: [(ChatTemplateFamily, String)] = [
            (.chatML, ChatTemplateReferences.chatML),
            (.chatMLWithDefaultSystem, ChatTemplateReferences.chatMLWithDefaultSystem),
            (.qwen3, ChatTemplateReferences.qwen3),
            (.qwen3, ChatTemplateReferences.qwen3Original),
        ]
        return sources.map { ($0.0, JinjaCanonicalForm(source: $0.1)!) }
    }()

    /// Recognises `source`; throws ``ChatTemplateError/unrecognised(excerpt:)`` for any other template.
    public init(source: String) throws {
        self.source = source
        if let form = JinjaCanonicalForm(source: source) {
            for (family, reference) in ChatTemplate.references {
                if let captured = form.match(reference) {
                    self.family = family
                    defaultSystemMessage = family == .chatMLWithDefaultSystem ? captured : nil
                    return
                }
            }
        }
        throw ChatTemplateError.unrecognised(excerpt: ChatTemplate.excerpt(source))
    }

    private static func excerpt(_ source: String) -> String {
        var text = ""
        for scalar in source.unicodeScalars.prefix(120) {
            switch scalar {
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default: text.unicodeScalars.append(scalar)
            }
        }
        return source.unicodeScalars.count > 120 ? text + "…" : text
    }

    /// The prompt text for `messages`.
    ///
    /// - Parameters:
    ///   - addGenerationPrompt: end with the opening of an assistant turn (`<|im_start|>assistant\n`).
    ///   - enableThinking: Qwen3 only; when false the generation prompt gets an empty
    ///     `<think>\n\n</think>\n\n` so the model answers without reasoning. Earlier assistant turns have
    ///     their `<think>…</think>` reasoning removed either way, as Qwen3's template does.
    ///   - tools: tool definitions; must be empty (rendering them is not supported).
    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, enableThinking: Bool = true,
                       tools: [String] = []) throws -> String {
        guard tools.isEmpty else { throw ChatTemplateError.toolsNotSupported }
        guard !messages.isEmpty else { throw ChatTemplateError.emptyConversation }
        switch family {
        case .chatML, .chatMLWithDefaultSystem:
            var out = ""
            if let system = defaultSystemMessage, messages[0].role.rawValue != "system" {
                out += "<|im_start|>system\n" + system + "<|im_end|>\n"
            }
            for message in messages {
                out += "<|im_start|>" + message.role.rawValue + "\n" + message.content + "<|im_end|>\n"
            }
            if addGenerationPrompt { out += "<|im_start|>assistant\n" }
            return out
        case .qwen3:
            return renderQwen3(messages, addGenerationPrompt: addGenerationPrompt, enableThinking: enableThinking)
        }
    }

    /// A transcription of Qwen3's template for messages with string content and no tool calls.
    private func renderQwen3(_ messages: [ChatMessage], addGenerationPrompt: Bool, enableThinking: Bool) -> String {
        var out = ""
        if messages[0].role.rawValue == "system" {
            out += "<|im_start|>system\n" + messages[0].content + "<|im_end|>\n"
        }
        // The last user message that is not a tool response ("query").
        var lastQueryIndex = messages.count - 1
        for index in stride(from: messages.count - 1, through: 0, by: -1) {
            let message = messages[index]
            let content = Array(message.content.utf8)
            if message.role.rawValue == "user"
                && !(content.starts(with: Array("<tool_response>".utf8)) && content.ends(with: Array("</tool_response>".utf8))) {
                lastQueryIndex = index
                break
            }
        }
        let think = Array("<think>".utf8)
        let endThink = Array("</think>".utf8)
        for (index, message) in messages.enumerated() {
            let role = message.role.rawValue
            let isLast = index == messages.count - 1
            if role == "user" || (role == "system" && index != 0) {
                out += "<|im_start|>" + role + "\n" + message.content + "<|im_end|>\n"
            } else if role == "assistant" {
                var content = Array(message.content.utf8)
                var reasoning: [UInt8] = []
                if content.byteRange(of: endThink) != nil {
                    let beforeEnd = content.pySplit(endThink).first ?? []
                    reasoning = (beforeEnd.trimmingNewlines(leading: false, trailing: true)
                        .pySplit(think).last ?? []).trimmingNewlines(leading: true, trailing: false)
                    content = (content.pySplit(endThink).last ?? []).trimmingNewlines(leading: true, trailing: false)
                }
                out += "<|im_start|>" + role + "\n"
                if index > lastQueryIndex && (isLast || !reasoning.isEmpty) {
                    out += "<think>\n" + String(decoding: reasoning.trimmingNewlines(leading: true, trailing: true), as: UTF8.self)
                        + "\n</think>\n\n" + String(decoding: content.trimmingNewlines(leading: true, trailing: false), as: UTF8.self)
                } else {
                    out += String(decoding: content, as: UTF8.self)
                }
                out += "<|im_end|>\n"
            } else if role == "tool" {
                if index == 0 || messages[index - 1].role.rawValue != "tool" { out += "<|im_start|>user" }
                out += "\n<tool_response>\n" + message.content + "\n</tool_response>"
                if isLast || messages[index + 1].role.rawValue != "tool" { out += "<|im_end|>\n" }
            }
        }
        if addGenerationPrompt {
            out += "<|im_start|>assistant\n"
            if !enableThinking { out += "<think>\n\n</think>\n\n" }
        }
        return out
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool {
        count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix
    }

    /// The first occurrence of `separator`.
    func byteRange(of separator: [UInt8]) -> Range<Int>? {
        guard !separator.isEmpty, count >= separator.count else { return nil }
        var i = 0
        while i + separator.count <= count {
            if self[i] == separator[0] && Array(self[i..<(i + separator.count)]) == separator {
                return i..<(i + separator.count)
            }
            i += 1
        }
        return nil
    }

    /// Python's `str.split(separator)`: every piece, including empty ones.
    func pySplit(_ separator: [UInt8]) -> [[UInt8]] {
        var pieces: [[UInt8]] = []
        var rest = self
        while let range = rest.byteRange(of: separator) {
            pieces.append(Array(rest[..<range.lowerBound]))
            rest = Array(rest[range.upperBound...])
        }
        pieces.append(rest)
        return pieces
    }

    /// Python's `lstrip('\n')` / `rstrip('\n')` / `strip('\n')`.
    func trimmingNewlines(leading: Bool, trailing: Bool) -> [UInt8] {
        var start = 0
        var end = count
        if leading { while start < end && self[start] == 0x0A { start += 1 } }
        if trailing { while end > start && self[end - 1] == 0x0A { end -= 1 } }
        return Array(self[start..<end])
    }
}
