/// A weight matrix `[rows, columns]` in any supported encoding, applied as `y = W x`.
public struct LinearWeight: @unchecked Sendable {
    public let tensor: TensorView
    public let rows: Int
    public let columns: Int

    /// Wraps `tensor`, checking it is a `[rows, columns]` matrix.
    public init(_ tensor: TensorView, rows: Int, columns: Int) throws {
        guard tensor.shape == [rows, columns] else {
            throw ModelLoadError.tensorShapeMismatch(name: tensor.name, expected: [rows, columns], found: tensor.shape)
        }
        guard columns % tensor.type.blockSize == 0,
              tensor.byteCount >= rows * tensor.type.rowBytes(columns: columns) else {
            throw ModelLoadError.invalidConfiguration("tensor '\(tensor.name)' is too small for its shape")
        }
        self.tensor = tensor
        self.rows = rows
        self.columns = columns
    }

    /// `output[t] = W · input[t]` for `tokens` rows of `input`.
    @inlinable
    public func apply(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>, pool: WorkerPool?,
                      activations: ActivationPrecision = .float32) {
        Kernels.matmul(pool: pool, type: tensor.type, weights: tensor.data, rows: rows, columns: columns,
                       input: input, tokens: tokens, output: output, activations: activations)
    }

    /// Row `index` as f32 values (an embedding lookup).
    @inlinable
    public func row(_ index: Int, into output: UnsafeMutablePointer<Float>) {
        let bytes = tensor.type.rowBytes(columns: columns)
        Kernels.dequantizeRow(type: tensor.type, source: tensor.data + index * bytes, destination: output, columns: columns)
    }
}
