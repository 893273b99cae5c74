/// A read-only view of one tensor inside a loaded file (GGUF or safetensors).
///
/// `shape` is outermost-first, as PyTorch writes it: a weight matrix is `[rows, columns]` and
/// each row is contiguous. The bytes stay valid while `owner` (the mapped file) is alive.
public struct TensorView: @unchecked Sendable {
    public let name: String
    public let type: WeightType
    public let shape: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int
    /// Keeps the underlying storage (a memory map) alive.
    public let owner: AnyObject

    public init(name: String, type: WeightType, shape: [Int], data: UnsafeRawPointer, byteCount: Int, owner: AnyObject) {
        self.name = name
        self.type = type
        self.shape = shape
        self.data = data
        self.byteCount = byteCount
        self.owner = owner
    }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}
