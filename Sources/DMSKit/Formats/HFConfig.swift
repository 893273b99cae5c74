import Foundation

/// The architecture hyperparameters of a Hugging Face transformer, from its `config.json`.
///
/// Optional fields get the defaults `transformers` uses for Llama and Qwen3. Fields this type
/// does not name (e.g. `hidden_act`, `attention_bias`) are reachable through `raw`.
public struct HFConfig: @unchecked Sendable {  // `raw` holds immutable JSONSerialization values only
    /// `model_type`, e.g. `llama` or `qwen3`.
    public let modelType: String
    /// `architectures`, e.g. `["LlamaForCausalLM"]` (empty if absent).
    public let architectures: [String]
    /// `hidden_size`.
    public let hiddenSize: Int
    /// `intermediate_size`.
    public let intermediateSize: Int
    /// `num_hidden_layers`.
    public let numHiddenLayers: Int
    /// `num_attention_heads`.
    public let numAttentionHeads: Int
    /// `num_key_value_heads`; defaults to `numAttentionHeads` (no grouped-query attention).
    public let numKeyValueHeads: Int
    /// `head_dim`; defaults to `hiddenSize / numAttentionHeads`.
    public let headDim: Int
    /// `rms_norm_eps`; defaults to 1e-6.
    public let rmsNormEps: Double
    /// `rope_theta` (or `rope_parameters.rope_theta`); defaults to 10000.
    public let ropeTheta: Double
    /// `max_position_embeddings`, if given.
    public let maxPositionEmbeddings: Int?
    /// `vocab_size`.
    public let vocabSize: Int
    /// `tie_word_embeddings`; defaults to false.
    public let tieWordEmbeddings: Bool
    /// `bos_token_id`, if given.
    public let bosTokenId: Int?
    /// `eos_token_id`, which the file may give as one id or a list (empty if absent).
    public let eosTokenIds: [Int]
    /// `torch_dtype` (or the newer `dtype`), e.g. `bfloat16`.
    public let torchDtype: String?
    /// DMS: scale applied to the eviction logit (`dms_alpha_scale`).
    public let dmsAlphaScale: Double?
    /// DMS: offset added to the eviction logit (`dms_initial_alpha_offset`).
    public let dmsInitialAlphaOffset: Double?
    /// DMS: sliding window during which evicted tokens stay visible (`dms_window_size`).
    public let dmsWindowSize: Int?
    /// DMS: target KV-cache compression ratio (`dms_cr`).
    public let dmsCompressionRatio: Double?
    /// DMS: the decisions come from separate per-layer weights saved in the checkpoint
    /// (`dms_separate_alpha`, NVIDIA's retrofit recipe), not from a query neuron; defaults to false.
    public let dmsSeparateAlpha: Bool
    /// DMS: one decision per KV head, or one per layer for all heads (`dms_alpha_per`, `head` or
    /// `layer`); defaults to per head.
    public let dmsDecisionPerLayer: Bool
    /// DMS: eviction switched off, so the checkpoint runs as its base model (`dms_disable_eviction`).
    public let dmsDisableEviction: Bool
    /// The whole JSON object, as `JSONSerialization` returns it.
    public let raw: [String: Any]

    /// `rope_scaling` as a raw dictionary, or nil when there is none. With the newer
    /// `rope_parameters` layout, that dictionary counts unless its `rope_type` is `default`.
    public var ropeScaling: [String: Any]? {
        if let scaling = raw["rope_scaling"] as? [String: Any] { return scaling }
        if let parameters = raw["rope_parameters"] as? [String: Any],
           let type = parameters["rope_type"] as? String, type != "default" {
            return parameters
        }
        return nil
    }

    /// Reads and parses the `config.json` at `path`.
    public init(path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw HFConfigError.cannotRead(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, source: path)
    }

    /// Parses config JSON held in memory; `source` names it in errors.
    public init(data: Data, source: String) throws {
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw HFConfigError.invalidJSON(path: source, reason: "not valid JSON")
        }
        guard let object = json as? [String: Any] else {
            throw HFConfigError.invalidJSON(path: source, reason: "the top level is not a JSON object")
        }
        let fields = Fields(object: object, source: source)

        raw = object
        modelType = try fields.required("model_type", fields.string)
        architectures = try fields.optional("architectures", fields.stringArray) ?? []
        hiddenSize = try fields.required("hidden_size", fields.positiveInt)
        intermediateSize = try fields.required("intermediate_size", fields.positiveInt)
        numHiddenLayers = try fields.required("num_hidden_layers", fields.positiveInt)
        numAttentionHeads = try fields.required("num_attention_heads", fields.positiveInt)
        vocabSize = try fields.required("vocab_size", fields.positiveInt)
        numKeyValueHeads = try fields.optional("num_key_value_heads", fields.positiveInt) ?? numAttentionHeads
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw HFConfigError.invalidField(path: source, field: "num_key_value_heads",
                                             reason: "(\(numKeyValueHeads)) does not divide num_attention_heads (\(numAttentionHeads))")
        }
        if let headDim = try fields.optional("head_dim", fields.positiveInt) {
            self.headDim = headDim
        } else {
            guard hiddenSize % numAttentionHeads == 0 else {
                throw HFConfigError.missingField(path: source, field: "head_dim (hidden_size is not a multiple of num_attention_heads)")
            }
            headDim = hiddenSize / numAttentionHeads
        }
        rmsNormEps = try fields.optional("rms_norm_eps", fields.double) ?? 1e-6
        let ropeParameters = object["rope_parameters"] as? [String: Any]
        ropeTheta = try fields.optional("rope_theta", fields.double)
            ?? (ropeParameters?["rope_theta"]).flatMap(Fields.number) ?? 10000
        maxPositionEmbeddings = try fields.optional("max_position_embeddings", fields.positiveInt)
        tieWordEmbeddings = try fields.optional("tie_word_embeddings", fields.bool) ?? false
        bosTokenId = try fields.optional("bos_token_id", fields.int)
        eosTokenIds = try fields.optional("eos_token_id", fields.intOrIntArray) ?? []
        torchDtype = try fields.optional("torch_dtype", fields.string) ?? fields.optional("dtype", fields.string)
        dmsAlphaScale = try fields.optional("dms_alpha_scale", fields.double)
        dmsInitialAlphaOffset = try fields.optional("dms_initial_alpha_offset", fields.double)
        dmsWindowSize = try fields.optional("dms_window_size", fields.int)
        dmsCompressionRatio = try fields.optional("dms_cr", fields.double)
        dmsSeparateAlpha = try fields.optional("dms_separate_alpha", fields.bool) ?? false
        switch try fields.optional("dms_alpha_per", fields.string) {
        case nil, "head": dmsDecisionPerLayer = false
        case "layer": dmsDecisionPerLayer = true
        case let other?:
            throw HFConfigError.invalidField(path: source, field: "dms_alpha_per", reason: "'\(other)' is neither 'head' nor 'layer'")
        }
        dmsDisableEviction = try fields.optional("dms_disable_eviction", fields.bool) ?? false
    }

    /// Typed access to the JSON object's fields. JSON `null` counts as absent.
    private struct Fields {
        let object: [String: Any]
        let source: String

        func required<T>(_ key: String, _ convert: (Any) -> T?) throws -> T {
            guard let value = try optional(key, convert) else {
                throw HFConfigError.missingField(path: source, field: key)
            }
            return value
        }

        func optional<T>(_ key: String, _ convert: (Any) -> T?) throws -> T? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let converted = convert(value) else {
                throw HFConfigError.invalidField(path: source, field: key, reason: "has unexpected value \(value)")
            }
            return converted
        }

        /// A JSON number that is not a boolean. Foundation bridges both through NSNumber;
        /// booleans are the ones with Objective-C type "c", which JSON numbers never get.
        static func number(_ value: Any) -> Double? {
            guard let number = value as? NSNumber, !isBoolean(number) else { return nil }
            return number.doubleValue
        }

        private static func isBoolean(_ number: NSNumber) -> Bool {
            String(cString: number.objCType) == "c"
        }

        func string(_ value: Any) -> String? { value as? String }
        func stringArray(_ value: Any) -> [String]? { value as? [String] }
        func double(_ value: Any) -> Double? { Self.number(value) }

        /// An integral JSON number that fits in `Int` (`1.0` counts, `1.5` does not).
        func int(_ value: Any) -> Int? {
            guard let number = value as? NSNumber, !Self.isBoolean(number) else { return nil }
            return value as? Int
        }

        func positiveInt(_ value: Any) -> Int? { int(value).flatMap { $0 > 0 ? $0 : nil } }

        func bool(_ value: Any) -> Bool? {
            guard let number = value as? NSNumber, Self.isBoolean(number) else { return nil }
            return number.boolValue
        }

        func intOrIntArray(_ value: Any) -> [Int]? {
            if let single = int(value) { return [single] }
            guard let array = value as? [Any] else { return nil }
            var ids: [Int] = []
            for element in array {
                guard let id = int(element) else { return nil }
                ids.append(id)
            }
            return ids
        }
    }
}
