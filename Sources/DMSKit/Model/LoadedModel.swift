import Foundation

/// A model ready to run: its decoder, tokenizer and where they came from.
///
/// ```swift
/// let loaded = try LoadedModel(path: "SmolLM2-135M-Instruct.Q4_1.gguf", threads: 2)
/// let session = loaded.makeSession()
/// let ids = loaded.tokenizer.encode("Hello")
/// for try await token in session.stream(prompt: ids, options: GenerationOptions(maxTokens: 32)) {
///     print(token.text, terminator: "")
/// }
/// ```
public final class LoadedModel: @unchecked Sendable {
    /// The on-disk format a model was read from.
    public enum Format: String, Sendable {
        case gguf
        case safetensors
    }

    public let path: String
    public let format: Format
    public let model: TransformerModel
    public let tokenizer: Tokenizer
    /// Tensor encodings and how many tensors use each (for `dms inspect`).
    public let tensorTypeCounts: [String: Int]
    /// Total bytes of the weights.
    public let weightBytes: Int
    /// GGUF metadata, when loaded from GGUF.
    public let ggufMetadata: [String: GGUFValue]?
    /// `config.json`, when loaded from a Hugging Face directory.
    public let huggingFaceConfig: HFConfig?
    private let source: TensorSource

    public var configuration: ModelConfiguration { model.configuration }

    /// Loads a GGUF file, or a Hugging Face directory with `config.json`, safetensors weights
    /// and `tokenizer.json`. `threads` defaults to every core. A DMS checkpoint runs with its
    /// decisions: from a query neuron (variant A), or from the separate weights that NVIDIA's
    /// retrofit recipe saves beside the base weights (variant B, `dms_separate_alpha`).
    public init(path: String, threads: Int? = nil) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelLoadError.notAModel(path)
        }
        let workers = WorkerPool(threads: max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount))
        self.path = path
        if isDirectory.boolValue {
            let configURL = URL(fileURLWithPath: path).appendingPathComponent("config.json")
            guard FileManager.default.fileExists(atPath: configURL.path) else { throw ModelLoadError.notAModel(path) }
            let config = try HFConfig(path: configURL.path)
            let files = try SafetensorsModelFiles(directory: path)
            let configuration = try ModelConfiguration(huggingFace: config)
            let weights = try ModelWeights(source: files, naming: .huggingFace, configuration: configuration)
            tokenizer = try Tokenizer(modelPath: path)
            format = .safetensors
            source = files
            huggingFaceConfig = config
            ggufMetadata = nil
            model = TransformerModel(configuration: configuration, weights: weights, workers: workers)
            let infos = files.tensorNames.compactMap { files.tensorInfo(named: $0) }
            tensorTypeCounts = Dictionary(grouping: infos, by: { $0.dtype }).mapValues(\.count)
            weightBytes = infos.reduce(0) { $0 + $1.byteCount }
            if config.dmsSeparateAlpha && !config.dmsDisableEviction {
                attach(try DMSAdapter(checkpoint: files, config: config, for: configuration))
            }
        } else {
            let file = try GGUFFile(path: path)
            let configuration = try ModelConfiguration(gguf: file)
            let weights = try ModelWeights(source: file, naming: .gguf, configuration: configuration)
            tokenizer = Tokenizer(data: try TokenizerData(ggufMetadata: file.metadata))
            format = .gguf
            source = file
            ggufMetadata = file.metadata
            huggingFaceConfig = nil
            model = TransformerModel(configuration: configuration, weights: weights, workers: workers)
            tensorTypeCounts = Dictionary(grouping: file.tensorInfos, by: { $0.ggmlType.name }).mapValues(\.count)
            weightBytes = file.tensorInfos.reduce(0) { $0 + $1.byteCount }
        }
    }

    /// A new KV cache with the full policy.
    public func makeCache(precision: FloatPrecision = .f16, pageSize: Int = 256) -> KVCache {
        let geometry = KVCacheGeometry(configuration)
        return FullKVCache(geometry: geometry, pool: KVPagePool(pageSize: pageSize, headDim: geometry.headDim, precision: precision))
    }

    /// A new generation session with its own cache (by default the model's own policy: DMS for
    /// DMS checkpoints and attached adapters, else full).
    public func makeSession(cache: KVCache? = nil) -> GenerationSession {
        GenerationSession(model: model, tokenizer: tokenizer,
                          cache: cache ?? (try? makeCache(KVCacheOptions())) ?? makeCache())
    }
}
