import Foundation

/// Per-token log-probabilities of a text under a model (teacher-forced).
public struct ScoreResult: Sendable {
    public var ids: [Int]
    /// `logprobs[i]` is log p(ids[i] | ids[..<i]); nil for the first token.
    public var logprobs: [Double?]

    /// exp of the mean negative log-probability over the scored tokens (nil for one token).
    public var perplexity: Double? {
        let scored = logprobs.compactMap { $0 }
        guard !scored.isEmpty else { return nil }
        return exp(-scored.reduce(0, +) / Double(scored.count))
    }
}

extension GenerationSession {
    /// Scores `ids` from an empty cache, feeding them in `prefillChunk`-sized chunks.
    public func score(_ ids: [Int]) throws -> ScoreResult {
        reset()
        guard !ids.isEmpty else { throw ForwardError.emptyInput }
        let limit = model.configuration.contextLength
        guard ids.count <= limit else { throw ForwardError.contextOverflow(needed: ids.count, contextLength: limit) }
        let vocabulary = model.configuration.vocabularySize
        var logprobs: [Double?] = [nil]
        var offset = 0
        while offset < ids.count {
            let end = min(offset + max(prefillChunk, 1), ids.count)
            let logits = try model.forward(Array(ids[offset..<end]), cache: cache, phase: .prefill, logits: .all)
            for row in 0..<(end - offset) where offset + row + 1 < ids.count {
                let next = ids[offset + row + 1]
                logits.withUnsafeBufferPointer { all in
                    let rowLogits = UnsafeBufferPointer(rebasing: all[(row * vocabulary)..<((row + 1) * vocabulary)])
                    logprobs.append(Self.logSoftmax(rowLogits, at: next))
                }
            }
            offset = end
        }
        return ScoreResult(ids: ids, logprobs: logprobs)
    }

    /// log softmax(logits)[index], accumulated in double precision.
    static func logSoftmax(_ logits: UnsafeBufferPointer<Float>, at index: Int) -> Double {
        let maximum = Double(logits.max() ?? 0)
        var total = 0.0
        for value in logits { total += exp(Double(value) - maximum) }
        return Double(logits[index]) - maximum - log(total)
    }
}
