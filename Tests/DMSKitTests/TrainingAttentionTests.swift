import Foundation
import Testing

import DMSKit

// Checks the training attention kernels (whole-sequence causal attention with the soft per-key
// eviction bias, forward and backward) against a double-precision brute force, its analytic
// gradients and central finite differences of the loss L = Σ dout ⊙ out.
// Run once more with DMS_KERNELS_ISA=scalar in the environment to cover the portable path.

// MARK: - Problem and reference

/// One layer's attention problem with random inputs.
struct TrainAttentionCase: CustomStringConvertible {
    let T: Int, Hq: Int, Hkv: Int, d: Int, window: Int
    let scale: Float
    var q: [Float], k: [Float], v: [Float], dout: [Float]
    /// [Hkv][T] values in [-8, 0] with one at -30000, or nil (no bias).
    var bias: [Float]?

    var G: Int { Hq / Hkv }
    var description: String { "T=\(T) Hq=\(Hq) Hkv=\(Hkv) d=\(d) window=\(window) bias=\(bias != nil)" }

    init(T: Int, Hq: Int, Hkv: Int, d: Int, window: Int, biased: Bool, seed: UInt64) {
        var rng = KernelTestRNG(seed: seed)
        self.T = T
        self.Hq = Hq
        self.Hkv = Hkv
        self.d = d
        self.window = window
        scale = 1 / Float(d).squareRoot()
        q = rng.floats(T * Hq * d, scale: 2)
        k = rng.floats(T * Hkv * d, scale: 2)
        v = rng.floats(T * Hkv * d)
        dout = rng.floats(T * Hq * d)
        if biased {
            var b = (0..<(T * Hkv)).map { _ in (rng.float() - 1) * 4 }
            b[T / 3] = -30000
            bias = b
        } else {
            bias = nil
        }
    }
}

/// Double-precision brute force: outputs, the loss Σ dout ⊙ out and (optionally) the gradients.
struct TrainAttentionReference {
    var out: [Double], lse: [Double], loss = 0.0
    var dq: [Double], dk: [Double], dv: [Double], dbias: [Double]

    init(_ c: TrainAttentionCase, q: [Double], k: [Double], v: [Double], bias: [Double]?,
         gradients: Bool) {
        let (T, Hq, Hkv, d, G) = (c.T, c.Hq, c.Hkv, c.d, c.G)
        let scale = Double(c.scale)
        let dout = c.dout.map(Double.init)
        var out = [Double](repeating: 0, count: T * Hq * d), lse = [Double](repeating: 0, count: Hq * T)
        var dq = [Double](repeating: 0, count: gradients ? T * Hq * d : 0)
        var dk = [Double](repeating: 0, count: gradients ? T * Hkv * d : 0), dv = dk
        var dbias = [Double](repeating: 0, count: gradients ? Hkv * T : 0)
        var p = [Double](repeating: 0, count: T)
        var loss = 0.0
        for h in 0..<Hq {
            let g = h / G
            for i in 0..<T {
                let qi = (i * Hq + h) * d
                var m = -Double.infinity
                for j in 0...i {
                    let kj = (j * Hkv + g) * d
                    var s = 0.0
                    for e in 0..<d { s += q[qi + e] * k[kj + e] }
                    s *= scale
                    if let bias, i - j > c.window { s += bias[g * T + j] }
                    p[j] = s
                    m = max(m, s)
                }
                var l = 0.0
                for j in 0...i {
                    p[j] = refExp(p[j] - m)
                    l += p[j]
                }
                for j in 0...i { p[j] /= l }
                lse[h * T + i] = m + Foundation.log(l)
                var D = 0.0
                for e in 0..<d {
                    var o = 0.0
                    for j in 0...i { o += p[j] * v[(j * Hkv + g) * d + e] }
                    out[qi + e] = o
                    D += dout[qi + e] * o
                }
                loss += D
                guard gradients else { continue }
                for j in 0...i {
                    let kj = (j * Hkv + g) * d
                    var dp = 0.0
                    for e in 0..<d { dp += dout[qi + e] * v[kj + e] }
                    let ds = p[j] * (dp - D)
                    for e in 0..<d {
                        dq[qi + e] += scale * ds * k[kj + e]
                        dk[kj + e] += scale * ds * q[qi + e]
                        dv[kj + e] += p[j] * dout[qi + e]
                    }
                    if i - j > c.window { dbias[g * T + j] += ds }
                }
            }
        }
        (self.out, self.lse, self.loss) = (out, lse, loss)
        (self.dq, self.dk, self.dv, self.dbias) = (dq, dk, dv, dbias)
    }

    init(_ c: TrainAttentionCase, gradients: Bool) {
        self.init(c, q: c.q.map(Double.init), k: c.k.map(Double.init), v: c.v.map(Double.init),
                  bias: c.bias?.map(Double.init), gradients: gradients)
    }
}

/// What the kernels return (every buffer starts as NaN, so anything not written shows).
struct TrainAttentionResult {
    var out: [Float], lse: [Float]
    var dq: [Float] = [], dk: [Float] = [], dv: [Float] = [], dbias: [Float] = []

    init(_ c: TrainAttentionCase, pool: WorkerPool?, backward: Bool) {
        out = [Float](repeating: .nan, count: c.T * c.Hq * c.d)
        lse = [Float](repeating: .nan, count: c.Hq * c.T)
        c.bias.withOptionalFloatPointer { bias in
            Kernels.trainingAttentionForward(
                pool: pool, tokens: c.T, queryHeads: c.Hq, kvHeads: c.Hkv, headDim: c.d,
                queries: c.q, keys: c.k, values: c.v, keyBias: bias, window: c.window,
                scale: c.scale, output: &out, logSumExp: &lse)
        }
        guard backward else { return }
        dq = [Float](repeating: .nan, count: c.T * c.Hq * c.d)
        dk = [Float](repeating: .nan, count: c.T * c.Hkv * c.d)
        dv = dk
        dbias = [Float](repeating: .nan, count: c.Hkv * c.T)
        var scratch = [Float](repeating: .nan, count: Kernels.trainingAttentionBackwardScratchCount(
            tokens: c.T, queryHeads: c.Hq, kvHeads: c.Hkv, headDim: c.d))
        c.bias.withOptionalFloatPointer { bias in
            Kernels.trainingAttentionBackward(
                pool: pool, tokens: c.T, queryHeads: c.Hq, kvHeads: c.Hkv, headDim: c.d,
                queries: c.q, keys: c.k, values: c.v, keyBias: bias, window: c.window,
                scale: c.scale, output: out, logSumExp: lse, outputGradient: c.dout,
                queryGradient: &dq, keyGradient: &dk, valueGradient: &dv,
                keyBiasGradient: &dbias, scratch: &scratch)
        }
    }

    func bitsEqual(_ o: TrainAttentionResult) -> Bool {
        kernelBitsEqual(out, o.out) && kernelBitsEqual(lse, o.lse) && kernelBitsEqual(dq, o.dq)
            && kernelBitsEqual(dk, o.dk) && kernelBitsEqual(dv, o.dv)
            && kernelBitsEqual(dbias, o.dbias)
    }
}

extension Optional where Wrapped == [Float] {
    func withOptionalFloatPointer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

/// Largest |x|, the magnitude gradient errors are measured against. At least `floor`: with O(1)
/// inputs a gradient that is exactly 0 (T = 1: dS = dout·v − dout·out = 0) comes out of float
/// arithmetic as the rounding of a difference of O(1) terms, ~1e-7.
func trainAttentionMagnitude(_ x: [Double], floor: Double = 1e-2) -> Double {
    x.reduce(floor) { max($0, abs($1)) }
}

// MARK: - Tests

@Suite struct TrainingAttentionTests {
    static let headShapes = [(2, 1), (6, 2), (9, 3)]

    /// Every case of the grid (head dims, head shapes, windows, with and without a bias) at `T`
    /// tokens: the kernel with a 2-thread pool gives the same bits as with no pool, and `check`
    /// compares it with the double reference.
    static func forEachCase(T: Int, seed: UInt64, backward: Bool,
                            _ check: (TrainAttentionCase, TrainAttentionResult, TrainAttentionReference) -> Void) {
        let pool = WorkerPool(threads: 2)
        var seed = seed
        for d in [8, 64] {
            for (Hq, Hkv) in headShapes {
                for window in [0, 3, 1000] {
                    for biased in [false, true] {
                        seed += 1
                        let c = TrainAttentionCase(T: T, Hq: Hq, Hkv: Hkv, d: d, window: window, biased: biased, seed: seed)
                        let got = TrainAttentionResult(c, pool: pool, backward: backward)
                        let single = TrainAttentionResult(c, pool: nil, backward: backward)
                        #expect(got.bitsEqual(single), "threads change the bits: \(c)")
                        check(c, got, TrainAttentionReference(c, gradients: backward))
                    }
                }
            }
        }
    }

    /// out and lse within 1e-4 relative (to max(1, |ref|)) of the double brute force, and the
    /// same bits with a 2-thread pool and with no pool.
    @Test(arguments: [1, 7, 70, 200])
    func forwardMatchesReference(T: Int) {
        Self.forEachCase(T: T, seed: 100, backward: false) { c, got, ref in
            for (name, g, r) in [("out", got.out, ref.out), ("lse", got.lse, ref.lse)] {
                let bad = (0..<r.count).first { !(abs(Double(g[$0]) - r[$0]) <= 1e-4 * max(1, abs(r[$0]))) }
                #expect(bad == nil, "\(c) \(name)[\(bad ?? 0)]: \(bad.map { "\(g[$0]) vs \(r[$0])" } ?? "")")
            }
        }
    }

    /// Every gradient within 1e-4 of the largest |gradient| of its array of the double analytic
    /// gradients; dkey_bias exactly 0 for keys no query sees beyond the window; the same bits
    /// with a 2-thread pool and with no pool.
    @Test(arguments: [1, 7, 70, 200])
    func backwardMatchesReference(T: Int) {
        Self.forEachCase(T: T, seed: 200, backward: true) { c, got, ref in
            for (name, g, r) in [("dq", got.dq, ref.dq), ("dk", got.dk, ref.dk), ("dv", got.dv, ref.dv),
                                 ("dbias", got.dbias, ref.dbias)] {
                let tol = 1e-4 * trainAttentionMagnitude(r)
                let bad = (0..<r.count).first { !(abs(Double(g[$0]) - r[$0]) <= tol) }
                #expect(bad == nil, "\(c) \(name)[\(bad ?? 0)]: \(bad.map { "\(g[$0]) vs \(r[$0])" } ?? "")")
            }
            // no query i > j + window: the bias of key j is never used
            for g in 0..<c.Hkv {
                for j in max(0, c.T - 1 - c.window)..<c.T {
                    #expect(got.dbias[g * c.T + j] == 0, "\(c) dbias[\(g)][\(j)] = \(got.dbias[g * c.T + j])")
                }
            }
        }
    }

    /// The float kernel's gradients against central differences (step 1e-3) of the double loss
    /// L = Σ dout ⊙ out, on a sample of q, k, v and key_bias entries: within 1e-3 · (|fd| +
    /// 0.01 · the largest |analytic gradient| of the array).
    @Test func backwardMatchesFiniteDifferences() {
        let configs = [(T: 37, Hq: 6, Hkv: 2, d: 16, window: 3), (T: 70, Hq: 9, Hkv: 3, d: 64, window: 5),
                       (T: 20, Hq: 2, Hkv: 1, d: 8, window: 0)]
        let pool = WorkerPool(threads: 2)
        for (n, cfg) in configs.enumerated() {
            let c = TrainAttentionCase(T: cfg.T, Hq: cfg.Hq, Hkv: cfg.Hkv, d: cfg.d, window: cfg.window,
                                       biased: true, seed: 300 + UInt64(n))
            let got = TrainAttentionResult(c, pool: pool, backward: true)
            let analytic = TrainAttentionReference(c, gradients: true)
            let q = c.q.map(Double.init), k = c.k.map(Double.init), v = c.v.map(Double.init)
            let bias = c.bias!.map(Double.init)
            var rng = KernelTestRNG(seed: 400 + UInt64(n))
            let h = 1e-3
            // 0: q, 1: k, 2: v, 3: key_bias
            for which in 0..<4 {
                let count = [q.count, k.count, v.count, bias.count][which]
                let kernel = [got.dq, got.dk, got.dv, got.dbias][which]
                let magnitude = trainAttentionMagnitude([analytic.dq, analytic.dk, analytic.dv, analytic.dbias][which])
                for _ in 0..<12 {
                    let idx = rng.int(count)
                    func loss(_ delta: Double) -> Double {
                        var (q2, k2, v2, b2) = (q, k, v, bias)
                        switch which {
                        case 0: q2[idx] += delta
                        case 1: k2[idx] += delta
                        case 2: v2[idx] += delta
                        default: b2[idx] += delta
                        }
                        return TrainAttentionReference(c, q: q2, k: k2, v: v2, bias: b2, gradients: false).loss
                    }
                    let fd = (loss(h) - loss(-h)) / (2 * h)
                    let g = Double(kernel[idx])
                    #expect(abs(g - fd) <= 1e-3 * (abs(fd) + 0.01 * magnitude),
                            "\(c) \(["dq", "dk", "dv", "dbias"][which])[\(idx)]: kernel \(g) vs fd \(fd)")
                }
            }
        }
    }
}
