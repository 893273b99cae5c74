/// Paged key/value storage for every (layer, KV head) of one sequence, and attention over it.
///
/// Policies own the decision of which slot a token goes to and which slots a query may see;
/// this type owns the pages, the writes, the attention kernels and the occupancy bookkeeping.
public final class PagedKVStore {
    public let geometry: KVCacheGeometry
    public let pool: KVPagePool
    /// Page tables, indexed `layer * kvHeadCount + head`.
    public private(set) var heads: [HeadPages]
    /// Resident (layer, head, token) entries now and at most.
    public private(set) var liveTokens = 0
    public private(set) var peakTokens = 0
    /// Decode-phase slots read (the paper's KV token reads).
    public var tokenReads = 0
    /// Pages this store holds now and at most (its share of a pool other stores may use too).
    public private(set) var pagesHeld = 0
    public private(set) var peakPagesHeld = 0

    /// Slots per head from which one query's attention is split into ranges of at most
    /// `rangeSlots` slots (merged afterwards, flash-decoding), so long heads spread over threads.
    static let splitThreshold = 512
    static let rangeSlots = 2048
    private var partialOutputs: [Float] = []
    private var partialMaxima: [Float] = []
    private var partialSums: [Float] = []

    public init(geometry: KVCacheGeometry, pool: KVPagePool) {
        precondition(pool.headDim == geometry.headDim, "pool head dimension differs from the model's")
        self.geometry = geometry
        self.pool = pool
        self.heads = Array(repeating: HeadPages(), count: geometry.headSlots)
    }

    deinit { releaseAll() }

    @inlinable func index(layer: Int, head: Int) -> Int { layer * geometry.kvHeadCount + head }

    /// Makes room for `slots` slots in one head.
    public func reserve(layer: Int, head: Int, slots: Int) throws {
        let i = index(layer: layer, head: head)
        let before = heads[i].pageIndices.count
        defer {
            pagesHeld += heads[i].pageIndices.count - before
            peakPagesHeld = max(peakPagesHeld, pagesHeld)
        }
        try heads[i].reserve(slots, in: pool)
    }

    /// Writes a key and value (f32, `headDim` each) into a slot that `reserve` made room for.
    public func write(layer: Int, head: Int, slot: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        heads[index(layer: layer, head: head)].write(slot: slot, key: key, value: value, pool: pool)
    }

    /// Sets the number of slots in use of one head, keeping the live-token count current.
    public func setSlotCount(layer: Int, head: Int, _ count: Int) {
        let i = index(layer: layer, head: head)
        liveTokens += count - heads[i].slotCount
        heads[i].slotCount = count
        peakTokens = max(peakTokens, liveTokens)
    }

    /// Slots in use by one head.
    public func slotCount(layer: Int, head: Int) -> Int { heads[index(layer: layer, head: head)].slotCount }

    /// Attention of the `groupSize` queries of one KV head over slots `0..<slots`, skipping
    /// slots whose `mask` byte is 0 when a mask is given.
    public func attend(layer: Int, head: Int, slots: Int, mask: UnsafePointer<UInt8>?,
                       query: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, scale: Float) {
        let pages = heads[index(layer: layer, head: head)]
        pages.keyPages.withUnsafeBufferPointer { keys in
            pages.valuePages.withUnsafeBufferPointer { values in
                Kernels.attention(kvType: pool.precision.weightType, keyPages: keys.baseAddress!,
                                  valuePages: values.baseAddress!, pageSize: pool.pageSize, slots: slots, mask: mask,
                                  headDim: geometry.headDim, queries: query, groupSize: geometry.groupSize,
                                  scale: scale, output: output)
            }
        }
    }

    /// Softmax weights of the group's queries over slots `0..<slots` (mask as in `attend`),
    /// averaged over the group, into `weights`; `scratch` holds `slots` floats.
    public func attentionWeights(layer: Int, head: Int, slots: Int, mask: UnsafePointer<UInt8>?,
                                 query: UnsafePointer<Float>, scale: Float,
                                 weights: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>) {
        let pages = heads[index(layer: layer, head: head)]
        pages.keyPages.withUnsafeBufferPointer { keys in
            Kernels.attentionWeights(kvType: pool.precision.weightType, keyPages: keys.baseAddress!, pageSize: pool.pageSize,
                                     slots: slots, mask: mask, headDim: geometry.headDim, queries: query,
                                     groupSize: geometry.groupSize, scale: scale, weights: weights, scratch: scratch)
        }
    }

    /// Attention of every KV head's queries of one token (a decode step) over `slots(head)`
    /// slots; long heads run in ranges spread over the pool's threads.
    ///
    /// How a head is split depends only on its own length, never on the thread count or on the
    /// other sequences of the step, so a token gets the same output alone, side by side (with
    /// `pool` nil) or in any batch: what makes a seed reproducible on a busy server.
    public func attendAllHeads(layer: Int, slots: (Int) -> Int, mask: (Int) -> UnsafePointer<UInt8>?,
                               query: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
                               scale: Float, pool workers: WorkerPool?) {
        let kvHeads = geometry.kvHeadCount
        let G = geometry.groupSize
        let groupWidth = G * geometry.headDim
        withUnsafeTemporaryAllocation(of: Int.self, capacity: kvHeads + 1) { firstTask in
            // Head h runs as tasks firstTask[h]..<firstTask[h + 1], one per slot range.
            firstTask[0] = 0
            for h in 0..<kvHeads { firstTask[h + 1] = firstTask[h] + Self.slotRanges(slots(h)) }
            let tasks = firstTask[kvHeads]
            if tasks == kvHeads {
                parallelFor(workers, kvHeads) { h in
                    attend(layer: layer, head: h, slots: slots(h), mask: mask(h),
                           query: query + h * groupWidth, output: output + h * groupWidth, scale: scale)
                }
                return
            }
            if partialOutputs.count < tasks * groupWidth {
                partialOutputs = Array(repeating: 0, count: tasks * groupWidth)
                partialMaxima = Array(repeating: 0, count: tasks * G)
                partialSums = Array(repeating: 0, count: tasks * G)
            }
            let precision = pool.precision.weightType
            partialOutputs.withUnsafeMutableBufferPointer { acc in
                partialMaxima.withUnsafeMutableBufferPointer { maxima in
                    partialSums.withUnsafeMutableBufferPointer { sums in
                        let acc = acc.baseAddress!, maxima = maxima.baseAddress!, sums = sums.baseAddress!
                        parallelFor(workers, tasks) { task in
                            var h = 0
                            while firstTask[h + 1] <= task { h += 1 }
                            let count = slots(h), ranges = firstTask[h + 1] - firstTask[h]
                            guard ranges > 1 else {
                                attend(layer: layer, head: h, slots: count, mask: mask(h),
                                       query: query + h * groupWidth, output: output + h * groupWidth, scale: scale)
                                return
                            }
                            let range = task - firstTask[h]
                            let pages = heads[index(layer: layer, head: h)]
                            pages.keyPages.withUnsafeBufferPointer { keys in
                                pages.valuePages.withUnsafeBufferPointer { values in
                                    Kernels.attentionPartial(
                                        kvType: precision, keyPages: keys.baseAddress!, valuePages: values.baseAddress!,
                                        pageSize: pool.pageSize, slotBegin: count * range / ranges,
                                        slotEnd: count * (range + 1) / ranges, mask: mask(h), headDim: geometry.headDim,
                                        queries: query + h * groupWidth, groupSize: G, scale: scale,
                                        accumulator: acc + task * groupWidth, maxima: maxima + task * G, sums: sums + task * G)
                                }
                            }
                        }
                        for h in 0..<kvHeads where firstTask[h + 1] - firstTask[h] > 1 {
                            let first = firstTask[h]
                            Kernels.attentionMerge(parts: firstTask[h + 1] - first, groupSize: G, headDim: geometry.headDim,
                                                   accumulators: acc + first * groupWidth, maxima: maxima + first * G,
                                                   sums: sums + first * G, output: output + h * groupWidth)
                        }
                    }
                }
            }
        }
    }

    /// Ranges one query's attention over `slots` slots runs in: 1 below `splitThreshold`, else an
    /// even number (so two or four threads share the heads evenly) of at most `rangeSlots` each.
    static func slotRanges(_ slots: Int) -> Int {
        slots < splitThreshold ? 1 : 2 * ((slots + 2 * rangeSlots - 1) / (2 * rangeSlots))
    }

    /// Pages that holding `slots(head)` slots in every head would add (heads indexed
    /// `layer * kvHeadCount + head`).
    public func pagesNeeded(slots: (Int) -> Int) -> Int {
        var pages = 0
        for i in heads.indices {
            let capacity = (slots(i) + pool.pageSize - 1) / pool.pageSize
            pages += max(0, capacity - heads[i].pageIndices.count)
        }
        return pages
    }

    /// Per-head slot counts, `[layer][head]`.
    public func perHeadLengths() -> [[Int]] {
        (0..<geometry.layerCount).map { layer in
            (0..<geometry.kvHeadCount).map { heads[index(layer: layer, head: $0)].slotCount }
        }
    }

    /// Returns every page to the pool and forgets all tokens (peaks and reads stay).
    public func releaseAll() {
        for i in heads.indices { heads[i].releaseAll(to: pool) }
        liveTokens = 0
        pagesHeld = 0
    }

    /// Replaces this store's pages with copies of `source`'s (same geometry and page format),
    /// counters included. On failure (the pool is exhausted) the store is left empty.
    public func copy(from source: PagedKVStore) throws {
        guard source.geometry == geometry, source.pool.pageSize == pool.pageSize,
              source.pool.headDim == pool.headDim, source.pool.precision == pool.precision else {
            throw KVCacheCopyError("the source cache has another shape or page format")
        }
        releaseAll()
        do {
            for layer in 0..<geometry.layerCount {
                for head in 0..<geometry.kvHeadCount {
                    let i = index(layer: layer, head: head), from = source.heads[i]
                    try reserve(layer: layer, head: head, slots: from.pageIndices.count * pool.pageSize)
                    for (target, page) in zip(heads[i].pageIndices, from.pageIndices) {
                        pool.keys(target).copyMemory(from: source.pool.keys(page), byteCount: pool.pageBytes)
                    }
                    heads[i].slotCount = from.slotCount
                }
            }
        } catch {
            releaseAll()
            throw error
        }
        liveTokens = source.liveTokens
        peakTokens = source.peakTokens
        tokenReads = source.tokenReads
        peakPagesHeld = max(peakPagesHeld, source.peakPagesHeld)
    }

    /// Statistics of this store under a policy's name.
    public func statistics(policy: String, tokensSeen: Int) -> KVStatistics {
        KVStatistics(policy: policy, tokensSeen: tokensSeen, perHeadLengths: perHeadLengths(),
                     tokenReads: tokenReads, peakTokens: peakTokens,
                     peakBytes: peakPagesHeld * pool.pageBytes, bytesInUse: pagesHeld * pool.pageBytes)
    }
}
