import Foundation

/// DMS variant B: a small learned module per layer that reads the residual stream entering the
/// layer and gives one eviction logit per KV head, `s * W_alpha · RMSNorm_alpha(x) - b`
/// (spec section 3). The base model is untouched; the adapter is a safetensors file with NVIDIA's
/// tensor names and its settings and base-model identity in `__metadata__`.
public struct DMSAdapter: Sendable {
    /// `W_alpha` of each layer, `[kvHeads][hidden]`, and `RMSNorm_alpha`'s weight, `[hidden]`.
    public struct Layer: Sendable {
        public var projection: [Float]
        public var norm: [Float]

        public init(projection: [Float], norm: [Float]) {
            self.projection = projection
            self.norm = norm
        }
    }

    public var parameters: DMSParameters
    public var layers: [Layer]
    /// LoRA updates of the attention (and feed-forward) projections trained with the decisions
    /// (nil: decisions only), in the layout of the model the adapter is attached to.
    public var lowRank: LowRankAdapter?
    /// `__metadata__` as stored (settings and base-model identity).
    public var metadata: [String: String]

    /// Metadata keys of the adapter format.
    public enum Key {
        public static let formatVersion = "dms.format_version"
        public static let window = "dms.window_size"
        public static let alphaScale = "dms.alpha_scale"
        public static let offset = "dms.initial_alpha_offset"
        public static let compressionRatio = "dms.compression_ratio"
        public static let sinks = "dms.sinks"
        public static let loraRank = "dms.lora.rank"
        public static let loraAlpha = "dms.lora.alpha"
        public static let architecture = "dms.base.architecture"
        public static let hiddenSize = "dms.base.hidden_size"
        public static let layers = "dms.base.num_layers"
        public static let heads = "dms.base.num_heads"
        public static let kvHeads = "dms.base.num_kv_heads"
        public static let headDim = "dms.base.head_dim"
        public static let vocabularySize = "dms.base.vocab_size"
        public static let name = "dms.base.name"
    }

    /// NVIDIA's names: the decision weights live in each layer's attention module.
    public static func projectionName(layer: Int) -> String { "model.layers.\(layer).self_attn.dms_proj_alpha.weight" }
    public static func normName(layer: Int) -> String { "model.layers.\(layer).self_attn.dms_proj_alpha_norm.weight" }

    /// PEFT's names of a LoRA matrix (`part` is "A" or "B") of a layer's `module` (one of
    /// ``LowRankAdapter/modules``), without the `base_model.model.` prefix of a PEFT checkpoint.
    public static func loraName(layer: Int, module: String, part: String) -> String {
        "model.layers.\(layer).\(module).lora_\(part).weight"
    }

    public init(parameters: DMSParameters, layers: [Layer], lowRank: LowRankAdapter? = nil, metadata: [String: String]) {
        self.parameters = parameters
        self.layers = layers
        self.lowRank = lowRank
        self.metadata = metadata
    }

    /// The base-model identity keys an adapter records and is checked against.
    public static func identity(of c: ModelConfiguration, name: String) -> [String: String] {
        [Key.architecture: c.architecture.rawValue, Key.hiddenSize: "\(c.hiddenSize)", Key.layers: "\(c.layerCount)",
         Key.heads: "\(c.headCount)", Key.kvHeads: "\(c.kvHeadCount)", Key.headDim: "\(c.headDim)",
         Key.vocabularySize: "\(c.vocabularySize)", Key.name: name]
    }

    /// Loads an adapter and checks it was made for a model shaped like `configuration`.
    public init(path: String, for configuration: ModelConfiguration) throws {
        let file = try SafetensorsFile(path: path)
        let meta = file.metadata
        func number(_ key: String) throws -> Double {
            guard let text = meta[key], let value = Double(text), value.isFinite else {
                throw DMSError.invalidAdapter("\(path): metadata \(key) is missing or not a number")
            }
            return value
        }
        let window = try number(Key.window)
        guard window >= 0, window < 1_048_576, window == window.rounded() else {
            throw DMSError.invalidAdapter("\(path): \(Key.window) \(window) is not a valid window")
        }
        let sinks = meta[Key.sinks] == nil ? 0 : try number(Key.sinks)
        guard sinks >= 0, sinks < 1_048_576, sinks == sinks.rounded() else {
            throw DMSError.invalidAdapter("\(path): \(Key.sinks) \(sinks) is not a valid number of sinks")
        }
        parameters = DMSParameters(window: Int(window), alphaScale: Float(try number(Key.alphaScale)),
                                   offset: Float(try number(Key.offset)),
                                   trainedRatio: meta[Key.compressionRatio].flatMap(Double.init), sinks: Int(sinks))
        let expected = Self.identity(of: configuration, name: "")
        for (key, value) in expected where key != Key.name {
            guard let found = meta[key] else {
                throw DMSError.invalidAdapter("\(path): metadata \(key) (base-model identity) is missing")
            }
            guard found == value else {
                throw DMSError.adapterMismatch("\(path) was made for \(key.dropFirst("dms.base.".count)) = \(found), this model has \(value)")
            }
        }
        func floats(_ name: String, _ shape: [Int]) throws -> [Float] {
            try Self.floats(name, shape: shape, in: file, described: path)
        }
        layers = try Self.decisionLayers(in: file, described: path, for: configuration)
        lowRank = nil
        if meta[Key.loraRank] != nil {
            let rank = try number(Key.loraRank), alpha = try number(Key.loraAlpha)
            guard rank >= 1, rank <= 4096, rank == rank.rounded(), alpha > 0 else {
                throw DMSError.invalidAdapter("\(path): LoRA rank \(rank) or alpha \(alpha) is not valid")
            }
            let r = Int(rank), c = configuration
            // Feed-forward updates are there for every layer or for none.
            let feedForward = file.tensorInfo(named: Self.loraName(layer: 0, module: LowRankAdapter.modules[4], part: "A")) != nil
            let shapes = LowRankAdapter.shapes(c, feedForward: feedForward)
            lowRank = LowRankAdapter(rank: r, alpha: Float(alpha), layers: try (0..<c.layerCount).map { i in
                LowRankAdapter.Layer(updates: try zip(LowRankAdapter.modules, shapes).map { module, shape in
                    let update = LowRankUpdate(
                        rank: r, inputs: shape.inputs, outputs: shape.outputs,
                        down: try floats(Self.loraName(layer: i, module: module, part: "A"), [r, shape.inputs]),
                        up: try floats(Self.loraName(layer: i, module: module, part: "B"), [shape.outputs, r]))
                    // stored half-split like Hugging Face's Q/K rows; GGUF Llama rows are interleaved
                    return LowRankAdapter.isRotated(module: module) && c.ropeLayout == .interleaved
                        ? update.permutingRows(headDim: c.headDim, toInterleaved: true) : update
                })
            })
        }
        metadata = meta
    }

    /// The decision weights a model checkpoint carries when NVIDIA's retrofit recipe saved it
    /// (`dms_separate_alpha` in config.json; the tensors under this format's names, beside the
    /// base weights), with the DMS settings of its config.json and no sinks. With `dms_alpha_per`
    /// `layer`, every KV head takes the first one's decision, so every head gets its weights.
    public init(checkpoint: TensorSource, config: HFConfig, for configuration: ModelConfiguration) throws {
        guard let parameters = try DMSParameters(huggingFace: config) else {
            throw DMSError.invalidAdapter(
                "config.json sets dms_separate_alpha but not dms_alpha_scale, dms_initial_alpha_offset and dms_window_size")
        }
        try parameters.validate()
        self.parameters = parameters
        var layers = try Self.decisionLayers(in: checkpoint, described: "the checkpoint", for: configuration)
        if config.dmsDecisionPerLayer {
            let hidden = configuration.hiddenSize
            layers = layers.map { layer in
                Layer(projection: Array((0..<configuration.kvHeadCount).map { _ in layer.projection[0..<hidden] }.joined()),
                      norm: layer.norm)
            }
        }
        self.layers = layers
        lowRank = nil
        metadata = [:]
    }

    /// Every layer's `W_alpha` and `RMSNorm_alpha` weight from `source`, checked against `configuration`.
    static func decisionLayers(in source: TensorSource, described: String, for configuration: ModelConfiguration) throws -> [Layer] {
        let hidden = configuration.hiddenSize, kvHeads = configuration.kvHeadCount
        return try (0..<configuration.layerCount).map { i in
            Layer(projection: try floats(projectionName(layer: i), shape: [kvHeads, hidden], in: source, described: described),
                  norm: try floats(normName(layer: i), shape: [hidden], in: source, described: described))
        }
    }

    /// Tensor `name` of `source` as floats, checked to have `shape`.
    static func floats(_ name: String, shape: [Int], in source: TensorSource, described: String) throws -> [Float] {
        guard source.hasTensor(name) else { throw DMSError.invalidAdapter("\(described): missing tensor \(name)") }
        let tensor = try source.tensor(named: name)
        guard tensor.shape == shape else {
            throw DMSError.adapterMismatch("\(name) has shape \(tensor.shape), expected \(shape)")
        }
        return try ModelWeights.floats(tensor, count: shape.reduce(1, *))
    }
}
