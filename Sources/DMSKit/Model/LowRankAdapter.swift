/// LoRA updates of every layer's attention projections, trained with a DMS adapter so the model
/// works better under eviction. They are part of the retrofit: the decoder applies them when it
/// runs with a DMS cache, and the full cache runs the unchanged base model.
public struct LowRankAdapter: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var query, key, value, output: LowRankUpdate

        public init(query: LowRankUpdate, key: LowRankUpdate, value: LowRankUpdate, output: LowRankUpdate) {
            self.query = query
            self.key = key
            self.value = value
            self.output = output
        }
    }

    public let rank: Int
    /// LoRA's alpha: updates are scaled by `alpha / rank`.
    public let alpha: Float
    public var layers: [Layer]

    public init(rank: Int, alpha: Float, layers: [Layer]) {
        self.rank = rank
        self.alpha = alpha
        self.layers = layers
    }

    public var scale: Float { alpha / Float(rank) }

    /// The Hugging Face names of a layer's projections, as PEFT writes them (`q_proj`, …).
    public static let projectionNames = ["q_proj", "k_proj", "v_proj", "o_proj"]

    /// Scratch floats `accumulate` needs for `tokens` rows of `configuration`.
    public static func scratchCount(tokens: Int, rank: Int, configuration c: ModelConfiguration) -> Int {
        tokens * (rank + max(c.hiddenSize, c.headCount * c.headDim))
    }
}
