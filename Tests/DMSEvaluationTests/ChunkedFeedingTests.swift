import DMSEvaluation
import DMSKit
import Foundation
import Testing

/// The evaluation feeds full and dms in prefill chunks and relies on every position then getting
/// the logits it would get fed alone (DMS applies its visibility rule inside a chunk), and on
/// token reads counting every position as a decode step either way.
///
/// Resident sets, reads and peaks are identical. Logits agree to 1e-5 of their scale with an f32
/// cache; the batched projections round the last bits of keys and values differently from
/// single-token ones (chunk 2 equals chunk 1 exactly, chunk 512 does not), and with f16 storage
/// such a difference can flip an element's f16 rounding, so there logits agree to ~1e-4 of their
/// scale (the full cache shows the same) and the distributions to a KL below 1e-6 nats.
@Suite("dms in chunks equals dms one token at a time")
struct ChunkedFeedingTests {
    struct Outcome {
        var logits: [Float]
        var statistics: KVStatistics
    }

    static func feed(_ tokens: [Int], model: LoadedModel, options: KVCacheOptions, chunk: Int) throws -> Outcome {
        let cache = try model.makeCache(options)
        var logits: [Float] = []
        var start = 0
        while start < tokens.count {
            let end = min(start + chunk, tokens.count)
            logits += try model.model.forward(Array(tokens[start..<end]), cache: cache, phase: .decode, logits: .all)
            start = end
        }
        return Outcome(logits: logits, statistics: cache.statistics())
    }

    /// The same visibility and statistics, logits within `tolerance` of their scale, and at most
    /// 1e-6 nats of KL at any position.
    static func expectSame(_ chunked: Outcome, _ single: Outcome, vocabulary: Int, tolerance: Float,
                           sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(chunked.logits.count == single.logits.count, sourceLocation: sourceLocation)
        let scale = chunked.logits.map(abs).max() ?? 1
        let worst = zip(chunked.logits, single.logits).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= tolerance * max(scale, 1), "max |Δlogit| \(worst) (scale \(scale))", sourceLocation: sourceLocation)
        var divergence = 0.0
        for position in 0..<(chunked.logits.count / vocabulary) {
            let row = (position * vocabulary)..<((position + 1) * vocabulary)
            let kl = DistributionMath.klDivergence(reference: Array(chunked.logits[row]), candidate: Array(single.logits[row]))
            divergence = max(divergence, kl)
        }
        #expect(divergence < 1e-6, "KL \(divergence)", sourceLocation: sourceLocation)
        #expect(chunked.statistics.perHeadLengths == single.statistics.perHeadLengths, sourceLocation: sourceLocation)
        #expect(chunked.statistics.tokenReads == single.statistics.tokenReads, sourceLocation: sourceLocation)
        #expect(chunked.statistics.peakTokens == single.statistics.peakTokens, sourceLocation: sourceLocation)
    }

    @Test("variant-A checkpoint, chunk 512 vs 1", arguments: [(FloatPrecision.f32, Float(1e-5)), (.f16, 1e-4)])
    func queryNeuronDecisions(_ precision: FloatPrecision, tolerance: Float) throws {
        let model = try EvaluationFixtures.dmsModel()
        let tokens = EvaluationFixtures.tokens(256, vocabulary: model.configuration.vocabularySize)
        let options = KVCacheOptions(policy: .dms, precision: precision)
        let chunked = try Self.feed(tokens, model: model, options: options, chunk: 512)
        let single = try Self.feed(tokens, model: model, options: options, chunk: 1)
        Self.expectSame(chunked, single, vocabulary: model.configuration.vocabularySize, tolerance: tolerance)
        #expect(chunked.statistics.compressionRatio > 1.5)
    }

    @Test("synthetic decisions do not depend on chunking", arguments: [(512, FloatPrecision.f32, Float(1e-5)), (7, .f32, 1e-5), (512, .f16, 1e-3)])
    func syntheticDecisions(_ chunk: Int, precision: FloatPrecision, tolerance: Float) throws {
        let model = try EvaluationFixtures.syntheticModel()
        let tokens = EvaluationFixtures.tokens(256, vocabulary: model.configuration.vocabularySize, seed: 2)
        var options = KVCacheOptions(policy: .dms, precision: precision)
        options.dmsWindow = 8
        let chunked = try Self.feed(tokens, model: model, options: options, chunk: chunk)
        let single = try Self.feed(tokens, model: model, options: options, chunk: 1)
        Self.expectSame(chunked, single, vocabulary: model.configuration.vocabularySize, tolerance: tolerance)
        #expect(chunked.statistics.compressionRatio > 1.5)
    }

    @Test("full cache, chunk 512 vs 1", arguments: [(FloatPrecision.f32, Float(1e-5)), (.f16, 1e-4)])
    func fullCache(_ precision: FloatPrecision, tolerance: Float) throws {
        let model = try EvaluationFixtures.dmsModel()
        let tokens = EvaluationFixtures.tokens(200, vocabulary: model.configuration.vocabularySize, seed: 5)
        let options = KVCacheOptions(policy: .full, precision: precision)
        Self.expectSame(try Self.feed(tokens, model: model, options: options, chunk: 512),
                        try Self.feed(tokens, model: model, options: options, chunk: 1),
                        vocabulary: model.configuration.vocabularySize, tolerance: tolerance)
    }
}
