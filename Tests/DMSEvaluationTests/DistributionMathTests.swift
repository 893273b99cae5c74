import DMSEvaluation
import DMSKit
import Foundation
import Testing

@Suite("KL, log-sum-exp, argmax and the metric accumulators")
struct DistributionMathTests {
    @Test func klOfTwoHandCheckedDistributions() {
        // p = (1/2, 1/2), q = (3/4, 1/4): KL(p‖q) = ½ ln(½ / ¾) + ½ ln(½ / ¼) = ½ ln(4/3).
        let p: [Float] = [0, 0]
        let q: [Float] = [Float(log(3.0)), 0]
        #expect(abs(DistributionMath.klDivergence(reference: p, candidate: q) - 0.5 * log(4.0 / 3.0)) < 1e-7)
        // The other direction: ¾ ln(¾ / ½) + ¼ ln(¼ / ½).
        #expect(abs(DistributionMath.klDivergence(reference: q, candidate: p) - (0.75 * log(1.5) + 0.25 * log(0.5))) < 1e-7)
        // Three outcomes, one impossible under p: p = (1, 0, 0) up to float, q uniform → ln 3.
        let certain: [Float] = [0, -200, -200]
        #expect(abs(DistributionMath.klDivergence(reference: certain, candidate: [1, 1, 1]) - log(3.0)) < 1e-6)
    }

    @Test func identicalDistributionsGiveExactlyZero() {
        let logits = EvaluationFixtures.tokens(1000, vocabulary: 10_000).map { Float($0) / 1000 - 5 }
        #expect(DistributionMath.klDivergence(reference: logits, candidate: logits) == 0)
        // Softmax ignores a shift of every logit.
        #expect(DistributionMath.klDivergence(reference: logits, candidate: logits.map { $0 + 3 }) < 1e-12)
    }

    @Test func klIsNeverNegative() {
        var random = RandomSource(seed: 3)
        for _ in 0..<200 {
            let size = 2 + Int(random.next() % 50)
            let p = (0..<size).map { _ in Float(random.nextUnit() * 20 - 10) }
            let q = (0..<size).map { _ in Float(random.nextUnit() * 20 - 10) }
            let nearP = p.map { $0 + Float(random.nextUnit() * 1e-6) }
            #expect(DistributionMath.klDivergence(reference: p, candidate: q) >= 0)
            #expect(DistributionMath.klDivergence(reference: p, candidate: nearP) >= 0)
        }
    }

    @Test func logSumExpAndArgmax() {
        let logits: [Float] = [1, 3, 3, -2]
        logits.withUnsafeBufferPointer { row in
            #expect(abs(DistributionMath.logSumExp(row) - log(exp(1.0) + 2 * exp(3.0) + exp(-2.0))) < 1e-12)
            #expect(DistributionMath.argmax(row) == 1)  // the first of a tie
        }
        let large: [Float] = [1000, 1000]
        large.withUnsafeBufferPointer { #expect(abs(DistributionMath.logSumExp($0) - (1000 + log(2.0))) < 1e-9) }
    }

    @Test func teacherForcingMetricsAverage() {
        var metrics = TeacherForcingMetrics()
        metrics.add(negativeLogLikelihood: 1, klDivergence: 0.5, top1Matches: true)
        metrics.add(negativeLogLikelihood: 3, klDivergence: 0.1, top1Matches: false)
        #expect(metrics.positions == 2)
        #expect(metrics.meanNegativeLogLikelihood == 2)
        #expect(abs(metrics.perplexity - exp(2.0)) < 1e-12)
        #expect(abs((metrics.meanKLDivergence ?? -1) - 0.3) < 1e-12)
        #expect(metrics.top1Agreement == 0.5)
        var perplexityOnly = TeacherForcingMetrics()
        perplexityOnly.add(negativeLogLikelihood: 2)
        #expect(perplexityOnly.meanKLDivergence == nil && perplexityOnly.top1Agreement == nil)
    }

    @Test func continuationAgreementAverages() {
        var agreement = ContinuationAgreement()
        #expect(agreement.meanAgreement == nil)
        agreement.add(matches: [true, true, false, true])
        agreement.add(matches: [false, true, true, true])
        #expect(agreement.continuations == 2)
        #expect(agreement.meanAgreement == 0.75)
        #expect(agreement.meanInitialRun == 1)  // (2 + 0) / 2
        agreement.add(matches: [true, true, true, true])
        #expect(abs((agreement.meanInitialRun ?? 0) - 2) < 1e-12)
    }
}
