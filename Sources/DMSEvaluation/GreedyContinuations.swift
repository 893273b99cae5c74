import DMSKit

/// Greedy continuations of the full cache after a prefix of the sequence, and how closely a
/// policy teacher-forced on them follows.
struct GreedyContinuations {
    let model: LanguageModel
    let tokens: [Int]
    let chunk: Int
    /// Tokens per continuation.
    let length: Int
    let tracker: ProgressTracker

    /// Feeds `tokens[0..<cut]` into an empty `cache` the way the teacher-forced pass does for
    /// `feeding` (same chunk boundaries, or one token at a time) and returns the logits after the
    /// last one.
    func feedPrefix(_ cut: Int, into cache: KVCache, feeding: PolicyUnderTest.Feeding, stage: String) throws -> [Float] {
        let step = feeding == .chunked ? chunk : 1
        var logits: [Float] = []
        var start = 0
        while start < cut {
            let end = min(start + step, cut)
            logits = try model.forward(Array(tokens[start..<end]), cache: cache, phase: .decode,
                                       logits: end == cut ? .last : .none)
            tracker.advance(tokens: end - start, feeding: feeding, stage: stage, position: end, total: cut)
            start = end
        }
        return logits
    }

    /// `length` tokens, each the argmax after the previous one, starting from `logits` (those
    /// after the prefix already in `cache`). End-of-sequence tokens are not special.
    func generate(from logits: [Float], cache: KVCache, stage: String) throws -> [Int] {
        var logits = logits
        var generated: [Int] = []
        for j in 0..<length {
            let token = logits.withUnsafeBufferPointer(DistributionMath.argmax)
            generated.append(token)
            if j + 1 < length {
                logits = try model.forward([token], cache: cache, phase: .decode, logits: .last)
            }
            tracker.advance(tokens: 1, feeding: .oneTokenAtATime, stage: stage, position: j + 1, total: length)
        }
        return generated
    }

    /// Teacher-forces `continuation` one token at a time after the prefix in `cache` (whose last
    /// logits are `logits`): `matches[j]` is whether the policy's argmax at the j-th step is
    /// `continuation[j]`.
    func follow(_ continuation: [Int], from logits: [Float], cache: KVCache, stage: String) throws -> [Bool] {
        var logits = logits
        var matches: [Bool] = []
        for (j, token) in continuation.enumerated() {
            matches.append(logits.withUnsafeBufferPointer(DistributionMath.argmax) == token)
            if j + 1 < continuation.count {
                logits = try model.forward([token], cache: cache, phase: .decode, logits: .last)
            }
            tracker.advance(tokens: 1, feeding: .oneTokenAtATime, stage: stage, position: j + 1, total: continuation.count)
        }
        return matches
    }
}
