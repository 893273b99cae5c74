/// Where and how one tensor is stored in a GGUF file.
public struct GGUFTensorInfo: Sendable {
    /// The tensor's name, e.g. `blk.0.attn_q.weight`.
    public let name: String
    /// The stored encoding (possibly one the kernels cannot use).
    public let ggmlType: GGMLType
    /// Dimensions outermost-first (GGUF's `ne` reversed): a weight matrix is `[rows, columns]`.
    public let shape: [Int]
    /// Absolute byte offset of the tensor's data in the file.
    public let offset: Int
    /// Size of the tensor's data in bytes.
    public let byteCount: Int

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}
