import DMSKit
import Foundation
import Testing

/// A cache copied from another continues exactly as the original (how `n` > 1 choices share a
/// prompt), for every policy; a copy the pool cannot hold leaves the cache empty.
@Suite("KV cache copies")
struct KVCacheCopyTests {
    static let policies: [KVCacheOptions.Policy] = [.full, .dms, .streaming, .tova, .h2o, .quest]

    static func options(_ policy: KVCacheOptions.Policy) -> KVCacheOptions {
        var options = KVCacheOptions(policy: policy, precision: .f32)
        options.pageSize = 4
        if policy.needsBudget { options.budget = .tokens(9) }
        return options
    }

    @Test("a copy continues with the same logits and statistics", arguments: policies)
    func copyContinuesLikeTheOriginal(policy: KVCacheOptions.Policy) throws {
        let loaded = try BatchSchedulerTests.dmsModel()
        let vocabulary = loaded.configuration.vocabularySize
        let pool = KVPagePool(pageSize: 4, headDim: loaded.configuration.headDim, precision: .f32)
        let original = try loaded.makeCache(Self.options(policy), pool: pool)
        _ = try loaded.model.forward(BatchSchedulerTests.prompt(23, seed: 1, vocabulary: vocabulary), cache: original,
                                     phase: .prefill, logits: .none)
        let held = pool.pagesInUse
        let copy = try loaded.makeCache(Self.options(policy), pool: pool)
        try copy.copy(from: original)
        #expect(pool.pagesInUse == 2 * held)
        #expect(copy.statistics() == original.statistics())
        for (i, token) in BatchSchedulerTests.prompt(6, seed: 2, vocabulary: vocabulary).enumerated() {
            let phase: AttentionBatch.Phase = i == 0 ? .prefill : .decode
            let a = try loaded.model.forward([token], cache: original, phase: phase, logits: .last)
            let b = try loaded.model.forward([token], cache: copy, phase: phase, logits: .last)
            #expect(a == b, "\(policy) token \(i)")
        }
        #expect(copy.statistics() == original.statistics())
        original.reset()  // the copy owns its own pages
        _ = try loaded.model.forward([7], cache: copy, phase: .decode, logits: .last)
    }

    @Test func anotherPolicyOrAFullPoolIsRefused() throws {
        let loaded = try BatchSchedulerTests.dmsModel()
        let vocabulary = loaded.configuration.vocabularySize
        let heads = loaded.configuration.layerCount * loaded.configuration.kvHeadCount
        let pool = KVPagePool(pageSize: 4, headDim: loaded.configuration.headDim, precision: .f32, pageLimit: 3 * heads)
        let full = try loaded.makeCache(Self.options(.full), pool: pool)
        _ = try loaded.model.forward(BatchSchedulerTests.prompt(10, seed: 3, vocabulary: vocabulary), cache: full,
                                     phase: .prefill, logits: .none)
        #expect(throws: KVCacheCopyError.self) { try loaded.makeCache(Self.options(.dms), pool: pool).copy(from: full) }
        let held = pool.pagesInUse
        let copy = try loaded.makeCache(Self.options(.full), pool: pool)
        #expect(throws: KVPagePool.ExhaustedError.self) { try copy.copy(from: full) }
        #expect(pool.pagesInUse == held)
        #expect(copy.tokensSeen == 0 && copy.statistics().perHeadLengths.joined().allSatisfy { $0 == 0 })
    }
}
