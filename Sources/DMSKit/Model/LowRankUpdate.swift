/// A low-rank (LoRA) update of one projection: `y += scale · B (A x)` with `A` (`down`,
/// `[rank][inputs]`) and `B` (`up`, `[outputs][rank]`), stored as f32.
public struct LowRankUpdate: Sendable, Equatable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    public var down: [Float]
    public var up: [Float] {
        didSet {
            precondition(up.count == outputs * rank, "LoRA matrices of the wrong size")
            upByRank = Self.transposed(up, rows: outputs, columns: rank)
        }
    }
    /// `up` transposed (`[rank][outputs]`), the layout the kernel reads.
    public private(set) var upByRank: [Float]

    public init(rank: Int, inputs: Int, outputs: Int, down: [Float], up: [Float]) {
        precondition(down.count == rank * inputs && up.count == outputs * rank, "LoRA matrices of the wrong size")
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        self.down = down
        self.up = up
        upByRank = Self.transposed(up, rows: outputs, columns: rank)
    }

    /// `output[t] += scale · B (A input[t])` for `tokens` rows; `scratch` holds `tokens · rank`
    /// floats. `pool` may split the tokens; a token's result is the same either way.
    public func accumulate(_ input: UnsafePointer<Float>, tokens: Int, into output: UnsafeMutablePointer<Float>,
                           scale: Float, scratch: UnsafeMutablePointer<Float>, pool: WorkerPool? = nil) {
        down.withUnsafeBufferPointer { a in
            upByRank.withUnsafeBufferPointer { b in
                Kernels.lowRankAccumulate(pool: pool, down: a.baseAddress!, upByRank: b.baseAddress!, rank: rank, inputs: inputs,
                                          outputs: outputs, input: input, tokens: tokens, scale: scale, output: output,
                                          scratch: scratch)
            }
        }
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
