import DMSKit

/// The decoder run over whole training sequences at once, dense, as the teacher (plain causal
/// attention) or as the student (DMS's soft eviction bias, spec section 7), with a backward pass
/// through the frozen layers: only activation gradients flow, and the only parameter gradients
/// are the adapter's. Forward matrices are the inference kernels on the model's own (quantized)
/// weights; backward matrices are their f32 transposes.
final class DifferentiableDecoder {
    let model: TransformerModel
    let transposed: TransposedWeights
    let pool: WorkerPool?
    let maxTokens: Int
    private let layers: [LayerActivations]
    /// Residual leaving the last layer, and its final norm (`[T][hidden]`).
    let finalResidual, finalHidden: ScratchBuffer
    private(set) var tokens = 0
    private let normed, projected, wide, wideGradient, queryGradient, keyGradient, valueGradient,
                biasGradient, residualGradient, attentionScratch: ScratchBuffer

    var configuration: ModelConfiguration { model.configuration }

    /// LoRA updates of the attention (and feed-forward) projections, when the adapter has them.
    private let lowRank: LowRankTraining?
    private let recomputedInput: ScratchBuffer

    init(model: TransformerModel, pool: WorkerPool?, maxTokens t: Int, loraRank: Int = 0, loraFeedForward: Bool = false,
         loraAlpha: Float = 1) throws {
        let c = model.configuration
        guard c.queryNeuronDMS == nil else {
            throw RetrofitError.unsupportedModel("it already carries DMS decisions in a query neuron (variant A)")
        }
        self.model = model
        self.pool = pool
        maxTokens = t
        transposed = TransposedWeights(model.weights)
        layers = (0..<c.layerCount).map { _ in LayerActivations(configuration: c, tokens: t) }
        let qWidth = c.headCount * c.headDim, kvWidth = c.kvHeadCount * c.headDim
        finalResidual = ScratchBuffer(capacity: t * c.hiddenSize)
        finalHidden = ScratchBuffer(capacity: t * c.hiddenSize)
        normed = ScratchBuffer(capacity: t * c.hiddenSize)
        projected = ScratchBuffer(capacity: t * max(c.hiddenSize, qWidth))
        wide = ScratchBuffer(capacity: t * c.intermediateSize)
        wideGradient = ScratchBuffer(capacity: t * c.intermediateSize)
        queryGradient = ScratchBuffer(capacity: t * qWidth)
        keyGradient = ScratchBuffer(capacity: t * kvWidth)
        valueGradient = ScratchBuffer(capacity: t * kvWidth)
        biasGradient = ScratchBuffer(capacity: t * c.kvHeadCount)
        residualGradient = ScratchBuffer(capacity: t * c.hiddenSize)
        lowRank = loraRank > 0
            ? LowRankTraining(parameters: AdapterParameters(configuration: c, loraRank: loraRank, loraFeedForward: loraFeedForward),
                              alpha: loraAlpha, tokens: t) : nil
        recomputedInput = ScratchBuffer(capacity: loraRank > 0 ? t * c.hiddenSize : 0)
        attentionScratch = ScratchBuffer(capacity: Kernels.trainingAttentionBackwardScratchCount(
            tokens: t, queryHeads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim))
    }

    /// Hard decisions (`p > 0.5`) of the last student forward, and how many were made.
    var evictionCounts: (evicted: Int, total: Int) {
        (layers.reduce(0) { $0 + $1.eviction.evicted }, layers.count * tokens * configuration.kvHeadCount)
    }

    /// Mean relaxed decision `p` of the last student forward.
    var meanProbability: Double {
        let c = configuration
        var sum = 0.0
        for layer in layers {
            for i in 0..<(tokens * c.kvHeadCount) { sum += Double(layer.eviction.probabilities.pointer[i]) }
        }
        return sum / Double(max(layers.count * tokens * c.kvHeadCount, 1))
    }

    /// Runs the decoder over `ids`, keeping what the backward pass needs; the final normed hidden
    /// states land in `finalHidden`. With `adapter` nil the run is the teacher's (no eviction).
    func forward(_ ids: [Int], adapter: AdapterParameters?, settings: RetrofitSettings, noise: inout RandomSource) {
        let c = configuration
        let t = ids.count
        precondition(t >= 1 && t <= maxTokens)
        tokens = t
        let hidden = c.hiddenSize, d = c.headDim
        let qWidth = c.headCount * d, kvWidth = c.kvHeadCount * d
        let x = finalResidual.pointer, h = normed.pointer
        for (i, id) in ids.enumerated() { model.weights.tokenEmbedding.row(id, into: x + i * hidden) }
        let scale = 1 / Float(d).squareRoot()
        for (l, weights) in model.weights.layers.enumerated() {
            let saved = layers[l]
            saved.input.pointer.update(from: x, count: t * hidden)
            if let adapter {
                saved.eviction.forward(input: x, tokens: t, adapter: adapter, layer: l, settings: settings,
                                       epsilon: c.rmsNormEpsilon, noise: &noise)
            }
            rmsNormRows(x, weights.attentionNorm, into: h, rows: t)
            let q = saved.queries.pointer, k = saved.keys.pointer, v = saved.values.pointer
            weights.query.apply(h, tokens: t, into: q, pool: pool)
            weights.key.apply(h, tokens: t, into: k, pool: pool)
            weights.value.apply(h, tokens: t, into: v, pool: pool)
            if let adapter, let lowRank {
                lowRank.forward(layer: l, projection: 0, input: h, tokens: t, output: q, parameters: adapter)
                lowRank.forward(layer: l, projection: 1, input: h, tokens: t, output: k, parameters: adapter)
                lowRank.forward(layer: l, projection: 2, input: h, tokens: t, output: v, parameters: adapter)
            }
            if c.hasQKNorm {
                saved.rawQueries.pointer.update(from: q, count: t * qWidth)
                saved.rawKeys.pointer.update(from: k, count: t * kvWidth)
            }
            model.prepareHeads(q, rows: t, heads: c.headCount, norm: weights.queryNorm, start: 0, donorLogits: nil)
            model.prepareHeads(k, rows: t, heads: c.kvHeadCount, norm: weights.keyNorm, start: 0, donorLogits: nil)
            Kernels.trainingAttentionForward(pool: pool, tokens: t, queryHeads: c.headCount, kvHeads: c.kvHeadCount, headDim: d,
                                             queries: q, keys: k, values: v,
                                             keyBias: adapter == nil ? nil : saved.eviction.keyBias.pointer,
                                             window: settings.window, scale: scale, output: saved.attention.pointer,
                                             logSumExp: saved.logSumExp.pointer)
            weights.output.apply(saved.attention.pointer, tokens: t, into: projected.pointer, pool: pool)
            if let adapter, let lowRank {
                lowRank.forward(layer: l, projection: 3, input: saved.attention.pointer, tokens: t, output: projected.pointer,
                                parameters: adapter)
            }
            Kernels.add(x, projected.pointer, count: t * hidden)
            saved.middle.pointer.update(from: x, count: t * hidden)

            rmsNormRows(x, weights.feedForwardNorm, into: h, rows: t)
            weights.gate.apply(h, tokens: t, into: saved.gate.pointer, pool: pool)
            weights.up.apply(h, tokens: t, into: saved.up.pointer, pool: pool)
            if let lowRank, lowRank.coversFeedForward, let adapter {
                lowRank.forward(layer: l, projection: 4, input: h, tokens: t, output: saved.gate.pointer, parameters: adapter)
                lowRank.forward(layer: l, projection: 5, input: h, tokens: t, output: saved.up.pointer, parameters: adapter)
            }
            Kernels.swiglu(gate: saved.gate.pointer, up: saved.up.pointer, output: wide.pointer, count: t * c.intermediateSize)
            weights.down.apply(wide.pointer, tokens: t, into: projected.pointer, pool: pool)
            if let lowRank, lowRank.coversFeedForward, let adapter {
                lowRank.forward(layer: l, projection: 6, input: wide.pointer, tokens: t, output: projected.pointer, parameters: adapter)
            }
            Kernels.add(x, projected.pointer, count: t * hidden)
        }
        rmsNormRows(x, model.weights.outputNorm, into: finalHidden.pointer, rows: t)
    }

    /// Back-propagates `hiddenGradient` (∂loss/∂finalHidden, `[T][hidden]`) and the
    /// straight-through compression gradient `decisionGradient` (∂loss/∂δ for every decision)
    /// through the last student forward, adding the adapter's gradient to `gradient`.
    func backward(hiddenGradient: UnsafePointer<Float>, decisionGradient: Float, adapter: AdapterParameters,
                  settings: RetrofitSettings, gradient: UnsafeMutablePointer<Float>) {
        let c = configuration
        let t = tokens
        let hidden = c.hiddenSize, d = c.headDim, eps = c.rmsNormEpsilon
        let dx = residualGradient.pointer
        dx.update(repeating: 0, count: t * hidden)
        rmsNormBackwardRows(finalResidual.pointer, model.weights.outputNorm, hiddenGradient, into: dx, rows: t)
        let scale = 1 / Float(d).squareRoot()
        for l in stride(from: c.layerCount - 1, through: 0, by: -1) {
            let weights = model.weights.layers[l], back = transposed.layers[l], saved = layers[l]
            // feed-forward: x += down(swiglu(gate(h2), up(h2))), h2 = norm(middle)
            let dGate = wideGradient.pointer, dUp = wide.pointer, dh = normed.pointer
            back.down.apply(dx, tokens: t, into: dGate, pool: pool)
            if let lowRank, lowRank.coversFeedForward {
                // down's input, recomputed where the up gradient goes next
                Kernels.swiglu(gate: saved.gate.pointer, up: saved.up.pointer, output: wide.pointer, count: t * c.intermediateSize)
                lowRank.backward(layer: l, projection: 6, input: wide.pointer, tokens: t, outputGradient: dx, inputGradient: dGate,
                                 parameters: adapter, gradient: gradient)
            }
            Kernels.swigluBackward(gate: saved.gate.pointer, up: saved.up.pointer, outputGradient: dGate,
                                   count: t * c.intermediateSize, gateGradient: dGate, upGradient: dUp)
            back.gate.apply(dGate, tokens: t, into: dh, pool: pool)
            back.up.apply(dUp, tokens: t, into: projected.pointer, pool: pool)
            Kernels.add(dh, projected.pointer, count: t * hidden)
            if let lowRank, lowRank.coversFeedForward {
                let h2 = recomputedInput.pointer
                rmsNormRows(saved.middle.pointer, weights.feedForwardNorm, into: h2, rows: t)
                for (p, dy) in [(4, dGate), (5, dUp)] {
                    lowRank.backward(layer: l, projection: p, input: h2, tokens: t, outputGradient: dy, inputGradient: dh,
                                     parameters: adapter, gradient: gradient)
                }
            }
            rmsNormBackwardRows(saved.middle.pointer, weights.feedForwardNorm, dh, into: dx, rows: t)

            // attention: middle = input + o(attention(rope(q), rope(k), v))
            let dAttention = projected.pointer
            back.output.apply(dx, tokens: t, into: dAttention, pool: pool)
            lowRank?.backward(layer: l, projection: 3, input: saved.attention.pointer, tokens: t, outputGradient: dx,
                              inputGradient: dAttention, parameters: adapter, gradient: gradient)
            let dq = queryGradient.pointer, dk = keyGradient.pointer, dv = valueGradient.pointer
            Kernels.trainingAttentionBackward(pool: pool, tokens: t, queryHeads: c.headCount, kvHeads: c.kvHeadCount,
                                              headDim: d, queries: saved.queries.pointer, keys: saved.keys.pointer,
                                              values: saved.values.pointer, keyBias: saved.eviction.keyBias.pointer,
                                              window: settings.window, scale: scale, output: saved.attention.pointer,
                                              logSumExp: saved.logSumExp.pointer, outputGradient: dAttention,
                                              queryGradient: dq, keyGradient: dk, valueGradient: dv,
                                              keyBiasGradient: biasGradient.pointer, scratch: attentionScratch.pointer)
            unprepareHeads(dq, raw: saved.rawQueries.pointer, rows: t, heads: c.headCount, norm: weights.queryNorm)
            unprepareHeads(dk, raw: saved.rawKeys.pointer, rows: t, heads: c.kvHeadCount, norm: weights.keyNorm)
            back.query.apply(dq, tokens: t, into: dh, pool: pool)
            back.key.apply(dk, tokens: t, into: projected.pointer, pool: pool)
            Kernels.add(dh, projected.pointer, count: t * hidden)
            back.value.apply(dv, tokens: t, into: projected.pointer, pool: pool)
            Kernels.add(dh, projected.pointer, count: t * hidden)
            if let lowRank {
                let h = recomputedInput.pointer
                rmsNormRows(saved.input.pointer, weights.attentionNorm, into: h, rows: t)
                for (p, dy) in [dq, dk, dv].enumerated() {
                    lowRank.backward(layer: l, projection: p, input: h, tokens: t, outputGradient: dy, inputGradient: dh,
                                     parameters: adapter, gradient: gradient)
                }
            }
            rmsNormBackwardRows(saved.input.pointer, weights.attentionNorm, dh, into: dx, rows: t)
            saved.eviction.backward(input: saved.input.pointer, keyBiasGradient: biasGradient.pointer,
                                    decisionGradient: decisionGradient, adapter: adapter, layer: l, settings: settings,
                                    epsilon: eps, gradient: gradient, inputGradient: dx)
        }
    }

    // MARK: Row helpers

    private func rmsNormRows(_ input: UnsafePointer<Float>, _ weight: [Float], into output: UnsafeMutablePointer<Float>, rows: Int) {
        let n = configuration.hiddenSize, eps = configuration.rmsNormEpsilon
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows { Kernels.rmsNorm(input + r * n, weight: w.baseAddress, output: output + r * n, count: n, epsilon: eps) }
        }
    }

    private func rmsNormBackwardRows(_ input: UnsafePointer<Float>, _ weight: [Float], _ outputGradient: UnsafePointer<Float>,
                                     into inputGradient: UnsafeMutablePointer<Float>, rows: Int) {
        let n = configuration.hiddenSize, eps = configuration.rmsNormEpsilon
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                Kernels.rmsNormBackward(input + r * n, weight: w.baseAddress, outputGradient: outputGradient + r * n, count: n,
                                        epsilon: eps, inputGradient: inputGradient + r * n, weightGradient: nil)
            }
        }
    }

    /// Backward of the model's `prepareHeads`: RoPE's transpose (the rotation by minus the angle), then the
    /// per-head norm's backward against the pre-norm values `raw`. In place.
    private func unprepareHeads(_ gradient: UnsafeMutablePointer<Float>, raw: UnsafePointer<Float>, rows: Int, heads: Int,
                                norm: [Float]?) {
        let c = configuration, d = c.headDim
        let interleaved = c.ropeLayout == .interleaved
        var headGradient = [Float](repeating: 0, count: d)
        model.inverseFrequencies.withUnsafeBufferPointer { frequencies in
            for r in 0..<rows {
                for head in 0..<heads {
                    let vector = gradient + (r * heads + head) * d
                    Kernels.rope(vector, dimension: d, position: -r, inverseFrequencies: frequencies.baseAddress!,
                                 interleaved: interleaved)
                    guard let norm else { continue }
                    headGradient.withUnsafeMutableBufferPointer { g in
                        g.initialize(repeating: 0)
                        norm.withUnsafeBufferPointer { w in
                            Kernels.rmsNormBackward(raw + (r * heads + head) * d, weight: w.baseAddress, outputGradient: vector,
                                                    count: d, epsilon: c.rmsNormEpsilon, inputGradient: g.baseAddress!,
                                                    weightGradient: nil)
                        }
                        vector.update(from: g.baseAddress!, count: d)
                    }
                }
            }
        }
    }
}
