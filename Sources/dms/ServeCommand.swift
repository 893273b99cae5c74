import ArgumentParser
import DMSKit
import DMSServer
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the model over an OpenAI-compatible HTTP API.",
        discussion: """
            Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, \
            GET /metrics (Prometheus). Requests may choose their own KV cache with the "kv" extension field.
            """)

    @OptionGroup var common: ModelRunOptions

    @Option(help: "Default KV cache policy: full, dms, streaming, tova, h2o or quest (default: dms for DMS checkpoints and adapters, else full).")
    var kv: KVCacheOptions.Policy?

    @Option(help: "Token budget per (layer, KV head) for streaming, tova, h2o (kept) and quest (read).")
    var kvBudgetTokens: Int?

    @Option(help: "Budget as a compression ratio of the sequence so far (keep seen/R tokens).")
    var kvRatio: Double?

    @Option(help: "KV memory shared by all sequences: bytes or with a unit (268435456, 256MiB, 1GiB, 512MB).")
    var kvBudget = ByteCount(bytes: 1 << 30)

    @Option(help: "Most sequences running at once; more wait in the queue (default: the scheduler's).")
    var maxSequences: Int?

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The model name clients send (default: the model file's name without its extension).")
    var modelId: String?

    func validate() throws {
        if kvBudgetTokens != nil && kvRatio != nil { throw ValidationError("give at most one of --kv-budget-tokens and --kv-ratio") }
        if let kvBudgetTokens, kvBudgetTokens < 1 { throw ValidationError("--kv-budget-tokens must be ≥ 1") }
        if let kvRatio, !(kvRatio >= 1 && kvRatio.isFinite) { throw ValidationError("--kv-ratio must be ≥ 1") }
        guard kvBudget.bytes > 0 else { throw ValidationError("--kv-budget must be positive") }
        if let maxSequences, maxSequences < 1 { throw ValidationError("--max-sequences must be ≥ 1") }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let modelId, modelId.isEmpty { throw ValidationError("--model-id must not be empty") }
    }

    func run() async throws {
        let cacheOptions = common.cacheOptions(policy: kv, budget: kvBudgetTokens.map(KVBudget.tokens) ?? kvRatio.map(KVBudget.ratio))
        let loaded = try common.loadModel()
        _ = try loaded.makeCache(cacheOptions)
        var schedulerConfiguration = BatchScheduler.Configuration(kvBudgetBytes: kvBudget.bytes, cacheOptions: cacheOptions)
        if let maxSequences { schedulerConfiguration.maxSequences = maxSequences }
        schedulerConfiguration.prefillChunk = common.prefillChunk
        let scheduler = try BatchScheduler(model: loaded, configuration: schedulerConfiguration)
        let modelID = modelId ?? URL(fileURLWithPath: common.model).deletingPathExtension().lastPathComponent
        let server = OpenAIServer(scheduler: scheduler, configuration: ServerConfiguration(host: host, port: port, modelID: modelID))
        try await server.run { address in
            writeError("dms serve: \(modelID) (KV policy \(loaded.resolvedPolicy(cacheOptions).rawValue), budget \(kvBudget.bytes) bytes) listening on \(address)\n")
        }
    }
}

extension ByteCount: ExpressibleByArgument {
    /// `1GiB` rather than `1073741824` in `--help`.
    public var defaultValueDescription: String {
        let units = [("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        guard let (unit, scale) = units.first(where: { bytes >= $0.1 && bytes % $0.1 == 0 }) else { return description }
        return "\(bytes / scale)\(unit)"
    }
}
