import DMSKit

/// The retrofit loss of one sequence and its gradient with respect to the adapter (spec
/// section 7): `KL(student ‖ teacher) + max(0, target − frac)`, where `frac` is the mean hard
/// decision over layers, KV heads and positions and its gradient is taken straight through to
/// the relaxed decisions `p`.
public final class RetrofitObjective {
    /// The figures of one evaluation.
    public struct Evaluation: Sendable, Equatable {
        public var loss: Double
        public var divergence: Double
        public var compressionLoss: Double
        /// Mean hard decision `1[p > 0.5]` and mean relaxed decision `p`.
        public var evictedFraction: Double
        public var meanProbability: Double
    }

    public let settings: RetrofitSettings
    let decoder: DifferentiableDecoder
    private let distillation: DistillationLoss
    private let hiddenGradient: ScratchBuffer

    public var configuration: ModelConfiguration { decoder.configuration }

    /// Prepares the training graph of `model` for sequences of up to `settings.sequenceLength`
    /// tokens (holds the f32 transposes of its matrices and every layer's activations).
    public init(model: TransformerModel, settings: RetrofitSettings, pool: WorkerPool?) throws {
        try settings.validate()
        guard settings.sequenceLength <= model.configuration.contextLength else {
            throw RetrofitError.invalidSettings("the sequence length \(settings.sequenceLength) exceeds the model's context of \(model.configuration.contextLength) tokens")
        }
        self.settings = settings
        decoder = try DifferentiableDecoder(model: model, pool: pool, maxTokens: settings.sequenceLength,
                                            loraRank: settings.loraRank, loraFeedForward: settings.lowRankCoversFeedForward,
                                            loraAlpha: settings.loraAlpha)
        distillation = DistillationLoss(configuration: model.configuration, direction: settings.distillationDirection)
        hiddenGradient = ScratchBuffer(capacity: settings.sequenceLength * model.configuration.hiddenSize)
    }

    /// The teacher's final hidden states for `ids` (`[T][hidden]`): the model with eviction off.
    public func teacherHidden(_ ids: [Int]) -> [Float] {
        var unused = RandomSource(seed: 0)
        decoder.forward(ids, adapter: nil, settings: settings, noise: &unused)
        return Array(UnsafeBufferPointer(start: decoder.finalHidden.pointer, count: ids.count * configuration.hiddenSize))
    }

    /// Loss of the student with `adapter` on `ids` against `teacher` (from `teacherHidden`), with
    /// logistic noise drawn from `noiseSeed`; adds the loss's gradient to `gradient`.
    public func evaluate(_ ids: [Int], teacher: [Float], adapter: AdapterParameters, targetFraction: Double,
                         noiseSeed: UInt64, gradient: inout [Float]) -> Evaluation {
        precondition(teacher.count == ids.count * configuration.hiddenSize && gradient.count == adapter.values.count)
        var noise = RandomSource(seed: noiseSeed)
        decoder.forward(ids, adapter: adapter, settings: settings, noise: &noise)
        let divergence = teacher.withUnsafeBufferPointer { t in
            distillation.evaluate(student: decoder.finalHidden.pointer, teacher: t.baseAddress!, tokens: ids.count,
                                  decoder: decoder, hiddenGradient: hiddenGradient.pointer)
        }
        let counts = decoder.evictionCounts
        let fraction = Double(counts.evicted) / Double(counts.total)
        let shortfall = targetFraction - fraction
        // d max(0, target − frac) / dδ for each of the `total` decisions
        let decisionGradient: Float = shortfall > 0 ? -1 / Float(counts.total) : 0
        gradient.withUnsafeMutableBufferPointer { g in
            decoder.backward(hiddenGradient: hiddenGradient.pointer, decisionGradient: decisionGradient, adapter: adapter,
                             settings: settings, gradient: g.baseAddress!)
        }
        let compression = max(0, shortfall)
        return Evaluation(loss: divergence + compression, divergence: divergence, compressionLoss: compression,
                          evictedFraction: fraction, meanProbability: decoder.meanProbability)
    }
}
