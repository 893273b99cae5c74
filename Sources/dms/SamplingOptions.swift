import ArgumentParser
import DMSKit

/// Decoding options (llama.cpp's names and defaults).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Maximum tokens to generate.")
    var maxTokens = 256

    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0.8

    @Option(help: "Keep only the K most likely tokens (0 = off).")
    var topK = 40

    @Option(help: "Nucleus sampling threshold (1 = off).")
    var topP: Float = 0.95

    @Option(help: "Drop tokens below this fraction of the top token's probability (0 = off).")
    var minP: Float = 0.05

    @Option(help: "Penalty for tokens seen in the last 64 (1 = off).")
    var repeatPenalty: Float = 1.0

    @Option(help: "Random seed (default: random).")
    var seed: UInt64?

    @Option(name: .customLong("stop"), help: "Stop when the text contains this string (repeatable).")
    var stopStrings: [String] = []

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1]") }
        guard minP >= 0, minP < 1 else { throw ValidationError("--min-p must be in [0, 1)") }
        guard repeatPenalty > 0, repeatPenalty.isFinite else { throw ValidationError("--repeat-penalty must be > 0") }
    }

    var options: GenerationOptions {
        let sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                          repetitionPenalty: repeatPenalty, seed: seed)
        return GenerationOptions(maxTokens: maxTokens, sampling: sampling, stopStrings: stopStrings)
    }
}
