import CDMSKernels

extension Kernels {
    // MARK: Training attention

    /// Causal attention over a whole training sequence of `tokens` tokens, dense, with a soft
    /// per-key eviction bias (the forward pass of DMS retrofit training).
    ///
    /// Layouts are token-major: `queries` and `output` are `[tokens][queryHeads][headDim]`,
    /// `keys` and `values` are `[tokens][kvHeads][headDim]`. Query head `h` uses KV head
    /// `h / (queryHeads / kvHeads)`; `queryHeads` must be a multiple of `kvHeads`. The score of
    /// query `i` and key `j <= i` is `scale · q·k`, plus `keyBias[g][j]` when `i - j > window`
    /// (`keyBias`: `[kvHeads][tokens]`, values `<= 0` and finite, such as `log(1 - p)`; nil = no
    /// bias). Keys after the query are masked.
    ///
    /// Writes `output` and `logSumExp` (`[queryHeads][tokens]`: the log of each softmax row's
    /// normaliser, which the backward pass needs). Gives the same bits for every thread count of
    /// `pool` (nil = the calling thread only).
    @inlinable public static func trainingAttentionForward(
        pool: WorkerPool?, tokens: Int, queryHeads: Int, kvHeads: Int, headDim: Int,
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        keyBias: UnsafePointer<Float>?, window: Int, scale: Float,
        output: UnsafeMutablePointer<Float>, logSumExp: UnsafeMutablePointer<Float>
    ) {
        dms_train_attention_forward(pool?.raw, Int64(tokens), Int64(queryHeads), Int64(kvHeads),
                                    Int64(headDim), queries, keys, values, keyBias, Int64(window),
                                    scale, output, logSumExp)
    }

    /// The number of floats of `scratch` that `trainingAttentionBackward` needs for these
    /// shapes. It does not depend on the thread count.
    @inlinable public static func trainingAttentionBackwardScratchCount(
        tokens: Int, queryHeads: Int, kvHeads: Int, headDim: Int
    ) -> Int {
        Int(dms_train_attention_backward_scratch(Int64(tokens), Int64(queryHeads), Int64(kvHeads),
                                                 Int64(headDim)))
    }

    /// The backward pass of `trainingAttentionForward`: given `outputGradient` (`dout`, laid out
    /// like `output`) and the forward's `output` and `logSumExp`, writes the gradients of the
    /// queries, keys, values (laid out like them) and, unless `keyBiasGradient` is nil, of the key
    /// bias (`[kvHeads][tokens]`; computed the same way whether `keyBias` is nil, i.e. a zero
    /// bias, or not). With `D = dout·out` per row and `dS = P ⊙ (dout·v − D)`:
    /// `dq = scale·dS·k`, `dk = scale·dSᵀ·q`, `dv = Pᵀ·dout`, and the key bias gradient sums
    /// `dS` over the query heads of the group and the queries with `i - j > window`.
    ///
    /// Every output is overwritten. `scratch` holds `trainingAttentionBackwardScratchCount`
    /// floats. Gives the same bits for every thread count of `pool`.
    @inlinable public static func trainingAttentionBackward(
        pool: WorkerPool?, tokens: Int, queryHeads: Int, kvHeads: Int, headDim: Int,
        queries: UnsafePointer<Float>, keys: UnsafePointer<Float>, values: UnsafePointer<Float>,
        keyBias: UnsafePointer<Float>?, window: Int, scale: Float,
        output: UnsafePointer<Float>, logSumExp: UnsafePointer<Float>,
        outputGradient: UnsafePointer<Float>,
        queryGradient: UnsafeMutablePointer<Float>, keyGradient: UnsafeMutablePointer<Float>,
        valueGradient: UnsafeMutablePointer<Float>, keyBiasGradient: UnsafeMutablePointer<Float>?,
        scratch: UnsafeMutablePointer<Float>
    ) {
        dms_train_attention_backward(pool?.raw, Int64(tokens), Int64(queryHeads), Int64(kvHeads),
                                     Int64(headDim), queries, keys, values, keyBias, Int64(window),
                                     scale, output, logSumExp, outputGradient, queryGradient,
                                     keyGradient, valueGradient, keyBiasGradient, scratch)
    }
}
