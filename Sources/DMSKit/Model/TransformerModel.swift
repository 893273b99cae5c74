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
    /// How the weight products take their input rows: `.int8` is several times faster on CPUs
    /// with 8-bit dot products, at the cost of rounding the inputs (see ``ActivationPrecision``).
    public var activationPrecision: ActivationPrecision = .float32

    private let residual = ScratchBuffer()
    private let normed = ScratchBuffer()
    private let queries = ScratchBuffer()
    private let keys = ScratchBuffer()
    private let values = ScratchBuffer()
    private let attention = ScratchBuffer()
    private let gate = ScratchBuffer()
    private let up = ScratchBuffer()
    private let logitInputs = ScratchBuffer()
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
        try forward([ForwardSegment(tokens: tokens, cache: cache, phase: phase, logits: rows)])[0]
    }

    /// Runs several sequences' tokens in one pass: every projection multiplies all rows at once,
    /// while RoPE, the LoRA updates (DMS caches only) and attention follow each segment's own cache.
    /// Returns each segment's requested logit rows, `[rows][vocabularySize]` flattened.
    ///
    /// Every segment is checked before anything runs, so a bad one leaves all caches untouched.
    public func forward(_ segments: [ForwardSegment]) throws -> [[Float]] {
        let c = configuration
        guard !segments.isEmpty else { throw ForwardError.emptyInput }
        var seenCaches = Set<ObjectIdentifier>()
        for segment in segments {
            guard !segment.tokens.isEmpty else { throw ForwardError.emptyInput }
            guard seenCaches.insert(ObjectIdentifier(segment.cache)).inserted else { throw ForwardError.cacheRepeated }
            let needed = segment.cache.tokensSeen + segment.tokens.count
            guard needed <= c.contextLength else {
                throw ForwardError.contextOverflow(needed: needed, contextLength: c.contextLength)
            }
            if let bad = segment.tokens.first(where: { $0 < 0 || $0 >= c.vocabularySize }) {
                throw ForwardError.tokenOutOfRange(token: bad, vocabularySize: c.vocabularySize)
            }
        }
        let starts = segments.map(\.cache.tokensSeen)
        var firstRows = [0]
        for segment in segments { firstRows.append(firstRows[firstRows.count - 1] + segment.tokens.count) }
        let n = firstRows[segments.count]
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
        // LoRA applies to the rows of DMS caches, in runs of adjacent segments (one update per run).
        var lowRankRuns: [Range<Int>] = []
        if lowRank != nil {
            for (s, segment) in segments.enumerated() where segment.cache is DMSKVCache {
                if let last = lowRankRuns.last, last.upperBound == firstRows[s] {
                    lowRankRuns[lowRankRuns.count - 1] = last.lowerBound..<firstRows[s + 1]
                } else {
                    lowRankRuns.append(firstRows[s]..<firstRows[s + 1])
                }
            }
        }
        // the products add the updates to the rows of those runs: every row, or the flagged ones
        let lowRankSpace = lowRankRuns.isEmpty ? nil : lowRank.map { lowRankScratch.reserve($0.scratchCount(tokens: n)) }
        let lowRankRows: UnsafeMutablePointer<UInt8>? = lowRankRuns == [0..<n] || lowRankRuns.isEmpty ? nil : .allocate(capacity: n)
        defer { lowRankRows?.deallocate() }
        if let lowRankRows {
            lowRankRows.initialize(repeating: 0, count: n)
            for run in lowRankRuns { (lowRankRows + run.lowerBound).update(repeating: 1, count: run.count) }
        }
        func lowRankUpdates(_ updates: (LowRankAdapter.Layer) -> [LowRankUpdate?], layer: Int) -> ProductLowRankUpdates? {
            guard let lowRank, let lowRankSpace else { return nil }
            return ProductLowRankUpdates(updates: updates(lowRank.layers[layer]), scale: lowRank.scale,
                                         rows: lowRankRows.map { UnsafePointer($0) }, scratch: lowRankSpace)
        }

        var row = 0
        for segment in segments {
            for token in segment.tokens {
                weights.tokenEmbedding.row(token, into: x + row * hidden)
                row += 1
            }
        }
        let scale = 1 / Float(c.headDim).squareRoot()
        // Decode steps of several sequences attend side by side, a sequence per task: one pool run
        // per layer rather than one per sequence. Longer segments spread their own heads and
        // tokens over the pool.
        let decodeSteps = segments.indices.filter { segments[$0].tokens.count == 1 }
        let threads = workers?.threads ?? 1
        let sideBySide = threads > 1 && decodeSteps.count >= threads ? decodeSteps : []
        var failures = [Error?](repeating: nil, count: sideBySide.count)
        for (layerIndex, layer) in weights.layers.enumerated() {
            var hasDecisions = true
            switch evictionSource {
            case .adapter(let adapter):
                adapterLogits(adapter.layers[layerIndex], adapter.parameters, residual: x, rows: n, into: decisions, scratch: h)
            case .synthetic(let rate, let seed):
                // A pure function of (seed, layer, position, head): the same decisions however the
                // tokens are chunked and batched, and whichever caches the model serves in between.
                for s in segments.indices {
                    for i in 0..<segments[s].tokens.count {
                        for head in 0..<c.kvHeadCount {
                            let unit = RandomSource.unit(seed: seed, layerIndex, starts[s] + i, head)
                            decisions[(firstRows[s] + i) * c.kvHeadCount + head] = unit < rate ? 1 : -1
                        }
                    }
                }
            case .queryNeuron, nil:
                hasDecisions = evictionSource != nil
            }
            rmsNormRows(x, weight: layer.attentionNorm, into: h, rows: n, width: hidden)
            LinearWeight.apply([(layer.query, q), (layer.key, k), (layer.value, v)], to: h, tokens: n, pool: workers,
                               activations: activationPrecision,
                               lowRank: lowRankUpdates({ [$0.query, $0.key, $0.value] }, layer: layerIndex))
            func batch(_ s: Int) -> AttentionBatch {
                let first = firstRows[s]
                return AttentionBatch(layer: layerIndex, startPosition: starts[s], tokenCount: segments[s].tokens.count,
                                      phase: segments[s].phase, queries: q + first * qWidth, keys: k + first * kvWidth,
                                      values: v + first * kvWidth, output: attn + first * qWidth, scale: scale,
                                      evictionLogits: hasDecisions ? UnsafePointer(decisions + first * c.kvHeadCount) : nil)
            }
            for s in segments.indices {
                let first = firstRows[s], count = segments[s].tokens.count
                prepareHeads(q + first * qWidth, rows: count, heads: c.headCount, norm: layer.queryNorm, start: starts[s],
                             donorLogits: configuration.queryNeuronDMS == nil ? nil : decisions + first * c.kvHeadCount)
                prepareHeads(k + first * kvWidth, rows: count, heads: c.kvHeadCount, norm: layer.keyNorm, start: starts[s],
                             donorLogits: nil)
                if sideBySide.isEmpty || segments[s].tokens.count > 1 { try segments[s].cache.attend(batch(s), pool: workers) }
            }
            if !sideBySide.isEmpty {
                failures.withUnsafeMutableBufferPointer { failed in
                    parallelFor(workers, sideBySide.count) { i in
                        do { try segments[sideBySide[i]].cache.attend(batch(sideBySide[i]), pool: nil) } catch { failed[i] = error }
                    }
                }
                if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
            }
            layer.output.apply(attn, tokens: n, into: h, pool: workers, activations: activationPrecision,
                               lowRank: lowRankUpdates({ [$0.output] }, layer: layerIndex))
            Kernels.add(x, h, count: n * hidden)

            rmsNormRows(x, weight: layer.feedForwardNorm, into: h, rows: n, width: hidden)
            let feedForward = lowRank?.coversFeedForward == true
            LinearWeight.applySwiGLU(gate: layer.gate, up: layer.up, to: h, tokens: n, gateOutput: g, upOutput: u,
                                     pool: workers, activations: activationPrecision,
                                     lowRank: feedForward ? lowRankUpdates({ [$0.gate, $0.up] }, layer: layerIndex) : nil)
            layer.down.apply(g, tokens: n, into: h, pool: workers, activations: activationPrecision,
                             lowRank: feedForward ? lowRankUpdates({ [$0.down] }, layer: layerIndex) : nil)
            Kernels.add(x, h, count: n * hidden)
        }
        for segment in segments { segment.cache.advance(by: segment.tokens.count) }
        return logitRows(of: segments, firstRows: firstRows, hidden: x)
    }

    /// The final norm and vocabulary projection of the rows each segment asked for, in one
    /// multiplication for the whole batch.
    private func logitRows(of segments: [ForwardSegment], firstRows: [Int], hidden x: UnsafePointer<Float>) -> [[Float]] {
        let width = configuration.hiddenSize, vocabulary = configuration.vocabularySize
        var wanted: [Range<Int>] = []
        for (s, segment) in segments.enumerated() {
            switch segment.logits {
            case .none: wanted.append(firstRows[s]..<firstRows[s])
            case .last: wanted.append((firstRows[s + 1] - 1)..<firstRows[s + 1])
            case .all: wanted.append(firstRows[s]..<firstRows[s + 1])
            }
        }
        let rows = wanted.reduce(0) { $0 + $1.count }
        guard rows > 0 else { return segments.map { _ in [] } }
        let gathered = logitInputs.reserve(rows * width)
        var next = 0
        for range in wanted where !range.isEmpty {
            rmsNormRows(x + range.lowerBound * width, weight: weights.outputNorm, into: gathered + next * width,
                        rows: range.count, width: width)
            next += range.count
        }
        let all = projectToVocabulary(gathered, rows: rows)
        if segments.count == 1 { return [all] }
        var offset = 0
        return wanted.map { range in
            defer { offset += range.count * vocabulary }
            return Array(all[offset..<(offset + range.count * vocabulary)])
        }
    }

    private func projectToVocabulary(_ hidden: UnsafePointer<Float>, rows: Int) -> [Float] {
        let vocabulary = configuration.vocabularySize
        return [Float](unsafeUninitializedCapacity: rows * vocabulary) { buffer, initialized in
            weights.output.apply(hidden, tokens: rows, into: buffer.baseAddress!, pool: workers, activations: activationPrecision)
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
            Kernels.matmulPerToken(pool: nil, type: .f32, weights: w.baseAddress!, rows: c.kvHeadCount, columns: c.hiddenSize,
                                   input: scratch, tokens: rows, output: logits)
        }
        for i in 0..<(rows * c.kvHeadCount) { logits[i] = p.alphaScale * logits[i] - p.offset }
    }
}
