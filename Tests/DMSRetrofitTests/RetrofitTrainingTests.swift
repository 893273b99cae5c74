import DMSKit
@testable import DMSRetrofit
import Foundation
import Testing

/// Short real training runs on the tiny fixture (production settings: scale 100, temperature 0.1).
@Suite struct RetrofitTrainingTests {
    static let tinyLlama = RetrofitGradientTests.fixtures.appendingPathComponent("tiny-llama").path

    static func settings(steps: Int) -> RetrofitSettings {
        var s = RetrofitSettings()
        s.window = 4
        s.sinks = 2
        s.sequenceLength = 64
        s.steps = steps
        // the random tiny model's residual stream has no constant direction for W_alpha to use as
        // a bias, so about half its decisions can be pushed either way: aim below that
        s.targetRatio = 1.6
        s.finalRatio = 3
        s.learningRate = 1e-3
        s.seed = 7
        return s
    }

    static func corpus(vocabulary: Int) -> TrainingCorpus {
        let sequences = (0..<6).map { RetrofitGradientTests.ids(64, vocabulary: vocabulary, seed: UInt64($0 + 100)) }
        return TrainingCorpus(sequences: sequences, description: "random ids")
    }

    static func trainer(steps: Int) throws -> RetrofitTrainer {
        let loaded = try LoadedModel(path: tinyLlama, threads: 2)
        return try RetrofitTrainer(model: loaded.model, corpus: corpus(vocabulary: loaded.configuration.vocabularySize),
                                   settings: settings(steps: steps), baseModelName: "tiny-llama", pool: loaded.model.workers)
    }

    @Test func aRunStartsFromATrainedAdaptersWeights() throws {
        let first = try Self.trainer(steps: 3)
        while !first.isFinished { _ = first.runStep() }
        let trained = first.adapter(dataDescription: "random ids")
        let second = try Self.trainer(steps: 3)
        #expect(second.parameters.values != first.parameters.values)
        try second.start(from: trained)
        #expect(second.parameters.values == first.parameters.values)
        // the first step continues from there: step 1 of a fresh run evicts next to nothing
        #expect(second.runStep().evictedFraction > first.history[0].evictedFraction)

        var otherWindow = Self.settings(steps: 3)
        otherWindow.window = 8
        let loaded = try LoadedModel(path: Self.tinyLlama, threads: 1)
        let mismatched = try RetrofitTrainer(model: loaded.model, corpus: Self.corpus(vocabulary: loaded.configuration.vocabularySize),
                                             settings: otherWindow, baseModelName: "tiny-llama", pool: nil)
        #expect(throws: RetrofitError.self) { try mismatched.start(from: trained) }
    }

    @Test func evictionFollowsTheScheduleAndKLStaysBounded() throws {
        let trainer = try Self.trainer(steps: 80)
        while !trainer.isFinished { _ = trainer.runStep() }
        let history = trainer.history
        // step 1 is the base model: nothing evicted, KL zero up to noise flips
        #expect(history[0].evictedFraction < 0.05)
        // after a warm-up the hard fraction keeps up with the rising target (averaged over 5 steps:
        // single sequences differ by a few percent)
        for end in 20..<history.count {
            let window = history[(end - 5)..<end]
            let evicted = window.reduce(0) { $0 + $1.evictedFraction } / 5
            let target = window.reduce(0) { $0 + $1.targetFraction } / 5
            #expect(evicted >= target - 0.1, "steps \(end - 4)...\(end): evicted \(evicted) for target \(target)")
        }
        let last = history.suffix(10)
        let finalFraction = last.reduce(0) { $0 + $1.evictedFraction } / Double(last.count)
        #expect(abs(finalFraction - 0.375) < 0.1, "final fraction \(finalFraction) for target 0.375")
        #expect(history.allSatisfy { $0.kl.isFinite && $0.kl >= 0 && $0.kl < 1.0 })

        // the learned decisions cost less KL than random ones evicting as much: W_alpha = 0 with
        // offset log((1 − f) / f) flags each token with probability f under the logistic noise
        let objective = trainer.objective
        var randomSettings = trainer.settings
        randomSettings.offset = Float(log((1 - finalFraction) / finalFraction))
        let random = try RetrofitObjective(model: objective.decoder.model, settings: randomSettings, pool: nil)
        var learnedKL = 0.0, randomKL = 0.0, randomFraction = 0.0
        var unused = [Float](repeating: 0, count: trainer.parameters.values.count)
        for (i, ids) in trainer.corpus.sequences.enumerated() {
            let teacher = objective.teacherHidden(ids)
            learnedKL += objective.evaluate(ids, teacher: teacher, adapter: trainer.parameters, targetFraction: 0,
                                            noiseSeed: UInt64(i), gradient: &unused).divergence
            let r = random.evaluate(ids, teacher: teacher, adapter: AdapterParameters(configuration: objective.configuration),
                                    targetFraction: 0, noiseSeed: UInt64(i), gradient: &unused)
            randomKL += r.divergence
            randomFraction += r.evictedFraction / Double(trainer.corpus.sequences.count)
        }
        #expect(abs(randomFraction - finalFraction) < 0.08)
        #expect(learnedKL < 0.8 * randomKL, "learned KL \(learnedKL) vs random \(randomKL)")
    }

    @Test func resumingGivesTheSameRunAsNotStopping() throws {
        let straight = try Self.trainer(steps: 6)
        while !straight.isFinished { _ = straight.runStep() }

        let first = try Self.trainer(steps: 6)
        for _ in 0..<3 { _ = first.runStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("retrofit-\(UUID()).checkpoint").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try first.checkpoint.write(to: path)
        let second = try Self.trainer(steps: 6)
        try second.restore(RetrofitCheckpoint(path: path))
        #expect(second.step == 3)
        while !second.isFinished { _ = second.runStep() }
        #expect(second.parameters == straight.parameters)
        #expect(second.history.map(\.loss) == Array(straight.history.map(\.loss).suffix(3)))
    }

    @Test func checkpointFromOtherSettingsIsRefused() throws {
        let trainer = try Self.trainer(steps: 6)
        _ = trainer.runStep()
        var checkpoint = trainer.checkpoint
        checkpoint.settings.window = 5
        #expect(throws: RetrofitError.self) { try Self.trainer(steps: 6).restore(checkpoint) }
    }

    @Test func adapterRoundTripsWithItsMetadata() throws {
        let trainer = try Self.trainer(steps: 3)
        while !trainer.isFinished { _ = trainer.runStep() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("adapter-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try trainer.adapter(dataDescription: "random ids").write(to: path, configuration: trainer.objective.configuration)
        let loaded = try LoadedModel(path: Self.tinyLlama, threads: 1)
        let adapter = try DMSAdapter(path: path, for: loaded.configuration)
        #expect(adapter.parameters.window == 4)
        #expect(adapter.parameters.sinks == 2)
        #expect(adapter.parameters.alphaScale == 100 && adapter.parameters.offset == 5)
        #expect(adapter.metadata["dms.training.steps"] == "3")
        #expect(adapter.metadata["dms.training.data"] == "random ids")
        #expect(adapter.metadata[DMSAdapter.Key.name] == "tiny-llama")
        for l in 0..<loaded.configuration.layerCount {
            #expect(adapter.layers[l].projection == Array(trainer.parameters.values[trainer.parameters.projectionOffset(layer: l)..<trainer.parameters.normOffset(layer: l)]))
        }
    }
}
