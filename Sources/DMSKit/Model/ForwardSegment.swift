/// One sequence's part of a batched forward pass: tokens that continue its own `cache`.
///
/// ``TransformerModel/forward(_:)`` runs several segments through every weight matrix together
/// (each weight is read once for the whole batch) and gives each its own attention over its cache.
public struct ForwardSegment {
    /// Positions `cache.tokensSeen ..< cache.tokensSeen + tokens.count`.
    public var tokens: [Int]
    public var cache: KVCache
    public var phase: AttentionBatch.Phase
    public var logits: LogitRows

    public init(tokens: [Int], cache: KVCache, phase: AttentionBatch.Phase, logits: LogitRows) {
        self.tokens = tokens
        self.cache = cache
        self.phase = phase
        self.logits = logits
    }
}
