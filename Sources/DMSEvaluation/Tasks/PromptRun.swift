import DMSKit
import Foundation

/// One prompt fed to a fresh cache in prefill chunks, then `decodeSteps` greedy decode steps, each
/// timed: what a generation sees, and what the KV cache cost.
struct PromptRun {
    /// The greedy tokens after the prompt.
    var generated: [Int] = []
    /// Seconds of each decode step (one token through the model).
    var decodeSeconds: [Double] = []
    /// The cache's compression ratio right after the prompt.
    var compressionRatio = 1.0
    /// Decode-phase slots read, and the cache's peak entries and bytes, at the end.
    var tokenReads = 0
    var peakTokens = 0
    var peakBytes = 0

    init(prompt: [Int], cache: KVCache, model: LanguageModel, chunk: Int, decodeSteps: Int) throws {
        var logits: [Float] = []
        var start = 0
        while start < prompt.count {
            let end = min(start + chunk, prompt.count)
            logits = try model.forward(Array(prompt[start..<end]), cache: cache, phase: .prefill,
                                       logits: end == prompt.count ? .last : .none)
            start = end
        }
        compressionRatio = cache.statistics().compressionRatio
        for _ in 0..<decodeSteps {
            let token = logits.withUnsafeBufferPointer(DistributionMath.argmax)
            generated.append(token)
            let started = DispatchTime.now()
            logits = try model.forward([token], cache: cache, phase: .decode, logits: .last)
            decodeSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9)
        }
        let statistics = cache.statistics()
        tokenReads = statistics.tokenReads
        peakTokens = statistics.peakTokens
        peakBytes = statistics.peakBytes
    }
}
