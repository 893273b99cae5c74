/// A cache that keeps at most a budget of tokens per (layer, KV head) and drops tokens by an
/// ``EvictionRule`` (StreamingLLM, TOVA, H2O). Each new token takes a freed slot when there is one;
/// its query attends to the live slots, then the rule evicts until the head is within budget.
public final class BudgetedKVCache<Rule: EvictionRule>: PagedKVCache {
    public let store: PagedKVStore
    public let rule: Rule
    public let budget: KVBudget
    public private(set) var tokensSeen = 0
    public var policyName: String { rule.policyName }
    public var freesSlots: Bool { true }
    private let heads: [BudgetedHead]
    private let minimumBudget: Int

    public init(geometry: KVCacheGeometry, pool: KVPagePool, rule: Rule, budget: KVBudget, minimumBudget: Int = 1) {
        store = PagedKVStore(geometry: geometry, pool: pool)
        self.rule = rule
        self.budget = budget
        self.minimumBudget = minimumBudget
        heads = (0..<geometry.headSlots).map { _ in BudgetedHead() }
    }

    /// Tokens of a batch whose slots are reserved at once: evictions free slots token by token,
    /// so reserving for a whole prefill chunk would hold up to a chunk of pages the heads never use.
    private let reservationGroup = 64

    public func attend(_ batch: AttentionBatch, pool workers: WorkerPool?) throws {
        let g = geometry
        let n = batch.tokenCount, kvHeads = g.kvHeadCount
        let kvWidth = kvHeads * g.headDim
        let groupWidth = g.groupSize * g.headDim
        let qWidth = kvHeads * groupWidth
        var reads = Array(repeating: 0, count: kvHeads)
        for groupStart in stride(from: 0, to: n, by: reservationGroup) {
            let group = groupStart..<min(groupStart + reservationGroup, n)
            for h in 0..<kvHeads {
                let state = heads[batch.layer * kvHeads + h]
                // Evictions within the group only free more slots, so this is an upper bound.
                try store.reserve(layer: batch.layer, head: h, slots: state.used + max(0, group.count - state.freeSlots.count))
            }
            reads.withUnsafeMutableBufferPointer { reads in
                parallelFor(workers, kvHeads) { h in
                    let state = heads[batch.layer * kvHeads + h]
                    for i in group {
                        let t = batch.startPosition + i
                        let slot = state.takeSlot(position: t)
                        let row = i * kvWidth + h * g.headDim
                        store.write(layer: batch.layer, head: h, slot: slot, key: batch.keys + row, value: batch.values + row)
                        let query = batch.queries + i * qWidth + h * groupWidth
                        state.mask.withUnsafeBufferPointer { mask in
                            store.attend(layer: batch.layer, head: h, slots: state.used, mask: mask.baseAddress,
                                         query: query, output: batch.output + i * qWidth + h * groupWidth, scale: batch.scale)
                            if rule.usesScores {
                                store.attentionWeights(layer: batch.layer, head: h, slots: state.used, mask: mask.baseAddress,
                                                       query: query, scale: batch.scale,
                                                       weights: &state.weights, scratch: &state.scratch)
                            }
                        }
                        if rule.usesScores {
                            for s in 0..<state.used where state.positions[s] >= 0 {
                                state.scores[s] = rule.accumulatesScores ? state.scores[s] + state.weights[s] : state.weights[s]
                            }
                        }
                        reads[h] += state.live
                        let limit = budget.limit(seen: t + 1, minimum: minimumBudget)
                        while state.live > limit {
                            let victim = state.positions.withUnsafeBufferPointer { positions in
                                state.scores.withUnsafeBufferPointer { scores in
                                    rule.victim(positions: positions, scores: scores, current: t, budget: limit)
                                }
                            }
                            guard let victim else { break }
                            state.free(victim)
                        }
                    }
                }
            }
        }
        for h in 0..<kvHeads {
            store.setSlotCount(layer: batch.layer, head: h, heads[batch.layer * kvHeads + h].live)
        }
        if batch.phase == .decode { store.tokenReads += reads.reduce(0, +) }
    }

    /// Positions of the tokens resident in one head.
    public func residentPositions(layer: Int, head: Int) -> [Int] {
        heads[layer * geometry.kvHeadCount + head].positions.filter { $0 >= 0 }.map(Int.init)
    }

    public func advance(by tokens: Int) { tokensSeen += tokens }

    /// New tokens take freed slots first, as ``attend(_:pool:)`` reserves.
    public func pagesNeeded(appending tokens: Int) -> Int {
        store.pagesNeeded { heads[$0].used + max(0, tokens - heads[$0].freeSlots.count) }
    }

    public func reset() {
        store.releaseAll()
        heads.forEach { $0.clear() }
        tokensSeen = 0
    }

    public func copy(from source: KVCache) throws {
        guard let source = source as? BudgetedKVCache<Rule>, source.budget == budget,
              source.minimumBudget == minimumBudget else { throw KVCacheCopyError.incompatible(self, source) }
        do { try store.copy(from: source.store) } catch { reset(); throw error }
        for (head, from) in zip(heads, source.heads) { head.copy(from: from) }
        tokensSeen = source.tokensSeen
    }
}
