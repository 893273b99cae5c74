import ArgumentParser
import DMSKit

/// Options every model-loading command shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .shortAndLong, help: "A GGUF file, or a Hugging Face directory (config.json, *.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "KV cache storage precision: f16, bf16 or f32.")
    var kvPrecision: KVPrecision = .f16

    func validate() throws {
        if let threads, threads < 1 || threads > 256 {
            throw ValidationError("--threads must be between 1 and 256")
        }
    }

    func load() throws -> LoadedModel {
        try LoadedModel(path: model, threads: threads)
    }
}

extension KVPrecision: ExpressibleByArgument {}
