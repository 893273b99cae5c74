import ArgumentParser
import DMSKit
import DMSRetrofit
import Foundation

struct RetrofitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrofit",
        abstract: "Train a DMS adapter (variant B) on a frozen model by distillation from the model itself.",
        discussion: """
            Only the per-layer dms_proj_alpha and dms_proj_alpha_norm weights (and, with --lora-rank, \
            low-rank updates of the attention projections, with --lora-mlp of the feed-forward ones too) are \
            trained; the base model is unchanged. Each \
            step distils the model with eviction off into the model with soft (Gumbel-sigmoid) eviction on \
            one sequence of --seq-len tokens, while the compression target rises linearly so that step \
            --steps minus --hold-steps asks for --target-cr, which the remaining steps keep (the ramp aims \
            at --final-cr, like the original's 1 → 16 over 510 steps, 8 at step 238). Writes ADAPTER, ADAPTER.log.jsonl \
            (one line per step) and, every --checkpoint-every steps, ADAPTER.checkpoint: after Ctrl-C \
            or a kill, the same command with --resume continues from it.
            """)

    @Option(help: "The base model: a GGUF file or a Hugging Face directory.")
    var model: String

    @Option(parsing: .upToNextOption, help: "UTF-8 text files to train on (plain text; no chat template).")
    var data: [String]

    @Option(help: "Where to write the adapter (safetensors).")
    var out: String

    @Option(name: .customLong("target-cr"), help: "Compression ratio the schedule reaches at the last step.")
    var targetRatio = 8.0

    @Option(name: .customLong("final-cr"), help: "Ratio the linear ramp aims at (sets its slope).")
    var finalRatio = 16.0

    @Option(help: "Steps at the end held at --target-cr (the ramp gets there that many steps early).")
    var holdSteps = 0

    @Option(name: .customLong("snapshot-cr"), parsing: .upToNextOption,
            help: "Also write the adapter as it is when the schedule first reaches each of these ratios, to ADAPTER-STEM.cr<R>.safetensors.")
    var snapshotRatios: [Double] = []

    @Option(help: "DMS delay window w.")
    var window = 64

    @Option(help: "Leading tokens never evicted (attention sinks); 0 reproduces NVIDIA's recipe.")
    var sinks = 4

    @Option(name: .customLong("seq-len"), help: "Tokens per training sequence (must exceed the window).")
    var sequenceLength = 1024

    @Option(help: "Optimizer steps (one sequence each).")
    var steps = 240

    @Option(name: .customLong("lr"), help: "AdamW learning rate (betas 0.9/0.95, no weight decay, clip 1.0).")
    var learningRate: Float = 3e-4

    @Option(help: "Gumbel-sigmoid temperature.")
    var temperature: Float = 0.1

    @Option(help: "Rank of LoRA updates of the attention projections trained with the decisions (0: decisions only).")
    var loraRank = 0

    @Option(help: "LoRA alpha: updates are scaled by alpha / rank.")
    var loraAlpha: Float = 16

    @Flag(help: "Give the feed-forward projections (gate, up, down) LoRA updates too (needs --lora-rank).")
    var loraMlp = false

    @Option(help: "The distillation's KL: student-teacher (the recipe's KL(student ‖ teacher)) or teacher-student (KL(teacher ‖ student), the direction dms eval reports).")
    var kl: KLDirection = .studentTeacher

    @Option(help: "Seed of the data order, the logistic noise and LoRA's initial weights.")
    var seed: UInt64 = 0

    @Option(name: .customLong("init"),
            help: "Start from this trained adapter's weights (same window, sinks and LoRA rank) instead of the base model; its decision offset (which dms calibrate moves) carries over.")
    var initialAdapter: String?

    @Option(help: "Steps between checkpoints.")
    var checkpointEvery = 10

    @Option(help: "Worker threads (default: every core).")
    var threads: Int?

    @Flag(help: "Continue from ADAPTER.checkpoint (same settings and data).")
    var resume = false

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give at least one --data file") }
        guard checkpointEvery >= 1 else { throw ValidationError("--checkpoint-every must be ≥ 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
        // Checked before the model loads: the adapter, its log and checkpoints go next to --out.
        let directory = URL(fileURLWithPath: out).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--out \(out): the directory \(directory) does not exist")
        }
        let schedule = try settings().schedule
        for ratio in snapshotRatios where !(ratio > 1) || schedule.firstStep(reaching: ratio, within: steps) == nil {
            throw ValidationError("--snapshot-cr \(ratio): the schedule never reaches it (it ends at --target-cr \(targetRatio))")
        }
    }

    func settings() throws -> RetrofitSettings {
        var s = RetrofitSettings()
        s.window = window
        s.sinks = sinks
        s.sequenceLength = sequenceLength
        s.steps = steps
        s.targetRatio = targetRatio
        s.finalRatio = finalRatio
        s.holdSteps = holdSteps
        s.learningRate = learningRate
        s.temperature = temperature
        s.seed = seed
        s.loraRank = loraRank
        s.loraAlpha = loraAlpha
        s.loraFeedForward = loraMlp ? true : nil
        s.klDirection = kl == .studentTeacher ? nil : kl
        s.initialAdapter = initialAdapter
        do { try s.validate() } catch let error as RetrofitError { throw ValidationError(error.description) }
        return s
    }

    func run() throws {
        let checkpointPath = out + ".checkpoint"
        let logPath = out + ".log.jsonl"
        let manager = FileManager.default
        if !resume, manager.fileExists(atPath: checkpointPath) {
            throw ValidationError("\(checkpointPath) exists from an earlier run: pass --resume to continue it, or delete it")
        }
        let loaded = try LoadedModel(path: model, threads: threads)
        var settings = try settings()
        let initial = try initialAdapter.map { try DMSAdapter(path: $0, for: loaded.configuration) }
        // A calibrated adapter carries its threshold in the offset, and training must decide the same way.
        if let initial { settings.offset = initial.parameters.offset }
        let corpus = try TrainingCorpus(files: data, tokenizer: loaded.tokenizer, sequenceLength: sequenceLength)
        let trainer = try RetrofitTrainer(model: loaded.model, corpus: corpus, settings: settings,
                                          baseModelName: (model as NSString).lastPathComponent, pool: loaded.model.workers)
        if resume {
            guard manager.fileExists(atPath: checkpointPath) else {
                throw ValidationError("--resume: no checkpoint at \(checkpointPath)")
            }
            try trainer.restore(RetrofitCheckpoint(path: checkpointPath))
            writeError("resuming at step \(trainer.step) of \(settings.steps)\n")
        } else if let initialAdapter, let initial {
            try trainer.start(from: initial)
            writeError("starting from \(initialAdapter)\n")
        }
        writeError("training on \(corpus.sequences.count) sequences of \(sequenceLength) tokens (\(corpus.description))\n")
        let log = try TrainingLog(path: logPath, resumingAfter: resume ? trainer.step : nil)
        let interrupt = InterruptSignal()
        let bar = ProgressBar(linesWhenPiped: true)
        let dataDescription = corpus.description
        let snapshots = Dictionary(snapshotRatios.map { (settings.schedule.firstStep(reaching: $0, within: steps)!, $0) },
                                   uniquingKeysWith: max)
        func save() throws {
            try trainer.checkpoint.write(to: checkpointPath)
            try trainer.adapter(dataDescription: dataDescription).write(to: out, configuration: loaded.configuration)
        }
        if !resume { try save() }  // fails now, not after the first steps, if ADAPTER cannot be written
        bar.update(fraction: Double(trainer.step) / Double(settings.steps), text: "step \(trainer.step)/\(settings.steps)")
        while !trainer.isFinished {
            let report = trainer.runStep()
            guard report.loss.isFinite, trainer.parameters.values.allSatisfy(\.isFinite) else {
                bar.finish()
                throw ValidationError("training diverged at step \(report.step) (loss \(report.loss)); try a lower --lr. "
                                      + "The last good state is \(checkpointPath)")
            }
            try log.append(report)
            bar.update(fraction: Double(report.step) / Double(settings.steps),
                       text: String(format: "step %d/%d loss %.4f kl %.4f ratio %.2f (target %.2f) %.1fs/step",
                                    report.step, settings.steps, report.loss, report.kl, report.ratio, report.targetRatio,
                                    report.seconds),
                       force: true)
            if let ratio = snapshots[report.step] {
                try trainer.adapter(dataDescription: dataDescription)
                    .write(to: Self.snapshotPath(out, ratio: ratio), configuration: loaded.configuration)
            }
            if report.step % checkpointEvery == 0 || trainer.isFinished { try save() }
            if let signal = interrupt.receivedSignal {
                try save()
                bar.finish()
                writeError("stopped after step \(report.step); continue with the same command and --resume\n")
                throw ExitCode(signal == SIGINT ? 130 : 143)
            }
        }
        bar.finish()
        try? manager.removeItem(atPath: checkpointPath)
        let last = trainer.history.last
        for ratio in Set(snapshots.values).sorted() { print("wrote \(Self.snapshotPath(out, ratio: ratio))") }
        print("wrote \(out): \(trainer.step) steps in \(ProgressBar.duration(trainer.elapsedSeconds)), "
              + String(format: "evicted fraction %.3f, KL %.4f nats/token; log: %@",
                        last?.evictedFraction ?? 0, last?.kl ?? 0, logPath))
    }

    /// `dir/name.safetensors` → `dir/name.cr4.5.safetensors`.
    static func snapshotPath(_ out: String, ratio: Double) -> String {
        let url = URL(fileURLWithPath: out)
        let stem = url.deletingPathExtension().path
        let suffix = url.pathExtension.isEmpty ? "safetensors" : url.pathExtension
        return "\(stem).cr\(String(format: "%g", ratio)).\(suffix)"
    }
}
extension KLDirection: ExpressibleByArgument {}
