import DMSKit
import Foundation
import Testing

private enum ChatFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
        .appendingPathComponent("tokenizer")

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    struct Render {
        let name: String
        let messages: [ChatMessage]
        let addGenerationPrompt: Bool
        /// nil: not passed to transformers (the template's default).
        let enableThinking: Bool?
        let text: String
        let template: String?
    }

    static func renders(_ object: Any?) throws -> [Render] {
        let list = try #require(object as? [[String: Any]])
        return try list.map { entry in
            let messages = try #require(entry["messages"] as? [[String: String]]).map {
                ChatMessage(role: ChatRole($0["role"] ?? ""), content: $0["content"] ?? "")
            }
            return Render(name: try #require(entry["name"] as? String), messages: messages,
                          addGenerationPrompt: try #require(entry["add_generation_prompt"] as? Bool),
                          enableThinking: entry["enable_thinking"] as? Bool,
                          text: try #require(entry["text"] as? String),
                          template: entry["template"] as? String)
        }
    }
}

/// Byte-for-byte equality (Swift's String == compares canonical equivalence).
private func sameBytes(_ a: String, _ b: String) -> Bool {
    Array(a.utf8) == Array(b.utf8)
}

@Suite("Chat templates")
struct ChatTemplateTests {
    @Test func smolLM2RendersLikeTransformers() throws {
        let fixture = try ChatFixtures.json("smollm2_chat.json")
        let template = try ChatTemplate(source: try #require(fixture["template"] as? String))
        #expect(template.family == .chatMLWithDefaultSystem)
        #expect(template.defaultSystemMessage == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
        #expect(!template.supportsThinking)
        let renders = try ChatFixtures.renders(fixture["renders"])
        #expect(renders.count >= 8)
        for r in renders {
            let text = try template.render(messages: r.messages, addGenerationPrompt: r.addGenerationPrompt)
            #expect(sameBytes(text, r.text), "\(r.name) gen=\(r.addGenerationPrompt): \(text.debugDescription)")
        }
    }

    @Test func chatMLRendersLikeTransformers() throws {
        let fixture = try ChatFixtures.json("chatml_chat.json")
        let template = try ChatTemplate(source: try #require(fixture["template"] as? String))
        #expect(template.family == .chatML && template.defaultSystemMessage == nil)
        for r in try ChatFixtures.renders(fixture["renders"]) {
            let text = try template.render(messages: r.messages, addGenerationPrompt: r.addGenerationPrompt)
            #expect(sameBytes(text, r.text), "\(r.name) gen=\(r.addGenerationPrompt): \(text.debugDescription)")
        }
    }

    @Test func qwen3RendersLikeTransformers() throws {
        let fixture = try ChatFixtures.json("qwen3_chat.json")
        let sources = try #require(fixture["templates"] as? [String: String])
        #expect(sources.count == 2)
        var templates: [String: ChatTemplate] = [:]
        for (name, source) in sources {
            let template = try ChatTemplate(source: source)
            #expect(template.family == .qwen3 && template.supportsThinking, "\(name)")
            templates[name] = template
        }
        let renders = try ChatFixtures.renders(fixture["renders"])
        #expect(renders.count >= 50)
        for r in renders {
            let template = try #require(templates[r.template ?? ""])
            let text = try template.render(messages: r.messages, addGenerationPrompt: r.addGenerationPrompt,
                                           enableThinking: r.enableThinking ?? true)
            #expect(sameBytes(text, r.text),
                    "\(r.template ?? "") \(r.name) gen=\(r.addGenerationPrompt) thinking=\(String(describing: r.enableThinking)): \(text.debugDescription)")
        }
    }

    @Test func qwen3ThinkingSwitchAndHistory() throws {
        let fixture = try ChatFixtures.json("qwen3_chat.json")
        let template = try ChatTemplate(source: try #require((fixture["templates"] as? [String: String])?["qwen3"]))
        let messages: [ChatMessage] = [.user("2+2?"), .assistant("<think>\nadd\n</think>\n\n4"), .user("3+3?")]
        let on = try template.render(messages: messages, addGenerationPrompt: true)
        let off = try template.render(messages: messages, addGenerationPrompt: true, enableThinking: false)
        #expect(on == "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n4<|im_end|>\n<|im_start|>user\n3+3?<|im_end|>\n<|im_start|>assistant\n")
        #expect(off == on + "<think>\n\n</think>\n\n")
    }

    @Test func recognisesReformattedTemplates() throws {
        // Same SmolLM2 template: other quotes, attribute access, whitespace control, a custom system message.
        let source = """
        {%- for message in messages -%}
          {%- if loop.first and messages[0].role != "system" -%}
            {{- "<|im_start|>system\\nYou are Bob.<|im_end|>\\n" -}}
          {%- endif -%}
          {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>\\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}

        """
        let template = try ChatTemplate(source: source)
        #expect(template.family == .chatMLWithDefaultSystem)
        #expect(template.defaultSystemMessage == "You are Bob.")
        #expect(try template.render(messages: [.user("hi")], addGenerationPrompt: false)
                == "<|im_start|>system\nYou are Bob.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n")
    }

    @Test func rejectsUnknownTemplates() throws {
        let llama3 = "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + '<|eot_id|>' %}{{ content }}{% endfor %}"
        let chatml = try #require(try ChatFixtures.json("chatml_chat.json")["template"] as? String)
        let candidates = [
            llama3,
            "",
            "{{ messages }}",
            "{% for message in messages %}",                              // unterminated
            chatml.replacingOccurrences(of: "<|im_end|>", with: "<|end|>"),
            chatml + "\nextra text",                                      // output outside tags
            chatml.replacingOccurrences(of: "'\\n'}}", with: "'\\n\\n'}}"),
        ]
        for source in candidates {
            #expect { try ChatTemplate(source: source) } throws: { error in
                guard case let .unrecognised(excerpt)? = error as? ChatTemplateError else { return false }
                return source.isEmpty || excerpt.hasPrefix(String(source.prefix(20)).replacingOccurrences(of: "\n", with: "\\n"))
            }
        }
        #expect("\(ChatTemplateError.unrecognised(excerpt: "{{ x }}"))".contains("{{ x }}"))
    }

    @Test func refusesToolsAndEmptyConversations() throws {
        let template = try ChatTemplate(source: try #require(try ChatFixtures.json("chatml_chat.json")["template"] as? String))
        #expect(throws: ChatTemplateError.toolsNotSupported) {
            try template.render(messages: [.user("hi")], addGenerationPrompt: true, tools: ["{\"name\": \"f\"}"])
        }
        #expect(throws: ChatTemplateError.emptyConversation) {
            try template.render(messages: [], addGenerationPrompt: true)
        }
    }
}
