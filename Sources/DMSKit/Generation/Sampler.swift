import Foundation

/// Picks tokens from logits under ``SamplingParameters``: repetition penalty, then min-p (a floor
/// relative to the top token, so it commutes with the prefixes below), top-k, top-p, temperature,
/// and a draw, which walks the kept tokens by rank, or by id when nothing was cut.
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

        // min-p keeps the tokens within log(minP) of the top one: a floor on the logits, which
        // top-k and top-p (prefixes of the ranking) do not move.
        let maximum = logits.max() ?? 0
        let floor = parameters.minP > 0 ? maximum + logf(parameters.minP) : -Float.infinity
        var ranked = RankedLogits(logits, floor: floor)
        var kept = ranked.count
        guard kept > 0 else { return Self.argmax(logits) }  // NaN logits only
        if parameters.topK > 0 { kept = min(kept, parameters.topK) }
        if parameters.topP < 1 {
            let probabilities = ranked.probabilities(keeping: kept, maximum: maximum, temperature: 1)
            var cumulative: Float = 0
            for rank in 0..<kept {
                cumulative += probabilities[ranked.id(at: rank)]
                if cumulative >= parameters.topP { kept = rank + 1; break }
            }
        }
        let probabilities = ranked.probabilities(keeping: kept, maximum: maximum, temperature: parameters.temperature)
        let draw = Float(random.nextUnit())
        var cumulative: Float = 0
        if kept == ranked.count {
            // Nothing was cut, so no ranking is needed: the draw walks the candidates in id order.
            var last = 0
            for (id, probability) in probabilities.enumerated() where probability > 0 {
                cumulative += probability
                if draw < cumulative { return id }
                last = id
            }
            return last
        }
        for rank in 0..<kept {
            let id = ranked.id(at: rank)
            cumulative += probabilities[id]
            if draw < cumulative { return id }
        }
        return ranked.id(at: kept - 1)
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
        values.withUnsafeBufferPointer { $0.baseAddress.map { base in Kernels.argmax(base, count: values.count) } ?? 0 }
    }
}
