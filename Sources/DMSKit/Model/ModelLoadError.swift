/// Why a model could not be loaded.
public enum ModelLoadError: Error, CustomStringConvertible, Sendable {
    case invalidConfiguration(String)
    case unsupportedArchitecture(String)
    case missingTensor(String)
    case tensorShapeMismatch(name: String, expected: [Int], found: [Int])
    case unsupportedNormType(name: String, type: WeightType)
    case notAModel(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let message):
            return "invalid model configuration: \(message)"
        case .unsupportedArchitecture(let name):
            return "unsupported architecture '\(name)' (supported: llama, qwen3)"
        case .missingTensor(let name):
            return "missing tensor '\(name)'"
        case .tensorShapeMismatch(let name, let expected, let found):
            return "tensor '\(name)' has shape \(found), expected \(expected)"
        case .unsupportedNormType(let name, let type):
            return "norm tensor '\(name)' has type \(type.rawValue); norms must be F32, F16 or BF16"
        case .notAModel(let path):
            return "'\(path)' is neither a GGUF file nor a Hugging Face model directory (config.json + safetensors)"
        }
    }
}
