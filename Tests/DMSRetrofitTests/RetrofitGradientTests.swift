import DMSKit
@testable import DMSRetrofit
import Foundation
import Testing

/// Analytic gradients of the retrofit loss against central finite differences on the tiny
/// fixtures. The forward runs in float32, so differences use steps of 2e-3 and a tolerance of 1%
/// of the gradient's scale (measured errors are well below that); the sharp production settings
/// (scale 100, temperature 0.1) are replaced by gentle ones so the loss is smooth at that step.
@Suite struct RetrofitGradientTests {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func gentleSettings(sinks: Int = 1, loraRank: Int = 0, loraFeedForward: Bool = false) -> RetrofitSettings {
        var s = RetrofitSettings()
        s.loraRank = loraRank
        s.loraFeedForward = loraFeedForward
        s.loraAlpha = 3
        s.window = 3
        s.sinks = sinks
        s.sequenceLength = 20
        s.alphaScale = 2
        s.offset = 0.5
        s.temperature = 1
        return s
    }

    /// A random adapter with decisions spread around 0.5 (and random LoRA matrices, both nonzero).
    static func randomAdapter(_ c: ModelConfiguration, seed: UInt64, loraRank: Int = 0, loraFeedForward: Bool = false) -> AdapterParameters {
        var adapter = AdapterParameters(configuration: c, loraRank: loraRank, loraFeedForward: loraFeedForward, seed: seed)
        var random = RandomSource(seed: seed)
        for l in 0..<c.layerCount {
            for i in 0..<(c.kvHeadCount * c.hiddenSize) {
                adapter.values[adapter.projectionOffset(layer: l) + i] = Float(random.nextUnit() - 0.5) * 0.6
            }
            for i in 0..<c.hiddenSize { adapter.values[adapter.normOffset(layer: l) + i] = Float(0.7 + random.nextUnit() * 0.6) }
            for p in 0..<(loraRank > 0 ? adapter.projections.count : 0) {
                let up = adapter.loraOffset(layer: l, projection: p).up
                for i in 0..<(adapter.projections[p].outputs * loraRank) { adapter.values[up + i] = Float(random.nextUnit() - 0.5) * 0.2 }
            }
        }
        return adapter
    }

    static func ids(_ count: Int, vocabulary: Int, seed: UInt64) -> [Int] {
        var random = RandomSource(seed: seed)
        return (0..<count).map { _ in Int(random.next() % UInt64(vocabulary)) }
    }

    /// Checks ∂loss/∂θ for a sample of adapter values; `loss` reads the evaluation (KL alone, or
    /// KL plus the soft surrogate of the compression term).
    func check(model path: String, target: Double, loraRank: Int = 0, loraFeedForward: Bool = false,
               loss: (RetrofitObjective.Evaluation) -> Double) throws {
        let loaded = try LoadedModel(path: path, threads: 1)
        let c = loaded.configuration
        let settings = Self.gentleSettings(loraRank: loraRank, loraFeedForward: loraFeedForward)
        let objective = try RetrofitObjective(model: loaded.model, settings: settings, pool: nil)
        let ids = Self.ids(settings.sequenceLength, vocabulary: c.vocabularySize, seed: 3)
        let teacher = objective.teacherHidden(ids)
        let adapter = Self.randomAdapter(c, seed: 11, loraRank: loraRank, loraFeedForward: loraFeedForward)
        var gradient = [Float](repeating: 0, count: adapter.values.count)
        _ = objective.evaluate(ids, teacher: teacher, adapter: adapter, targetFraction: target, noiseSeed: 5, gradient: &gradient)
        let scale = gradient.map { abs($0) }.max()!
        #expect(scale > 1e-4, "the gradient must not vanish")
        var random = RandomSource(seed: 99)
        var indices = (0..<24).map { _ in Int(random.next() % UInt64(adapter.values.count)) }
        indices.append(gradient.indices.max { abs(gradient[$0]) < abs(gradient[$1]) }!)
        for layer in 0..<c.layerCount { indices.append(adapter.normOffset(layer: layer) + 5) }
        for layer in 0..<(loraRank > 0 ? c.layerCount : 0) {
            for p in adapter.projections.indices {
                let (down, up) = adapter.loraOffset(layer: layer, projection: p)
                indices += [down + 3, down + 17, up + 1, up + 9]
            }
        }
        let h: Float = 2e-3
        var scratch = [Float](repeating: 0, count: gradient.count)
        for i in indices {
            var plus = adapter, minus = adapter
            plus.values[i] += h
            minus.values[i] -= h
            let up = loss(objective.evaluate(ids, teacher: teacher, adapter: plus, targetFraction: target, noiseSeed: 5, gradient: &scratch))
            let down = loss(objective.evaluate(ids, teacher: teacher, adapter: minus, targetFraction: target, noiseSeed: 5, gradient: &scratch))
            let numeric = (up - down) / Double(2 * h)
            #expect(abs(numeric - Double(gradient[i])) <= 0.01 * Double(scale),
                    "parameter \(i): analytic \(gradient[i]) vs finite difference \(numeric)")
        }
    }

    @Test func distillationGradientLlama() throws {
        // target 0: the compression term is inactive, the loss is the KL alone
        try check(model: Self.fixtures.appendingPathComponent("tiny-llama").path, target: 0) { $0.divergence }
    }

    @Test func distillationGradientQwen3() throws {
        // Qwen3 adds the per-head q/k norms and the half-split RoPE to the path
        try check(model: Self.fixtures.appendingPathComponent("tiny-qwen3").path, target: 0) { $0.divergence }
    }

    @Test func loraGradientLlama() throws {
        // LoRA updates of q, k, v, o trained with the decisions (interleaved RoPE rows of the GGUF)
        try check(model: Self.fixtures.appendingPathComponent("tiny-llama.gguf").path, target: 0, loraRank: 2) { $0.divergence }
    }

    @Test func loraGradientQwen3() throws {
        try check(model: Self.fixtures.appendingPathComponent("tiny-qwen3").path, target: 0, loraRank: 3) { $0.divergence }
    }

    @Test(arguments: ["tiny-llama.gguf", "tiny-qwen3"])
    func feedForwardLoraGradient(model: String) throws {
        // LoRA updates of gate, up and down too: through the SwiGLU and the recomputed down input
        try check(model: Self.fixtures.appendingPathComponent(model).path, target: 0, loraRank: 2, loraFeedForward: true) {
            $0.divergence
        }
    }

    @Test func compressionStraightThroughGradient() throws {
        // target above any reachable fraction keeps the hinge active; the straight-through
        // gradient is then exactly the gradient of the soft surrogate target − mean(p)
        try check(model: Self.fixtures.appendingPathComponent("tiny-llama").path, target: 0.999) {
            $0.divergence + 0.999 - $0.meanProbability
        }
    }

    @Test func identityAdapterIsTheBaseModel() throws {
        // W_alpha = 0: every logit is −b, p ≈ σ((−b + n)/τ) is tiny under the production settings,
        // and with noise-free large offset the student equals the teacher
        let loaded = try LoadedModel(path: Self.fixtures.appendingPathComponent("tiny-llama").path, threads: 1)
        var settings = RetrofitSettings()
        settings.window = 2
        settings.sequenceLength = 16
        settings.offset = 1e4
        let objective = try RetrofitObjective(model: loaded.model, settings: settings, pool: nil)
        let ids = Self.ids(16, vocabulary: loaded.configuration.vocabularySize, seed: 1)
        let teacher = objective.teacherHidden(ids)
        let adapter = AdapterParameters(configuration: loaded.configuration)
        var gradient = [Float](repeating: 0, count: adapter.values.count)
        let result = objective.evaluate(ids, teacher: teacher, adapter: adapter, targetFraction: 0, noiseSeed: 1, gradient: &gradient)
        #expect(result.divergence < 1e-9)
        #expect(result.evictedFraction == 0)
    }
}
