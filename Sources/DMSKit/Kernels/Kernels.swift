import CDMSKernels

/// Thin Swift entry points over the C kernels of `CDMSKernels` (see `dms_kernels.h`).
///
/// All pointers are raw memory the caller owns; no kernel allocates on the heap for its result.
/// Row kernels are single-threaded; `matmul` splits its work over `pool` (nil = calling thread
/// only) and gives the same bits for every thread count.
public enum Kernels {
    /// The vector path chosen at run time: "avx512vnni+avx2+fma+f16c", "avx2+fma+f16c" or
    /// "scalar" (`DMS_KERNELS_ISA=avx2` or `=scalar` in the environment caps it).
    @inlinable public static var isa: String { String(cString: dms_kernels_isa()) }

    /// Bytes of one row of `columns` elements in `type`.
    @inlinable public static func rowBytes(type: WeightType, columns: Int) -> Int {
        Int(dms_row_bytes(type.cType, Int64(columns)))
    }

    // MARK: Linear algebra

    /// `output[t][r] = Σ_c W[r][c] · input[t][c]` for `t < tokens`, `r < rows`.
    /// `weights` holds `rows` rows of `columns` elements encoded as `type` (GGML layout);
    /// `input` is `[tokens][columns]`, `output` is `[tokens][rows]`. With `activations: .int8`,
    /// the inputs may be rounded to 8 bits (see ``ActivationPrecision``).
    @inlinable public static func matmul(
        pool: WorkerPool?, type: WeightType, weights: UnsafeRawPointer, rows: Int, columns: Int,
        input: UnsafePointer<Float>, tokens: Int, output: UnsafeMutablePointer<Float>,
        activations: ActivationPrecision = .float32
    ) {
        switch activations {
        case .float32:
            dms_matmul(pool?.raw, type.cType, weights, Int64(rows), Int64(columns), input,
                       Int64(tokens), output)
        case .int8:
            dms_matmul_int8(pool?.raw, type.cType, weights, Int64(rows), Int64(columns), input,
                            Int64(tokens), output)
        }
    }

    /// ``matmul(pool:type:weights:rows:columns:input:tokens:output:activations:)`` (f32 inputs)
    /// with each token's output row the same bits whatever `tokens` is and whatever the other rows
    /// hold: for small products applied to the rows of one sequence among others
    /// (eviction-decision logits), so the sequence's results do not depend on the batch.
    @inlinable public static func matmulPerToken(
        pool: WorkerPool?, type: WeightType, weights: UnsafeRawPointer, rows: Int, columns: Int,
        input: UnsafePointer<Float>, tokens: Int, output: UnsafeMutablePointer<Float>
    ) {
        dms_matmul_per_token(pool?.raw, type.cType, weights, Int64(rows), Int64(columns), input, Int64(tokens), output)
    }

    /// LoRA updates of one input, `output[t] += scale · B (A input[t])` for `t < tokens` and each
    /// update (``dms_low_rank``: A `[rank][inputs]`, B transposed `[rank][outputs]`), in one pool
    /// run that splits the tokens; `scratch` holds `tokens ·` the largest rank floats. A token's
    /// output rows are the same bits whatever `tokens`, the other rows, the other updates and the
    /// thread count.
    @inlinable public static func lowRankAccumulate(
        pool: WorkerPool?, updates: UnsafeBufferPointer<dms_low_rank>, inputs: Int, input: UnsafePointer<Float>,
        tokens: Int, scale: Float, scratch: UnsafeMutablePointer<Float>
    ) {
        dms_low_rank_accumulate(pool?.raw, updates.baseAddress, Int32(updates.count), Int64(inputs), input, Int64(tokens),
                                scale, scratch)
    }

    /// One product of ``matmulGroup(pool:products:columns:input:tokens:activations:)``: `output`
    /// `[tokens][rows]` receives `weights` (`rows` rows of `type`) times the shared input.
    public typealias Product = (type: WeightType, weights: UnsafeRawPointer, rows: Int, output: UnsafeMutablePointer<Float>,
                                repacked: UnsafeRawPointer?)

    @inlinable static func cProduct(_ product: Product) -> dms_product {
        dms_product(type: product.type.cType, weights: product.weights, repacked: product.repacked, rows: Int64(product.rows),
                    output: product.output)
    }

    /// Up to three products of the same `input` (`[tokens][columns]`), each exactly as
    /// ``matmul(pool:type:weights:rows:columns:input:tokens:output:activations:)`` computes it, but
    /// with the input quantized once and all of them in one pool run (fewer waits for the slowest
    /// thread when the batch is small). With `lowRank`, its LoRA updates are added to the outputs
    /// (with 8-bit activations by the same tasks, before they store the rows); its pointers must
    /// stay valid for the call.
    @inlinable public static func matmulGroup(
        pool: WorkerPool?, products: [Product], columns: Int, input: UnsafePointer<Float>, tokens: Int,
        activations: ActivationPrecision = .float32, lowRank: dms_low_rank_group? = nil
    ) {
        precondition(products.count <= Int(DMS_MATMUL_GROUP_MAX), "at most \(DMS_MATMUL_GROUP_MAX) products")
        let group = products.map(cProduct)
        group.withUnsafeBufferPointer { buffer in
            withOptionalPointer(to: lowRank) { lowRank in
                dms_matmul_group(pool?.raw, buffer.baseAddress, Int32(buffer.count), Int64(columns), input, Int64(tokens),
                                 activations == .int8 ? 1 : 0, lowRank)
            }
        }
    }

    /// `gate.output = silu(W_gate x) · (W_up x)` and `up.output = W_up x` (the same `rows`), the
    /// products as ``matmulGroup(pool:products:columns:input:tokens:activations:lowRank:)`` computes
    /// them (with `lowRank`'s gate and up updates added before the SwiGLU); with 8-bit activations
    /// the SwiGLU runs inside the product's tasks, spread over the pool.
    @inlinable public static func matmulSwiGLU(
        pool: WorkerPool?, gate: Product, up: Product, columns: Int, input: UnsafePointer<Float>, tokens: Int,
        activations: ActivationPrecision = .float32, lowRank: dms_low_rank_group? = nil
    ) {
        precondition(gate.rows == up.rows, "gate and up projections differ in rows")
        withOptionalPointer(to: lowRank) { lowRank in
            dms_matmul_swiglu(pool?.raw, cProduct(gate), cProduct(up), Int64(columns), input, Int64(tokens),
                              activations == .int8 ? 1 : 0, lowRank)
        }
    }

    @inlinable static func withOptionalPointer<T, R>(to value: T?, _ body: (UnsafePointer<T>?) -> R) -> R {
        guard let value else { return body(nil) }
        return withUnsafePointer(to: value) { body($0) }
    }

    /// Bytes of the copy of a `[rows][columns]` matrix of `type` that ``int8Repack(type:weights:rows:columns:into:)``
    /// writes, or 0 where the 8-bit product does not apply to it (then it reads the matrix as it is).
    @inlinable public static func int8RepackedBytes(type: WeightType, rows: Int, columns: Int) -> Int {
        dms_int8_repacked_bytes(type.cType, Int64(rows), Int64(columns))
    }

    /// Writes the matrix's copy in the layout the 8-bit product reads fastest; a ``Product``
    /// with it as `repacked` gives the same bits. False, writing nothing, where it does not apply.
    @inlinable public static func int8Repack(type: WeightType, weights: UnsafeRawPointer, rows: Int, columns: Int,
                                             into output: UnsafeMutableRawPointer) -> Bool {
        dms_int8_repack(type.cType, weights, Int64(rows), Int64(columns), output) != 0
    }

    /// Dequantizes one row of `columns` elements of `type` to f32.
    @inlinable public static func dequantizeRow(
        type: WeightType, source: UnsafeRawPointer, destination: UnsafeMutablePointer<Float>,
        columns: Int
    ) {
        dms_dequantize_row(type.cType, source, destination, Int64(columns))
    }

    // MARK: Conversions

    @inlinable public static func f16ToF32(
        _ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        dms_f16_to_f32(source, destination, Int64(count))
    }

    /// Round-to-nearest-even; NaN stays NaN, overflow gives ±inf.
    @inlinable public static func f32ToF16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        dms_f32_to_f16(source, destination, Int64(count))
    }

    @inlinable public static func bf16ToF32(
        _ source: UnsafePointer<UInt16>, _ destination: UnsafeMutablePointer<Float>, count: Int
    ) {
        dms_bf16_to_f32(source, destination, Int64(count))
    }

    /// Round-to-nearest-even; NaN stays NaN.
    @inlinable public static func f32ToBF16(
        _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<UInt16>, count: Int
    ) {
        dms_f32_to_bf16(source, destination, Int64(count))
    }

    // MARK: Row kernels

    /// `output[i] = input[i] / sqrt(mean(input²) + epsilon) * weight[i]` (weight nil = ones).
    /// `output` may be `input`.
    @inlinable public static func rmsNorm(
        _ input: UnsafePointer<Float>, weight: UnsafePointer<Float>?,
        output: UnsafeMutablePointer<Float>, count: Int, epsilon: Float
    ) {
        dms_rmsnorm(input, weight, output, Int64(count), epsilon)
    }

    /// `output[i] = silu(gate[i]) * up[i]`; `output` may be `gate`.
    @inlinable public static func swiglu(
        gate: UnsafePointer<Float>, up: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        count: Int
    ) {
        dms_swiglu(gate, up, output, Int64(count))
    }

    /// `y[i] += x[i]`.
    @inlinable public static func add(
        _ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int
    ) {
        dms_add(y, x, Int64(count))
    }

    /// The first index of the largest value; NaNs never win, and a NaN first value is kept.
    @inlinable public static func argmax(_ values: UnsafePointer<Float>, count: Int) -> Int {
        Int(dms_argmax(values, Int64(count)))
    }

    /// In-place numerically stable softmax.
    @inlinable public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        dms_softmax(x, Int64(count))
    }

    /// Rotary embedding of one head vector of `dimension` values in place at `position`.
    /// `interleaved` rotates pairs (2i, 2i+1) (GGUF Llama layout); otherwise pairs
    /// (i, i + dimension/2) (Hugging Face / NEOX layout). `inverseFrequencies` has dimension/2 values.
    @inlinable public static func rope(
        _ x: UnsafeMutablePointer<Float>, dimension: Int, position: Int,
        inverseFrequencies: UnsafePointer<Float>, interleaved: Bool
    ) {
        dms_rope(x, Int64(dimension), Int64(position), inverseFrequencies, interleaved ? 1 : 0)
    }

    // MARK: Attention

    /// Attention of `groupSize` query heads (`queries`: `[groupSize][headDim]`) sharing one KV head
    /// whose keys/values sit in pages of `pageSize` slots (`keyPages[p]`, `valuePages[p]`), over
    /// slots `0..<slots` except those with `mask[s] == 0`. `output`: `[groupSize][headDim]`.
    /// `kvType` is `.f32`, `.f16` or `.bf16`. Heads with no visible slot get zeros.
    @inlinable public static func attention(
        kvType: WeightType, keyPages: UnsafePointer<UnsafeRawPointer?>,
        valuePages: UnsafePointer<UnsafeRawPointer?>, pageSize: Int, slots: Int,
        mask: UnsafePointer<UInt8>?, headDim: Int, queries: UnsafePointer<Float>, groupSize: Int,
        scale: Float, output: UnsafeMutablePointer<Float>
    ) {
        dms_attention(kvType.cType, keyPages, valuePages, Int64(pageSize), Int64(slots), mask,
                      Int64(headDim), queries, Int64(groupSize), scale, output)
    }

    /// Unnormalised attention over slots `slotBegin..<slotEnd` (mask indexed by absolute slot):
    /// writes `accumulator` `[groupSize][headDim]`, running `maxima` and `sums` `[groupSize]`.
    /// A range without visible slot gives maxima = -inf, sums = 0, accumulator = 0.
    @inlinable public static func attentionPartial(
        kvType: WeightType, keyPages: UnsafePointer<UnsafeRawPointer?>,
        valuePages: UnsafePointer<UnsafeRawPointer?>, pageSize: Int, slotBegin: Int, slotEnd: Int,
        mask: UnsafePointer<UInt8>?, headDim: Int, queries: UnsafePointer<Float>, groupSize: Int,
        scale: Float, accumulator: UnsafeMutablePointer<Float>, maxima: UnsafeMutablePointer<Float>,
        sums: UnsafeMutablePointer<Float>
    ) {
        dms_attention_partial(kvType.cType, keyPages, valuePages, Int64(pageSize),
                              Int64(slotBegin), Int64(slotEnd), mask, Int64(headDim), queries,
                              Int64(groupSize), scale, accumulator, maxima, sums)
    }

    /// Merges `parts` partial results (`accumulators`: `[parts][groupSize][headDim]`,
    /// `maxima`/`sums`: `[parts][groupSize]`) into `output` `[groupSize][headDim]`.
    @inlinable public static func attentionMerge(
        parts: Int, groupSize: Int, headDim: Int, accumulators: UnsafePointer<Float>,
        maxima: UnsafePointer<Float>, sums: UnsafePointer<Float>,
        output: UnsafeMutablePointer<Float>
    ) {
        dms_attention_merge(Int64(parts), Int64(groupSize), Int64(headDim), accumulators, maxima,
                            sums, output)
    }

    /// Softmax weights of the `groupSize` queries over slots `0..<slots` (mask as in `attention`),
    /// averaged over the group, into `weights` (`slots` values; masked slots get 0). `scratch`
    /// holds `slots` floats. For eviction policies that rank tokens by attention.
    @inlinable public static func attentionWeights(
        kvType: WeightType, keyPages: UnsafePointer<UnsafeRawPointer?>, pageSize: Int, slots: Int,
        mask: UnsafePointer<UInt8>?, headDim: Int, queries: UnsafePointer<Float>, groupSize: Int,
        scale: Float, weights: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
    ) {
        dms_attention_weights(kvType.cType, keyPages, Int64(pageSize), Int64(slots), mask, Int64(headDim),
                              queries, Int64(groupSize), scale, weights, scratch)
    }
}
