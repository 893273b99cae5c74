/// The vanilla cache: every token stays resident; slot `s` holds position `s`.
public final class FullKVCache: PagedKVCache {
    public let store: PagedKVStore
    public private(set) var tokensSeen = 0
    public var policyName: String { "full" }
    public var freesSlots: Bool { false }

    public init(geometry: KVCacheGeometry, pool: KVPagePool) {
        store = PagedKVStore(geometry: geometry, pool: pool)
    }

    public func attend(_ batch: AttentionBatch, pool workers: WorkerPool?) throws {
        let g = geometry
        let kvWidth = g.kvHeadCount * g.headDim
        let qWidth = g.kvHeadCount * g.groupSize * g.headDim
        let groupWidth = g.groupSize * g.headDim
        let start = batch.startPosition, n = batch.tokenCount
        for h in 0..<g.kvHeadCount {
            try store.reserve(layer: batch.layer, head: h, slots: start + n)
            for i in 0..<n {
                let row = i * kvWidth + h * g.headDim
                store.write(layer: batch.layer, head: h, slot: start + i,
                            key: batch.keys + row, value: batch.values + row)
            }
            store.setSlotCount(layer: batch.layer, head: h, start + n)
        }
        if batch.phase == .decode {
            store.tokenReads += n * g.kvHeadCount * start + g.kvHeadCount * n * (n + 1) / 2
        }
        if n == 1 {
            store.attendAllHeads(layer: batch.layer, slots: { _ in start + 1 }, mask: { _ in nil },
                                 query: batch.queries, output: batch.output, scale: batch.scale, pool: workers)
            return
        }
        parallelFor(workers, n * g.kvHeadCount) { task in
            let i = task / g.kvHeadCount, h = task % g.kvHeadCount
            store.attend(layer: batch.layer, head: h, slots: start + i + 1, mask: nil,
                         query: batch.queries + i * qWidth + h * groupWidth,
                         output: batch.output + i * qWidth + h * groupWidth, scale: batch.scale)
        }
    }

    public func advance(by tokens: Int) { tokensSeen += tokens }

    public func pagesNeeded(appending tokens: Int) -> Int {
        store.pagesNeeded { _ in tokensSeen + tokens }
    }


    public func reset() {
        store.releaseAll()
        tokensSeen = 0
    }

    public func copy(from source: KVCache) throws {
        guard let source = source as? FullKVCache else { throw KVCacheCopyError.incompatible(self, source) }
        do { try store.copy(from: source.store) } catch { reset(); throw error }
        tokensSeen = source.tokensSeen
    }
}
