import Foundation

/// Next-token distributions given as logits (softmax of a row), compared in double precision.
public enum DistributionMath {
    /// log Σ_v exp(logits[v]), accumulated in double precision.
    public static func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double {
        var maximum = -Float.infinity
        for value in logits { maximum = max(maximum, value) }
        guard maximum.isFinite else { return Double(maximum) }
        let shift = Double(maximum)
        var total = 0.0
        for value in logits { total += exp(Double(value) - shift) }
        return shift + log(total)
    }

    /// The index of the largest logit (the first one on ties).
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for (index, value) in logits.enumerated() where value > bestValue {
            best = index
            bestValue = value
        }
        return best
    }

    /// KL(p ‖ q) = Σ_v p(v) (log p(v) − log q(v)) in nats, with p = softmax(`reference`) and
    /// q = softmax(`candidate`); the log-sum-exps of both rows are passed in (see
    /// ``logSumExp(_:)``). Identical rows give exactly 0; rounding below 0 is clamped to 0.
    public static func klDivergence(reference: UnsafeBufferPointer<Float>, referenceLogSumExp: Double,
                                    candidate: UnsafeBufferPointer<Float>, candidateLogSumExp: Double) -> Double {
        precondition(reference.count == candidate.count, "distributions over different vocabularies")
        var total = 0.0
        for v in 0..<reference.count {
            let logP = Double(reference[v]) - referenceLogSumExp
            guard logP > -.infinity else { continue }          // p(v) = 0 contributes nothing
            let logQ = Double(candidate[v]) - candidateLogSumExp
            total += exp(logP) * (logP - logQ)
        }
        return max(0, total)
    }

    /// KL(softmax(reference) ‖ softmax(candidate)) of two logit rows.
    public static func klDivergence(reference: [Float], candidate: [Float]) -> Double {
        reference.withUnsafeBufferPointer { p in
            candidate.withUnsafeBufferPointer { q in
                klDivergence(reference: p, referenceLogSumExp: logSumExp(p),
                             candidate: q, candidateLogSumExp: logSumExp(q))
            }
        }
    }
}
