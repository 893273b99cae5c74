import Foundation

/// Per-position metrics of one policy over a teacher-forced sequence, accumulated in double
/// precision: the negative log-likelihood of the actual next token and, against a reference,
/// the KL divergence and whether the most likely tokens agree.
public struct TeacherForcingMetrics: Sendable, Equatable {
    /// Positions scored (each has an actual next token).
    public private(set) var positions = 0
    /// Σ −log q(next token), nats.
    public private(set) var negativeLogLikelihoodSum = 0.0
    /// Positions compared with a reference (all of them in the `kl` task, none otherwise).
    public private(set) var comparedPositions = 0
    /// Σ KL(reference ‖ policy), nats.
    public private(set) var klDivergenceSum = 0.0
    /// Positions whose argmax equals the reference's.
    public private(set) var top1Matches = 0

    /// No positions yet.
    public init() {}

    /// Records one position: −log q(next token), and against the reference, KL(reference ‖ q) and
    /// whether the argmaxes agree.
    public mutating func add(negativeLogLikelihood: Double, klDivergence: Double? = nil, top1Matches matches: Bool? = nil) {
        positions += 1
        negativeLogLikelihoodSum += negativeLogLikelihood
        if let klDivergence, let matches {
            comparedPositions += 1
            klDivergenceSum += klDivergence
            if matches { top1Matches += 1 }
        }
    }

    /// Mean −log q(next token), nats.
    public var meanNegativeLogLikelihood: Double {
        positions > 0 ? negativeLogLikelihoodSum / Double(positions) : 0
    }

    /// exp of ``meanNegativeLogLikelihood``.
    public var perplexity: Double { exp(meanNegativeLogLikelihood) }

    /// Mean KL(reference ‖ policy) per position, nats; nil without a reference.
    public var meanKLDivergence: Double? {
        comparedPositions > 0 ? klDivergenceSum / Double(comparedPositions) : nil
    }

    /// Fraction of positions whose argmax equals the reference's; nil without a reference.
    public var top1Agreement: Double? {
        comparedPositions > 0 ? Double(top1Matches) / Double(comparedPositions) : nil
    }
}
