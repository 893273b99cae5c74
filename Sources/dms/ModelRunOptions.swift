import ArgumentParser
import DMSKit

/// Options of every command that runs a model: the model, threads, DMS decisions, KV storage and
/// the knobs of each KV cache policy. Which policy runs is chosen by the command (`--kv` in
/// ``ModelOptions``, `--policies` in `dms eval`).
struct ModelRunOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A GGUF file, or a Hugging Face directory (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "A DMS adapter (safetensors) for this model; turns DMS on.")
    var adapter: String?

    @Option(help: "StreamingLLM attention sinks.")
    var sinks = 4

    @Option(help: "H2O recent window (default: half the budget).")
    var h2oRecent: Int?

    @Option(help: "KV cache storage precision: f16, bf16 or f32.")
    var kvPrecision: FloatPrecision = .f16

    @Option(help: "Slots per KV page (one page holds one layer and KV head's keys and values); smaller pages track memory more finely.")
    var kvPageSize = 256

    @Option(help: "DMS delay window w (default: the one the model or adapter was trained with).")
    var dmsWindow: Int?

    @Option(help: "DMS evicts a token when its successor's decision logit exceeds this.")
    var dmsThreshold: Float = 0

    @Option(help: "Leading tokens DMS never evicts (default: as the adapter was trained).")
    var dmsSinks: Int?

    @Option(help: "Random DMS decisions flagging this fraction of tokens (measure speed and memory, not quality); needs --dms-window.")
    var syntheticEviction: Double?

    @Option(help: "Prompt tokens processed per chunk.")
    var prefillChunk = 512

    @Option(help: "Inputs of the products with quantized weights: f32 (exact) or int8 (8 bits per 32 columns, as llama.cpp; several times faster on CPUs with AVX-512 VNNI, f32 elsewhere). Default: int8 for serve and bench-batch, f32 for the rest.")
    var activations: ActivationPrecision?

    func validate() throws {
        if let threads, threads < 1 || threads > 256 { throw ValidationError("--threads must be between 1 and 256") }
        if let dmsWindow, dmsWindow < 0 || dmsWindow > 1 << 20 { throw ValidationError("--dms-window must be between 0 and 2^20") }
        if let dmsSinks, dmsSinks < 0 || dmsSinks > 1 << 20 { throw ValidationError("--dms-sinks must be between 0 and 2^20") }
        guard dmsThreshold.isFinite else { throw ValidationError("--dms-threshold must be finite") }
        if let rate = syntheticEviction, !(0...1).contains(rate) { throw ValidationError("--synthetic-eviction must be in [0, 1]") }
        guard (1...65536).contains(kvPageSize) else { throw ValidationError("--kv-page-size must be between 1 and 65536") }
        guard prefillChunk >= 1 else { throw ValidationError("--prefill-chunk must be ≥ 1") }
        guard sinks >= 0 else { throw ValidationError("--sinks must be ≥ 0") }
        if let h2oRecent, h2oRecent < 0 { throw ValidationError("--h2o-recent must be ≥ 0") }
    }

    /// Cache options for `policy` (nil: the model's default) with these knobs and `budget`.
    /// The per-sequence budget given as a token count (the option `tokensFlag`) or as `--kv-ratio`:
    /// at most one, each in range.
    static func kvBudget(tokens: Int?, ratio: Double?, tokensFlag: String) throws -> KVBudget? {
        if tokens != nil && ratio != nil { throw ValidationError("give at most one of \(tokensFlag) and --kv-ratio") }
        if let tokens, tokens < 1 { throw ValidationError("\(tokensFlag) must be ≥ 1") }
        if let ratio, !(ratio >= 1 && ratio.isFinite) { throw ValidationError("--kv-ratio must be ≥ 1") }
        return tokens.map(KVBudget.tokens) ?? ratio.map(KVBudget.ratio)
    }

    func cacheOptions(policy: KVCacheOptions.Policy?, budget: KVBudget?) -> KVCacheOptions {
        var options = KVCacheOptions(policy: policy, precision: kvPrecision)
        options.pageSize = kvPageSize
        options.dmsWindow = dmsWindow
        options.dmsThreshold = dmsThreshold
        options.dmsSinks = dmsSinks
        options.budget = budget
        options.sinks = sinks
        options.recentWindow = h2oRecent
        return options
    }

    /// Loads the model and attaches the adapter or the synthetic decisions; `--activations` or
    /// else `defaultActivations` sets how its products take their inputs.
    func loadModel(defaultActivations: ActivationPrecision = .float32) throws -> LoadedModel {
        let loaded = try LoadedModel(path: model, threads: threads)
        loaded.model.activationPrecision = activations ?? defaultActivations
        if let adapter { try loaded.attachAdapter(path: adapter) }
        if let rate = syntheticEviction {
            loaded.model.evictionSource = .synthetic(rate: rate, seed: 42)
        }
        return loaded
    }
}

extension FloatPrecision: ExpressibleByArgument {}
extension ActivationPrecision: ExpressibleByArgument {}
extension KVCacheOptions.Policy: ExpressibleByArgument {}
