import DMSKit

/// One prompt through a fresh cache (prefill chunks), then `decodeSteps` timed greedy decode
/// steps that never stop early: what a generation sees, and what the KV cache cost.
struct PromptRun {
    /// The greedy tokens after the prompt.
    let generated: [Int]
    /// Seconds of each decode step (sampling and one token through the model).
    let decodeSeconds: [Double]
    /// The cache's compression ratio, decode-phase slots read, peak entries and bytes at the end.
    let compressionRatio: Double
    let tokenReads: Int
    let peakTokens: Int
    let peakBytes: Int

    init(prompt: [Int], cache: KVCache, model: LoadedModel, chunk: Int, decodeSteps: Int) throws {
        let session = GenerationSession(model: model.model, tokenizer: model.tokenizer, cache: cache)
        session.prefillChunk = chunk
        var options = GenerationOptions(maxTokens: decodeSteps + 1, sampling: .greedy)
        options.stopTokens = []  // a fixed number of steps, so every setting pays for the same decode
        let result = try session.generate(prompt: prompt, options: options)
        generated = result.tokens
        decodeSeconds = result.timing.decodeLatencies
        let statistics = cache.statistics()
        compressionRatio = statistics.compressionRatio
        tokenReads = statistics.tokenReads
        peakTokens = statistics.peakTokens
        peakBytes = statistics.peakBytes
    }
}
