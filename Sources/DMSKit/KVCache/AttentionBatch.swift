/// The attention inputs of a run of consecutive tokens in one layer, handed to a ``KVCache``.
///
/// Rows are tokens: `queries` is `[tokenCount][headCount * headDim]`, `keys` and `values` are
/// `[tokenCount][kvHeadCount * headDim]`, all after RoPE. The cache stores the keys and values
/// under its policy and writes each token's attention output (same layout as `queries`).
public struct AttentionBatch {
    /// Whether the batch is part of a prompt or one generated token; only decode steps count
    /// toward ``KVStatistics/tokenReads`` (the paper's metric).
    public enum Phase: Sendable { case prefill, decode }

    public var layer: Int
    public var startPosition: Int
    public var tokenCount: Int
    public var phase: Phase
    public var queries: UnsafePointer<Float>
    public var keys: UnsafePointer<Float>
    public var values: UnsafePointer<Float>
    public var output: UnsafeMutablePointer<Float>
    /// Multiplies `q · k` (1/sqrt(headDim)).
    public var scale: Float
    /// DMS eviction logits `[tokenCount][kvHeadCount]` when the model computes them (token `t`'s
    /// logit decides the fate of token `t - 1`); nil otherwise.
    public var evictionLogits: UnsafePointer<Float>?

    public init(layer: Int, startPosition: Int, tokenCount: Int, phase: Phase,
                queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
                output: UnsafeMutablePointer<Float>, scale: Float, evictionLogits: UnsafePointer<Float>? = nil) {
        self.layer = layer
        self.startPosition = startPosition
        self.tokenCount = tokenCount
        self.phase = phase
        self.queries = queries
        self.keys = keys
        self.values = values
        self.output = output
        self.scale = scale
        self.evictionLogits = evictionLogits
    }
}
