import Foundation

/// The decoder of Llama and Qwen3: pre-norm attention with GQA and RoPE, SwiGLU feed-forward.
public final class TransformerModel: LanguageModel, @unchecked Sendable {
    public let configuration: ModelConfiguration
    public let weights: ModelWeights
    /// Threads for the kernels; `nil` runs on the caller's thread only.
    public let workers: WorkerPool?
    /// RoPE's inverse frequencies (headDim / 2 values, scaling applied).
    public let inverseFrequencies: [Float]
    /// Where DMS eviction logits come from; nil computes none (only `dms` caches need them).
    public var evictionSource: EvictionDecisionSource?
    /// LoRA updates trained with a DMS adapter; applied when the cache is a DMS cache (the
    /// retrofitted model), so a full cache still runs the base model.
    public var lowRank: LowRankAdapter?

    private let residual = ScratchBuffer()
    private let normed = ScratchBuffer()
    private let queries = ScratchBuffer()
    private let keys = ScratchBuffer()
    private let values = ScratchBuffer()
    private let attention = ScratchBuffer()
    private let gate = ScratchBuffer()
    private let up = ScratchBuffer()
    private let lastHidden = ScratchBuffer()
    private let evictionLogits = ScratchBuffer()
    private let lowRankScratch = ScratchBuffer()

    public init(configuration: ModelConfiguration, weights: ModelWeights, workers: WorkerPool?) {
        self.configuration = configuration
        self.weights = weights
        self.workers = workers
        self.inverseFrequencies = RopeScaling.inverseFrequencies(
            dimension: configuration.headDim, theta: configuration.ropeTheta, scaling: configuration.ropeScaling)
        evictionSource = configuration.queryNeuronDMS.map { .queryNeuron($0) }
    }

    public func forward(_ tokens: [Int], cache: KVCache, phase: AttentionBatch.Phase, logits rows: LogitRows) throws -> [Float] {
        let c = configuration
        let n = tokens.count
        guard n > 0 else { throw ForwardError.emptyInput }
        let start = cache.tokensSeen
        guard start + n <= c.contextLength else {
            throw ForwardError.contextOverflow(needed: start + n, contextLength: c.contextLength)
        }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
            throw ForwardError.tokenOutOfRange(token: bad, vocabularySize: c.vocabularySize)
        }
        let hidden = c.hiddenSize
        let qWidth = c.headCount * c.headDim
        let kvWidth = c.kvHeadCount * c.headDim
        let x = residual.reserve(n * hidden)
        let h = normed.reserve(n * hidden)
        let q = queries.reserve(n * qWidth)
        let k = keys.reserve(n * kvWidth)
        let v = values.reserve(n * kvWidth)
        let attn = attention.reserve(n * qWidth)
        let g = gate.reserve(n * c.intermediateSize)
        let u = up.reserve(n * c.intermediateSize)
        let decisions = evictionLogits.reserve(n * c.kvHeadCount)
        let retrofit = cache is DMSKVCache ? lowRank : nil
        let lowRankSpace = retrofit.map { lowRankScratch.reserve(LowRankAdapter.scratchCount(tokens: n, rank: $0.rank, configuration: c)) }

        for (i, token) in tokens.enumerated() {
            weights.tokenEmbedding.row(token, into: x + i * hidden)
        }
        let scale = 1 / Float(c.headDim).squareRoot()
        for (layerIndex, layer) in weights.layers.enumerated() {
            var hasDecisions = true
            switch evictionSource {
            case .adapter(let adapter):
                adapterLogits(adapter.layers[layerIndex], adapter.parameters, residual: x, rows: n, into: decisions, scratch: h)
            case .synthetic(let rate, let seed):
                // A pure function of (seed, layer, position, head): the same decisions however the
                // tokens are chunked and whichever caches the model serves in between.
                for i in 0..<n {
                    for head in 0..<c.kvHeadCount {
                        let unit = RandomSource.unit(seed: seed, layerIndex, start + i, head)
                        decisions[i * c.kvHeadCount + head] = unit < rate ? 1 : -1
                    }
                }
            case .queryNeuron, nil:
                hasDecisions = evictionSource != nil
            }
            rmsNormRows(x, weight: layer.attentionNorm, into: h, rows: n, width: hidden)
            layer.query.apply(h, tokens: n, into: q, pool: workers)
            layer.key.apply(h, tokens: n, into: k, pool: workers)
            layer.value.apply(h, tokens: n, into: v, pool: workers)
            if let retrofit, let lowRankSpace {
                let updates = retrofit.layers[layerIndex]
                updates.query.accumulate(h, tokens: n, into: q, scale: retrofit.scale, scratch: lowRankSpace)
                updates.key.accumulate(h, tokens: n, into: k, scale: retrofit.scale, scratch: lowRankSpace)
                updates.value.accumulate(h, tokens: n, into: v, scale: retrofit.scale, scratch: lowRankSpace)
            }
            prepareHeads(q, rows: n, heads: c.headCount, norm: layer.queryNorm, start: start,
                         donorLogits: configuration.queryNeuronDMS == nil ? nil : decisions)
            prepareHeads(k, rows: n, heads: c.kvHeadCount, norm: layer.keyNorm, start: start, donorLogits: nil)
            try cache.attend(AttentionBatch(layer: layerIndex, startPosition: start, tokenCount: n, phase: phase,
                                            queries: q, keys: k, values: v, output: attn, scale: scale,
                                            evictionLogits: hasDecisions ? UnsafePointer(decisions) : nil),
                             pool: workers)
            layer.output.apply(attn, tokens: n, into: h, pool: workers)
            if let retrofit, let lowRankSpace {
                retrofit.layers[layerIndex].output.accumulate(attn, tokens: n, into: h, scale: retrofit.scale, scratch: lowRankSpace)
            }
            Kernels.add(x, h, count: n * hidden)

            rmsNormRows(x, weight: layer.feedForwardNorm, into: h, rows: n, width: hidden)
            layer.gate.apply(h, tokens: n, into: g, pool: workers)
            layer.up.apply(h, tokens: n, into: u, pool: workers)
            Kernels.swiglu(gate: g, up: u, output: g, count: n * c.intermediateSize)
            layer.down.apply(g, tokens: n, into: h, pool: workers)
            Kernels.add(x, h, count: n * hidden)
        }
        cache.advance(by: n)

        switch rows {
        case .none:
            return []
        case .last:
            let last = lastHidden.reserve(hidden)
            rmsNormRows(x + (n - 1) * hidden, weight: weights.outputNorm, into: last, rows: 1, width: hidden)
            return projectToVocabulary(last, rows: 1)
        case .all:
            rmsNormRows(x, weight: weights.outputNorm, into: h, rows: n, width: hidden)
            return projectToVocabulary(h, rows: n)
        }
    }

    private func projectToVocabulary(_ hidden: UnsafePointer<Float>, rows: Int) -> [Float] {
        let vocabulary = configuration.vocabularySize
        return [Float](unsafeUninitializedCapacity: rows * vocabulary) { buffer, initialized in
            weights.output.apply(hidden, tokens: rows, into: buffer.baseAddress!, pool: workers)
            initialized = rows * vocabulary
        }
    }

    private func rmsNormRows(_ input: UnsafePointer<Float>, weight: [Float], into output: UnsafeMutablePointer<Float>,
                             rows: Int, width: Int) {
        let eps = configuration.rmsNormEpsilon
        weight.withUnsafeBufferPointer { w in
            for r in 0..<rows {
                Kernels.rmsNorm(input + r * width, weight: w.baseAddress, output: output + r * width, count: width, epsilon: eps)
            }
        }
    }

    /// Per-head norm (Qwen3) and RoPE of `rows` tokens' heads, in place.
    ///
    /// With `donorLogits` (DMS variant A) the last dimension of each group's first query head is
    /// read as the eviction logit `s * q - b` after the norm and zeroed before and after RoPE.
    public func prepareHeads(_ data: UnsafeMutablePointer<Float>, rows: Int, heads: Int, norm: [Float]?, start: Int,
                             donorLogits: UnsafeMutablePointer<Float>?) {
        let c = configuration
        let d = c.headDim
        let interleaved = c.ropeLayout == .interleaved
        let groupSize = c.groupSize
        inverseFrequencies.withUnsafeBufferPointer { frequencies in
            for r in 0..<rows {
                for head in 0..<heads {
                    let vector = data + (r * heads + head) * d
                    if let norm {
                        norm.withUnsafeBufferPointer { w in
                            Kernels.rmsNorm(vector, weight: w.baseAddress, output: vector, count: d, epsilon: c.rmsNormEpsilon)
                        }
                    }
                    let isDonor = donorLogits != nil && head % groupSize == 0
                    if isDonor, let donorLogits, let dms = c.queryNeuronDMS {
                        donorLogits[r * c.kvHeadCount + head / groupSize] = dms.alphaScale * vector[d - 1] - dms.offset
                        vector[d - 1] = 0
                    }
                    Kernels.rope(vector, dimension: d, position: start + r, inverseFrequencies: frequencies.baseAddress!,
                                 interleaved: interleaved)
                    if isDonor { vector[d - 1] = 0 }
                }
            }
        }
    }

    /// Variant B logits `s * W_alpha · RMSNorm_alpha(x) - b` from the residual entering the layer.
    private func adapterLogits(_ layer: DMSAdapter.Layer, _ p: DMSParameters, residual: UnsafePointer<Float>, rows: Int,
                               into logits: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let c = configuration
        rmsNormRows(residual, weight: layer.norm, into: scratch, rows: rows, width: c.hiddenSize)
        layer.projection.withUnsafeBytes { w in
            Kernels.matmul(pool: nil, type: .f32, weights: w.baseAddress!, rows: c.kvHeadCount, columns: c.hiddenSize,
                           input: scratch, tokens: rows, output: logits)
        }
        for i in 0..<(rows * c.kvHeadCount) { logits[i] = p.alphaScale * logits[i] - p.offset }
    }
}
