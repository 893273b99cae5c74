import DMSKit
import Foundation
import Testing

/// The DMS adapter shipped for SmolLM2-135M-Instruct (adapters/smollm2-135m-instruct) on the real
/// model: it loads against the model's identity, its learned decisions evict, attention sinks
/// stay, and perplexity under eviction stays near the full cache's.
@Suite("Shipped SmolLM2 DMS adapter", .enabled(if: TestResources.smolLM2Available), .serialized)
struct ShippedAdapterTests {
    static let directory = CLITests.packageRoot.appendingPathComponent("adapters/smollm2-135m-instruct")

    /// About 1.5K tokens of English prose that ships with this repository.
    static func text(_ loaded: LoadedModel) throws -> [Int] {
        let readme = try String(contentsOf: CLITests.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        return Array(loaded.tokenizer.encode(readme, addSpecialTokens: false).prefix(1536))
    }

    @Test(arguments: ["dms-adapter.safetensors", "dms-lora-adapter.safetensors", "dms-lora-adapter-ft2048.safetensors",
                      "dms-lora-adapter-ft4096.safetensors", "dms-lora-adapter-ft4096-w128.safetensors",
                      "dms-lora-adapter-w128.safetensors", "dms-lora-adapter-w128-mlp64.safetensors"])
    func evictsKeepsSinksAndStaysClose(file: String) throws {
        let loaded = try LoadedModel(path: TestResources.smolLM2Path)
        try loaded.attachAdapter(path: Self.directory.appendingPathComponent(file).path)
        guard case .adapter(let adapter) = loaded.model.evictionSource else {
            Issue.record("the adapter did not attach")
            return
        }
        #expect(adapter.parameters.window == (file.contains("w128") ? 128 : 64) && adapter.parameters.sinks == 4)
        #expect((adapter.lowRank?.rank ?? 0) == (file.contains("lora") ? 8 : 0))
        #expect((adapter.lowRank?.coversFeedForward ?? false) == file.contains("mlp"))
        let ids = try Self.text(loaded)
        #expect(ids.count == 1536)

        let full = GenerationSession(model: loaded.model, tokenizer: loaded.tokenizer, cache: loaded.makeCache())
        let dmsCache = try loaded.makeCache(KVCacheOptions(policy: .dms))
        let dms = GenerationSession(model: loaded.model, tokenizer: loaded.tokenizer, cache: dmsCache)
        let fullPerplexity = try #require(try full.score(ids).perplexity)
        let dmsPerplexity = try #require(try dms.score(ids).perplexity)
        let statistics = dmsCache.statistics()
        // the learned decisions evict most tokens beyond the window (4x at least at 1.5K tokens)
        #expect(statistics.compressionRatio > 4, "compression \(statistics.compressionRatio)")
        // yet the model still reads this text nearly as well as with every token kept
        #expect(dmsPerplexity < fullPerplexity * 1.5, "perplexity \(dmsPerplexity) vs full \(fullPerplexity)")
        let cache = try #require(dmsCache as? DMSKVCache)
        for layer in 0..<loaded.configuration.layerCount {
            for head in 0..<loaded.configuration.kvHeadCount {
                #expect(Set(cache.residentPositions(layer: layer, head: head)).isSuperset(of: 0..<4))
            }
        }
    }
}
