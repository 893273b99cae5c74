import DMSKit

/// What an evaluation runs: the task, the sequence length, the policies and their ratios, the
/// greedy continuations, and the cache knobs shared by every policy.
public struct EvaluationConfiguration: Sendable, Equatable {
    /// KL against the full cache, or perplexity only.
    public var task: EvaluationTask = .kl
    /// Tokens of the evaluation sequence (the first `length` tokens of the text).
    public var length = 4096
    /// Policies to report, in this order. The full cache always runs as the reference of the
    /// `kl` task; listing `full` adds its own row.
    public var policies: [KVCacheOptions.Policy] = [.full, .dms, .streaming, .tova, .h2o]
    /// The ratios of the budget-based policies (full and dms ignore them).
    public var ratios: RatioSelection = .matchDMS
    /// How each ratio becomes a baseline's budget: `seen / R` all along, or a fixed `length / R`.
    public var baselineBudget: BaselineBudget = .proportional
    /// Cut points for greedy agreement (`kl` task only; 0 turns continuations off).
    public var continuations = 4
    /// Tokens the full cache generates greedily after each cut point.
    public var continuationLength = 64
    /// Tokens per forward call for the policies fed in chunks (full, dms).
    public var chunk = 512
    /// Precision, DMS window and threshold, StreamingLLM sinks and H2O's recent window; the
    /// policy and budget are set per policy.
    public var baseOptions = KVCacheOptions()

    /// The defaults of `dms eval`.
    public init() {}

    /// Continuations that actually run (none for the perplexity task).
    public var effectiveContinuations: Int { task == .kl ? continuations : 0 }

    /// Checks everything that does not need the model or the text.
    public func validate() throws {
        guard length >= 2 else { throw EvaluationError.invalidSetting("--length must be at least 2 (got \(length))") }
        guard !policies.isEmpty else { throw EvaluationError.invalidSetting("--policies lists no policy") }
        if let repeated = policies.first(where: { policy in policies.filter { $0 == policy }.count > 1 }) {
            throw EvaluationError.invalidSetting("--policies lists \(repeated.rawValue) twice")
        }
        guard chunk >= 1 else { throw EvaluationError.invalidSetting("the prefill chunk must be ≥ 1") }
        switch ratios {
        case .matchDMS:
            if policies.contains(where: \.needsBudget), !policies.contains(.dms) {
                throw EvaluationError.invalidSetting(
                    "--ratios match uses the ratio the dms run reaches, but --policies has no dms; add dms or give ratios (--ratios 2,4,8)")
            }
        case .fixed(let values):
            guard !values.isEmpty else { throw EvaluationError.invalidSetting("--ratios lists no ratio") }
            if let bad = values.first(where: { !($0 > 1 && $0.isFinite) }) {
                throw EvaluationError.invalidSetting("every ratio must be a finite number > 1 (got \(bad))")
            }
        }
        guard continuations >= 0 else { throw EvaluationError.invalidSetting("--continuations must be ≥ 0") }
        guard continuationLength >= 1 else { throw EvaluationError.invalidSetting("--continuation-length must be ≥ 1") }
        if effectiveContinuations > length / 2 {
            throw EvaluationError.invalidSetting(
                "--continuations \(continuations) needs at least twice as many tokens in --length (got \(length))")
        }
    }

    /// Positions after which greedy continuations start: evenly spaced over the second half of
    /// the sequence, the last one at its end (`length/2 + j·(length − length/2)/k`, j = 1…k).
    public var cutPoints: [Int] {
        let k = effectiveContinuations
        guard k > 0 else { return [] }
        let half = length / 2
        return (1...k).map { half + ($0 * (length - half)) / k }
    }

    /// Positions the model must hold: the sequence plus a continuation after its end.
    public var requiredContext: Int {
        effectiveContinuations > 0 ? length + continuationLength - 1 : length
    }
}
