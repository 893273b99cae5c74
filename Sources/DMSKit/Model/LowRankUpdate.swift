import CDMSKernels

/// A low-rank (LoRA) update of one projection: `y += scale · B (A x)` with `A` (`down`,
/// `[rank][inputs]`) and `B` (`up`, `[outputs][rank]`), stored as f32.
public struct LowRankUpdate: Sendable, Equatable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    public var down: [Float] {
        didSet { downF16 = Self.exactF16(down) }
    }
    public var up: [Float] {
        didSet {
            precondition(up.count == outputs * rank, "LoRA matrices of the wrong size")
            upByRank = Self.transposed(up, rows: outputs, columns: rank)
            upByRankF16 = Self.exactF16(upByRank)
        }
    }
    /// `up` transposed (`[rank][outputs]`), the layout the kernel reads.
    public private(set) var upByRank: [Float]
    /// `down` and `upByRank` in f16 when each of their values is exactly an f16 (an adapter stored
    /// in f16), else nil: the 8-bit products read these instead, half the bytes for the same results.
    public private(set) var downF16: [UInt16]?
    public private(set) var upByRankF16: [UInt16]?

    public init(rank: Int, inputs: Int, outputs: Int, down: [Float], up: [Float]) {
        precondition(down.count == rank * inputs && up.count == outputs * rank, "LoRA matrices of the wrong size")
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        self.down = down
        self.up = up
        upByRank = Self.transposed(up, rows: outputs, columns: rank)
        downF16 = Self.exactF16(down)
        upByRankF16 = Self.exactF16(upByRank)
    }

    /// `output[t] += scale · B (A input[t])` for `tokens` rows; `scratch` holds `tokens · rank`
    /// floats. `pool` may split the tokens; a token's result is the same either way.
    public func accumulate(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>,
                           scale: Float, scratch: UnsafeMutablePointer<Float>, pool: WorkerPool? = nil) {
        Self.accumulate([(self, output)], input: input, tokens: tokens, scale: scale, scratch: scratch, pool: pool)
    }

    /// Several updates of the same input (each with the `inputs` of the first) in one pool run,
    /// each output the same bits as ``accumulate(_:tokens:into:scale:scratch:pool:)`` gives it;
    /// `scratch` holds `tokens ·` the largest rank floats.
    public static func accumulate(_ updates: [(update: LowRankUpdate, output: UnsafeMutablePointer<Float>)],
                                  input: UnsafePointer<Float>, tokens: Int, scale: Float,
                                  scratch: UnsafeMutablePointer<Float>, pool: WorkerPool? = nil) {
        guard let inputs = updates.first?.update.inputs else { return }
        precondition(updates.allSatisfy { $0.update.inputs == inputs }, "grouped LoRA updates differ in inputs")
        withKernelUpdates(count: updates.count, { (updates[$0].update, updates[$0].output) }) {
            Kernels.lowRankAccumulate(pool: pool, updates: $0, inputs: inputs, input: input, tokens: tokens,
                                      scale: scale, scratch: scratch)
        }
    }

    /// The kernels' description of `count` updates, `element(i)` giving update `i` (`nil`: none,
    /// rank 0) and its output, valid inside `body`. Read by index, so a call builds no other list.
    static func withKernelUpdates<R>(count: Int,
                                     _ element: (Int) -> (update: LowRankUpdate?, output: UnsafeMutablePointer<Float>?),
                                     _ body: (UnsafeBufferPointer<dms_low_rank>) -> R) -> R {
        var group: [dms_low_rank] = []
        group.reserveCapacity(count)
        // the matrices' addresses hold only inside their closures, so the group is built nested
        func collect(_ index: Int) -> R {
            guard index < count else { return group.withUnsafeBufferPointer(body) }
            let (update, output) = element(index)
            guard let update else {
                group.append(dms_low_rank(down: nil, up_by_rank: nil, rank: 0, outputs: 0, output: output,
                                          down_f16: nil, up_by_rank_f16: nil))
                return collect(index + 1)
            }
            return update.down.withUnsafeBufferPointer { a in
                update.upByRank.withUnsafeBufferPointer { b in
                    withOptionalBuffer(update.downF16) { a16 in
                        withOptionalBuffer(update.upByRankF16) { b16 in
                            group.append(dms_low_rank(down: a.baseAddress, up_by_rank: b.baseAddress, rank: Int64(update.rank),
                                                      outputs: Int64(update.outputs), output: output,
                                                      down_f16: a16, up_by_rank_f16: b16))
                            return collect(index + 1)
                        }
                    }
                }
            }
        }
        return collect(0)
    }

    private static func withOptionalBuffer<R>(_ values: [UInt16]?, _ body: (UnsafePointer<UInt16>?) -> R) -> R {
        guard let values else { return body(nil) }
        return values.withUnsafeBufferPointer { body($0.baseAddress) }
    }

    /// The values as f16 bits if each converts to f16 and back to the same float, else nil.
    private static func exactF16(_ values: [Float]) -> [UInt16]? {
        var narrow = [UInt16](repeating: 0, count: values.count)
        var back = [Float](repeating: 0, count: values.count)
        values.withUnsafeBufferPointer { v in
            narrow.withUnsafeMutableBufferPointer { n in
                guard let source = v.baseAddress, let destination = n.baseAddress else { return }
                Kernels.f32ToF16(source, destination, count: v.count)
            }
        }
        narrow.withUnsafeBufferPointer { n in
            back.withUnsafeMutableBufferPointer { b in
                guard let source = n.baseAddress, let destination = b.baseAddress else { return }
                Kernels.f16ToF32(source, destination, count: n.count)
            }
        }
        return zip(values, back).allSatisfy { $0.bitPattern == $1.bitPattern } ? narrow : nil
    }

    private static func transposed(_ matrix: [Float], rows: Int, columns: Int) -> [Float] {
        var result = [Float](repeating: 0, count: matrix.count)
        for r in 0..<rows {
            for c in 0..<columns { result[c * rows + r] = matrix[r * columns + c] }
        }
        return result
    }

    /// The update with its output rows reordered between the two RoPE layouts of Q/K weights
    /// (llama.cpp's GGUF permutation interleaves each head's two halves): `toInterleaved`
    /// converts half-split rows to interleaved ones, otherwise the reverse.
    public func permutingRows(headDim d: Int, toInterleaved: Bool) -> LowRankUpdate {
        var permuted = up
        let half = d / 2
        for head in 0..<(outputs / d) {
            for i in 0..<half {
                for part in 0..<2 {
                    let split = head * d + part * half + i, interleaved = head * d + 2 * i + part
                    let (from, to) = toInterleaved ? (split, interleaved) : (interleaved, split)
                    for j in 0..<rank { permuted[to * rank + j] = up[from * rank + j] }
                }
            }
        }
        return LowRankUpdate(rank: rank, inputs: inputs, outputs: outputs, down: down, up: permuted)
    }
}
