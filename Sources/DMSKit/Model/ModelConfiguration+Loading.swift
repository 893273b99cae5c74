extension ModelConfiguration {
    /// Reads the configuration from GGUF metadata (`general.architecture` and its `<arch>.*` keys).
    init(gguf: GGUFFile) throws {
        let meta = gguf.metadata
        guard let archName = meta["general.architecture"]?.string else {
            throw ModelLoadError.invalidConfiguration("\(gguf.path): missing general.architecture")
        }
        guard let arch = Architecture(rawValue: archName) else {
            throw ModelLoadError.unsupportedArchitecture(archName)
        }
        func int(_ key: String) throws -> Int {
            guard let value = meta["\(archName).\(key)"]?.int else {
                throw ModelLoadError.invalidConfiguration("\(gguf.path): missing or non-integer \(archName).\(key)")
            }
            return value
        }
        func optionalDouble(_ key: String) -> Double? { meta["\(archName).\(key)"]?.double }
        let hidden = try int("embedding_length")
        let heads = try int("attention.head_count")
        let vocabulary = meta["\(archName).vocab_size"]?.int
            ?? meta["tokenizer.ggml.tokens"]?.array?.count
            ?? gguf.tensorInfos.first { $0.name == "token_embd.weight" }?.shape.first
        guard let vocabulary else {
            throw ModelLoadError.invalidConfiguration("\(gguf.path): cannot tell the vocabulary size")
        }
        var scaling: RopeScaling?
        if let type = meta["\(archName).rope.scaling.type"]?.string, type != "none" {
            guard type == "linear", let factor = optionalDouble("rope.scaling.factor") else {
                throw ModelLoadError.invalidConfiguration("\(gguf.path): unsupported RoPE scaling '\(type)'")
            }
            scaling = .linear(factor: factor)
        }
        self.init(
            architecture: arch,
            hiddenSize: hidden,
            intermediateSize: try int("feed_forward_length"),
            layerCount: try int("block_count"),
            headCount: heads,
            kvHeadCount: meta["\(archName).attention.head_count_kv"]?.int ?? heads,
            headDim: meta["\(archName).attention.key_length"]?.int ?? hidden / max(heads, 1),
            vocabularySize: vocabulary,
            contextLength: try int("context_length"),
            rmsNormEpsilon: Float(optionalDouble("attention.layer_norm_rms_epsilon") ?? 1e-5),
            ropeTheta: optionalDouble("rope.freq_base") ?? 10_000,
            ropeScaling: scaling,
            // llama.cpp's converter permutes Llama's Q/K rows for interleaved RoPE; Qwen3 keeps NEOX.
            ropeLayout: arch == .llama ? .interleaved : .halfSplit,
            hasQKNorm: arch == .qwen3,
            tiedEmbeddings: !gguf.hasTensor("output.weight"))
        try validate()
    }

    /// Reads the configuration from a Hugging Face `config.json`.
    init(huggingFace config: HFConfig) throws {
        guard let arch = Architecture(rawValue: config.modelType) else {
            throw ModelLoadError.unsupportedArchitecture(config.modelType)
        }
        if let activation = config.raw["hidden_act"] as? String, activation != "silu" {
            throw ModelLoadError.invalidConfiguration("hidden_act '\(activation)' is not supported (only silu)")
        }
        for flag in ["attention_bias", "mlp_bias", "use_sliding_window"] where config.raw[flag] as? Bool == true {
            throw ModelLoadError.invalidConfiguration("\(flag) = true is not supported")
        }
        self.init(
            architecture: arch,
            hiddenSize: config.hiddenSize,
            intermediateSize: config.intermediateSize,
            layerCount: config.numHiddenLayers,
            headCount: config.numAttentionHeads,
            kvHeadCount: config.numKeyValueHeads,
            headDim: config.headDim,
            vocabularySize: config.vocabSize,
            // transformers' defaults when config.json leaves it out.
            contextLength: config.maxPositionEmbeddings ?? (arch == .llama ? 2048 : 32768),
            rmsNormEpsilon: Float(config.rmsNormEps),
            ropeTheta: config.ropeTheta,
            ropeScaling: try RopeScaling(huggingFace: config.ropeScaling),
            ropeLayout: .halfSplit,
            hasQKNorm: arch == .qwen3,
            tiedEmbeddings: config.tieWordEmbeddings,
            queryNeuronDMS: try Self.queryNeuronDMS(config))
        try validate()
    }
}

extension RopeScaling {
    /// Parses a `rope_scaling` dictionary; nil or "default" means none.
    init?(huggingFace dictionary: [String: Any]?) throws {
        guard let dictionary else { return nil }
        let type = (dictionary["rope_type"] ?? dictionary["type"]) as? String ?? "default"
        func number(_ key: String) -> Double? {
            (dictionary[key] as? Double) ?? (dictionary[key] as? Int).map(Double.init)
        }
        switch type {
        case "default":
            return nil
        case "linear":
            guard let factor = number("factor") else { throw ModelLoadError.invalidConfiguration("rope_scaling linear without factor") }
            self = .linear(factor: factor)
        case "llama3":
            guard let factor = number("factor"), let low = number("low_freq_factor"),
                  let high = number("high_freq_factor"),
                  let original = number("original_max_position_embeddings") else {
                throw ModelLoadError.invalidConfiguration("rope_scaling llama3 is missing a field")
            }
            self = .llama3(factor: factor, lowFrequencyFactor: low, highFrequencyFactor: high, originalContextLength: Int(original))
        default:
            throw ModelLoadError.invalidConfiguration("unsupported rope_scaling type '\(type)'")
        }
    }
}

extension ModelConfiguration {
    /// Variant A settings when config.json carries the DMS fields and no separate decision
    /// weights (those are variant B: ``DMSAdapter/init(checkpoint:config:for:)``).
    static func queryNeuronDMS(_ config: HFConfig) throws -> DMSParameters? {
        config.dmsSeparateAlpha ? nil : try DMSParameters(huggingFace: config)
    }
}

extension DMSParameters {
    /// The DMS settings of a config.json: all of `dms_alpha_scale`, `dms_initial_alpha_offset`
    /// and `dms_window_size`, or none (nil).
    init?(huggingFace config: HFConfig) throws {
        let present = [config.dmsAlphaScale != nil, config.dmsInitialAlphaOffset != nil, config.dmsWindowSize != nil]
        guard present.contains(true) else { return nil }
        guard let scale = config.dmsAlphaScale, let offset = config.dmsInitialAlphaOffset,
              let window = config.dmsWindowSize else {
            throw ModelLoadError.invalidConfiguration(
                "config.json has some but not all of dms_alpha_scale, dms_initial_alpha_offset, dms_window_size")
        }
        self.init(window: window, alphaScale: Float(scale), offset: Float(offset), trainedRatio: config.dmsCompressionRatio)
    }
}

extension DMSParameters {
    /// Throws ``ModelLoadError/invalidConfiguration(_:)`` when the settings of a config.json
    /// cannot run: a window out of range, a scale or offset that is not finite.
    func validate() throws {
        guard window >= 0 && window < 1 << 20 else {
            throw ModelLoadError.invalidConfiguration("dms_window_size \(window) is out of range")
        }
        guard alphaScale.isFinite && offset.isFinite else {
            throw ModelLoadError.invalidConfiguration("dms_alpha_scale and dms_initial_alpha_offset must be finite")
        }
    }
}
