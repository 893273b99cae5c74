import DMSKit
import Foundation
import Testing

/// Each baseline's eviction rule on hand-computed examples.
@Suite("Baseline KV policies")
struct BaselinePolicyTests {
    /// One KV head, one query head, 2-dimensional keys: `scores[t] = q · k_t` is set by hand.
    static let geometry = KVCacheGeometry(layerCount: 1, kvHeadCount: 1, groupSize: 1, headDim: 2)

    /// Appends tokens with keys `(key, 0)`, value `(t, 0)` and query `(1, 0)`, one batch per token.
    static func feed(_ cache: KVCache, keys: [Float], phase: AttentionBatch.Phase = .decode) throws -> [[Float]] {
        var outputs: [[Float]] = []
        for key in keys {
            let t = cache.tokensSeen
            let q: [Float] = [1, 0], k: [Float] = [key, 0], v: [Float] = [Float(t), 0]
            var out: [Float] = [0, 0]
            try cache.attend(AttentionBatch(layer: 0, startPosition: t, tokenCount: 1, phase: phase, queries: q,
                                            keys: k, values: v, output: &out, scale: 1), pool: nil)
            cache.advance(by: 1)
            outputs.append(out)
        }
        return outputs
    }

    static func pool() -> KVPagePool { KVPagePool(pageSize: 4, headDim: 2, precision: .f32) }

    @Test func rulesPickTheExpectedVictim() {
        let positions: [Int32] = [0, 1, -1, 2, 3]
        let scores: [Float] = [0.5, 0.1, 0.0, 0.3, 0.05]
        positions.withUnsafeBufferPointer { p in
            scores.withUnsafeBufferPointer { s in
                #expect(StreamingRule(sinks: 1).victim(positions: p, scores: s, current: 3, budget: 4) == 1)  // oldest non-sink
                #expect(StreamingRule(sinks: 0).victim(positions: p, scores: s, current: 3, budget: 4) == 0)
                #expect(TOVARule().victim(positions: p, scores: s, current: 3, budget: 4) == 4)               // lowest weight, free slot skipped
                #expect(H2ORule(recent: 2).victim(positions: p, scores: s, current: 3, budget: 4) == 1)       // positions ≤ 1 only
                #expect(H2ORule(recent: 4).victim(positions: p, scores: s, current: 3, budget: 4) == 0)       // all recent: the oldest
                #expect(H2ORule().victim(positions: p, scores: s, current: 3, budget: 4) == 1)             // recent = budget / 2
            }
        }
    }

    @Test func streamingKeepsSinksAndRecentTokens() throws {
        let cache = BudgetedKVCache(geometry: Self.geometry, pool: Self.pool(), rule: StreamingRule(sinks: 2), budget: .tokens(6))
        _ = try Self.feed(cache, keys: Array(repeating: 0, count: 10))
        #expect(cache.residentPositions(layer: 0, head: 0).sorted() == [0, 1, 6, 7, 8, 9])
        #expect(cache.statistics().perHeadLengths == [[6]])
        // Slots are reused: never more than budget + 1 slots exist.
        #expect(cache.store.pool.peakPagesInUse == 2)
    }

    /// A 300-token prefill chunk holds no more pages than feeding one token at a time: slots are
    /// reserved 64 tokens at a time, as evictions free them.
    @Test func aLongPrefillChunkHoldsNoExtraPages() throws {
        let count = 300
        let pool = KVPagePool(pageSize: 64, headDim: 2, precision: .f32)
        let cache = BudgetedKVCache(geometry: Self.geometry, pool: pool, rule: StreamingRule(sinks: 2), budget: .tokens(64))
        let q = [Float](repeating: 1, count: 2 * count), k = (0..<(2 * count)).map { Float($0 % 7) }
        var out = [Float](repeating: 0, count: 2 * count)
        try cache.attend(AttentionBatch(layer: 0, startPosition: 0, tokenCount: count, phase: .prefill, queries: q,
                                        keys: k, values: k, output: &out, scale: 1), pool: nil)
        cache.advance(by: count)
        let single = BudgetedKVCache(geometry: Self.geometry, pool: KVPagePool(pageSize: 64, headDim: 2, precision: .f32),
                                     rule: StreamingRule(sinks: 2), budget: .tokens(64))
        _ = try Self.feed(single, keys: Array(repeating: 0, count: count))
        #expect(cache.residentPositions(layer: 0, head: 0).sorted() == single.residentPositions(layer: 0, head: 0).sorted())
        #expect(pool.peakPagesInUse == single.store.pool.peakPagesInUse && pool.peakPagesInUse == 2)
    }

    @Test func tovaDropsTheLeastAttendedToken() throws {
        let cache = BudgetedKVCache(geometry: Self.geometry, pool: Self.pool(), rule: TOVARule(), budget: .tokens(3))
        // Weights follow the keys: t3 (-2) goes at once, then t1 (0), then t5 (1).
        _ = try Self.feed(cache, keys: [5, 0, 3, -2, 4, 1])
        #expect(cache.residentPositions(layer: 0, head: 0).sorted() == [0, 2, 4])
    }

    @Test func h2oKeepsHeavyHittersAndTheRecentWindow() throws {
        let cache = BudgetedKVCache(geometry: Self.geometry, pool: Self.pool(), rule: H2ORule(recent: 1), budget: .tokens(3))
        // Accumulated weights: token 0 (key 4) dominates every query; token 1 (key 0) and token 2
        // (key 1) are light; the budget of 3 holds token 0, the heaviest other and the newest.
        _ = try Self.feed(cache, keys: [4, 0, 1, 0.5, 3])
        // t3: live {0,1,2,3}, non-recent {0,1,2}; token 1 has the least accumulated weight → out.
        // t4: live {0,2,3,4}; accumulated: 2 beats 3 (it was attended by more queries) → 3 out.
        #expect(cache.residentPositions(layer: 0, head: 0).sorted() == [0, 2, 4])
    }

    @Test func ratioBudgetsGrowWithTheSequence() throws {
        let cache = BudgetedKVCache(geometry: Self.geometry, pool: Self.pool(), rule: StreamingRule(sinks: 1), budget: .ratio(4))
        _ = try Self.feed(cache, keys: Array(repeating: 0, count: 40))
        #expect(cache.statistics().perHeadLengths == [[10]])
        #expect(abs(cache.statistics().compressionRatio - 4) < 1e-9)
    }

    @Test func questReadsOnlyTheBestBoundedPages() throws {
        let cache = QuestKVCache(geometry: Self.geometry, pool: Self.pool(), budget: .tokens(32))
        // Pages of 16: page 0 keys 1, page 1 keys -1, page 2 keys 0.5; the query (1, 0) bounds them
        // at 1, -1 and 0.5, so with 2 pages allowed it reads page 0 and the current page (token 48).
        _ = try Self.feed(cache, keys: Array(repeating: 1, count: 16) + Array(repeating: -1, count: 16)
                          + Array(repeating: 0.5, count: 16), phase: .prefill)
        let before = cache.statistics().tokenReads
        let out = try Self.feed(cache, keys: [0])
        #expect(cache.statistics().tokenReads - before == 17)
        #expect(cache.statistics().perHeadLengths == [[49]])  // nothing evicted
        // Output = softmax-weighted values over tokens 0…15 (score 1) and 48 (score 0).
        let weights = (0..<16).map { _ in exp(Float(1)) } + [exp(Float(0))]
        let values = (0..<16).map(Float.init) + [48]
        let expected = zip(weights, values).map(*).reduce(0, +) / weights.reduce(0, +)
        #expect(abs(out[0][0] - expected) < 1e-4)
    }

    @Test func budgetPoliciesNeedABudget() throws {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-llama"), threads: 1)
        for policy in [KVCacheOptions.Policy.streaming, .tova, .h2o, .quest] {
            #expect(throws: KVCacheOptionsError.self) { try loaded.makeCache(KVCacheOptions(policy: policy)) }
            var options = KVCacheOptions(policy: policy, precision: .f32)
            options.budget = .ratio(2)
            let cache = try loaded.makeCache(options)
            let ids = Array(1...40)
            _ = try loaded.model.forward(ids, cache: cache, phase: .prefill, logits: .last)
            #expect(cache.policyName == policy.rawValue)
            if policy != .quest { #expect(cache.statistics().compressionRatio >= 1.9) }
        }
    }
}
