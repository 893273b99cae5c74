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

    /// 8-bit inputs (as serving runs) keep the model's next-token distributions: the prompts are
    /// read in chunks of 16 tokens both ways.
    @Test func int8ActivationsKeepTheNextTokenDistributions() throws {
        let loaded = try #require(Self.model)
        let ids = Self.cases.flatMap(\.promptIDs)
        let vocab = loaded.configuration.vocabularySize
        func logits(_ precision: ActivationPrecision) throws -> [Float] {
            loaded.model.activationPrecision = precision
            defer { loaded.model.activationPrecision = .float32 }
            let cache = loaded.makeCache(precision: .f32)
            return try stride(from: 0, to: ids.count, by: 16).flatMap { start in
                try loaded.model.forward(Array(ids[start..<min(start + 16, ids.count)]), cache: cache,
                                         phase: .prefill, logits: .all)
            }
        }
        let exact = try logits(.float32), int8 = try logits(.int8)
        #expect(exact.count == ids.count * vocab && int8.count == exact.count)
        var kl = 0.0, agree = 0
        for row in 0..<ids.count {
            let p = Self.logProbabilities(exact[(row * vocab)..<((row + 1) * vocab)])
            let q = Self.logProbabilities(int8[(row * vocab)..<((row + 1) * vocab)])
            kl += zip(p, q).reduce(0.0) { $0 + exp($1.0) * ($1.0 - $1.1) }
            agree += p.indices.max { p[$0] < p[$1] } == q.indices.max { q[$0] < q[$1] } ? 1 : 0
        }
        let meanKL = kl / Double(ids.count), agreement = Double(agree) / Double(ids.count)
        print("int8 activations over \(ids.count) positions: KL \(meanKL) nats/token, top-1 agreement \(agreement)")
        if Kernels.isa.hasPrefix("avx512vnni") { #expect(meanKL > 0, "the 8-bit path did not run") }
        #expect(meanKL < 0.01)
        #expect(agreement >= 0.95)
    }

    static func logProbabilities(_ logits: ArraySlice<Float>) -> [Double] {
        let top = Double(logits.max()!)
        let logSum = log(logits.reduce(0.0) { $0 + exp(Double($1) - top) }) + top
        return logits.map { Double($0) - logSum }
    }
}
