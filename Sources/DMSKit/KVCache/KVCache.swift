/// A per-sequence key/value cache with its own eviction policy.
///
/// The decoder hands each layer's new keys, values and queries to the cache, which decides what
/// stays resident per (layer, KV head) and computes attention over exactly what each query may
/// see. Policies (full, DMS, StreamingLLM, ...) are implementations of this protocol.
public protocol KVCache: AnyObject {
    /// Name of the policy as the CLI spells it (`full`, `dms`, ...).
    var policyName: String { get }
    var geometry: KVCacheGeometry { get }
    /// Positions consumed so far; the next token gets this position.
    var tokensSeen: Int { get }
    /// Whether the policy frees slots as tokens arrive (so ``pagesNeeded(appending:)`` bounds
    /// more than it will keep), rather than keeping every token.
    var freesSlots: Bool { get }
    /// Stores the batch's keys and values and writes its attention outputs.
    func attend(_ batch: AttentionBatch, pool: WorkerPool?) throws
    /// Records that every layer has processed `tokens` more positions.
    func advance(by tokens: Int)
    /// Current and peak occupancy, reads, and memory.
    func statistics() -> KVStatistics
    /// An upper bound on the pages the next `tokens` positions can take from the pool (before any
    /// eviction they cause frees a slot), so a scheduler sharing one pool can keep within a budget.
    func pagesNeeded(appending tokens: Int) -> Int
    /// Forgets every token and returns all pages to the pool.
    func reset()
    /// Replaces this cache's contents with a copy of `source`'s keys, values and bookkeeping, so
    /// both continue identically (choices that share a prompt read it once). `source` must be the
    /// same policy made with the same options. Throws ``KVCacheCopyError`` for another cache, or
    /// the pool's error when it cannot hold the copy; the cache is then empty.
    func copy(from source: KVCache) throws
}
