import ArgumentParser
import DMSEvaluation
import DMSKit
import Foundation

/// `dms eval`: compares KV cache policies with the full cache on a text, teacher-forced.
///
/// The text is tokenized with the model's tokenizer as plain text (BOS first when the tokenizer
/// adds one, no chat template) and its first `--length` tokens are the sequence. The full cache
/// is the reference; every policy processes the same tokens and, at every position with a next
/// token, its next-token distribution is compared with the full cache's: mean KL(full ‖ policy)
/// in nats/token, NLL and perplexity of the actual next token, top-1 agreement. Full and dms are
/// fed in prefill chunks (identical per-position logits to one token at a time); streaming, tova,
/// h2o and quest one token at a time, as in generation. Greedy agreement: at `--continuations`
/// cut points evenly spaced over the second half (the last at the end) the full cache generates
/// `--continuation-length` tokens greedily and each policy, after the same prefix, is
/// teacher-forced on them. See ``PolicyEvaluator`` for the details and the cost.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compare KV cache policies with the full cache on a text: KL, perplexity, agreement.",
        discussion: """
        The text file is tokenized with the model's tokenizer as plain text (BOS first when the \
        tokenizer adds one; no chat template) and its first --length tokens are the sequence.

        The full cache is the reference. Every policy processes the same tokens teacher-forced; at \
        every position i < length-1 the next-token distribution gives KL(full || policy) = \
        sum_v p_full log(p_full/p_policy) (nats/token, mean over positions), the NLL of token i+1 \
        and its perplexity (and the ratio to full's), and top-1 agreement (argmax equal to full's). \
        full and dms are fed in prefill chunks (--prefill-chunk; DMS applies its visibility rule \
        inside a chunk, so each position sees what one-at-a-time feeding shows it); streaming, \
        tova, h2o and quest are fed one token at a time, as generation sees them. All forward \
        calls are decode steps for the statistics, so token_reads counts every position. \
        compression_ratio (tokens seen / mean slots in use over layers and KV heads; DMS's window \
        slots count), token_reads, peak_tokens and peak_bytes are read at the end of the sequence.

        Greedy agreement (--task kl): at --continuations cut points evenly spaced over the second \
        half of the sequence (length/2 + j*(length-length/2)/k, the last at the end), the full \
        cache generates --continuation-length tokens greedily after the prefix; each policy, \
        after the same prefix, is teacher-forced on them, and the fraction of steps where its \
        argmax is full's token and the initial run of agreeing steps are averaged. Caches cannot \
        be copied: the cut at the end reuses the pass's caches, every earlier cut feeds its prefix \
        again (about 0.75*(k-1)*length extra tokens per policy; --continuations 1 is cheapest).

        --ratios match (default): dms runs first and the baselines then run at the compression \
        ratio it reached (a second pass, with the reference run again); otherwise every baseline \
        runs at each ratio (keep seen/R tokens, --kv-ratio's budget). full and dms ignore ratios.

        --task perplexity reports NLL and perplexity per policy only (no reference, no KL, no \
        continuations). Progress goes to stderr when it is a terminal; --json prints one object.
        """)

    @OptionGroup var modelOptions: ModelRunOptions

    @Option(help: "kl (policies against the full cache) or perplexity (NLL and perplexity only).")
    var task: EvaluationTask = .kl

    @Option(help: "A plain-text file (UTF-8) to evaluate on.")
    var text: String

    @Option(help: "Tokens of the evaluation sequence (the first tokens of the text).")
    var length = 4096

    @Option(help: "Comma-separated policies: full, dms, streaming, tova, h2o, quest.")
    var policies = "full,dms,streaming,tova,h2o"

    @Option(help: "Baselines' compression ratios: match (the ratio dms reaches) or a comma-separated list, each > 1.")
    var ratios = "match"

    @Option(help: "Greedy continuations at cut points in the second half (0: none; the last cut is the end).")
    var continuations = 4

    @Option(help: "Tokens the full cache generates greedily per continuation.")
    var continuationLength = 64

    @Flag(help: "Print one JSON object: model, adapter, text, task, tokens, cut_points, continuation_length, wall_seconds, policies.")
    var json = false

    /// The policies of `--policies`, or a clear error.
    static func parsePolicies(_ list: String) throws -> [KVCacheOptions.Policy] {
        let names = list.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        return try names.map { name in
            guard let policy = KVCacheOptions.Policy(rawValue: name) else {
                let known = KVCacheOptions.Policy.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError("unknown policy '\(name)' in --policies (expected a comma-separated list of \(known))")
            }
            return policy
        }
    }

    /// The ratios of `--ratios`, or a clear error.
    static func parseRatios(_ list: String) throws -> RatioSelection {
        if list.trimmingCharacters(in: .whitespaces) == "match" { return .matchDMS }
        let values = try list.split(separator: ",", omittingEmptySubsequences: false).map { item -> Double in
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let value = Double(text) else {
                throw ValidationError("--ratios takes 'match' or numbers > 1 separated by commas (got '\(text)')")
            }
            return value
        }
        return .fixed(values)
    }

    var evaluationConfiguration: EvaluationConfiguration {
        get throws {
            var configuration = EvaluationConfiguration()
            configuration.task = task
            configuration.length = length
            configuration.policies = try Self.parsePolicies(policies)
            configuration.ratios = try Self.parseRatios(ratios)
            configuration.continuations = continuations
            configuration.continuationLength = continuationLength
            configuration.chunk = modelOptions.prefillChunk
            configuration.baseOptions = modelOptions.cacheOptions(policy: nil, budget: nil)
            return configuration
        }
    }

    func validate() throws {
        do {
            try evaluationConfiguration.validate()
        } catch let error as EvaluationError {
            throw ValidationError(error.localizedDescription)
        }
    }

    func run() throws {
        let contents: String
        do {
            contents = try String(contentsOfFile: text, encoding: .utf8)
        } catch {
            throw ValidationError("cannot read --text \(text): \(error.localizedDescription)")
        }
        guard !contents.isEmpty else { throw ValidationError("--text \(text) is empty") }
        let loaded = try modelOptions.loadModel()
        let evaluator = try PolicyEvaluator(model: loaded, configuration: try evaluationConfiguration)
        let tokens = try evaluator.sequence(fromText: contents)
        let bar = ProgressBar(linesWhenPiped: false)
        var report = try evaluator.evaluate(tokens) { progress in
            bar.update(fraction: progress.fractionDone,
                       text: "\(Int(progress.fractionDone * 100))% \(progress.stage) \(progress.position)/\(progress.total)")
        }
        bar.finish()
        report.adapter = modelOptions.adapter
        report.text = text
        if json {
            try printJSON(report)
        } else {
            print(EvaluationTable(report).rendered)
        }
    }
}

extension EvaluationTask: ExpressibleByArgument {}
