import Foundation

/// Picks tokens from logits under ``SamplingParameters``, in llama.cpp's order:
/// repetition penalty, top-k, top-p, min-p, temperature, then a draw.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: RandomSource

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = RandomSource(seed: parameters.seed ?? UInt64.random(in: 0...UInt64.max))
    }

    /// The next token given the last position's `logits` and the context so far.
    public mutating func sample(_ logits: [Float], context: [Int]) -> Int {
        var logits = logits
        applyRepetitionPenalty(&logits, context: context)
        if parameters.isGreedy { return Self.argmax(logits) }

        // min-p keeps a prefix by probability relative to the top token, which renormalisation by
        // top-k/top-p does not change: applying it first only shrinks the list to sort.
        let maximum = logits.max() ?? 0
        let floor = parameters.minP > 0 ? maximum + logf(parameters.minP) : -Float.infinity
        var candidates: [(id: Int, logit: Float)] = []
        for (id, logit) in logits.enumerated() where logit >= floor { candidates.append((id, logit)) }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        if parameters.topK > 0, parameters.topK < candidates.count {
            candidates.removeSubrange(parameters.topK...)
        }
        var probabilities = Self.softmax(candidates.map(\.logit))
        if parameters.topP < 1 {
            var cumulative: Float = 0
            var keep = probabilities.count
            for (i, p) in probabilities.enumerated() {
                cumulative += p
                if cumulative >= parameters.topP { keep = i + 1; break }
            }
            candidates.removeSubrange(keep...)
            probabilities = Self.softmax(candidates.map(\.logit))
        }
        if parameters.minP > 0, let top = probabilities.first {
            let keep = probabilities.firstIndex { $0 < parameters.minP * top } ?? probabilities.count
            candidates.removeSubrange(max(keep, 1)...)
        }
        probabilities = Self.softmax(candidates.map { $0.logit / parameters.temperature })
        let draw = Float(random.nextUnit())
        var cumulative: Float = 0
        for (i, p) in probabilities.enumerated() {
            cumulative += p
            if draw < cumulative { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
    }

    private func applyRepetitionPenalty(_ logits: inout [Float], context: [Int]) {
        let penalty = parameters.repetitionPenalty
        guard penalty != 1, parameters.repetitionWindow > 0 else { return }
        for id in Set(context.suffix(parameters.repetitionWindow)) where logits.indices.contains(id) {
            logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty
        }
    }

    /// Index of the largest value (the first on ties).
    public static func argmax(_ values: [Float]) -> Int {
        var best = 0
        for i in values.indices where values[i] > values[best] { best = i }
        return best
    }

    static func softmax(_ values: [Float]) -> [Float] {
        guard let maximum = values.max() else { return [] }
        let exps = values.map { expf($0 - maximum) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }
}
