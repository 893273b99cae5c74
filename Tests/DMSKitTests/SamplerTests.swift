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

    /// The sampler ranks only as many candidates as it reads; a reference that sorts the whole
    /// vocabulary, with the same draws, must pick the same tokens (up to float rounding at the
    /// edges of the cumulative sums).
    @Test(arguments: [(Float(1), 0, Float(1), Float(0)), (0.7, 40, 0.9, 0.05), (1.3, 0, 0.95, 0), (1, 300, 1, 0), (2, 0, 1, 0.001)])
    func rankingOnDemandMatchesAFullSort(temperature: Float, topK: Int, topP: Float, minP: Float) {
        var rng = RandomSource(seed: 5)
        for shape in ["peaked", "flat", "ties"] {
            let logits: [Float] = (0..<5000).map { i in
                switch shape {
                case "peaked": return Float(rng.nextUnit() * 6) + (i % 97 == 0 ? 8 : 0)
                case "flat": return Float(rng.nextUnit() * 0.5)
                default: return Float(i % 4)
                }
            }
            let parameters = Self.parameters(temperature: temperature, topK: topK, topP: topP, minP: minP, seed: 11)
            var sampler = Sampler(parameters)
            var draws = RandomSource(seed: 11)
            // the order the draw walks: by rank, or by id when nothing is cut
            let walk = topK == 0 && topP == 1 ? Array(logits.indices)
                : logits.indices.sorted { logits[$0] > logits[$1] || (logits[$0] == logits[$1] && $0 < $1) }
            let rankOf = Dictionary(uniqueKeysWithValues: walk.enumerated().map { ($1, $0) })
            var agreeing = 0, farthest = 0
            for _ in 0..<300 {
                let token = sampler.sample(logits, context: [])
                let expected = Self.referenceSample(logits, parameters, draw: Float(draws.nextUnit()))
                if token == expected { agreeing += 1 }
                farthest = max(farthest, abs(rankOf[token]! - rankOf[expected]!))
            }
            // Thousands of equal small probabilities ("ties") sum with rounding errors as wide as
            // one token's share, so a draw may land one place over; never farther.
            #expect(agreeing >= (shape == "ties" ? 200 : 297), "\(shape): \(agreeing) of 300")
            #expect(farthest <= (shape == "ties" ? 2 : 1), "\(shape): a draw landed \(farthest) places away")
        }
    }

    /// The straightforward algorithm: rank every candidate, then min-p, top-k, top-p, temperature.
    static func referenceSample(_ logits: [Float], _ p: SamplingParameters, draw: Float) -> Int {
        func softmax(_ values: [Float]) -> [Float] {
            let maximum = values.max()!
            let exps = values.map { expf($0 - maximum) }
            let total = exps.reduce(0, +)
            return exps.map { $0 / total }
        }
        let maximum = logits.max()!
        let floor = p.minP > 0 ? maximum + logf(p.minP) : -Float.infinity
        var candidates = logits.enumerated().filter { $0.element >= floor }.map { (id: $0.offset, logit: $0.element) }
        candidates.sort { $0.logit > $1.logit || ($0.logit == $1.logit && $0.id < $1.id) }
        if p.topK > 0, p.topK < candidates.count { candidates.removeSubrange(p.topK...) }
        if p.topP < 1 {
            var cumulative: Float = 0
            for (i, probability) in softmax(candidates.map(\.logit)).enumerated() {
                cumulative += probability
                if cumulative >= p.topP { candidates.removeSubrange((i + 1)...); break }
            }
        }
        // with nothing cut, the draw walks the candidates in id order
        if candidates.count == logits.filter({ $0 >= floor }).count { candidates.sort { $0.id < $1.id } }
        var cumulative: Float = 0
        for (i, probability) in softmax(candidates.map { $0.logit / p.temperature }).enumerated() {
            cumulative += probability
            if draw < cumulative { return candidates[i].id }
        }
        return candidates[candidates.count - 1].id
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
