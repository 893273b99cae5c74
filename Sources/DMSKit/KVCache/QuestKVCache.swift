/// Quest: every token stays resident (no memory saving), but each decode query reads only the
/// pages of 16 tokens whose keys could score highest, by the bound
/// `Σ_i max(q_i · min_i, q_i · max_i)` over the page's element-wise key minima and maxima
/// (summed over the group's query heads). The page holding the current token is always read.
public final class QuestKVCache: PagedKVCache {
    public let store: PagedKVStore
    public let budget: KVBudget
    public let questPageSize: Int
    public private(set) var tokensSeen = 0
    public var policyName: String { "quest" }
    /// Quest keeps every token; it only reads fewer.
    public var freesSlots: Bool { false }
    /// Element-wise key minima and maxima per (layer, head), `[page][headDim]`.
    private var minima: [[Float]]
    private var maxima: [[Float]]
    private var masks: [[UInt8]]

    public init(geometry: KVCacheGeometry, pool: KVPagePool, budget: KVBudget, questPageSize: Int = 16) {
        store = PagedKVStore(geometry: geometry, pool: pool)
        self.budget = budget
        self.questPageSize = questPageSize
        minima = Array(repeating: [], count: geometry.headSlots)
        maxima = minima
        masks = Array(repeating: [], count: geometry.headSlots)
    }

    public func attend(_ batch: AttentionBatch, pool workers: WorkerPool?) throws {
        let g = geometry, d = g.headDim
        let start = batch.startPosition, n = batch.tokenCount
        let kvWidth = g.kvHeadCount * d
        let groupWidth = g.groupSize * d
        let qWidth = g.kvHeadCount * groupWidth
        for h in 0..<g.kvHeadCount {
            let head = batch.layer * g.kvHeadCount + h
            try store.reserve(layer: batch.layer, head: h, slots: start + n)
            for i in 0..<n {
                let t = start + i, row = i * kvWidth + h * d
                store.write(layer: batch.layer, head: h, slot: t, key: batch.keys + row, value: batch.values + row)
                if t % questPageSize == 0 {
                    minima[head].append(contentsOf: repeatElement(.infinity, count: d))
                    maxima[head].append(contentsOf: repeatElement(-.infinity, count: d))
                }
                let base = (t / questPageSize) * d
                for c in 0..<d {
                    minima[head][base + c] = min(minima[head][base + c], batch.keys[row + c])
                    maxima[head][base + c] = max(maxima[head][base + c], batch.keys[row + c])
                }
            }
            store.setSlotCount(layer: batch.layer, head: h, start + n)
        }
        // Prompts attend in full (Quest selects pages for decode queries only).
        guard batch.phase == .decode else {
            parallelFor(workers, n * g.kvHeadCount) { task in
                let i = task / g.kvHeadCount, h = task % g.kvHeadCount
                store.attend(layer: batch.layer, head: h, slots: start + i + 1, mask: nil,
                             query: batch.queries + i * qWidth + h * groupWidth,
                             output: batch.output + i * qWidth + h * groupWidth, scale: batch.scale)
            }
            return
        }
        for i in 0..<n {
            let t = start + i
            for h in 0..<g.kvHeadCount {
                let head = batch.layer * g.kvHeadCount + h
                let query = batch.queries + i * qWidth + h * groupWidth
                let selected = selectPages(head: head, query: query, position: t)
                // The head's mask buffer is reused: grown to t + 1 and cleared, never reallocated per token.
                if masks[head].count < t + 1 { masks[head].append(contentsOf: repeatElement(0, count: t + 1 - masks[head].count)) }
                masks[head].withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
                var reads = 0
                for page in selected {
                    let end = min((page + 1) * questPageSize, t + 1)
                    for s in (page * questPageSize)..<end { masks[head][s] = 1 }
                    reads += end - page * questPageSize
                }
                store.tokenReads += reads
                masks[head].withUnsafeBufferPointer { mask in
                    store.attend(layer: batch.layer, head: h, slots: t + 1, mask: mask.baseAddress, query: query,
                                 output: batch.output + i * qWidth + h * groupWidth, scale: batch.scale)
                }
            }
        }
    }

    /// The pages a query reads: the current one plus the best-bounded others, within the budget.
    func selectPages(head: Int, query: UnsafePointer<Float>, position t: Int) -> [Int] {
        let d = geometry.headDim, G = geometry.groupSize
        let pages = t / questPageSize + 1
        let allowed = max(1, (budget.limit(seen: t + 1) + questPageSize - 1) / questPageSize)
        guard pages > allowed else { return Array(0..<pages) }
        var bounds: [(page: Int, bound: Float)] = []
        bounds.reserveCapacity(pages - 1)
        for page in 0..<(pages - 1) {
            var bound: Float = 0
            for gq in 0..<G {
                for c in 0..<d {
                    let q = query[gq * d + c]
                    bound += max(q * minima[head][page * d + c], q * maxima[head][page * d + c])
                }
            }
            bounds.append((page, bound))
        }
        bounds.sort { $0.bound > $1.bound || ($0.bound == $1.bound && $0.page < $1.page) }
        return bounds.prefix(allowed - 1).map(\.page) + [pages - 1]
    }

    public func advance(by tokens: Int) { tokensSeen += tokens }

    public func pagesNeeded(appending tokens: Int) -> Int {
        store.pagesNeeded { _ in tokensSeen + tokens }
    }


    public func reset() {
        store.releaseAll()
        for i in minima.indices {
            minima[i].removeAll()
            maxima[i].removeAll()
        }
        tokensSeen = 0
    }

    public func copy(from source: KVCache) throws {
        guard let source = source as? QuestKVCache, source.budget == budget, source.questPageSize == questPageSize else {
            throw KVCacheCopyError.incompatible(self, source)
        }
        do { try store.copy(from: source.store) } catch { reset(); throw error }
        minima = source.minima
        maxima = source.maxima
        tokensSeen = source.tokensSeen
    }
}
