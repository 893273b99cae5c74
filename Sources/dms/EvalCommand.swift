import ArgumentParser
import DMSEvaluation
import DMSKit
import Foundation

/// `dms eval`: compares KV cache policies with the full cache, teacher-forced on a text
/// (``PolicyEvaluator``) or on generated long-context prompts (``TaskEvaluator``); the
/// discussion below is the user's description of both.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Compare KV cache policies: KL, perplexity and agreement on a text, or long-context tasks (passkey, variable tracking, latency).",
        discussion: """
        --task kl and perplexity: the text file is tokenized with the model's tokenizer as plain text (BOS first when the \
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
        continuations).

        --task passkey, variable-tracking and latency generate prompts of each --lengths value \
        from --seed with the text as haystack prose (a 5-digit key at spread depths; a chain of \
        three variable assignments; the text itself for latency). Each prompt runs through a \
        fresh cache in prefill chunks, then 8, 24 or 32 greedy decode steps, each timed. One \
        record per length, policy and setting: full, each DMS adapter of --adapters, every \
        baseline at every --ratios value (default 2,4,8), with the accuracy, the compression \
        ratio, decode KV reads, peak KV tokens and bytes, and decode latency p50/p99.

        --out DIR writes results.jsonl and results.csv (every task) as records are measured; \
        `dms report DIR` plots them. Progress goes to stderr when it is a terminal; --json \
        prints the report (kl, perplexity; one object per length) or the records (an array).
        """)

    @OptionGroup var modelOptions: ModelRunOptions

    @Option(help: "kl (policies against the full cache), perplexity (NLL and perplexity only), passkey (a key planted in the text's prose, asked for at the end), variable-tracking (name every variable of an assignment chain spread through the prose) or latency (per-token decode latency after a prompt).")
    var task: EvaluationTask = .kl

    @Option(help: "A plain-text file (UTF-8): the sequence (kl, perplexity, latency) or the haystack prose (passkey, variable-tracking).")
    var text: String

    @Option(name: [.customLong("lengths"), .customLong("length")],
            help: "Comma-separated context lengths in tokens (default: 4096 for kl and perplexity, 1024,2048,4096 for passkey and variable-tracking, 1024,2048,4096,8160 for latency; a prompt and its answer must fit in the context).")
    var lengths: String?

    @Option(help: "Prompts per length (passkey, variable-tracking), the planted text at different depths (default 6, 4 with --quick).")
    var samples: Int?

    @Option(help: "Seed of the prompts (keys, names, prose offsets).")
    var seed: UInt64 = 0

    @Option(help: "Comma-separated DMS adapters to compare as separate dms points (e.g. trained to different ratios); default: --adapter.")
    var adapters: String?

    @Option(help: "Write results.jsonl and results.csv (one record per task, length, policy and setting) into this directory; `dms report DIR` plots them.")
    var out: String?

    @Flag(help: "Keep the records already in --out's results.jsonl and add this run's (more tasks or lengths for one report).")
    var append = false

    @Flag(help: "The quick profile: lengths 1024, 4 samples, baselines at ratio 4, one continuation (unless given).")
    var quick = false

    @Option(help: "Comma-separated policies: full, dms, streaming, tova, h2o, quest.")
    var policies = "full,dms,streaming,tova,h2o"

    @Option(help: "Baselines' compression ratios: match (the ratio dms reaches; kl and perplexity only) or a comma-separated list, each > 1 (default: match, or 2,4,8 for passkey, variable-tracking and latency).")
    var ratios: String?

    @Option(help: "How a baseline's ratio R becomes its budget: proportional (keep seen/R tokens at every position) or fixed (keep length/R tokens from the start, length being the sequence or context length: the peak memory of a cache reaching R at the end).")
    var baselineBudget: BaselineBudget = .proportional

    @Option(help: "Greedy continuations at cut points in the second half (0: none; the last cut is the end; default 4, 1 with --quick).")
    var continuations: Int?

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

    /// The lengths of `--lengths` (or the task's and profile's default), or a clear error.
    var resolvedLengths: [Int] {
        get throws {
            let list = lengths ?? (quick ? "1024" : task == .latency ? "1024,2048,4096,8160" : task.generates ? "1024,2048,4096" : "4096")
            return try list.split(separator: ",", omittingEmptySubsequences: false).map { item in
                let text = item.trimmingCharacters(in: .whitespaces)
                guard let value = Int(text), value >= 2 else {
                    throw ValidationError("--lengths takes whole numbers ≥ 2 separated by commas (got '\(text)')")
                }
                return value
            }
        }
    }

    var resolvedRatios: RatioSelection {
        get throws { try Self.parseRatios(ratios ?? (quick ? (task.generates ? "4" : "match") : task.generates ? "2,4,8" : "match")) }
    }

    /// The kl / perplexity evaluation of one length.
    func evaluationConfiguration(length: Int) throws -> EvaluationConfiguration {
        var configuration = EvaluationConfiguration()
        configuration.task = task
        configuration.length = length
        configuration.policies = try Self.parsePolicies(policies)
        configuration.ratios = try resolvedRatios
        configuration.baselineBudget = baselineBudget
        configuration.continuations = continuations ?? (quick ? 1 : 4)
        configuration.continuationLength = continuationLength
        configuration.chunk = modelOptions.prefillChunk
        configuration.baseOptions = modelOptions.cacheOptions(policy: nil, budget: nil)
        return configuration
    }

    /// The generation task run (passkey, variable-tracking, latency).
    var taskConfiguration: TaskEvaluator.Configuration {
        get throws {
            var configuration = TaskEvaluator.Configuration()
            configuration.task = task
            configuration.lengths = try resolvedLengths
            configuration.samples = samples ?? (quick ? 4 : 6)
            configuration.seed = seed
            configuration.chunk = modelOptions.prefillChunk
            configuration.baselineBudget = baselineBudget
            return configuration
        }
    }

    /// The DMS adapters compared as separate points.
    var adapterPaths: [String] {
        if let adapters { return adapters.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        return modelOptions.adapter.map { [$0] } ?? []
    }

    /// The baselines' ratios of a generation task, which has no single sequence for `match`.
    var taskRatios: [Double] {
        get throws {
            guard case .fixed(let ratios) = try resolvedRatios else {
                throw ValidationError("--task \(task.rawValue) needs explicit --ratios (e.g. 2,4,8): there is no single sequence whose dms ratio to match")
            }
            return ratios
        }
    }

    /// Every (policy, setting) point of a generation task.
    func taskSettings(model: LoadedModel) throws -> [TaskSetting] {
        let base = modelOptions.cacheOptions(policy: nil, budget: nil)
        let ratios = try taskRatios
        return try Self.parsePolicies(policies).flatMap { policy -> [TaskSetting] in
            switch policy {
            case .full:
                return [TaskSetting(options: PolicyUnderTest(policy: .full, baseOptions: base).cacheOptions, label: "")]
            case .dms:
                if adapterPaths.isEmpty {
                    guard model.model.evictionSource != nil else {
                        throw ValidationError("--policies lists dms but the model has no DMS decisions: give --adapter or --adapters")
                    }
                    return [TaskSetting(options: PolicyUnderTest(policy: .dms, baseOptions: base).cacheOptions, label: "dms")]
                }
                return adapterPaths.map { path in
                    TaskSetting(options: PolicyUnderTest(policy: .dms, baseOptions: base).cacheOptions, adapter: path,
                                label: (path as NSString).lastPathComponent)
                }
            default:
                return ratios.map { ratio in
                    TaskSetting(options: PolicyUnderTest(policy: policy, ratio: ratio, baseOptions: base).cacheOptions,
                                label: "ratio \(String(format: "%g", ratio))")
                }
            }
        }
    }

    func validate() throws {
        do {
            let lengths = try resolvedLengths
            if task.generates {
                guard (samples ?? 1) >= 1 else { throw ValidationError("--samples must be ≥ 1") }
                _ = try Self.parsePolicies(policies)
                _ = try taskRatios
            } else {
                guard adapters == nil else { throw ValidationError("--adapters applies to --task passkey, variable-tracking and latency; use --adapter") }
                for length in lengths { try evaluationConfiguration(length: length).validate() }
            }
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
        for path in adapterPaths where !FileManager.default.isReadableFile(atPath: path) {
            throw ValidationError("cannot read the adapter \(path)")
        }
        let loaded = try modelOptions.loadModel()
        let writer = try out.map { try EvaluationRecordWriter(directory: $0, appending: append) }
        let bar = ProgressBar(linesWhenPiped: false)
        let progress = { (progress: EvaluationProgress) in
            bar.update(fraction: progress.fractionDone,
                       text: "\(Int(progress.fractionDone * 100))% \(progress.stage) \(progress.position)/\(progress.total)")
        }
        if task.generates {
            let evaluator = try TaskEvaluator(model: loaded, text: contents, configuration: try taskConfiguration)
            var records: [EvaluationRecord] = []
            try evaluator.run(settings: try taskSettings(model: loaded), record: { record in
                records.append(record)
                try writer?.append(record)
            }, progress: progress)
            bar.finish()
            if json { try printJSON(records) } else { print(TaskResultTable(records).rendered) }
        } else {
            for length in try resolvedLengths {
                let evaluator = try PolicyEvaluator(model: loaded, configuration: try evaluationConfiguration(length: length))
                let tokens = try evaluator.sequence(fromText: contents)
                var report = try evaluator.evaluate(tokens, progress: progress)
                bar.finish()
                report.adapter = modelOptions.adapter
                report.text = text
                for row in report.policies { try writer?.append(row.record(task: task, length: length)) }
                if json { try printJSON(report) } else { print(EvaluationTable(report).rendered) }
            }
        }
        if let writer { writeError("wrote \(writer.jsonLinesURL.path) and \(writer.csvURL.path)\n") }
    }
}

extension EvaluationTask: ExpressibleByArgument {}
extension BaselineBudget: ExpressibleByArgument {}
