import ArgumentParser
import DMSKit
import Foundation

struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect", abstract: "Architecture, sizes, tensor types, tokenizer and chat template of a model.")

    @Option(name: .shortAndLong, help: "A GGUF file or Hugging Face model directory.")
    var model: String

    @Flag(help: "Print one JSON object.")
    var json = false

    struct Report: Encodable {
        var path: String
        var format: String
        var architecture: String
        var layers: Int
        var hiddenSize: Int
        var intermediateSize: Int
        var heads: Int
        var kvHeads: Int
        var headDim: Int
        var vocabularySize: Int
        var contextLength: Int
        var ropeTheta: Double
        var ropeLayout: String
        var tiedEmbeddings: Bool
        var qkNorm: Bool
        var weightBytes: Int
        var tensorTypes: [String: Int]
        var tokenizerVocabulary: Int
        var bosTokenId: Int?
        var eosTokenIds: [Int]
        var chatTemplate: String
        /// The DMS decisions the model runs with by default; nil for a plain model.
        var dms: String?

        enum CodingKeys: String, CodingKey {
            case path, format, architecture, layers, heads
            case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
            case kvHeads = "kv_heads", headDim = "head_dim", vocabularySize = "vocabulary_size"
            case contextLength = "context_length", ropeTheta = "rope_theta", ropeLayout = "rope_layout"
            case tiedEmbeddings = "tied_embeddings", qkNorm = "qk_norm", weightBytes = "weight_bytes"
            case tensorTypes = "tensor_types", tokenizerVocabulary = "tokenizer_vocabulary"
            case bosTokenId = "bos_token_id", eosTokenIds = "eos_token_ids", chatTemplate = "chat_template", dms
        }
    }

    func run() throws {
        let loaded = try LoadedModel(path: model, threads: 1)
        let c = loaded.configuration
        let template: String
        do { template = try loaded.chatTemplate().family.rawValue } catch { template = "none (\(error))" }
        let report = Report(
            path: loaded.path, format: loaded.format.rawValue, architecture: c.architecture.rawValue,
            layers: c.layerCount, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize,
            heads: c.headCount, kvHeads: c.kvHeadCount, headDim: c.headDim, vocabularySize: c.vocabularySize,
            contextLength: c.contextLength, ropeTheta: c.ropeTheta, ropeLayout: c.ropeLayout.rawValue,
            tiedEmbeddings: c.tiedEmbeddings, qkNorm: c.hasQKNorm, weightBytes: loaded.weightBytes,
            tensorTypes: loaded.tensorTypeCounts, tokenizerVocabulary: loaded.tokenizer.vocabularySize,
            bosTokenId: loaded.tokenizer.bosTokenId, eosTokenIds: loaded.tokenizer.eosTokenIds.sorted(),
            chatTemplate: template, dms: loaded.model.evictionSource?.summary)
        if json {
            try printJSON(report)
            return
        }
        print("""
        \(report.path) (\(report.format))
          architecture     \(report.architecture), \(c.layerCount) layers, hidden \(c.hiddenSize), FFN \(c.intermediateSize)
          attention        \(c.headCount) query heads, \(c.kvHeadCount) KV heads, head dim \(c.headDim)\(c.hasQKNorm ? ", q/k norm" : "")
          RoPE             base \(c.ropeTheta), \(c.ropeLayout.rawValue) pairs\(c.ropeScaling.map { ", scaling \($0)" } ?? "")
          context          \(c.contextLength) tokens
          vocabulary       \(c.vocabularySize) (\(c.tiedEmbeddings ? "tied" : "separate") output)
          weights          \(String(format: "%.1f MiB", Double(report.weightBytes) / 1_048_576)), \
        \(report.tensorTypes.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: ", "))
          tokenizer        byte-level BPE, \(report.tokenizerVocabulary) tokens, BOS \(report.bosTokenId.map(String.init) ?? "none"), \
        end of turn \(report.eosTokenIds.map(String.init).joined(separator: ","))
          chat template    \(report.chatTemplate)
          DMS              \(report.dms ?? "none (full KV cache unless an adapter is given)")
          kernels          \(Kernels.isa)
        """)
    }
}
