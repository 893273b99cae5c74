import ArgumentParser
import DMSKit
import DMSServer

/// Options of the commands that run many sequences in one KV memory budget (`serve`,
/// `bench-batch`): the model, the default cache policy, and the shared budget.
struct ServingOptions: ParsableArguments {
    @OptionGroup var common: ModelRunOptions

    @Option(help: "Default KV cache policy: full, dms, streaming, tova, h2o or quest (default: dms for DMS checkpoints and adapters, else full).")
    var kv: KVCacheOptions.Policy?

    @Option(help: "Token budget per (layer, KV head) of each sequence for streaming, tova, h2o (kept) and quest (read).")
    var kvBudgetTokens: Int?

    @Option(help: "Per-sequence budget as a compression ratio (keep seen/R tokens) for the budget policies.")
    var kvRatio: Double?

    @Option(help: "KV memory shared by every sequence: bytes, or with a unit (256MiB, 1GiB, 512MB).")
    var kvBudget = ByteCount(bytes: 1 << 30)

    @Option(help: "Most sequences running at once; more wait in the queue.")
    var maxSequences = 64

    func validate() throws {
        _ = try ModelRunOptions.kvBudget(tokens: kvBudgetTokens, ratio: kvRatio, tokensFlag: "--kv-budget-tokens")
        guard kvBudget.bytes > 0 else { throw ValidationError("--kv-budget must be positive") }
        guard (1...4096).contains(maxSequences) else { throw ValidationError("--max-sequences must be between 1 and 4096") }
    }

    var cacheOptions: KVCacheOptions {
        common.cacheOptions(policy: kv, budget: try? ModelRunOptions.kvBudget(tokens: kvBudgetTokens, ratio: kvRatio,
                                                                              tokensFlag: "--kv-budget-tokens"))
    }

    var schedulerConfiguration: BatchScheduler.Configuration {
        var configuration = BatchScheduler.Configuration(kvBudgetBytes: kvBudget.bytes, cacheOptions: cacheOptions)
        configuration.maxSequences = maxSequences
        configuration.prefillChunk = common.prefillChunk
        return configuration
    }

    /// Loads the model with its adapter and checks the default policy can run.
    func load() throws -> LoadedModel {
        let loaded = try common.loadModel(defaultActivations: .int8)
        _ = try loaded.makeCache(cacheOptions)
        return loaded
    }
}
