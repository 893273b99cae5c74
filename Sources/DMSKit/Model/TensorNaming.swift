/// Tensor names of the two file conventions.
enum TensorNaming {
    case gguf
    case huggingFace

    var tokenEmbedding: String {
        self == .gguf ? "token_embd.weight" : "model.embed_tokens.weight"
    }
    var outputNorm: String {
        self == .gguf ? "output_norm.weight" : "model.norm.weight"
    }
    var output: String {
        self == .gguf ? "output.weight" : "lm_head.weight"
    }

    enum LayerTensor {
        case attentionNorm, query, key, value, output, queryNorm, keyNorm, feedForwardNorm, gate, up, down
    }

    func name(_ tensor: LayerTensor, layer: Int) -> String {
        switch self {
        case .gguf:
            let suffix: String
            switch tensor {
            case .attentionNorm: suffix = "attn_norm"
            case .query: suffix = "attn_q"
            case .key: suffix = "attn_k"
            case .value: suffix = "attn_v"
            case .output: suffix = "attn_output"
            case .queryNorm: suffix = "attn_q_norm"
            case .keyNorm: suffix = "attn_k_norm"
            case .feedForwardNorm: suffix = "ffn_norm"
            case .gate: suffix = "ffn_gate"
            case .up: suffix = "ffn_up"
            case .down: suffix = "ffn_down"
            }
            return "blk.\(layer).\(suffix).weight"
        case .huggingFace:
            let suffix: String
            switch tensor {
            case .attentionNorm: suffix = "input_layernorm"
            case .query: suffix = "self_attn.q_proj"
            case .key: suffix = "self_attn.k_proj"
            case .value: suffix = "self_attn.v_proj"
            case .output: suffix = "self_attn.o_proj"
            case .queryNorm: suffix = "self_attn.q_norm"
            case .keyNorm: suffix = "self_attn.k_norm"
            case .feedForwardNorm: suffix = "post_attention_layernorm"
            case .gate: suffix = "mlp.gate_proj"
            case .up: suffix = "mlp.up_proj"
            case .down: suffix = "mlp.down_proj"
            }
            return "model.layers.\(layer).\(suffix).weight"
        }
    }
}
