import DMSKit

/// What the forward pass of one decoder layer keeps for the backward pass, for `tokens` positions.
final class LayerActivations {
    /// Residual entering the layer, and after its attention block (`[T][hidden]`).
    let input, middle: ScratchBuffer
    /// Queries, keys (after the per-head norm and RoPE) and values.
    let queries, keys, values: ScratchBuffer
    /// Queries and keys before Qwen3's per-head norm (empty for Llama).
    let rawQueries, rawKeys: ScratchBuffer
    /// Attention output (`[T][heads · headDim]`) and the log-sum-exp of each score row (`[heads][T]`).
    let attention, logSumExp: ScratchBuffer
    /// Feed-forward gate and up projections before SwiGLU (`[T][intermediate]`).
    let gate, up: ScratchBuffer
    /// The soft eviction of this layer (unused by the teacher).
    let eviction: EvictionRelaxation

    init(configuration c: ModelConfiguration, tokens t: Int) {
        let qWidth = c.headCount * c.headDim, kvWidth = c.kvHeadCount * c.headDim
        input = ScratchBuffer(capacity: t * c.hiddenSize)
        middle = ScratchBuffer(capacity: t * c.hiddenSize)
        queries = ScratchBuffer(capacity: t * qWidth)
        keys = ScratchBuffer(capacity: t * kvWidth)
        values = ScratchBuffer(capacity: t * kvWidth)
        rawQueries = ScratchBuffer(capacity: c.hasQKNorm ? t * qWidth : 0)
        rawKeys = ScratchBuffer(capacity: c.hasQKNorm ? t * kvWidth : 0)
        attention = ScratchBuffer(capacity: t * qWidth)
        logSumExp = ScratchBuffer(capacity: c.headCount * t)
        gate = ScratchBuffer(capacity: t * c.intermediateSize)
        up = ScratchBuffer(capacity: t * c.intermediateSize)
        eviction = EvictionRelaxation(configuration: c, tokens: t)
    }
}
