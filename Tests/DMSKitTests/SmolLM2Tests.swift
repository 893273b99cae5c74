import DMSKit
import Foundation
import Testing

/// The real SmolLM2-135M-Instruct (Q4_1 GGUF) against transformers loading the same file in f32:
/// chat rendering, prompt ids, last-position logits and greedy continuations
/// (Tests/Fixtures/smollm2/greedy.json from scripts/fixtures/make_model_fixtures.py).
@Suite("SmolLM2-135M-Instruct matches transformers", .enabled(if: TestResources.smolLM2Available), .serialized)
struct SmolLM2Tests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let messages: [[String: String]]
        let rendered: String
        let promptIDs: [Int]
        let generatedIDs: [Int]
        let lastLogitsFile: String?
        var description: String { name }
    }

    static let cases: [Case] = {
        guard let root = try? TestResources.json("smollm2/greedy.json") as? [String: Any],
              let cases = root["cases"] as? [[String: Any]] else { return [] }
        return cases.map { c in
            Case(name: c["name"] as! String, messages: c["messages"] as! [[String: String]],
                 rendered: c["rendered"] as! String, promptIDs: c["prompt_ids"] as! [Int],
                 generatedIDs: c["generated_ids"] as! [Int], lastLogitsFile: c["prompt_last_logits_file"] as? String)
        }
    }()

    static let model: LoadedModel? = try? LoadedModel(path: TestResources.smolLM2Path)

    @Test func loads() throws {
        let loaded = try LoadedModel(path: TestResources.smolLM2Path)
        #expect(loaded.configuration.layerCount == 30)
        #expect(loaded.configuration.kvHeadCount == 3)
        #expect(loaded.configuration.ropeLayout == .interleaved)
        #expect(Self.cases.count >= 5)
    }

    @Test("chat rendering, tokenization and greedy continuation", arguments: cases)
    func greedy(_ c: Case) throws {
        let loaded = try #require(Self.model)
        let messages = c.messages.map { ChatMessage(role: ChatRole($0["role"]!), content: $0["content"]!) }
        let rendered = try loaded.chatTemplate().render(messages: messages, addGenerationPrompt: true)
        #expect(rendered == c.rendered)
        let ids = loaded.tokenizer.encode(rendered)
        #expect(ids == c.promptIDs)

        if let file = c.lastLogitsFile {
            let reference = try TestResources.floats(file)
            let logits = try loaded.model.forward(ids, cache: loaded.makeCache(precision: .f32), phase: .prefill, logits: .last)
            #expect(TestResources.relativeError(logits, reference) < 1e-3)
        }

        let session = loaded.makeSession()  // default settings: f16 KV cache, all cores
        let result = try session.generate(prompt: ids, options: GenerationOptions(maxTokens: 40, sampling: .greedy))
        #expect(result.tokens == c.generatedIDs, "\(c.name): \(loaded.tokenizer.decode(result.tokens))")
    }
}
