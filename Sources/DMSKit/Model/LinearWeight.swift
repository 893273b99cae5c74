import CDMSKernels

/// A weight matrix `[rows, columns]` in any supported encoding, applied as `y = W x`.
public struct LinearWeight: @unchecked Sendable {
    public let tensor: TensorView
    public let rows: Int
    public let columns: Int
    /// The weights rearranged for the 8-bit product, made when that product first runs.
    @usableFromInline let int8Layout = Int8RepackedWeights()

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

    /// `output[t] = W · input[t]` for `tokens` rows of `input`, plus `lowRank`'s update.
    @inlinable
    public func apply(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>, pool: WorkerPool?,
                      activations: ActivationPrecision = .float32, lowRank: ProductLowRankUpdates? = nil) {
        guard activations == .int8 || lowRank != nil else {  // the file's layout: no product list to build
            Kernels.matmul(pool: pool, type: tensor.type, weights: tensor.data, rows: rows, columns: columns,
                           input: input, tokens: tokens, output: output)
            return
        }
        Self.apply([(self, output)], to: input, tokens: tokens, pool: pool, activations: activations, lowRank: lowRank)
    }

    /// This weight and where its product goes, for the group products below; with 8-bit
    /// activations, the repacked copy too (made on the first such call).
    @inlinable
    public func product(into output: UnsafeMutablePointer<Float>, activations: ActivationPrecision) -> Kernels.Product {
        let repacked = activations == .int8
            ? int8Layout.pointer(type: tensor.type, weights: tensor.data, rows: rows, columns: columns) : nil
        return (tensor.type, tensor.data, rows, output, repacked)
    }

    /// `output_k[t] = W_k · input[t]` for several weights with the same columns (at most three),
    /// the input quantized once and one pool run for all
    /// (``Kernels/matmulGroup(pool:products:columns:input:tokens:activations:lowRank:)``), plus
    /// `lowRank`'s updates (one per weight).
    @inlinable
    public static func apply(_ weights: [(LinearWeight, UnsafeMutablePointer<Float>)], to input: UnsafePointer<Float>,
                             tokens: Int, pool: WorkerPool?, activations: ActivationPrecision = .float32,
                             lowRank: ProductLowRankUpdates? = nil) {
        guard let columns = weights.first?.0.columns else { return }
        precondition(weights.allSatisfy { $0.0.columns == columns }, "grouped weights differ in columns")
        let products = weights.map { $0.0.product(into: $0.1, activations: activations) }
        guard let lowRank else {
            Kernels.matmulGroup(pool: pool, products: products, columns: columns, input: input, tokens: tokens,
                                activations: activations)
            return
        }
        precondition(lowRank.fits(weights.lazy.map(\.0)), "LoRA updates that do not fit the weights")
        lowRank.withKernelGroup { group in
            Kernels.matmulGroup(pool: pool, products: products, columns: columns, input: input, tokens: tokens,
                                activations: activations, lowRank: group)
        }
    }

    /// `gateOutput[t] = silu(W_gate · input[t] + …) · (W_up · input[t] + …)`, with `upOutput`
    /// receiving `W_up · input[t] + …`, where `…` is `lowRank`'s update of each (gate's, then up's)
    /// (``Kernels/matmulSwiGLU(pool:gate:up:columns:input:tokens:activations:lowRank:)``).
    @inlinable
    public static func applySwiGLU(gate: LinearWeight, up: LinearWeight, to input: UnsafePointer<Float>, tokens: Int,
                                   gateOutput: UnsafeMutablePointer<Float>, upOutput: UnsafeMutablePointer<Float>,
                                   pool: WorkerPool?, activations: ActivationPrecision = .float32,
                                   lowRank: ProductLowRankUpdates? = nil) {
        precondition(gate.columns == up.columns, "gate and up projections differ in columns")
        let gateProduct = gate.product(into: gateOutput, activations: activations)
        let upProduct = up.product(into: upOutput, activations: activations)
        guard let lowRank else {
            Kernels.matmulSwiGLU(pool: pool, gate: gateProduct, up: upProduct, columns: gate.columns, input: input,
                                 tokens: tokens, activations: activations)
            return
        }
        precondition(lowRank.fits([gate, up]), "LoRA updates that do not fit the weights")
        lowRank.withKernelGroup { group in
            Kernels.matmulSwiGLU(pool: pool, gate: gateProduct, up: upProduct, columns: gate.columns, input: input,
                                 tokens: tokens, activations: activations, lowRank: group)
        }
    }

    /// Row `index` as f32 values (an embedding lookup).
    @inlinable
    public func row(_ index: Int, into output: UnsafeMutablePointer<Float>) {
        let bytes = tensor.type.rowBytes(columns: columns)
        Kernels.dequantizeRow(type: tensor.type, source: tensor.data + index * bytes, destination: output, columns: columns)
    }
}
