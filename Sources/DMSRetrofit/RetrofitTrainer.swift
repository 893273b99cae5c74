import DMSKit
import Foundation

/// Trains a DMS adapter on a frozen model (spec section 7): one sequence per step, the teacher's
/// hidden states cached per sequence, a logistic-noise draw per step that depends only on the
/// seed and the step, so a run resumed from a checkpoint continues exactly as it would have.
public final class RetrofitTrainer {
    public let settings: RetrofitSettings
    public let corpus: TrainingCorpus
    public let objective: RetrofitObjective
    /// Identity of the base model recorded in the adapter.
    public let baseModelName: String
    public private(set) var parameters: AdapterParameters
    public private(set) var optimizer: AdamW
    /// Steps completed.
    public private(set) var step = 0
    /// Wall time spent training, resumed runs included.
    public private(set) var elapsedSeconds = 0.0
    /// Reports of the steps this process ran.
    public private(set) var history: [RetrofitStepReport] = []
    private var teacherCache: [Int: [Float]] = [:]
    /// The teacher cache stops growing past this many floats (recomputing is then cheaper than swapping).
    private let teacherCacheLimit = 1 << 30

    public init(model: TransformerModel, corpus: TrainingCorpus, settings: RetrofitSettings, baseModelName: String,
                pool: WorkerPool?) throws {
        self.settings = settings
        self.corpus = corpus
        self.baseModelName = baseModelName
        objective = try RetrofitObjective(model: model, settings: settings, pool: pool)
        parameters = AdapterParameters(configuration: model.configuration, loraRank: settings.loraRank,
                                       loraFeedForward: settings.lowRankCoversFeedForward, seed: settings.seed)
        optimizer = AdamW(count: parameters.values.count, learningRate: settings.learningRate, beta1: settings.beta1,
                          beta2: settings.beta2, weightDecay: settings.weightDecay, gradientClip: settings.gradientClip)
    }

    public var isFinished: Bool { step >= settings.steps }

    /// Starts from a trained adapter's weights instead of the identity adapter (before the first
    /// step; the optimizer starts fresh). Its DMS settings must match this run's.
    public func start(from adapter: DMSAdapter) throws {
        guard step == 0 else { throw RetrofitError.invalidSettings("an initial adapter applies before the first step") }
        let p = adapter.parameters
        guard p.window == settings.window, p.sinks == settings.sinks, p.alphaScale == settings.alphaScale,
              p.offset == settings.offset else {
            throw RetrofitError.invalidSettings(
                "the initial adapter was trained with window \(p.window), sinks \(p.sinks), scale \(p.alphaScale), offset \(p.offset)")
        }
        try parameters.load(adapter)
    }

    /// Continues from `checkpoint`, which must come from the same settings, data and model shape.
    public func restore(_ checkpoint: RetrofitCheckpoint) throws {
        guard checkpoint.settings == settings else {
            throw RetrofitError.checkpointMismatch("it was written with different settings")
        }
        guard checkpoint.dataFingerprint == corpus.fingerprint else {
            throw RetrofitError.checkpointMismatch("it was trained on different text (data fingerprint differs)")
        }
        guard checkpoint.parameters.count == parameters.values.count else {
            throw RetrofitError.checkpointMismatch("its adapter has a different shape than this model's")
        }
        parameters.values = checkpoint.parameters
        optimizer = checkpoint.optimizer
        step = checkpoint.step
        elapsedSeconds = checkpoint.elapsedSeconds
    }

    public var checkpoint: RetrofitCheckpoint {
        RetrofitCheckpoint(step: step, elapsedSeconds: elapsedSeconds, settings: settings,
                           dataFingerprint: corpus.fingerprint, parameters: parameters.values, optimizer: optimizer)
    }

    /// Runs the next optimizer step.
    public func runStep() -> RetrofitStepReport {
        let started = Date()
        let next = step + 1
        let index = corpus.sequenceIndex(step: next, seed: settings.seed)
        let ids = corpus.sequences[index]
        let teacher = teacherHidden(sequence: index)
        let schedule = settings.schedule
        let target = schedule.targetFraction(atStep: next)
        var gradient = [Float](repeating: 0, count: parameters.values.count)
        let noiseSeed = settings.seed &* 0x2545_F491_4F6C_DD1D &+ UInt64(next)
        let result = objective.evaluate(ids, teacher: teacher, adapter: parameters, targetFraction: target,
                                        noiseSeed: noiseSeed, gradient: &gradient)
        let norm = optimizer.step(&parameters.values, gradient: gradient)
        step = next
        let seconds = Date().timeIntervalSince(started)
        elapsedSeconds += seconds
        let report = RetrofitStepReport(
            step: next, steps: settings.steps, sequence: index, loss: result.loss, kl: result.divergence,
            compressionLoss: result.compressionLoss, targetRatio: schedule.ratio(atStep: next), targetFraction: target,
            evictedFraction: result.evictedFraction, ratio: 1 / max(1 - result.evictedFraction, 1e-9),
            meanProbability: result.meanProbability, gradientNorm: norm, learningRate: Double(settings.learningRate),
            seconds: seconds, elapsedSeconds: elapsedSeconds)
        history.append(report)
        return report
    }

    /// The adapter as trained so far, with its settings and the training record in its metadata.
    public func adapter(dataDescription: String) -> DMSAdapter {
        let recent = history.suffix(10)
        let fraction = recent.isEmpty ? 0 : recent.reduce(0) { $0 + $1.evictedFraction } / Double(recent.count)
        let ratio = 1 / max(1 - fraction, 1e-9)
        var metadata = DMSAdapter.identity(of: objective.configuration, name: baseModelName)
        let record: [String: String] = [
            "dms.training.recipe": "swift-dms retrofit (DMS spec section 7, variant B)",
            "dms.training.steps": "\(step)",
            "dms.training.sequence_length": "\(settings.sequenceLength)",
            "dms.training.learning_rate": "\(settings.learningRate)",
            "dms.training.temperature": "\(settings.temperature)",
            "dms.training.target_ratio": "\(settings.targetRatio)",
            "dms.training.final_ratio": "\(settings.finalRatio)",
            "dms.training.ramp_steps": "\(settings.rampSteps)",
            "dms.training.hold_steps": "\(settings.holdSteps)",
            "dms.training.seed": "\(settings.seed)",
            "dms.training.lora_rank": "\(settings.loraRank)",
            "dms.training.lora_targets": settings.lowRankCoversFeedForward ? "attention,mlp" : "attention",
            "dms.training.kl": settings.distillationDirection.rawValue,
            "dms.training.evicted_fraction": "\(fraction)",
            "dms.training.final_kl": "\(history.last?.kl ?? 0)",
            "dms.training.seconds": "\(Int(elapsedSeconds))",
            "dms.training.data": dataDescription,
            "dms.training.settings": String(decoding: (try? JSONEncoder().encode(settings)) ?? Data(), as: UTF8.self),
        ]
        metadata.merge(record) { $1 }
        if let initial = settings.initialAdapter { metadata["dms.training.initial_adapter"] = (initial as NSString).lastPathComponent }
        let dms = DMSParameters(window: settings.window, alphaScale: settings.alphaScale, offset: settings.offset,
                                trainedRatio: ratio, sinks: settings.sinks)
        return parameters.adapter(parameters: dms, loraAlpha: settings.loraAlpha, metadata: metadata)
    }

    private func teacherHidden(sequence index: Int) -> [Float] {
        if let cached = teacherCache[index] { return cached }
        let hidden = objective.teacherHidden(corpus.sequences[index])
        if (teacherCache.count + 1) * hidden.count <= teacherCacheLimit { teacherCache[index] = hidden }
        return hidden
    }
}
