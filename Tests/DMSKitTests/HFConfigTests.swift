import DMSKit
import Foundation
import Testing

private let smolLM2Config = """
{
  "architectures": ["LlamaForCausalLM"], "attention_bias": false, "bos_token_id": 1, "eos_token_id": 2,
  "hidden_act": "silu", "hidden_size": 576, "initializer_range": 0.041666666666666664,
  "intermediate_size": 1536, "max_position_embeddings": 8192, "model_type": "llama",
  "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3, "pretraining_tp": 1,
  "rms_norm_eps": 1e-05, "rope_scaling": null, "rope_theta": 100000, "tie_word_embeddings": true,
  "torch_dtype": "bfloat16", "transformers_version": "4.42.3", "use_cache": true, "vocab_size": 49152
}
"""

private let qwen3DMSConfig = """
{
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "bos_token_id": 151643,
  "eos_token_id": [151645, 151643], "head_dim": 128, "hidden_size": 4096, "intermediate_size": 12288,
  "max_position_embeddings": 40960, "model_type": "qwen3", "num_attention_heads": 32,
  "num_hidden_layers": 36, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
  "rope_scaling": {"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 32768},
  "rope_theta": 1000000, "tie_word_embeddings": false, "dtype": "bfloat16", "vocab_size": 151936,
  "dms_alpha_scale": 100.0, "dms_initial_alpha_offset": 5, "dms_window_size": 256, "dms_cr": 8
}
"""

/// Expects parsing `json` to fail with an `HFConfigError` whose message contains `fragment`.
private func expectConfigError(_ json: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try HFConfig(data: Data(json.utf8), source: "/models/x/config.json")
        Issue.record("expected an HFConfigError containing \"\(fragment)\"", sourceLocation: sourceLocation)
    } catch let error as HFConfigError {
        #expect(error.description.contains(fragment), "\(error.description)", sourceLocation: sourceLocation)
        #expect(error.description.contains("/models/x/config.json"), sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected an HFConfigError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("Hugging Face config.json")
struct HFConfigTests {
    @Test("reads a Llama (SmolLM2) config from disk")
    func llama() throws {
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        let config = try HFConfig(path: dir.write(Array(smolLM2Config.utf8), to: "config.json"))
        #expect(config.modelType == "llama")
        #expect(config.architectures == ["LlamaForCausalLM"])
        #expect(config.hiddenSize == 576)
        #expect(config.intermediateSize == 1536)
        #expect(config.numHiddenLayers == 30)
        #expect(config.numAttentionHeads == 9)
        #expect(config.numKeyValueHeads == 3)
        #expect(config.headDim == 64)
        #expect(config.rmsNormEps == 1e-5)
        #expect(config.ropeTheta == 100_000)
        #expect(config.ropeScaling == nil)
        #expect(config.maxPositionEmbeddings == 8192)
        #expect(config.vocabSize == 49152)
        #expect(config.tieWordEmbeddings)
        #expect(config.bosTokenId == 1)
        #expect(config.eosTokenIds == [2])
        #expect(config.torchDtype == "bfloat16")
        #expect(config.dmsAlphaScale == nil && config.dmsWindowSize == nil)
        #expect(config.raw["hidden_act"] as? String == "silu")
    }

    @Test("reads a Qwen3 config with DMS fields")
    func qwen3() throws {
        let config = try HFConfig(data: Data(qwen3DMSConfig.utf8), source: "config.json")
        #expect(config.modelType == "qwen3")
        #expect(config.headDim == 128)
        #expect(config.numKeyValueHeads == 8)
        #expect(config.eosTokenIds == [151645, 151643])
        #expect(config.ropeTheta == 1_000_000)
        #expect(config.ropeScaling?["rope_type"] as? String == "yarn")
        #expect(config.ropeScaling?["factor"] as? Double == 4)
        #expect(config.tieWordEmbeddings == false)
        #expect(config.torchDtype == "bfloat16")
        #expect(config.dmsAlphaScale == 100)
        #expect(config.dmsInitialAlphaOffset == 5)
        #expect(config.dmsWindowSize == 256)
        #expect(config.dmsCompressionRatio == 8)
    }

    @Test("applies defaults for optional fields")
    func defaults() throws {
        let json = """
        {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 100, "head_dim": null,
         "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0}}
        """
        let config = try HFConfig(data: Data(json.utf8), source: "config.json")
        #expect(config.numKeyValueHeads == 4)
        #expect(config.headDim == 16)
        #expect(config.rmsNormEps == 1e-6)
        #expect(config.ropeTheta == 500_000)  // from the newer rope_parameters layout
        #expect(config.ropeScaling == nil)
        #expect(config.tieWordEmbeddings == false)
        #expect(config.bosTokenId == nil && config.eosTokenIds.isEmpty)
        #expect(config.architectures.isEmpty && config.maxPositionEmbeddings == nil && config.torchDtype == nil)

        let bare = """
        {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
         "num_attention_heads": 4, "vocab_size": 100}
        """
        #expect(try HFConfig(data: Data(bare.utf8), source: "config.json").ropeTheta == 10000)
    }

    @Test("reports missing, mistyped and inconsistent fields")
    func errors() {
        expectConfigError(#"{"model_type": "llama", "hidden_size": 64"#, "not valid JSON")
        expectConfigError("[1]", "not a JSON object")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""hidden_size": 576,"#, with: ""),
                          "lacks required field hidden_size")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""model_type": "llama","#, with: ""),
                          "lacks required field model_type")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""hidden_size": 576"#, with: #""hidden_size": "576""#),
                          "field hidden_size has unexpected value")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""hidden_size": 576"#, with: #""hidden_size": 57.6"#),
                          "field hidden_size")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""hidden_size": 576"#, with: #""hidden_size": true"#),
                          "field hidden_size")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""num_hidden_layers": 30"#, with: #""num_hidden_layers": 0"#),
                          "field num_hidden_layers")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""tie_word_embeddings": true"#, with: #""tie_word_embeddings": 1"#),
                          "field tie_word_embeddings")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""eos_token_id": 2"#, with: #""eos_token_id": [2, "x"]"#),
                          "field eos_token_id")
        expectConfigError(smolLM2Config.replacingOccurrences(of: #""num_key_value_heads": 3"#, with: #""num_key_value_heads": 2"#),
                          "num_key_value_heads")
    }

    @Test("reports an unreadable file with its path")
    func unreadable() {
        #expect {
            _ = try HFConfig(path: "/nonexistent/dir/config.json")
        } throws: { error in
            "\(error)".contains("/nonexistent/dir/config.json") && error is HFConfigError
        }
    }
}
