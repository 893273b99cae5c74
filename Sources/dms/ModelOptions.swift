import ArgumentParser
import DMSKit

/// Options of the single-policy commands (generate, chat, score, bench): the model and its knobs,
/// plus the one KV cache policy to run and its budget.
struct ModelOptions: ParsableArguments {
    @OptionGroup var common: ModelRunOptions

    @Option(help: "KV cache policy: full, dms, streaming, tova, h2o or quest (default: dms for DMS checkpoints and adapters, else full).")
    var kv: KVCacheOptions.Policy?

    @Option(help: "Token budget per (layer, KV head) for streaming, tova, h2o (kept) and quest (read).")
    var kvBudget: Int?

    @Option(help: "Budget as a compression ratio of the sequence so far (keep seen/R tokens), to compare at equal ratios.")
    var kvRatio: Double?

    @Flag(help: "Include per_head_lengths in the JSON kv object.")
    var perHeadLengths = false

    func validate() throws {
        _ = try ModelRunOptions.kvBudget(tokens: kvBudget, ratio: kvRatio, tokensFlag: "--kv-budget")
    }

    var prefillChunk: Int { common.prefillChunk }

    var cacheOptions: KVCacheOptions {
        common.cacheOptions(policy: kv, budget: try? ModelRunOptions.kvBudget(tokens: kvBudget, ratio: kvRatio, tokensFlag: "--kv-budget"))
    }

    /// Loads the model, attaches the adapter or synthetic decisions, and checks the policy can run.
    func load() throws -> LoadedModel {
        let loaded = try common.loadModel()
        _ = try loaded.makeCache(cacheOptions)
        return loaded
    }

    /// A session with a fresh cache under these options.
    func makeSession(_ loaded: LoadedModel) throws -> GenerationSession {
        let session = GenerationSession(model: loaded.model, tokenizer: loaded.tokenizer, cache: try loaded.makeCache(cacheOptions))
        session.prefillChunk = prefillChunk
        return session
    }

    func report(_ statistics: KVStatistics) -> KVReport {
        KVReport(statistics, includePerHeadLengths: perHeadLengths)
    }
}
