@testable import DMSEvaluation
import DMSKit
import Foundation
import Testing

@Suite("Teacher-forced policy evaluation")
struct PolicyEvaluatorTests {
    static func configuration(_ policies: [KVCacheOptions.Policy], length: Int = 160, ratios: RatioSelection = .matchDMS,
                              continuations: Int = 2, task: EvaluationTask = .kl) -> EvaluationConfiguration {
        var configuration = EvaluationConfiguration()
        configuration.task = task
        configuration.length = length
        configuration.policies = policies
        configuration.ratios = ratios
        configuration.continuations = continuations
        configuration.continuationLength = 12
        configuration.chunk = 64
        return configuration
    }

    /// A pass of the reference and `candidates` over `tokens`.
    static func pass(_ model: LoadedModel, tokens: [Int], candidates: [PolicyUnderTest], chunk: Int = 64) throws -> (PolicyRun, [PolicyRun]) {
        let reference = try PolicyRun(policy: PolicyUnderTest(policy: .full), isReference: true, model: model)
        let runs = try candidates.map { try PolicyRun(policy: $0, model: model) }
        try TeacherForcedPass(model: model.model, tokens: tokens, chunk: chunk, tracker: ProgressTracker(totalUnits: 1, report: nil))
            .run(reference: reference, candidates: runs)
        return (reference, runs)
    }

    @Test("a second full cache, and a budget that never binds fed one token at a time, match the reference")
    func fullAgainstFull() throws {
        let model = try EvaluationFixtures.dmsModel()
        let tokens = EvaluationFixtures.tokens(150, vocabulary: model.configuration.vocabularySize)
        var unbounded = KVCacheOptions()
        unbounded.budget = .tokens(10_000)
        let (reference, runs) = try Self.pass(model, tokens: tokens, candidates: [
            PolicyUnderTest(policy: .full), PolicyUnderTest(policy: .streaming, baseOptions: unbounded),
        ])
        let full = runs[0], streaming = runs[1]
        #expect(full.metrics.meanKLDivergence == 0)
        #expect(full.metrics.top1Agreement == 1)
        #expect(full.metrics.positions == 149)
        #expect(full.metrics.meanNegativeLogLikelihood == reference.metrics.meanNegativeLogLikelihood)
        // One token at a time through a policy that keeps everything: the same distributions up to
        // rounding, position for position (an off-by-one would show here).
        #expect(streaming.policy.feeding == .oneTokenAtATime)
        #expect(try #require(streaming.metrics.meanKLDivergence) < 1e-6)
        #expect(streaming.metrics.top1Agreement == 1)
        #expect(abs(streaming.metrics.meanNegativeLogLikelihood - reference.metrics.meanNegativeLogLikelihood) < 1e-5)
        #expect(streaming.finalLogits.count == model.configuration.vocabularySize)
        #expect(streaming.statistics?.compressionRatio == 1)
    }

    @Test("full's row: KL 0, agreement 1; every KL ≥ 0 and fractions in [0, 1]")
    func reportInvariants() throws {
        let model = try EvaluationFixtures.dmsModel()
        let evaluator = try PolicyEvaluator(model: model, configuration: Self.configuration([.full, .dms, .streaming, .tova, .h2o, .quest]))
        let tokens = EvaluationFixtures.tokens(160, vocabulary: model.configuration.vocabularySize, seed: 9)
        let report = try evaluator.evaluate(tokens)
        #expect(report.policies.map(\.policy) == ["full", "dms", "streaming", "tova", "h2o", "quest"])
        #expect(report.cutPoints == [120, 160])
        let full = report.policies[0]
        #expect(full.klDivergence == 0 && full.top1Agreement == 1 && full.perplexityRatio == 1)
        #expect(full.continuationAgreement == 1 && full.continuationInitialRun == 12 && full.continuations == 2)
        #expect(full.compressionRatio == 1)
        for row in report.policies {
            #expect(try #require(row.klDivergence) >= 0, "\(row.policy)")
            #expect((0...1).contains(try #require(row.top1Agreement)), "\(row.policy)")
            #expect((0...1).contains(try #require(row.continuationAgreement)), "\(row.policy)")
            #expect((0...12).contains(try #require(row.continuationInitialRun)), "\(row.policy)")
            #expect(row.scoredPositions == 159 && row.tokens == 160)
            #expect(row.tokenReads > 0 && row.peakTokens > 0 && row.peakBytes > 0)
        }
        let dms = report.policies[1]
        #expect(dms.requestedRatio == nil && dms.compressionRatio > 1)
        #expect(dms.klDivergence! > 0)
        for baseline in report.policies[2...] { #expect(baseline.requestedRatio == dms.compressionRatio) }
        // Reads: full reads every earlier token at every position.
        let g = KVCacheGeometry(model.configuration)
        #expect(full.tokenReads == g.layerCount * g.kvHeadCount * 160 * 161 / 2)
    }

    @Test("a ratio-matched streaming cache reaches dms's ratio within a token")
    func matchedRatio() throws {
        for model in [try EvaluationFixtures.dmsModel(), try EvaluationFixtures.syntheticModel()] {
            var configuration = Self.configuration([.dms, .streaming], length: 200, continuations: 0)
            configuration.baseOptions.dmsWindow = model.model.evictionSource?.trainedWindow == nil ? 8 : nil
            let evaluator = try PolicyEvaluator(model: model, configuration: configuration)
            let report = try evaluator.evaluate(EvaluationFixtures.tokens(200, vocabulary: model.configuration.vocabularySize, seed: 4))
            let dms = report.policies[0], streaming = report.policies[1]
            #expect(streaming.requestedRatio == dms.compressionRatio)
            // Mean slots per head: within one token of what the ratio asks for.
            let requestedSlots = 200 / dms.compressionRatio, streamingSlots = 200 / streaming.compressionRatio
            #expect(abs(streamingSlots - requestedSlots) <= 1, "\(requestedSlots) vs \(streamingSlots)")
            #expect(dms.compressionRatio > 1.5)
        }
    }

    @Test("fixed ratios expand every baseline, in order")
    func fixedRatios() throws {
        let model = try EvaluationFixtures.dmsModel()
        let evaluator = try PolicyEvaluator(model: model, configuration: Self.configuration(
            [.tova, .full, .streaming], length: 128, ratios: .fixed([2, 4]), continuations: 1))
        let report = try evaluator.evaluate(EvaluationFixtures.tokens(128, vocabulary: model.configuration.vocabularySize))
        #expect(report.policies.map(\.policy) == ["tova", "tova", "full", "streaming", "streaming"])
        #expect(report.policies.map(\.requestedRatio) == [2, 4, nil, 2, 4])
        #expect(report.cutPoints == [128])
        for row in report.policies where row.requestedRatio != nil {
            #expect(abs(128 / row.compressionRatio - 128 / row.requestedRatio!) <= 1)
        }
    }

    @Test("a fixed baseline budget keeps length/R tokens from the start: the same end and peak, more reads")
    func fixedBaselineBudget() throws {
        let model = try EvaluationFixtures.dmsModel()
        let tokens = EvaluationFixtures.tokens(128, vocabulary: model.configuration.vocabularySize, seed: 5)
        var rows: [BaselineBudget: PolicyEvaluation] = [:]
        for budget in BaselineBudget.allCases {
            var configuration = Self.configuration([.streaming], length: 128, ratios: .fixed([4]), continuations: 0)
            configuration.baselineBudget = budget
            rows[budget] = try PolicyEvaluator(model: model, configuration: configuration).evaluate(tokens).policies[0]
        }
        let proportional = try #require(rows[.proportional]), fixed = try #require(rows[.fixed])
        #expect(proportional.budget == .proportional && fixed.budget == .fixed)
        #expect(fixed.requestedRatio == 4 && abs(fixed.compressionRatio - 4) < 0.01)
        #expect(fixed.peakTokens == proportional.peakTokens)
        // The first 32 positions read everything before them, later ones the 32 kept and their own.
        let g = KVCacheGeometry(model.configuration)
        #expect(fixed.tokenReads == g.layerCount * g.kvHeadCount * ((1...32).reduce(0, +) + 96 * 33))
        #expect(fixed.tokenReads > proportional.tokenReads)
        #expect(fixed.record(task: .kl, length: 128).setting == "ratio 4, fixed budget")
        #expect(fixed.record(task: .kl, length: 128).baselineBudget == .fixed)
    }

    @Test("the perplexity task: no reference, no KL, full's perplexity equals dms score's")
    func perplexityTask() throws {
        let model = try EvaluationFixtures.dmsModel()
        let tokens = EvaluationFixtures.tokens(100, vocabulary: model.configuration.vocabularySize, seed: 11)
        let evaluator = try PolicyEvaluator(model: model, configuration: Self.configuration(
            [.full, .dms, .h2o], length: 100, task: .perplexity))
        let report = try evaluator.evaluate(tokens)
        #expect(report.cutPoints.isEmpty && report.continuationLength == nil)
        for row in report.policies {
            #expect(row.klDivergence == nil && row.top1Agreement == nil && row.continuationAgreement == nil)
        }
        let scored = try GenerationSession(model: model.model, tokenizer: model.tokenizer,
                                           cache: model.makeCache(KVCacheOptions(policy: .full))).score(tokens)
        let expected = try #require(scored.perplexity)
        #expect(abs(report.policies[0].perplexity - expected) / expected < 1e-6)
        #expect(report.policies[2].requestedRatio == report.policies[1].compressionRatio)
    }

    @Test("a prefix fed again into a fresh cache ends where the pass ended")
    func prefixReplay() throws {
        let model = try EvaluationFixtures.syntheticModel()
        var options = KVCacheOptions()
        options.dmsWindow = 8
        let tokens = EvaluationFixtures.tokens(120, vocabulary: model.configuration.vocabularySize, seed: 12)
        let (_, runs) = try Self.pass(model, tokens: tokens, candidates: [
            PolicyUnderTest(policy: .dms, baseOptions: options), PolicyUnderTest(policy: .h2o, ratio: 3, baseOptions: options),
        ], chunk: 50)
        let greedy = GreedyContinuations(model: model.model, tokens: tokens, chunk: 50, length: 8,
                                         tracker: ProgressTracker(totalUnits: 1, report: nil))
        for run in runs {
            let cache = try model.makeCache(run.policy.cacheOptions)
            let logits = try greedy.feedPrefix(120, into: cache, feeding: run.policy.feeding, stage: "test")
            // Same chunk boundaries; only the last chunk's logits rows differ (one row here, all
            // rows in the pass), which may round the last bits differently.
            let worst = zip(logits, run.finalLogits).map { abs($0 - $1) }.max() ?? .infinity
            #expect(logits.count == run.finalLogits.count && worst < 1e-4, "\(run.label): \(worst)")
            #expect(cache.statistics().perHeadLengths == run.statistics?.perHeadLengths, "\(run.label)")
            // Following the full cache's greedy tokens from identical states gives identical answers.
            let continuation = try greedy.generate(from: logits, cache: cache, stage: "test")
            #expect(try greedy.follow(continuation, from: run.finalLogits, cache: run.cache, stage: "test") == Array(repeating: true, count: 8))
        }
    }

    @Test func textBecomesTheSequence() throws {
        let model = try EvaluationFixtures.dmsModel()
        let evaluator = try PolicyEvaluator(model: model, configuration: Self.configuration([.full, .dms], length: 100))
        let text = EvaluationFixtures.prose
        let sequence = try evaluator.sequence(fromText: text)
        #expect(sequence == Array(model.tokenizer.encode(text, addSpecialTokens: true, parseSpecial: false).prefix(100)))
        #expect(throws: EvaluationError.emptyText) { try evaluator.sequence(fromText: "") }
        #expect(throws: EvaluationError.self) { try evaluator.sequence(fromText: "A short line.") }
    }

    @Test func badSettingsAreRejected() throws {
        let model = try EvaluationFixtures.dmsModel()
        func rejects(_ configuration: EvaluationConfiguration, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(throws: (any Error).self, sourceLocation: sourceLocation) {
                try PolicyEvaluator(model: model, configuration: configuration)
            }
        }
        rejects(Self.configuration([.full, .streaming]))                                   // match without dms
        rejects(Self.configuration([.full, .streaming], ratios: .fixed([1])))              // ratio ≤ 1
        rejects(Self.configuration([.full, .streaming], ratios: .fixed([0.5, 2])))
        rejects(Self.configuration([.full, .full]))                                        // listed twice
        rejects(Self.configuration([.full], length: 256))                                  // + continuation > 256 positions
        rejects(Self.configuration([.full], length: 300, continuations: 0))
        rejects(Self.configuration([.full], length: 1))
        #expect(throws: DMSError.self) {                                                    // no decisions
            try PolicyEvaluator(model: try LoadedModel(path: EvaluationFixtures.fixture("tiny-llama"), threads: 1),
                                configuration: Self.configuration([.full, .dms]))
        }
        // At the limit: 245 tokens + 11 more for the continuation = 256 positions.
        _ = try PolicyEvaluator(model: model, configuration: Self.configuration([.full], length: 245))
    }
}
