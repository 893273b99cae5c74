/// The weights of one decoder layer.
public struct LayerWeights: @unchecked Sendable {
    public let attentionNorm: [Float]
    public let query: LinearWeight
    public let key: LinearWeight
    public let value: LinearWeight
    public let output: LinearWeight
    /// Qwen3's per-head norms (`headDim` values each), applied before RoPE.
    public let queryNorm: [Float]?
    public let keyNorm: [Float]?
    public let feedForwardNorm: [Float]
    public let gate: LinearWeight
    public let up: LinearWeight
    public let down: LinearWeight
}
