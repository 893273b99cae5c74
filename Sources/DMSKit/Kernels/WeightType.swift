import CDMSKernels

/// The weight encodings the kernels compute with, laid out exactly as GGML stores them.
public enum WeightType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case q8_0 = "Q8_0"
    case q4_0 = "Q4_0"
    case q4_1 = "Q4_1"

    /// Elements per quantization block (1 for plain floats).
    @inlinable public var blockSize: Int {
        switch self {
        case .f32, .f16, .bf16: return 1
        case .q8_0, .q4_0, .q4_1: return 32
        }
    }

    /// Bytes of one block of `blockSize` elements.
    @inlinable public var blockBytes: Int {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .q8_0: return 34
        case .q4_0: return 18
        case .q4_1: return 20
        }
    }

    /// Bytes of one row of `columns` elements (`columns` a multiple of `blockSize`).
    @inlinable public func rowBytes(columns: Int) -> Int {
        columns / blockSize * blockBytes
    }

    /// The matching C enumeration value.
    @inlinable public var cType: dms_wtype {
        switch self {
        case .f32: return DMS_WTYPE_F32
        case .f16: return DMS_WTYPE_F16
        case .bf16: return DMS_WTYPE_BF16
        case .q8_0: return DMS_WTYPE_Q8_0
        case .q4_0: return DMS_WTYPE_Q4_0
        case .q4_1: return DMS_WTYPE_Q4_1
        }
    }
}
