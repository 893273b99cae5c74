import DMSKit
import Foundation

/// Compares KV cache policies on one text, teacher-forced, against the full cache.
///
/// - The text is tokenized with the model's tokenizer as plain text (a BOS token first when the
///   tokenizer adds one; no chat template; special-token text is not parsed) and its first
///   `length` tokens are the sequence.
/// - The full cache is the reference. Every policy processes the same tokens, and at every
///   position i < length − 1 the next-token distribution is taken: the mean KL(full ‖ policy)
///   (nats, double precision), the mean negative log-likelihood of token i + 1 and its
///   perplexity, and the fraction of positions whose argmax is the full cache's.
/// - Full and dms are fed in chunks of `chunk` tokens (their per-position logits equal feeding
///   one token at a time: DMS applies its visibility rule inside a chunk); streaming, tova, h2o
///   and quest one token per forward call, so every position sees the cache as generation would.
///   Every forward call runs in the decode phase, so token reads count every position as a
///   decode step for every policy.
/// - Compression ratio, token reads and peaks are the cache's statistics at the end of the
///   sequence (before any continuation).
/// - Continuations (`kl` task): at `continuations` cut points evenly spaced over the second half
///   (the last at the end), the full cache generates `continuationLength` tokens greedily; each
///   policy, having processed the same prefix, is teacher-forced on them, and the fraction of
///   steps where its argmax is the full cache's token, and the initial run of such steps, are
///   averaged. The cut at the end reuses the pass's caches; caches cannot be copied, so every
///   earlier cut feeds its prefix again into fresh caches: with k cut points the extra cost is
///   about Σ_{j<k} cut_j tokens per policy (≈ 0.75·(k−1)·length), so `continuations = 1` costs
///   only the continuation itself.
/// - Ratios: with ``RatioSelection/matchDMS`` the dms run goes first (with full) and the
///   baselines then run at the compression ratio it reached (`KVBudget.ratio`), in a second pass
///   that runs the reference again; with fixed ratios everything runs in one pass. Full and dms
///   ignore ratios.
public final class PolicyEvaluator {
    /// How many chunk-fed tokens one token fed alone costs, for progress estimates.
    public static let oneTokenAtATimeCost = 3.0

    /// The model every policy runs on (with its DMS decisions, if any, attached).
    public let model: LoadedModel
    /// What to evaluate, validated against the model.
    public let configuration: EvaluationConfiguration

    /// Checks the configuration against the model: the sequence (and a continuation) must fit
    /// its context, and every policy must be able to build its cache (dms needs decisions).
    public init(model: LoadedModel, configuration: EvaluationConfiguration) throws {
        try configuration.validate()
        let contextLength = model.configuration.contextLength
        guard configuration.requiredContext <= contextLength else {
            throw EvaluationError.exceedsContext(needed: configuration.requiredContext, contextLength: contextLength)
        }
        for policy in configuration.policies {
            _ = try model.makeCache(PolicyUnderTest(policy: policy, ratio: 2, baseOptions: configuration.baseOptions).cacheOptions)
        }
        self.model = model
        self.configuration = configuration
    }

    /// The evaluation sequence: the first `length` tokens of `text`.
    public func sequence(fromText text: String) throws -> [Int] {
        let tokenizer = model.tokenizer
        let length = configuration.length
        let leading = tokenizer.encode("", addSpecialTokens: true, parseSpecial: false).count
        // Encode a growing prefix rather than a whole book; the margin keeps the word cut at the
        // prefix's end away from the tokens kept.
        var characters = max(4 * length, 1024)
        while true {
            let prefix = text.prefix(characters)
            let ids = tokenizer.encode(String(prefix), addSpecialTokens: true, parseSpecial: false)
            if prefix.endIndex == text.endIndex {
                guard ids.count > leading else { throw EvaluationError.emptyText }
                guard ids.count >= length else { throw EvaluationError.textTooShort(tokens: ids.count, needed: length) }
                return Array(ids.prefix(length))
            }
            if ids.count >= length + 64 { return Array(ids.prefix(length)) }
            characters *= 2
        }
    }

    /// Evaluates every configured policy on `tokens` (``sequence(fromText:)``), reporting progress.
    public func evaluate(_ tokens: [Int], progress: ((EvaluationProgress) -> Void)? = nil) throws -> EvaluationReport {
        guard tokens.count == configuration.length else {
            throw EvaluationError.invalidSetting("the sequence has \(tokens.count) tokens, not the configured \(configuration.length)")
        }
        let started = DispatchTime.now()
        let base = configuration.baseOptions
        let fixedLength = configuration.baselineBudget == .fixed ? configuration.length : nil
        let withReference = configuration.task == .kl
        let listed = configuration.policies
        // In the kl task the full cache's row is the reference's own.
        let unbudgeted = listed.filter { !$0.needsBudget && !(withReference && $0 == .full) }
            .map { PolicyUnderTest(policy: $0, baseOptions: base) }
        let baselines = listed.filter(\.needsBudget)

        var firstPass = unbudgeted
        var secondPassPolicies: [KVCacheOptions.Policy] = []
        switch configuration.ratios {
        case .fixed(let ratios):
            firstPass += baselines.flatMap { policy in
                ratios.map { PolicyUnderTest(policy: policy, ratio: $0, baseOptions: base, fixedLength: fixedLength) }
            }
        case .matchDMS:
            secondPassPolicies = baselines
        }
        let secondPassFeedings = secondPassPolicies.map { PolicyUnderTest(policy: $0, ratio: 2).feeding }
        var plannedUnits = plannedWork(firstPass.map(\.feeding), withReference: withReference, generatesContinuations: true)
        if !secondPassPolicies.isEmpty {
            plannedUnits += plannedWork(secondPassFeedings, withReference: withReference, generatesContinuations: false)
        }
        let tracker = ProgressTracker(totalUnits: plannedUnits, report: progress)

        var continuations: [Int: [Int]] = [:]
        var runs = try runPass(firstPass, tokens: tokens, withReference: withReference, continuations: &continuations, tracker: tracker)
        let reference = runs.first(where: \.isReference)
        var matchedRatio: Double?
        if !secondPassPolicies.isEmpty {
            guard let dms = runs.first(where: { $0.policy.policy == .dms }), let statistics = dms.statistics else {
                throw EvaluationError.invalidSetting("--ratios match needs the dms policy")
            }
            matchedRatio = statistics.compressionRatio
            let secondPass = secondPassPolicies.map {
                PolicyUnderTest(policy: $0, ratio: statistics.compressionRatio, baseOptions: base, fixedLength: fixedLength)
            }
            runs += try runPass(secondPass, tokens: tokens, withReference: withReference, continuations: &continuations,
                                tracker: tracker).filter { !$0.isReference }
        }

        let fullPerplexity = (reference ?? runs.first { $0.policy.policy == .full })?.metrics.perplexity
        var rows: [PolicyEvaluation] = []
        for policy in listed {
            if policy.needsBudget {
                let ratios: [Double]
                switch configuration.ratios {
                case .fixed(let values): ratios = values
                case .matchDMS: ratios = matchedRatio.map { [$0] } ?? []
                }
                for ratio in ratios {
                    if let run = runs.first(where: { $0.policy.policy == policy && $0.policy.requestedRatio == ratio }) {
                        rows.append(row(run, tokens: tokens.count, fullPerplexity: fullPerplexity))
                    }
                }
            } else if let run = runs.first(where: { $0.policy.policy == policy }) {
                rows.append(row(run, tokens: tokens.count, fullPerplexity: fullPerplexity))
            }
        }
        let cutPoints = withReference ? configuration.cutPoints : []
        return EvaluationReport(
            model: model.path, task: configuration.task, tokens: tokens.count, cutPoints: cutPoints,
            continuationLength: cutPoints.isEmpty ? nil : configuration.continuationLength,
            wallSeconds: Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9,
            policies: rows)
    }

    /// Runs `policies` (and the reference) over the sequence, then the continuations.
    /// `continuations` holds the full cache's greedy tokens per cut point, generated once.
    private func runPass(_ policies: [PolicyUnderTest], tokens: [Int], withReference: Bool,
                         continuations: inout [Int: [Int]], tracker: ProgressTracker) throws -> [PolicyRun] {
        let base = configuration.baseOptions
        let reference = withReference
            ? try PolicyRun(policy: PolicyUnderTest(policy: .full, baseOptions: base), isReference: true, model: model) : nil
        let candidates = try policies.map { try PolicyRun(policy: $0, model: model) }
        try TeacherForcedPass(model: model.model, tokens: tokens, chunk: configuration.chunk, tracker: tracker)
            .run(reference: reference, candidates: candidates)

        let cutPoints = configuration.cutPoints
        if let reference, !cutPoints.isEmpty {
            let greedy = GreedyContinuations(model: model.model, tokens: tokens, chunk: configuration.chunk,
                                             length: configuration.continuationLength, tracker: tracker)
            let allAgree = Array(repeating: true, count: configuration.continuationLength)
            for (index, cut) in cutPoints.enumerated() {
                let step = "continuation \(index + 1)/\(cutPoints.count)"
                let atEnd = cut == tokens.count
                let continuation: [Int]
                if let known = continuations[cut] {
                    continuation = known
                } else if atEnd {
                    continuation = try greedy.generate(from: reference.finalLogits, cache: reference.cache, stage: "\(step): full")
                } else {
                    let cache = try model.makeCache(reference.policy.cacheOptions)
                    let logits = try greedy.feedPrefix(cut, into: cache, feeding: .chunked, stage: "\(step): full prefix")
                    continuation = try greedy.generate(from: logits, cache: cache, stage: "\(step): full")
                }
                continuations[cut] = continuation
                reference.agreement.add(matches: allAgree)
                for run in candidates {
                    let stage = "\(step): \(run.label)"
                    if atEnd {
                        run.agreement.add(matches: try greedy.follow(continuation, from: run.finalLogits, cache: run.cache, stage: stage))
                    } else {
                        let cache = try model.makeCache(run.policy.cacheOptions)
                        let logits = try greedy.feedPrefix(cut, into: cache, feeding: run.policy.feeding, stage: "\(stage) prefix")
                        run.agreement.add(matches: try greedy.follow(continuation, from: logits, cache: cache, stage: stage))
                    }
                }
            }
        }
        // Statistics are kept; the pages go back to the pool before the next pass.
        for run in [reference].compactMap({ $0 }) + candidates { run.cache.reset() }
        return [reference].compactMap { $0 } + candidates
    }

    /// Work units of one pass (see ``ProgressTracker``): the sequence for every policy and the
    /// reference, and the continuations with their re-fed prefixes.
    private func plannedWork(_ feedings: [PolicyUnderTest.Feeding], withReference: Bool, generatesContinuations: Bool) -> Double {
        let n = configuration.length, length = configuration.continuationLength
        let cutPoints = withReference ? configuration.cutPoints : []
        let earlierCuts = cutPoints.dropLast().reduce(0, +)
        var runs = feedings
        if withReference { runs.append(.chunked) }
        var units = runs.reduce(0) { $0 + ProgressTracker.units(tokens: n, feeding: $1) }
        guard !cutPoints.isEmpty else { return units }
        for feeding in feedings {
            units += ProgressTracker.units(tokens: earlierCuts, feeding: feeding)
                + ProgressTracker.units(tokens: cutPoints.count * length, feeding: .oneTokenAtATime)
        }
        if generatesContinuations {
            units += ProgressTracker.units(tokens: earlierCuts, feeding: .chunked)
                + ProgressTracker.units(tokens: cutPoints.count * length, feeding: .oneTokenAtATime)
        }
        return units
    }

    private func row(_ run: PolicyRun, tokens: Int, fullPerplexity: Double?) -> PolicyEvaluation {
        let statistics = run.statistics ?? run.cache.statistics()
        let metrics = run.metrics
        return PolicyEvaluation(
            policy: run.policy.policy.rawValue, requestedRatio: run.policy.requestedRatio,
            budget: run.policy.budgetStyle,
            feeding: run.policy.feeding == .chunked ? "chunked" : "one_token_at_a_time",
            tokens: tokens, scoredPositions: metrics.positions, compressionRatio: statistics.compressionRatio,
            klDivergence: metrics.meanKLDivergence, meanNegativeLogLikelihood: metrics.meanNegativeLogLikelihood,
            perplexity: metrics.perplexity, perplexityRatio: fullPerplexity.map { metrics.perplexity / $0 },
            top1Agreement: metrics.top1Agreement, continuationAgreement: run.agreement.meanAgreement,
            continuationInitialRun: run.agreement.meanInitialRun, continuations: run.agreement.continuations,
            tokenReads: statistics.tokenReads, peakTokens: statistics.peakTokens, peakBytes: statistics.peakBytes,
            seconds: run.seconds, tokensPerSecond: run.seconds > 0 ? Double(tokens) / run.seconds : 0)
    }
}
