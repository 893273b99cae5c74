import DMSKit
import Foundation
import Testing

/// Multi-turn chat appends each turn to the same cache; the result must equal recomputing the
/// whole conversation from scratch.
@Suite("Chat sessions keep their KV cache across turns")
struct ChatSessionTests {
    @Test func secondTurnMatchesAFreshPrefill() throws {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-llama"), threads: 2)
        let template = try loaded.chatTemplate()
        var options = GenerationOptions(maxTokens: 8, sampling: .greedy)
        options.stopTokens = []
        let chat = ChatSession(session: loaded.makeSession(cache: loaded.makeCache(precision: .f32)), template: template)
        _ = try chat.respond(to: "The dog said hello.", options: options)
        let seenAfterFirst = chat.session.cache.tokensSeen
        let second = try chat.respond(to: "What did the dog say?", options: options)
        #expect(chat.session.cache.tokensSeen > seenAfterFirst, "the second turn appended to the first")
        #expect(chat.messages.count == 4)  // two user turns, two replies (the template adds the system message)

        // The same token sequence prefilled in one piece into a fresh cache.
        let history = chat.session.history
        let prompt = Array(history.prefix(history.count - (second.tokens.count - 1)))
        let fresh = loaded.makeSession(cache: loaded.makeCache(precision: .f32))
        let again = try fresh.generate(prompt: prompt, options: options)
        #expect(again.tokens == second.tokens)
    }

    /// The template writes any BOS itself (as transformers' `apply_chat_template` does); encoding
    /// the rendered text must not add another. The fixture's BOS is `<|im_start|>`, which its
    /// ChatML template opens with; a copy whose tokenizer adds a BOS to plain text checks that
    /// the chat prompt starts with one, not two.
    @Test func chatPromptsCarryOnlyTheTemplatesBOS() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-bos-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: URL(fileURLWithPath: TestResources.fixture("tiny-llama")), to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["add_bos_token"] = true
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)

        let loaded = try LoadedModel(path: directory.path, threads: 1)
        let bos = try #require(loaded.tokenizer.bosTokenId)
        try #require(loaded.tokenizer.addsBosToken && loaded.tokenizer.encode("Hi").first == bos)
        let template = try loaded.chatTemplate()
        var options = GenerationOptions(maxTokens: 2, sampling: .greedy)
        options.stopTokens = []
        let chat = ChatSession(session: loaded.makeSession(cache: loaded.makeCache(precision: .f32)), template: template)
        _ = try chat.respond(to: "Hello", options: options)
        let rendered = try template.render(messages: Array(chat.messages.dropLast()), addGenerationPrompt: true)
        let expected = loaded.tokenizer.encode(rendered, addSpecialTokens: false)
        #expect(expected.first == bos)
        #expect(Array(chat.session.history.prefix(expected.count)) == expected)
        #expect(chat.session.history.prefix(2) != [bos, bos])
    }

    @Test func dmsChatAppendsTurnsToTheSameCache() throws {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-llama"), threads: 2)
        try loaded.attachAdapter(path: TestResources.fixture("dms/tiny-llama.adapter.safetensors"))
        let session = loaded.makeSession()
        #expect(session.cache.policyName == "dms")
        let chat = ChatSession(session: session, template: try loaded.chatTemplate())
        var options = GenerationOptions(maxTokens: 6, sampling: .greedy)
        options.stopTokens = []
        _ = try chat.respond(to: "Hello there, dog.", options: options)
        _ = try chat.respond(to: "Say it again.", options: options)
        let stats = session.cache.statistics()
        #expect(stats.tokensSeen == session.length - 1)  // the last reply's final token is fed next turn
        #expect(stats.compressionRatio > 1)
    }
}
