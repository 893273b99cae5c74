import ArgumentParser
import DMSKit
import Foundation

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Prefill and decode throughput, like llama-bench (pp/tg, optionally at a depth).")

    @OptionGroup var modelOptions: ModelOptions

    @Option(help: "Prompt tokens per prefill run (0 skips prefill).")
    var promptTokens = 512

    @Option(help: "Tokens per decode run (0 skips decode).")
    var genTokens = 128

    @Option(help: "Tokens already in the cache before each run (llama-bench -d).")
    var depth = 0

    @Option(help: "Repetitions of each run.")
    var repetitions = 3

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Report: Encodable {
        var model: String
        var threads: Int
        var isa: String
        var promptTokens: Int
        var genTokens: Int
        var depth: Int
        var repetitions: Int
        var prefillTokensPerS: Double?
        var decodeTokensPerS: Double?
        var prefillSpread: Benchmark.Spread?
        var decodeSpread: Benchmark.Spread?
        var decodeMsPerTokenP50: Double?
        var decodeMsPerTokenP99: Double?
        var kv: KVReport?

        enum CodingKeys: String, CodingKey {
            case model, threads, isa, depth, repetitions, kv
            case promptTokens = "prompt_tokens"
            case genTokens = "gen_tokens"
            case prefillTokensPerS = "prefill_tokens_per_s"
            case decodeTokensPerS = "decode_tokens_per_s"
            case prefillSpread = "prefill_spread"
            case decodeSpread = "decode_spread"
            case decodeMsPerTokenP50 = "decode_ms_per_token_p50"
            case decodeMsPerTokenP99 = "decode_ms_per_token_p99"
        }
    }

    func validate() throws {
        guard promptTokens >= 0, genTokens >= 0, depth >= 0 else { throw ValidationError("token counts must be ≥ 0") }
        guard repetitions >= 1 else { throw ValidationError("--repetitions must be ≥ 1") }
    }

    func run() throws {
        let loaded = try modelOptions.load()
        let needed = depth + max(promptTokens, genTokens)
        guard needed <= loaded.configuration.contextLength else {
            throw ValidationError("depth + tokens = \(needed) exceeds the model's context length \(loaded.configuration.contextLength)")
        }
        var settings = Benchmark.Settings()
        settings.promptTokens = promptTokens
        settings.generatedTokens = genTokens
        settings.depth = depth
        settings.repetitions = repetitions
        let benchmark = Benchmark(model: loaded.model, settings: settings) {
            try loaded.makeCache(modelOptions.cacheOptions)
        }
        let result = try benchmark.run(chunk: modelOptions.prefillChunk) { line in
            if !json { writeError(line + "\n") }
        }
        let report = Report(
            model: loaded.path, threads: loaded.model.workers?.threads ?? 1, isa: Kernels.isa,
            promptTokens: promptTokens, genTokens: genTokens, depth: depth, repetitions: repetitions,
            prefillTokensPerS: result.prefillTokensPerSecond.isEmpty ? nil : Statistics.median(result.prefillTokensPerSecond),
            decodeTokensPerS: result.decodeTokensPerSecond.isEmpty ? nil : Statistics.median(result.decodeTokensPerSecond),
            prefillSpread: result.prefillTokensPerSecond.isEmpty ? nil : Benchmark.Spread(result.prefillTokensPerSecond),
            decodeSpread: result.decodeTokensPerSecond.isEmpty ? nil : Benchmark.Spread(result.decodeTokensPerSecond),
            decodeMsPerTokenP50: result.decodeLatencies.isEmpty ? nil : Statistics.quantile(result.decodeLatencies, 0.5) * 1000,
            decodeMsPerTokenP99: result.decodeLatencies.isEmpty ? nil : Statistics.quantile(result.decodeLatencies, 0.99) * 1000,
            kv: result.kv.map(modelOptions.report))
        if json {
            try printJSON(report)
        } else {
            if let pp = report.prefillTokensPerS, let spread = report.prefillSpread {
                print(String(format: "pp%d @ d%d: %8.1f tokens/s (min %.1f, max %.1f)", promptTokens, depth, pp, spread.min, spread.max))
            }
            if let tg = report.decodeTokensPerS, let spread = report.decodeSpread {
                print(String(format: "tg%d @ d%d: %8.1f tokens/s (min %.1f, max %.1f), p50 %.2f ms, p99 %.2f ms",
                             genTokens, depth, tg, spread.min, spread.max,
                             report.decodeMsPerTokenP50 ?? 0, report.decodeMsPerTokenP99 ?? 0))
            }
        }
    }
}
