/// Where and how one tensor is stored in a safetensors file.
public struct SafetensorsTensorInfo: Sendable {
    /// The tensor's name, e.g. `model.layers.0.self_attn.q_proj.weight`.
    public let name: String
    /// The dtype as the header spells it (`F32`, `BF16`, `I64`, `F8_E4M3`, …).
    public let dtype: String
    /// Dimensions outermost-first, as PyTorch writes them.
    public let shape: [Int]
    /// Absolute byte offset of the tensor's data in the file.
    public let offset: Int
    /// Size of the tensor's data in bytes.
    public let byteCount: Int

    /// The matching kernel encoding, or nil for dtypes the kernels cannot use.
    public var weightType: WeightType? {
        switch dtype {
        case "F32": return .f32
        case "F16": return .f16
        case "BF16": return .bf16
        default: return nil
        }
    }

    /// Bytes per element of the dtypes whose size is fixed and known; nil for the others
    /// (sub-byte floats and anything newer), whose sizes are then not cross-checked.
    static func elementBytes(dtype: String) -> Int? {
        switch dtype {
        case "F64", "I64", "U64": return 8
        case "F32", "I32", "U32": return 4
        case "F16", "BF16", "I16", "U16": return 2
        case "F8_E4M3", "F8_E5M2", "F8_E8M0", "I8", "U8", "BOOL": return 1
        default: return nil
        }
    }
}
