import ArgumentParser
import DMSKit

/// Options every model-running command shares: the model, threads, and the KV cache policy.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A GGUF file, or a Hugging Face directory (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "A DMS adapter (safetensors) for this model; turns DMS on.")
    var adapter: String?

    @Option(help: "KV cache policy: full, dms, streaming, tova, h2o or quest (default: dms for DMS checkpoints and adapters, else full).")
    var kv: KVCacheOptions.Policy?

    @Option(help: "Token budget per (layer, KV head) for streaming, tova, h2o (kept) and quest (read).")
    var kvBudget: Int?

    @Option(help: "Budget as a compression ratio of the sequence so far (keep seen/R tokens), to compare at equal ratios.")
    var kvRatio: Double?

    @Option(help: "StreamingLLM attention sinks.")
    var sinks = 4

    @Option(help: "H2O recent window (default: half the budget).")
    var h2oRecent: Int?

    @Option(help: "KV cache storage precision: f16, bf16 or f32.")
    var kvPrecision: KVPrecision = .f16

    @Option(help: "DMS delay window w (default: the one the model or adapter was trained with).")
    var dmsWindow: Int?

    @Option(help: "DMS evicts a token when its successor's decision logit exceeds this.")
    var dmsThreshold: Float = 0

    @Option(help: "Benchmarks only: random DMS decisions flagging this fraction of tokens (measures speed and memory, not quality).")
    var syntheticEviction: Double?

    @Option(help: "Prompt tokens processed per chunk.")
    var prefillChunk = 512

    @Flag(help: "Include per_head_lengths in the JSON kv object.")
    var perHeadLengths = false

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let dmsWindow, dmsWindow < 0 || dmsWindow > 1 << 20 { throw ValidationError("--dms-window must be between 0 and 2^20") }
        guard dmsThreshold.isFinite else { throw ValidationError("--dms-threshold must be finite") }
        if let rate = syntheticEviction, !(0...1).contains(rate) { throw ValidationError("--synthetic-eviction must be in [0, 1]") }
        guard prefillChunk >= 1 else { throw ValidationError("--prefill-chunk must be ≥ 1") }
        if kvBudget != nil && kvRatio != nil { throw ValidationError("give at most one of --kv-budget and --kv-ratio") }
        if let kvBudget, kvBudget < 1 { throw ValidationError("--kv-budget must be ≥ 1") }
        if let kvRatio, !(kvRatio >= 1 && kvRatio.isFinite) { throw ValidationError("--kv-ratio must be ≥ 1") }
        guard sinks >= 0 else { throw ValidationError("--sinks must be ≥ 0") }
        if let h2oRecent, h2oRecent < 0 { throw ValidationError("--h2o-recent must be ≥ 0") }
    }

    var cacheOptions: KVCacheOptions {
        var options = KVCacheOptions(policy: kv, precision: kvPrecision)
        options.dmsWindow = dmsWindow
        options.dmsThreshold = dmsThreshold
        options.budget = kvBudget.map(KVBudget.tokens) ?? kvRatio.map(KVBudget.ratio)
        options.sinks = sinks
        options.recentWindow = h2oRecent
        return options
    }

    /// Loads the model, attaches the adapter or synthetic decisions, and checks the policy can run.
    func load() throws -> LoadedModel {
        let loaded = try LoadedModel(path: model, threads: threads)
        if let adapter { try loaded.attachAdapter(path: adapter) }
        if let rate = syntheticEviction {
            loaded.model.evictionSource = .synthetic(rate: rate, seed: 42)
        }
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

extension KVPrecision: ExpressibleByArgument {}
extension KVCacheOptions.Policy: ExpressibleByArgument {}
