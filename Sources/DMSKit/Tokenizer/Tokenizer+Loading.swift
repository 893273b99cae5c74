import Foundation

extension Tokenizer {
    /// Loads the tokenizer of a model without its weights: from a GGUF file's metadata, or from a
    /// Hugging Face directory's `tokenizer.json` (and `tokenizer_config.json` when present).
    public convenience init(modelPath path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelLoadError.notAModel(path)
        }
        if isDirectory.boolValue {
            let directory = URL(fileURLWithPath: path)
            let config = directory.appendingPathComponent("tokenizer_config.json")
            self.init(data: try TokenizerData(
                tokenizerJSON: directory.appendingPathComponent("tokenizer.json"),
                tokenizerConfig: FileManager.default.fileExists(atPath: config.path) ? config : nil))
        } else {
            self.init(data: try TokenizerData(ggufMetadata: GGUFFile(path: path).metadata))
        }
    }
}
