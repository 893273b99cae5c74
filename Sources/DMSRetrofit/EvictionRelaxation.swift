import DMSKit
import Foundation

/// One layer's DMS decisions during training (spec section 7, steps 2–4): the adapter's logit
/// `ℓ = s · W_alpha · RMSNorm_alpha(x) − b`, the Gumbel-sigmoid `p = σ((ℓ + n) / τ)` with
/// logistic noise `n`, the attention bias `log(1 − p[k+1])` for key `k` (applied by the attention
/// kernel only beyond the window), and the hard straight-through decisions `1[p > 0.5]`.
final class EvictionRelaxation {
    let kvHeads: Int
    let hidden: Int
    /// `RMSNorm_alpha(x)` (`[T][hidden]`), the relaxed logits `(ℓ + n) / τ` and `p` (`[T][kvHeads]`).
    let normed, relaxedLogits, probabilities: ScratchBuffer
    /// `log(1 − p[k+1])` per key (`[kvHeads][T]`), 0 for sinks and the last key.
    let keyBias: ScratchBuffer
    private(set) var tokens = 0
    /// Hard decisions `p > 0.5` counted over the layer's positions.
    private(set) var evicted = 0

    init(configuration c: ModelConfiguration, tokens t: Int) {
        kvHeads = c.kvHeadCount
        hidden = c.hiddenSize
        normed = ScratchBuffer(capacity: t * c.hiddenSize)
        relaxedLogits = ScratchBuffer(capacity: t * c.kvHeadCount)
        probabilities = ScratchBuffer(capacity: t * c.kvHeadCount)
        keyBias = ScratchBuffer(capacity: t * c.kvHeadCount)
    }

    /// Computes the layer's decisions from the residual `input` (`[T][hidden]`).
    func forward(input: UnsafePointer<Float>, tokens t: Int, adapter: AdapterParameters, layer: Int,
                 settings: RetrofitSettings, epsilon: Float, noise: inout RandomSource) {
        tokens = t
        let a = normed.pointer, z = relaxedLogits.pointer, p = probabilities.pointer, bias = keyBias.pointer
        adapter.values.withUnsafeBufferPointer { values in
            let projection = values.baseAddress! + adapter.projectionOffset(layer: layer)
            let norm = values.baseAddress! + adapter.normOffset(layer: layer)
            for r in 0..<t {
                Kernels.rmsNorm(input + r * hidden, weight: norm, output: a + r * hidden, count: hidden, epsilon: epsilon)
            }
            Kernels.matmul(pool: nil, type: .f32, weights: projection, rows: kvHeads, columns: hidden,
                           input: a, tokens: t, output: z)
        }
        evicted = 0
        for i in 0..<(t * kvHeads) {
            // logistic noise: log(u) − log(1 − u), u uniform in (0, 1)
            let u = min(max(noise.nextUnit(), 1e-12), 1 - 1e-12)
            let n = Float(Foundation.log(u) - Foundation.log(1 - u))
            z[i] = (settings.alphaScale * z[i] - settings.offset + n) / settings.temperature
            p[i] = 1 / (1 + Foundation.exp(-z[i]))
            if p[i] > 0.5 { evicted += 1 }
        }
        for g in 0..<kvHeads {
            for k in 0..<t {
                // log(1 − σ(z)) = −softplus(z), computed without overflow
                let next = k + 1 < t ? z[(k + 1) * kvHeads + g] : 0
                bias[g * t + k] = (k < settings.sinks || k + 1 >= t) ? 0 : -softplus(next)
            }
        }
    }

    /// Back-propagates the attention's gradient with respect to the key bias (`[kvHeads][T]`)
    /// and the straight-through compression gradient `∂loss/∂δ` (the same for every decision):
    /// accumulates the adapter's gradient and adds `∂loss/∂x` to `inputGradient`.
    func backward(input: UnsafePointer<Float>, keyBiasGradient: UnsafePointer<Float>, decisionGradient: Float,
                  adapter: AdapterParameters, layer: Int, settings: RetrofitSettings, epsilon: Float,
                  gradient: UnsafeMutablePointer<Float>, inputGradient: UnsafeMutablePointer<Float>) {
        let t = tokens
        let a = normed.pointer, p = probabilities.pointer
        // ∂loss/∂(W_alpha · a) per (position, head)
        var dz = [Float](repeating: 0, count: t * kvHeads)
        for r in 0..<t {
            for g in 0..<kvHeads {
                let i = r * kvHeads + g
                // the bias of key r − 1 is −softplus(z[r]); its derivative is −σ(z[r]) = −p
                var dRelaxed = decisionGradient * p[i] * (1 - p[i])
                if r >= 1, r - 1 >= settings.sinks { dRelaxed -= keyBiasGradient[g * t + r - 1] * p[i] }
                dz[i] = dRelaxed / settings.temperature * settings.alphaScale
            }
        }
        let projectionGradient = gradient + adapter.projectionOffset(layer: layer)
        let normGradient = gradient + adapter.normOffset(layer: layer)
        var da = [Float](repeating: 0, count: hidden)
        adapter.values.withUnsafeBufferPointer { values in
            let projection = values.baseAddress! + adapter.projectionOffset(layer: layer)
            let norm = values.baseAddress! + adapter.normOffset(layer: layer)
            da.withUnsafeMutableBufferPointer { da in
                for r in 0..<t {
                    let row = a + r * hidden
                    for j in 0..<hidden { da[j] = 0 }
                    for g in 0..<kvHeads {
                        let d = dz[r * kvHeads + g]
                        if d == 0 { continue }
                        let w = projection + g * hidden, dw = projectionGradient + g * hidden
                        for j in 0..<hidden {
                            dw[j] += d * row[j]
                            da[j] += d * w[j]
                        }
                    }
                    Kernels.rmsNormBackward(input + r * hidden, weight: norm, outputGradient: da.baseAddress!, count: hidden,
                                            epsilon: epsilon, inputGradient: inputGradient + r * hidden,
                                            weightGradient: normGradient)
                }
            }
        }
    }
}

/// log(1 + eᶻ) without overflow.
@inline(__always) func softplus(_ z: Float) -> Float {
    z > 0 ? z + Foundation.log1p(Foundation.exp(-z)) : Foundation.log1p(Foundation.exp(z))
}
