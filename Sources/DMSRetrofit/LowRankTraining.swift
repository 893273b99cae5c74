import DMSKit

/// LoRA updates of the attention (and feed-forward) projections inside the training graph: the forward adds
/// `scale · B (A x)` to a projection's output and keeps `A x`; the backward adds the gradient
/// with respect to `x` and accumulates those of `A` and `B`.
final class LowRankTraining {
    let rank: Int
    let scale: Float
    /// Whether the feed-forward projections (4 gate, 5 up, 6 down) have updates too.
    let coversFeedForward: Bool
    /// `A x` per layer and projection (`[T][rank]`).
    private let reduced: [[ScratchBuffer]]
    private let delta, reducedGradient, transposedInput, transposedGradient, transposedReduced,
                transposedReducedGradient, transposedWeight, product: ScratchBuffer

    init(parameters p: AdapterParameters, alpha: Float, tokens t: Int) {
        rank = p.loraRank
        coversFeedForward = p.projections.count == LowRankAdapter.modules.count
        scale = alpha / Float(p.loraRank)
        let widest = p.projections.map { max($0.inputs, $0.outputs) }.max()!
        reduced = (0..<p.layers).map { _ in p.projections.map { _ in ScratchBuffer(capacity: t * p.loraRank) } }
        delta = ScratchBuffer(capacity: t * widest)
        reducedGradient = ScratchBuffer(capacity: t * rank)
        transposedInput = ScratchBuffer(capacity: t * widest)
        transposedGradient = ScratchBuffer(capacity: t * widest)
        transposedReduced = ScratchBuffer(capacity: t * rank)
        transposedReducedGradient = ScratchBuffer(capacity: t * rank)
        transposedWeight = ScratchBuffer(capacity: widest * rank)
        product = ScratchBuffer(capacity: max(t, rank) * widest)
    }

    /// `output += scale · B (A input)` for projection `p` of layer `l`.
    func forward(layer l: Int, projection p: Int, input: UnsafePointer<Float>, tokens t: Int,
                 output: UnsafeMutablePointer<Float>, parameters: AdapterParameters) {
        let shape = parameters.projections[p], (down, up) = parameters.loraOffset(layer: l, projection: p)
        let u = reduced[l][p].pointer
        parameters.values.withUnsafeBufferPointer { values in
            multiply(values.baseAddress! + down, rows: rank, columns: shape.inputs, input, tokens: t, into: u)
            multiply(values.baseAddress! + up, rows: shape.outputs, columns: rank, u, tokens: t, into: delta.pointer)
        }
        for i in 0..<(t * shape.outputs) { output[i] += scale * delta.pointer[i] }
    }

    /// Given `outputGradient` (`[T][outputs]`), adds `∂loss/∂input` to `inputGradient` and the
    /// gradients of `A` and `B` to `gradient` (laid out like the parameters).
    func backward(layer l: Int, projection p: Int, input: UnsafePointer<Float>, tokens t: Int,
                  outputGradient dy: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>,
                  parameters: AdapterParameters, gradient: UnsafeMutablePointer<Float>) {
        let shape = parameters.projections[p], (down, up) = parameters.loraOffset(layer: l, projection: p)
        let r = rank, u = reduced[l][p].pointer, g = reducedGradient.pointer, w = transposedWeight.pointer, out = product.pointer
        parameters.values.withUnsafeBufferPointer { values in
            let a = values.baseAddress! + down, b = values.baseAddress! + up
            // g = dy · B, then ∂/∂input = scale · g · A
            transpose(b, rows: shape.outputs, columns: r, into: w)
            multiply(w, rows: r, columns: shape.outputs, dy, tokens: t, into: g)
            transpose(a, rows: r, columns: shape.inputs, into: w)
            multiply(w, rows: shape.inputs, columns: r, g, tokens: t, into: out)
            for i in 0..<(t * shape.inputs) { inputGradient[i] += scale * out[i] }
        }
        // ∂B = scale · dyᵀ u  (computed as (uᵀ)·(dyᵀ)ᵀ: a [rank][outputs] result)
        transpose(dy, rows: t, columns: shape.outputs, into: transposedGradient.pointer)
        transpose(u, rows: t, columns: r, into: transposedReduced.pointer)
        multiply(transposedGradient.pointer, rows: shape.outputs, columns: t, transposedReduced.pointer, tokens: r, into: out)
        let dB = gradient + up
        for o in 0..<shape.outputs {
            for j in 0..<r { dB[o * r + j] += scale * out[j * shape.outputs + o] }
        }
        // ∂A = scale · gᵀ x  ([rank][inputs])
        transpose(input, rows: t, columns: shape.inputs, into: transposedInput.pointer)
        transpose(g, rows: t, columns: r, into: transposedReducedGradient.pointer)
        multiply(transposedInput.pointer, rows: shape.inputs, columns: t, transposedReducedGradient.pointer, tokens: r, into: out)
        let dA = gradient + down
        for i in 0..<(r * shape.inputs) { dA[i] += scale * out[i] }
    }

    /// `output[t] = W · input[t]` with an f32 `W` of `rows × columns`.
    private func multiply(_ weights: UnsafePointer<Float>, rows: Int, columns: Int, _ input: UnsafePointer<Float>, tokens: Int,
                          into output: UnsafeMutablePointer<Float>) {
        Kernels.matmul(pool: nil, type: .f32, weights: UnsafeRawPointer(weights), rows: rows, columns: columns,
                       input: input, tokens: tokens, output: output)
    }

    private func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int, into target: UnsafeMutablePointer<Float>) {
        for i in 0..<rows {
            for j in 0..<columns { target[j * rows + i] = source[i * columns + j] }
        }
    }
}
