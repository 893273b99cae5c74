import ArgumentParser
import DMSKit
import Foundation

struct BenchBatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-batch",
        abstract: "Continuous batching: aggregate decode throughput of concurrent sequences, or how many long sequences a KV budget holds.",
        discussion: """
            Throughput (default): for each --concurrency value, that many sequences of --prompt-tokens random \
            tokens are read in one step and then generate --gen-tokens greedily together; the rate counts the \
            tokens generated while all of them are generating.

            --capacity: --sequences requests, each a --context-token sequence (a prompt of context minus \
            --gen-tokens tokens, taken from --text at different offsets or drawn at random, then generated \
            tokens), share --kv-budget bytes; the result is the most sequences generating at once (each then \
            holds its whole prompt), with preemptions and the peak KV bytes. Run it with --kv full and with \
            DMS to compare.
            """)

    @OptionGroup var serving: ServingOptions

    @Option(help: "Comma-separated numbers of concurrent sequences (throughput).")
    var concurrency = "1,4,16"

    @Option(help: "Prompt tokens per sequence (throughput).")
    var promptTokens = 64

    @Option(help: "Tokens each sequence generates.")
    var genTokens = 64

    @Flag(help: "Measure how many --context-token sequences fit in --kv-budget instead.")
    var capacity = false

    @Option(help: "Tokens per sequence, prompt and generated (capacity).")
    var context = 4096

    @Option(help: "Requests sent (capacity).")
    var sequences = 24

    @Option(help: "A plain-text file whose tokens make the prompts (capacity; default: random tokens).")
    var text: String?

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard promptTokens >= 1, genTokens >= 1, sequences >= 1 else { throw ValidationError("token and sequence counts must be ≥ 1") }
        guard context > genTokens else { throw ValidationError("--context must exceed --gen-tokens") }
    }

    func run() async throws {
        let loaded = try serving.load()
        if capacity {
            let prompts = try capacityPrompts(loaded)
            let result = try await BatchBenchmark.capacity(loaded: loaded, configuration: serving.schedulerConfiguration,
                                                           prompts: prompts, generatedTokens: genTokens)
            if json { return try printJSON(result) }
            print(String(format: "%d of %d sequences of %d tokens generated at once in %@ (peak %.1f MiB), %d preemptions, %.0f s",
                         result.peakConcurrent, result.sequences, result.contextTokens, serving.kvBudget.defaultValueDescription,
                         Double(result.peakBytes) / 1_048_576, result.preemptions, result.seconds))
            return
        }
        let levels = concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !levels.isEmpty, levels.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--concurrency takes positive integers") }
        var results: [BatchBenchmark.Throughput] = []
        for level in levels {
            let result = try await BatchBenchmark.throughput(loaded: loaded, configuration: serving.schedulerConfiguration,
                                                             concurrency: level, promptTokens: promptTokens, generatedTokens: genTokens)
            results.append(result)
            if !json {
                print(String(format: "%3d sequences: %8.1f tokens/s aggregate (%.2fx %d)", level, result.tokensPerSecond,
                             result.tokensPerSecond / results[0].tokensPerSecond, levels[0]))
            }
        }
        if json { try printJSON(results) }
    }

    /// Prompts of `context - genTokens` tokens: consecutive slices of the text, or random tokens.
    private func capacityPrompts(_ loaded: LoadedModel) throws -> [[Int]] {
        let length = context - genTokens
        guard let text else {
            return BatchBenchmark.randomPrompts(count: sequences, length: length, vocabulary: loaded.configuration.vocabularySize, seed: 42)
        }
        let contents: String
        do { contents = try String(contentsOfFile: text, encoding: .utf8) } catch {
            throw ValidationError("cannot read --text \(text): \(error.localizedDescription)")
        }
        let ids = loaded.tokenizer.encode(contents, addSpecialTokens: false)
        guard ids.count >= length else { throw ValidationError("--text has \(ids.count) tokens; a prompt needs \(length)") }
        // Evenly spread starting offsets, so the prompts differ while each is real text.
        let room = ids.count - length
        return (0..<sequences).map { i in
            let start = sequences > 1 ? room * i / (sequences - 1) : 0
            return Array(ids[start..<(start + length)])
        }
    }
}
