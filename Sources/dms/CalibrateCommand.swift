import ArgumentParser
import DMSKit
import DMSRetrofit
import Foundation

/// `dms calibrate`: a trained adapter at another window and compression ratio, without training
/// (``AdapterCalibration``).
struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Move a DMS adapter to another window and compression ratio without training.",
        discussion: """
            Finds, by bisection, the decision threshold at which the adapter with --window reaches --target-cr \
            (the engine's physical ratio: tokens seen per resident slot, the window's slots included) on the first \
            --sequences sequences of --seq-len tokens of the --data text, and writes the adapter with that window \
            and the threshold folded into its offset, so it runs at that point with the default threshold. The \
            metadata records the calibration. Calibrate on other text than you evaluate on.
            """)

    @Option(help: "The base model: a GGUF file or a Hugging Face directory.")
    var model: String

    @Option(help: "The trained DMS adapter (safetensors).")
    var adapter: String

    @Option(parsing: .upToNextOption, help: "UTF-8 text files to calibrate on (plain text; no chat template).")
    var data: [String]

    @Option(help: "Where to write the calibrated adapter (safetensors).")
    var out: String

    @Option(name: .customLong("target-cr"), help: "The compression ratio to reach.")
    var targetRatio: Double

    @Option(help: "DMS delay window w (default: the adapter's).")
    var window: Int?

    @Option(name: .customLong("seq-len"), help: "Tokens per calibration sequence.")
    var sequenceLength = 4096

    @Option(help: "Calibration sequences (the first ones of the text); the ratio is their mean.")
    var sequences = 1

    @Option(help: "Worker threads (default: every core).")
    var threads: Int?

    @Option(name: .customLong("lora-precision"),
            help: "How the LoRA updates are stored: f32, or f16/bf16 for half the file (the decision projection stays f32).")
    var lowRankStorage: FloatPrecision = .f32

    func validate() throws {
        guard !data.isEmpty else { throw ValidationError("give at least one --data file") }
        guard targetRatio >= 1, targetRatio.isFinite else { throw ValidationError("--target-cr must be ≥ 1") }
        guard sequences >= 1 else { throw ValidationError("--sequences must be ≥ 1") }
        if let window, window < 0 { throw ValidationError("--window must be ≥ 0") }
        if let threads, threads < 1 { throw ValidationError("--threads must be ≥ 1") }
    }

    func run() throws {
        let loaded = try LoadedModel(path: model, threads: threads)
        guard sequenceLength <= loaded.configuration.contextLength else {
            throw ValidationError("--seq-len \(sequenceLength) exceeds the model's context of \(loaded.configuration.contextLength) tokens")
        }
        let trained = try DMSAdapter(path: adapter, for: loaded.configuration)
        let corpus = try TrainingCorpus(files: data, tokenizer: loaded.tokenizer, sequenceLength: sequenceLength)
        let used = Array(corpus.sequences.prefix(sequences))
        let calibration = try AdapterCalibration(loaded: loaded, adapter: trained, window: window ?? trained.parameters.window,
                                                 sequences: used)
        let found = try calibration.threshold(reaching: targetRatio) { probe in
            writeError(String(format: "threshold %8.4f  ratio %.3f\n", probe.threshold, probe.ratio))
        }
        let description = "\(used.count) × \(sequenceLength) tokens of \(corpus.description)"
        try calibration.calibratedAdapter(found, description: description).write(to: out, configuration: loaded.configuration,
                                                                              lowRankStorage: lowRankStorage)
        print(String(format: "wrote %@: window %d, threshold %.4f folded into the offset (%.4f), ratio %.3f on the calibration text",
                     out, calibration.window, found.threshold, trained.parameters.offset + found.threshold, found.ratio))
    }
}
