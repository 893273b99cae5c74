import DMSKit
import Foundation

/// Runs a generation task (`passkey`, `variable-tracking`, `latency`) at several context lengths for several cache
/// settings and turns each (length, setting) into an ``EvaluationRecord``.
///
/// Every prompt goes through a fresh cache in prefill chunks (each budget policy still evicts token
/// by token inside a chunk, as when fed alone; Quest attends in full during the prompt, as in its
/// paper), then a fixed number of greedy decode steps, each timed. Token reads are the decode
/// steps' (the paper's measure), so every setting is charged for the same number of steps.
public final class TaskEvaluator {
    /// What a task run measures.
    public struct Configuration: Sendable, Equatable {
        public var task: EvaluationTask = .passkey
        /// Context lengths: prompt plus decoded tokens.
        public var lengths = [1024, 2048, 4096]
        /// Prompts per length (the latency task always uses one).
        public var samples = 6
        public var seed: UInt64 = 0
        /// Tokens per prefill forward call.
        public var chunk = 512
        /// How a baseline's ratio R becomes its budget: `seen / R` all along, or a fixed
        /// `length / R` from the start (the peak memory of a cache that reaches R at the end).
        public var baselineBudget: BaselineBudget = .proportional
        /// Greedy decode steps after each prompt: the answer of a retrieval task, the timed
        /// steps of the latency task.
        public var decodeSteps: Int {
            switch task {
            case .latency: 32
            case .variableTracking: 24  // three 5-letter names and separators
            default: 8
            }
        }

        public init() {}

        public func validate(contextLength: Int) throws {
            guard task.generates else {
                throw EvaluationError.invalidSetting("task \(task.rawValue) does not run as a generation task")
            }
            guard !lengths.isEmpty else { throw EvaluationError.invalidSetting("--lengths lists no length") }
            for length in lengths {
                guard length > decodeSteps + 16 else { throw EvaluationError.invalidSetting("--lengths \(length) is too short") }
                // The answer's tokens must fit in the context too.
                guard length + decodeSteps <= contextLength else {
                    throw EvaluationError.exceedsContext(needed: length + decodeSteps, contextLength: contextLength)
                }
            }
            guard samples >= 1 else { throw EvaluationError.invalidSetting("--samples must be ≥ 1") }
            guard chunk >= 1 else { throw EvaluationError.invalidSetting("the prefill chunk must be ≥ 1") }
        }
    }

    public let model: LoadedModel
    public let configuration: Configuration
    private let filler: FillerText

    /// Checks the configuration and tokenizes enough of `text` (the haystack prose, or the
    /// latency task's prompt) for the longest length.
    public init(model: LoadedModel, text: String, configuration: Configuration) throws {
        try configuration.validate(contextLength: model.configuration.contextLength)
        self.model = model
        self.configuration = configuration
        // Sized for the whole context: a length's prompts are the same in every run (and can be
        // appended to another run's results), whichever other lengths run with it.
        filler = try FillerText(text: text, tokenizer: model.tokenizer, maxTokens: configuration.lengths.max()!,
                                sizedFor: model.configuration.contextLength)
    }

    /// The prompts of one length.
    public func samples(length: Int) throws -> [RetrievalSample] {
        let promptLength = length - configuration.decodeSteps
        switch configuration.task {
        case .latency:
            let leading = model.tokenizer.encode("", addSpecialTokens: true, parseSpecial: false)
            return [RetrievalSample(prompt: leading + filler.tokens.prefix(promptLength - leading.count), expected: [], depth: 1)]
        case .variableTracking:
            return try VariableTrackingTask(filler: filler, tokenizer: model.tokenizer)
                .samples(length: promptLength, count: configuration.samples, seed: configuration.seed)
        default:
            return try PasskeyTask(filler: filler, tokenizer: model.tokenizer)
                .samples(length: promptLength, count: configuration.samples, seed: configuration.seed)
        }
    }

    /// Runs every length for every setting, handing each record to `record` as soon as it is
    /// measured (so an interrupted run keeps what it finished).
    public func run(settings: [TaskSetting], record: (EvaluationRecord) throws -> Void,
                    progress: ((EvaluationProgress) -> Void)? = nil) throws {
        let prompts = try configuration.lengths.map { try samples(length: $0) }
        let total = Double(zip(configuration.lengths, prompts).reduce(0) { $0 + $1.0 * $1.1.count } * settings.count)
        var done = 0.0
        var adapters: [String: DMSAdapter] = [:]
        for path in settings.compactMap(\.adapter) where adapters[path] == nil {
            adapters[path] = try DMSAdapter(path: path, for: model.configuration)
        }
        for (length, samples) in zip(configuration.lengths, prompts) {
            for setting in settings {
                if let path = setting.adapter, let adapter = adapters[path] { model.attach(adapter) }
                var runs: [PromptRun] = []
                var scores: [Double] = []
                for (index, sample) in samples.enumerated() {
                    let stage = "\(configuration.task.rawValue) \(length) \(setting.policyName) \(setting.label)"
                    progress?(EvaluationProgress(stage: stage, position: index, total: samples.count,
                                                 fractionDone: min(1, done / max(total, 1))))
                    let cache = try model.makeCache(options(of: setting, length: length))
                    let run = try PromptRun(prompt: sample.prompt, cache: cache, model: model,
                                            chunk: configuration.chunk, decodeSteps: configuration.decodeSteps)
                    scores.append(sample.score(answer: model.tokenizer.decode(run.generated, skipSpecialTokens: true)))
                    runs.append(run)
                    done += Double(length)
                }
                try record(makeRecord(length: length, setting: setting, runs: runs, scores: scores))
            }
        }
    }

    /// The setting's cache options at `length`: a baseline's ratio becomes its budget there.
    private func options(of setting: TaskSetting, length: Int) -> KVCacheOptions {
        var options = setting.options
        if case .ratio(let ratio)? = options.budget { options.budget = configuration.baselineBudget.budget(ratio: ratio, length: length) }
        return options
    }

    private func makeRecord(length: Int, setting: TaskSetting, runs: [PromptRun], scores: [Double]) -> EvaluationRecord {
        let latencies = runs.flatMap(\.decodeSeconds)
        let p50 = Statistics.quantile(latencies, 0.50) * 1000, p99 = Statistics.quantile(latencies, 0.99) * 1000
        let decodeSeconds = latencies.reduce(0, +)
        let mean = { (values: [Double]) in values.reduce(0, +) / Double(max(values.count, 1)) }
        let isLatency = configuration.task == .latency
        let requestedRatio: Double? = if case .ratio(let ratio)? = setting.options.budget { ratio } else { nil }
        return EvaluationRecord(
            task: configuration.task.rawValue, length: length, policy: setting.policyName,
            setting: requestedRatio == nil ? setting.label : configuration.baselineBudget.setting(setting.label),
            requestedRatio: requestedRatio, baselineBudget: requestedRatio == nil ? nil : configuration.baselineBudget,
            compressionRatio: mean(runs.map(\.compressionRatio)),
            metric: isLatency ? "decode_latency_ms" : "accuracy", value: isLatency ? p50 : mean(scores),
            higherIsBetter: !isLatency, samples: runs.count,
            tokenReads: mean(runs.map { Double($0.tokenReads) }),
            peakKVTokens: runs.map(\.peakTokens).max() ?? 0, peakKVBytes: runs.map(\.peakBytes).max() ?? 0,
            decodeLatencyP50Milliseconds: p50, decodeLatencyP99Milliseconds: p99,
            decodeTokensPerSecond: decodeSeconds > 0 ? Double(latencies.count) / decodeSeconds : nil)
    }
}
