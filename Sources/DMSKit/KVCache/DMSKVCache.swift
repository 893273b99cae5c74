/// Dynamic Memory Sparsification: delayed eviction with physical slot reuse (spec sections 4–6).
///
/// Per (layer, KV head) a ring of the last `W = window + 1` tokens holds each token's slot and
/// eviction flag. Token `t`'s decision flags token `t - 1`; when token `t` arrives, the token
/// `t - W` leaves the window, and if it was flagged its slot is overwritten by token `t`. So the
/// slots `0..<used` are exactly the keys query `t` may see, and memory per head is the kept tokens
/// plus `W`. Works the same for prompt chunks and generated tokens, turn after turn.
public final class DMSKVCache: PagedKVCache {
    public let store: PagedKVStore
    public let window: Int
    /// A token is flagged for eviction when its successor's logit exceeds this.
    public let threshold: Float
    /// Tokens at positions below this are never flagged (attention sinks).
    public let sinks: Int
    public private(set) var tokensSeen = 0
    public var policyName: String { "dms" }
    public var freesSlots: Bool { true }

    private var ringLength: Int { window + 1 }
    /// Ring entries, `[layer * kvHeads + head][t % W]`: the slot of token t and its flag.
    private var ringSlots: [Int32]
    private var ringFlags: [Bool]
    /// Slots in use per (layer, head).
    private var used: [Int]
    /// Position held by each slot, per (layer, head), for inspection and tests.
    private var slotPositions: [[Int32]]
    /// Per-batch plan: the slot each token goes to and the slot count its query sees.
    private var plannedSlots: [Int32] = []
    private var plannedVisible: [Int32] = []

    public init(geometry: KVCacheGeometry, pool: KVPagePool, window: Int, threshold: Float = 0, sinks: Int = 0) {
        precondition(window >= 0, "the DMS window must be ≥ 0")
        precondition(sinks >= 0, "the number of sinks must be ≥ 0")
        store = PagedKVStore(geometry: geometry, pool: pool)
        self.window = window
        self.threshold = threshold
        self.sinks = sinks
        ringSlots = Array(repeating: 0, count: geometry.headSlots * (window + 1))
        ringFlags = Array(repeating: false, count: geometry.headSlots * (window + 1))
        used = Array(repeating: 0, count: geometry.headSlots)
        slotPositions = Array(repeating: [], count: geometry.headSlots)
    }

    public func attend(_ batch: AttentionBatch, pool workers: WorkerPool?) throws {
        guard let logits = batch.evictionLogits else { throw DMSError.noDecisions }
        let g = geometry
        let n = batch.tokenCount, heads = g.kvHeadCount
        plan(batch, logits: logits)
        for h in 0..<heads {
            let head = batch.layer * heads + h
            try store.reserve(layer: batch.layer, head: h, slots: used[head])
        }

        let kvWidth = heads * g.headDim
        let groupWidth = g.groupSize * g.headDim
        let qWidth = heads * groupWidth
        if n == 1 {
            for h in 0..<heads {
                store.write(layer: batch.layer, head: h, slot: Int(plannedSlots[h]),
                            key: batch.keys + h * g.headDim, value: batch.values + h * g.headDim)
            }
            let visible = plannedVisible
            store.attendAllHeads(layer: batch.layer, slots: { Int(visible[$0]) }, mask: { _ in nil },
                                 query: batch.queries, output: batch.output, scale: batch.scale, pool: workers)
        } else {
            // Tokens of a head go in order (a reused slot may still be visible to earlier queries);
            // heads are independent.
            plannedSlots.withUnsafeBufferPointer { slots in
                plannedVisible.withUnsafeBufferPointer { visible in
                    parallelFor(workers, heads) { h in
                        for i in 0..<n {
                            let row = i * kvWidth + h * g.headDim
                            store.write(layer: batch.layer, head: h, slot: Int(slots[i * heads + h]),
                                        key: batch.keys + row, value: batch.values + row)
                            store.attend(layer: batch.layer, head: h, slots: Int(visible[i * heads + h]), mask: nil,
                                         query: batch.queries + i * qWidth + h * groupWidth,
                                         output: batch.output + i * qWidth + h * groupWidth, scale: batch.scale)
                        }
                    }
                }
            }
        }
        for h in 0..<heads {
            store.setSlotCount(layer: batch.layer, head: h, used[batch.layer * heads + h])
        }
        if batch.phase == .decode {
            store.tokenReads += plannedVisible.prefix(n * heads).reduce(0) { $0 + Int($1) }
        }
    }

    /// Runs the ring for every token and head of the batch: which slot each token takes and how
    /// many slots its query sees. Depends only on the decisions, not on keys or values.
    private func plan(_ batch: AttentionBatch, logits: UnsafePointer<Float>) {
        let heads = geometry.kvHeadCount, n = batch.tokenCount, W = ringLength
        plannedSlots.removeAll(keepingCapacity: true)
        plannedVisible.removeAll(keepingCapacity: true)
        for i in 0..<n {
            let t = batch.startPosition + i
            for h in 0..<heads {
                let head = batch.layer * heads + h
                let ring = head * W
                // Token t's decision flags token t - 1 (set before the lookup so a window of 0 works).
                if t > sinks { ringFlags[ring + (t - 1) % W] = logits[i * heads + h] > threshold }
                let slot: Int32
                if t >= W, ringFlags[ring + t % W] {
                    slot = ringSlots[ring + t % W]          // token t - W just left the window: reuse
                    slotPositions[head][Int(slot)] = Int32(t)
                } else {
                    slot = Int32(used[head])
                    used[head] += 1
                    slotPositions[head].append(Int32(t))
                }
                ringSlots[ring + t % W] = slot
                ringFlags[ring + t % W] = false
                plannedSlots.append(slot)
                plannedVisible.append(Int32(used[head]))
            }
        }
    }

    /// Positions of the tokens resident in one head, in slot order.
    public func residentPositions(layer: Int, head: Int) -> [Int] {
        slotPositions[layer * geometry.kvHeadCount + head].map(Int.init)
    }

    public func advance(by tokens: Int) { tokensSeen += tokens }

    /// New tokens take a freed window slot or the next one, so `used + tokens` bounds every head.
    public func pagesNeeded(appending tokens: Int) -> Int {
        store.pagesNeeded { used[$0] + tokens }
    }


    public func reset() {
        store.releaseAll()
        tokensSeen = 0
        for i in used.indices {
            used[i] = 0
            slotPositions[i].removeAll(keepingCapacity: true)
        }
        for i in ringFlags.indices { ringFlags[i] = false }
    }

    public func copy(from source: KVCache) throws {
        guard let source = source as? DMSKVCache, source.window == window, source.threshold == threshold,
              source.sinks == sinks else { throw KVCacheCopyError.incompatible(self, source) }
        do { try store.copy(from: source.store) } catch { reset(); throw error }
        ringSlots = source.ringSlots
        ringFlags = source.ringFlags
        used = source.used
        slotPositions = source.slotPositions
        tokensSeen = source.tokensSeen
    }
}
