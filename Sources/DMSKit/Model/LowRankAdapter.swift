import CDMSKernels

/// LoRA updates of every layer's attention projections (and optionally its feed-forward ones),
/// trained with a DMS adapter so the model works better under eviction. They are part of the
/// retrofit: the decoder applies them when it runs with a DMS cache, and the full cache runs the
/// unchanged base model.
public struct LowRankAdapter: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var query, key, value, output: LowRankUpdate
        /// The feed-forward projections' updates; all three or none.
        public var gate, up, down: LowRankUpdate?

        public init(query: LowRankUpdate, key: LowRankUpdate, value: LowRankUpdate, output: LowRankUpdate,
                    gate: LowRankUpdate? = nil, up: LowRankUpdate? = nil, down: LowRankUpdate? = nil) {
            precondition((gate == nil) == (up == nil) && (up == nil) == (down == nil), "feed-forward updates come in threes")
            self.query = query
            self.key = key
            self.value = value
            self.output = output
            self.gate = gate
            self.up = up
            self.down = down
        }

        /// A layer from its updates in the order of ``LowRankAdapter/modules``: four (attention)
        /// or seven (attention and feed-forward).
        public init(updates: [LowRankUpdate]) {
            precondition(updates.count == 4 || updates.count == 7, "a layer has 4 or 7 LoRA updates")
            let feedForward = updates.count == 7
            self.init(query: updates[0], key: updates[1], value: updates[2], output: updates[3],
                      gate: feedForward ? updates[4] : nil, up: feedForward ? updates[5] : nil,
                      down: feedForward ? updates[6] : nil)
        }

        /// The updates in the order of ``LowRankAdapter/modules``.
        public var updates: [LowRankUpdate] {
            [query, key, value, output] + [gate, up, down].compactMap { $0 }
        }
    }

    public let rank: Int
    /// LoRA's alpha: updates are scaled by `alpha / rank`.
    public let alpha: Float
    public var layers: [Layer]

    public init(rank: Int, alpha: Float, layers: [Layer]) {
        precondition(Set(layers.map { $0.gate != nil }).count <= 1, "every layer or none has feed-forward updates")
        self.rank = rank
        self.alpha = alpha
        self.layers = layers
    }

    public var scale: Float { alpha / Float(rank) }

    /// Whether the feed-forward projections (gate, up, down) have updates too.
    public var coversFeedForward: Bool { layers.first?.gate != nil }

    /// The Hugging Face modules of a layer's projections, as PEFT names them: attention's
    /// q, k, v, o, then the feed-forward gate, up, down.
    public static let modules = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                 "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]

    /// Whether a module's output rows are rotated by RoPE (their order depends on the RoPE layout).
    public static func isRotated(module: String) -> Bool {
        module == "self_attn.q_proj" || module == "self_attn.k_proj"
    }

    /// The (outputs, inputs) shapes of the projections in the order of ``modules``: the first
    /// four, or all seven with `feedForward`.
    public static func shapes(_ c: ModelConfiguration, feedForward: Bool) -> [(outputs: Int, inputs: Int)] {
        let qWidth = c.headCount * c.headDim, kvWidth = c.kvHeadCount * c.headDim, hidden = c.hiddenSize
        let attention = [(qWidth, hidden), (kvWidth, hidden), (kvWidth, hidden), (hidden, qWidth)]
        let mlp = [(c.intermediateSize, hidden), (c.intermediateSize, hidden), (hidden, c.intermediateSize)]
        return (feedForward ? attention + mlp : attention).map { (outputs: $0.0, inputs: $0.1) }
    }

    /// Scratch floats that `tokens` rows of any group of this adapter's projections need
    /// (``ProductLowRankUpdates/scratch``; ``LowRankUpdate/accumulate(_:tokens:into:scale:scratch:pool:)``
    /// needs less).
    public func scratchCount(tokens: Int) -> Int {
        tokens * rank * Int(DMS_MATMUL_GROUP_MAX)
    }
}
