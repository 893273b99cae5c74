import DMSKit
import Foundation
import Testing

@Suite("Sampling")
struct SamplerTests {
    static func parameters(temperature: Float = 1, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                           penalty: Float = 1, seed: UInt64 = 7) -> SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                           repetitionPenalty: penalty, seed: seed)
    }

    @Test func greedyAndTopKOneAreArgmax() {
        let logits: [Float] = [0.1, 2.5, -1, 2.4]
        var greedy = Sampler(.greedy)
        #expect(greedy.sample(logits, context: []) == 1)
        var topOne = Sampler(Self.parameters(topK: 1))
        for _ in 0..<20 { #expect(topOne.sample(logits, context: []) == 1) }
    }

    @Test func drawsFollowTheDistribution() {
        // p(1) = 3/4 at temperature 1 with no filter.
        var sampler = Sampler(Self.parameters())
        let logits: [Float] = [0, logf(3)]
        let ones = (0..<8000).filter { _ in sampler.sample(logits, context: []) == 1 }.count
        #expect(abs(Double(ones) / 8000 - 0.75) < 0.02)
    }

    @Test func filtersRemoveUnlikelyTokens() {
        let logits: [Float] = [5, 4.9, 0, -3]
        var minP = Sampler(Self.parameters(minP: 0.5))
        var topP = Sampler(Self.parameters(topP: 0.5))
        for _ in 0..<200 {
            #expect([0, 1].contains(minP.sample(logits, context: [])))
            #expect(topP.sample(logits, context: []) == 0)  // token 0 alone holds > 50%
        }
    }

    @Test func sameSeedSameTokens() {
        let logits: [Float] = (0..<50).map { Float($0 % 7) * 0.3 }
        var a = Sampler(Self.parameters(seed: 99)), b = Sampler(Self.parameters(seed: 99)), c = Sampler(Self.parameters(seed: 100))
        let first = (0..<40).map { _ in a.sample(logits, context: []) }
        #expect(first == (0..<40).map { _ in b.sample(logits, context: []) })
        #expect(first != (0..<40).map { _ in c.sample(logits, context: []) })
    }

    @Test func repetitionPenaltyDiscouragesSeenTokens() {
        var sampler = Sampler(Self.parameters(temperature: 0, penalty: 2))
        // Token 0 leads, but it was seen: 2.0 / 2 = 1.0 < 1.5.
        #expect(sampler.sample([2.0, 1.5], context: [0]) == 1)
    }

    @Test func stopStringsEndGenerationAndAreDropped() throws {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-llama"), threads: 1)
        let session = loaded.makeSession()
        var options = GenerationOptions(maxTokens: 16, sampling: .greedy)
        options.stopTokens = []
        let full = try session.generate(prompt: [1, 285, 357], options: options)
        session.reset()
        // Stop at a piece of text that spans the middle of the greedy continuation.
        let stop = String(full.text.dropFirst(full.text.count / 3).prefix(3))
        try #require(stop.count == 3)
        options.stopStrings = [stop]
        var streamed = ""
        let stopped = try session.generate(prompt: [1, 285, 357], options: options) { token in
            streamed += token.text
            return true
        }
        let expected = String(full.text[..<full.text.range(of: stop)!.lowerBound])
        #expect(stopped.text == expected)
        #expect(streamed == expected)
        #expect(stopped.finishReason == .stop)
    }
}
