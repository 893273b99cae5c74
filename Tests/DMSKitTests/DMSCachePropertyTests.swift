import DMSKit
import Foundation
import Testing

/// The DMS cache driven directly with random decision streams, keys, values and queries, checked
/// at every step against the spec's visibility rule and a brute-force attention over it.
@Suite("DMS cache properties over random decision streams")
struct DMSCachePropertyTests {
    struct Stream: Sendable, CustomStringConvertible {
        let seed: UInt64
        let window: Int
        let rate: Double
        let chunk: Int
        let pageSize: Int
        var description: String { "seed \(seed) w \(window) rate \(rate) chunk \(chunk) page \(pageSize)" }
    }

    static let streams: [Stream] = [
        Stream(seed: 1, window: 0, rate: 0.5, chunk: 1, pageSize: 4),
        Stream(seed: 2, window: 1, rate: 0.9, chunk: 3, pageSize: 2),
        Stream(seed: 3, window: 3, rate: 0.5, chunk: 7, pageSize: 4),
        Stream(seed: 4, window: 8, rate: 0.2, chunk: 5, pageSize: 16),
        Stream(seed: 5, window: 5, rate: 1.0, chunk: 2, pageSize: 3),
        Stream(seed: 6, window: 4, rate: 0.0, chunk: 11, pageSize: 8),
    ]

    @Test("resident set, slot count, slot uniqueness, attention and page return", arguments: streams)
    func property(_ s: Stream) throws {
        let geometry = KVCacheGeometry(layerCount: 2, kvHeadCount: 2, groupSize: 2, headDim: 8)
        let pool = KVPagePool(pageSize: s.pageSize, headDim: geometry.headDim, precision: .f32)
        let cache = DMSKVCache(geometry: geometry, pool: pool, window: s.window)
        var random = RandomSource(seed: s.seed)
        func uniform() -> Float { Float(random.nextUnit() * 2 - 1) }
        let total = 60
        let heads = geometry.kvHeadCount, d = geometry.headDim, G = geometry.groupSize
        // Full history for the brute-force reference: per (layer, head) keys, values, flags.
        var keys = Array(repeating: [[Float]](), count: geometry.headSlots)
        var values = keys
        var flags = Array(repeating: [Bool](), count: geometry.headSlots)
        var position = 0
        var mostResident = Array(repeating: 0, count: geometry.headSlots)
        while position < total {
            let n = min(s.chunk, total - position)
            for layer in 0..<geometry.layerCount {
                let q = (0..<(n * heads * G * d)).map { _ in uniform() }
                let k = (0..<(n * heads * d)).map { _ in uniform() }
                let v = (0..<(n * heads * d)).map { _ in uniform() }
                let logits = (0..<(n * heads)).map { _ in random.nextUnit() < s.rate ? Float(1) : Float(-1) }
                var out = Array(repeating: Float(0), count: n * heads * G * d)
                try q.withUnsafeBufferPointer { q in
                    try k.withUnsafeBufferPointer { k in
                        try v.withUnsafeBufferPointer { v in
                            try logits.withUnsafeBufferPointer { logits in
                                try out.withUnsafeMutableBufferPointer { out in
                                    try cache.attend(AttentionBatch(
                                        layer: layer, startPosition: position, tokenCount: n, phase: n == 1 ? .decode : .prefill,
                                        queries: q.baseAddress!, keys: k.baseAddress!, values: v.baseAddress!,
                                        output: out.baseAddress!, scale: 0.5, evictionLogits: logits.baseAddress!), pool: nil)
                                }
                            }
                        }
                    }
                }
                for i in 0..<n {
                    let t = position + i
                    for h in 0..<heads {
                        let head = layer * heads + h
                        if t > 0 { flags[head][t - 1] = logits[i * heads + h] > 0 }
                        flags[head].append(false)
                        keys[head].append(Array(k[(i * heads + h) * d..<(i * heads + h + 1) * d]))
                        values[head].append(Array(v[(i * heads + h) * d..<(i * heads + h + 1) * d]))
                        // Brute force: softmax over the visible keys of query t, for each of the G heads.
                        let visible = (0...t).filter { !(flags[head][$0] && t - $0 > s.window) }
                        for g in 0..<G {
                            let query = Array(q[((i * heads + h) * G + g) * d..<((i * heads + h) * G + g + 1) * d])
                            let scores = visible.map { j in zip(query, keys[head][j]).map(*).reduce(0, +) * 0.5 }
                            let maximum = scores.max()!
                            let weights = scores.map { exp($0 - maximum) }
                            let sum = weights.reduce(0, +)
                            for c in 0..<d {
                                let expected = zip(weights, visible).map { $0 * values[head][$1][c] }.reduce(0, +) / sum
                                let got = out[((i * heads + h) * G + g) * d + c]
                                #expect(abs(got - expected) < 1e-4, "\(s) t \(t) head \(head)")
                            }
                        }
                    }
                }
            }
            position += n
            cache.advance(by: n)
            // Invariants after every batch, for every head.
            let t = position - 1
            for layer in 0..<geometry.layerCount {
                for h in 0..<heads {
                    let head = layer * heads + h
                    let resident = cache.residentPositions(layer: layer, head: h)
                    let visible = (0...t).filter { !(flags[head][$0] && t - $0 > s.window) }
                    #expect(resident.sorted() == visible, "\(s) layer \(layer) head \(h)")
                    #expect(Set(resident).count == resident.count, "a slot holds two live tokens")
                    let outOfWindow = max(0, t + 1 - (s.window + 1))
                    let kept = (0..<outOfWindow).filter { !flags[head][$0] }.count
                    #expect(resident.count == kept + min(t + 1, s.window + 1), "slots in use = unflagged + min(t, W)")
                    mostResident[head] = max(mostResident[head], resident.count)
                }
            }
        }
        let stats = cache.statistics()
        #expect(stats.tokensSeen == total)
        #expect(pool.pagesInUse > 0)
        cache.reset()
        #expect(pool.pagesInUse == 0, "pages return to the pool")
        // Memory follows the resident tokens: no head ever held more pages than its peak needs.
        let pagesNeeded = mostResident.map { ($0 + s.pageSize - 1) / s.pageSize }.reduce(0, +)
        #expect(pool.peakPagesInUse <= pagesNeeded)
        #expect(stats.peakTokens <= mostResident.reduce(0, +))
    }
}
