import Foundation
import Testing

import DMSKit

// Checks every C kernel against naive double-precision references on random data.
// Run once more with DMS_KERNELS_ISA=scalar in the environment to cover the portable path.

// MARK: - Helpers

struct KernelTestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(Double(next() >> 11) / Double(1 << 53) * 2 - 1) }
    mutating func floats(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in float() * scale } }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}

/// Reference f16 -> f32 (exact).
func refHalfToFloat(_ h: UInt16) -> Float {
    let sign: Float = (h & 0x8000) != 0 ? -1 : 1
    let e = Int((h >> 10) & 0x1f)
    let m = Int(h & 0x3ff)
    if e == 0 { return sign * Float(m) * Float(sign: .plus, exponent: -24, significand: 1) }
    if e == 31 { return m == 0 ? sign * Float.infinity : Float.nan }
    return sign * Float(1024 + m) * Float(sign: .plus, exponent: e - 25, significand: 1)
}

/// Reference f32 -> f16, round to nearest even, by search over the (monotone) positive halves.
func refFloatToHalf(_ f: Float) -> UInt16 {
    if f.isNaN { return 0x7e00 }
    let sign: UInt16 = f.sign == .minus ? 0x8000 : 0
    let a = Double(abs(f))
    // largest h with value(h) <= a, h in 0...0x7c00 (0x7c00 = inf)
    var lo: UInt16 = 0, hi: UInt16 = 0x7c00
    while lo < hi {
        let mid = UInt16((UInt32(lo) + UInt32(hi) + 1) / 2)
        if Double(refHalfToFloat(mid)) <= a { lo = mid } else { hi = mid - 1 }
    }
    if lo == 0x7c00 { return sign | 0x7c00 }
    let below = Double(refHalfToFloat(lo))
    // the value above 0x7bff is 65536 for rounding purposes
    let above = lo == 0x7bff ? 65536.0 : Double(refHalfToFloat(lo + 1))
    if a == below { return sign | lo }
    let dl = a - below, du = above - a
    var r = lo
    if du < dl || (du == dl && (lo & 1) == 1) { r = lo + 1 }
    return sign | r
}

func refBF16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

/// Reference f32 -> bf16 (round to nearest even, by comparison of neighbours in Double).
func refFloatToBF16(_ f: Float) -> UInt16 {
    if f.isNaN { return UInt16(f.bitPattern >> 16) | 0x40 }
    let bits = f.bitPattern
    let lo = UInt16(bits >> 16)
    if bits & 0xffff == 0 { return lo }
    let below = Double(refBF16ToFloat(lo))
    var above = Double(Float(bitPattern: UInt32(lo &+ 1) << 16))
    if above.isInfinite { above = above < 0 ? -0x1p128 : 0x1p128 }  // rounding boundary past max
    let a = Double(f)
    let dl = abs(a - below), du = abs(above - a)
    if du < dl || (du == dl && (lo & 1) == 1) { return lo &+ 1 }
    return lo
}

func appendLE16(_ v: UInt16, into bytes: inout [UInt8]) {
    bytes.append(UInt8(v & 0xff))
    bytes.append(UInt8(v >> 8))
}

/// Encodes `rows x cols` values in `type`; returns the bytes and the exactly dequantized values.
func encodeWeights(_ values: [Float], rows: Int, cols: Int, type: WeightType) -> (bytes: [UInt8], deq: [Double]) {
    var bytes: [UInt8] = []
    var deq: [Double] = []
    for r in 0..<rows {
        let row = Array(values[(r * cols)..<((r + 1) * cols)])
        switch type {
        case .f32:
            for v in row {
                let b = v.bitPattern
                for k in 0..<4 { bytes.append(UInt8((b >> (8 * UInt32(k))) & 0xff)) }
                deq.append(Double(v))
            }
        case .f16:
            for v in row {
                let h = refFloatToHalf(v)
                appendLE16(h, into: &bytes)
                deq.append(Double(refHalfToFloat(h)))
            }
        case .bf16:
            for v in row {
                let h = refFloatToBF16(v)
                appendLE16(h, into: &bytes)
                deq.append(Double(refBF16ToFloat(h)))
            }
        case .q8_0:
            for b in 0..<(cols / 32) {
                let blk = row[(b * 32)..<(b * 32 + 32)]
                let amax = blk.map { abs($0) }.max()!
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                let dh = refFloatToHalf(d)
                appendLE16(dh, into: &bytes)
                let dd = Double(refHalfToFloat(dh))
                for v in blk {
                    let q = Int8(max(-127, min(127, (v * id).rounded())))
                    bytes.append(UInt8(bitPattern: q))
                    deq.append(dd * Double(q))
                }
            }
        case .q4_0:
            for b in 0..<(cols / 32) {
                let blk = Array(row[(b * 32)..<(b * 32 + 32)])
                var amax: Float = 0, mx: Float = 0
                for v in blk where abs(v) > amax { amax = abs(v); mx = v }
                let d = mx / -8
                let id: Float = d != 0 ? 1 / d : 0
                let dh = refFloatToHalf(d)
                appendLE16(dh, into: &bytes)
                let dd = Double(refHalfToFloat(dh))
                let q = blk.map { UInt8(max(0, min(15, Int(($0 * id + 8.5).rounded(.down))))) }
                for j in 0..<16 { bytes.append(q[j] | (q[j + 16] << 4)) }
                var vals = [Double](repeating: 0, count: 32)
                for j in 0..<32 { vals[j] = dd * Double(Int(q[j]) - 8) }
                deq.append(contentsOf: vals)
            }
        case .q4_1:
            for b in 0..<(cols / 32) {
                let blk = Array(row[(b * 32)..<(b * 32 + 32)])
                let mn = blk.min()!, mx = blk.max()!
                let d = (mx - mn) / 15
                let id: Float = d != 0 ? 1 / d : 0
                let dh = refFloatToHalf(d), mh = refFloatToHalf(mn)
                appendLE16(dh, into: &bytes)
                appendLE16(mh, into: &bytes)
                let dd = Double(refHalfToFloat(dh)), md = Double(refHalfToFloat(mh))
                let q = blk.map { UInt8(max(0, min(15, Int((($0 - mn) * id + 0.5).rounded(.down))))) }
                for j in 0..<16 { bytes.append(q[j] | (q[j + 16] << 4)) }
                for j in 0..<32 { deq.append(dd * Double(q[j]) + md) }
            }
        }
    }
    #expect(bytes.count == rows * type.rowBytes(columns: cols))
    return (bytes, deq)
}

func runKernelMatmul(_ pool: WorkerPool?, _ type: WeightType, _ bytes: [UInt8], rows: Int, cols: Int,
               x: [Float], n: Int, activations: ActivationPrecision = .float32) -> [Float] {
    var y = [Float](repeating: .nan, count: rows * n)
    bytes.withUnsafeBytes { w in
        x.withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                Kernels.matmul(pool: pool, type: type, weights: w.baseAddress!, rows: rows,
                               columns: cols, input: xp.baseAddress!, tokens: n,
                               output: yp.baseAddress!, activations: activations)
            }
        }
    }
    return y
}

func kernelBitsEqual(_ a: [Float], _ b: [Float]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern }
}

// MARK: - Tests

@Suite struct KernelTests {
    @Test func isaIsReported() {
        let isa = Kernels.isa
        #expect(["avx512vnni+avx2+fma+f16c", "avx2+fma+f16c", "scalar"].contains(isa))
    }

    @Test func rowBytesMatchesWeightType() {
        for t in WeightType.allCases {
            for cols in [32, 64, 576] {
                #expect(Kernels.rowBytes(type: t, columns: cols) == t.rowBytes(columns: cols))
            }
        }
    }

    @Test func f16ConversionEdgeCases() {
        let cases: [(Float, UInt16)] = [
            (0, 0x0000), (-0.0, 0x8000), (1, 0x3c00), (-2, 0xc000), (65504, 0x7bff),
            (65519.99, 0x7bff), (65520, 0x7c00), (1e6, 0x7c00), (-1e6, 0xfc00),
            (.infinity, 0x7c00), (-.infinity, 0xfc00),
            (Float(sign: .plus, exponent: -24, significand: 1), 0x0001),  // min subnormal
            (Float(sign: .plus, exponent: -25, significand: 1), 0x0000),  // tie -> even (0)
            (Float(sign: .plus, exponent: -25, significand: 1.5), 0x0001),
            (Float(sign: .plus, exponent: -24, significand: 1.5), 0x0002),  // tie 1.5 -> 2
            (Float(sign: .plus, exponent: -24, significand: 1.25), 0x0001),
            (Float(sign: .plus, exponent: -14, significand: 1), 0x0400),  // min normal
            (Float(sign: .plus, exponent: -15, significand: 1.9999999), 0x0400),
            (1 + Float(sign: .plus, exponent: -11, significand: 1), 0x3c00),  // tie -> even
            (1 + Float(sign: .plus, exponent: -11, significand: 3), 0x3c02),  // tie -> even (up)
            (1e-10, 0x0000), (-1e-10, 0x8000),
        ]
        var src = cases.map { $0.0 }
        // extend to more than 8 values so both the vector body and the tail are exercised
        src += src
        var dst = [UInt16](repeating: 0, count: src.count)
        Kernels.f32ToF16(src, &dst, count: src.count)
        for (i, v) in src.enumerated() {
            let want = cases[i % cases.count].1
            #expect(dst[i] == want, "f32->f16 \(v): got \(String(dst[i], radix: 16)) want \(String(want, radix: 16))")
            #expect(refFloatToHalf(v) == want)
        }
        // NaN stays NaN
        let nans: [Float] = [.nan, -.nan, Float(bitPattern: 0x7f80_0001), Float(bitPattern: 0xffc0_1234)]
        var hn = [UInt16](repeating: 0, count: nans.count)
        Kernels.f32ToF16(nans, &hn, count: nans.count)
        for h in hn { #expect((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) }
        // every half converts exactly, and back
        let all = (0...0xffff).map { UInt16($0) }
        var f = [Float](repeating: 0, count: all.count)
        Kernels.f16ToF32(all, &f, count: all.count)
        var back = [UInt16](repeating: 0, count: all.count)
        Kernels.f32ToF16(f, &back, count: all.count)
        for h in all {
            let want = refHalfToFloat(h)
            if want.isNaN {
                #expect(f[Int(h)].isNaN)
            } else {
                #expect(f[Int(h)].bitPattern == want.bitPattern)
                #expect(back[Int(h)] == h)
            }
        }
        // random floats across the half range vs the reference
        var rng = KernelTestRNG(seed: 7)
        let rnd = (0..<4099).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next()) & 0xbfff_ffff) }
        var rh = [UInt16](repeating: 0, count: rnd.count)
        Kernels.f32ToF16(rnd, &rh, count: rnd.count)
        for (i, v) in rnd.enumerated() where !v.isNaN {
            #expect(rh[i] == refFloatToHalf(v), "f32->f16 of \(v)")
        }
    }

    @Test func bf16Conversion() {
        var rng = KernelTestRNG(seed: 11)
        var src = (0..<1000).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }
        src += [0, -0.0, .infinity, -.infinity, .nan, 1, Float(bitPattern: 0x3f80_8000),
                Float(bitPattern: 0x3f81_8000), Float(bitPattern: 0x7f7f_ffff)]
        var dst = [UInt16](repeating: 0, count: src.count)
        Kernels.f32ToBF16(src, &dst, count: src.count)
        for (i, v) in src.enumerated() {
            if v.isNaN {
                #expect(refBF16ToFloat(dst[i]).isNaN)
            } else {
                #expect(dst[i] == refFloatToBF16(v), "f32->bf16 of \(v)")
            }
        }
        var back = [Float](repeating: 0, count: dst.count)
        Kernels.bf16ToF32(dst, &back, count: dst.count)
        for i in 0..<dst.count where !back[i].isNaN {
            #expect(back[i].bitPattern == UInt32(dst[i]) << 16)
        }
    }

    @Test(arguments: WeightType.allCases)
    func dequantizeRow(type: WeightType) {
        var rng = KernelTestRNG(seed: 3)
        for cols in [32, 96, 576] {
            let vals = rng.floats(cols, scale: 2)
            let (bytes, deq) = encodeWeights(vals, rows: 1, cols: cols, type: type)
            var out = [Float](repeating: .nan, count: cols)
            bytes.withUnsafeBytes { b in
                Kernels.dequantizeRow(type: type, source: b.baseAddress!, destination: &out, columns: cols)
            }
            for i in 0..<cols {
                let tol = 1e-6 * max(abs(deq[i]), 0.05)
                #expect(abs(Double(out[i]) - deq[i]) <= tol, "\(type) col \(i): \(out[i]) vs \(deq[i])")
            }
        }
    }

    @Test(arguments: WeightType.allCases)
    func matmulMatchesReference(type: WeightType) {
        var rng = KernelTestRNG(seed: 5 + UInt64(type.blockBytes))
        var shapes = [(13, 64), (21, 96), (9, 576), (40, 576)]
        if type.blockSize == 1 { shapes.append((11, 70)) }  // float types: any column count
        let pool = WorkerPool(threads: 2)
        for (rows, cols) in shapes {
            let w = rng.floats(rows * cols)
            let (bytes, deq) = encodeWeights(w, rows: rows, cols: cols, type: type)
            for n in [1, 2, 3, 5, 9, 16, 37] {  // mat-vec, small-batch tiles of 2 to 8, GEMM
                let x = rng.floats(n * cols)
                let y = runKernelMatmul(pool, type, bytes, rows: rows, cols: cols, x: x, n: n)
                for t in 0..<n {
                    for r in 0..<rows {
                        var ref = 0.0, mag = 0.0
                        for c in 0..<cols {
                            let p = deq[r * cols + c] * Double(x[t * cols + c])
                            ref += p
                            mag += abs(p)
                        }
                        let got = Double(y[t * rows + r])
                        #expect(abs(got - ref) <= 1e-5 * mag + 1e-6,
                                "\(type) \(rows)x\(cols) n=\(n) t=\(t) r=\(r): \(got) vs \(ref)")
                    }
                }
            }
        }
    }

    /// 8-bit inputs: the product of x rounded to 8 bits per 32-column block of each token, so
    /// within |error| <= sum over blocks of d/2 * sum|W|, d = max|x_block| / 127, where they
    /// apply (quantized weights on a CPU with VNNI), and the f32 product's bits elsewhere.
    @Test(arguments: WeightType.allCases)
    func int8ActivationsStayWithinTheirRoundingBound(type: WeightType) {
        var rng = KernelTestRNG(seed: 17 + UInt64(type.blockBytes))
        let pool = WorkerPool(threads: 2)
        let int8Applies = type.blockSize == 32 && Kernels.isa.hasPrefix("avx512vnni")
        var anyDifference = false
        for (rows, cols) in [(13, 64), (40, 96), (16, 576), (35, 1536)] {
            let (bytes, deq) = encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: type)
            for n in [1, 2, 3, 7, 16, 17, 37] {
                // inputs of mixed magnitude, with one all-zero block
                var x = rng.floats(n * cols, scale: 3)
                for c in 0..<min(32, cols) { x[c] = 0 }
                let y = runKernelMatmul(pool, type, bytes, rows: rows, cols: cols, x: x, n: n, activations: .int8)
                let exact = runKernelMatmul(pool, type, bytes, rows: rows, cols: cols, x: x, n: n)
                guard int8Applies else {
                    #expect(kernelBitsEqual(y, exact), "\(type) \(rows)x\(cols) n=\(n) should be the f32 product")
                    continue
                }
                anyDifference = anyDifference || !kernelBitsEqual(y, exact)
                for t in 0..<n {
                    for r in 0..<rows {
                        // ref: exact; rounded: the product with x rounded as the kernel rounds it
                        var ref = 0.0, mag = 0.0, bound = 0.0, rounded = 0.0, roundedMag = 0.0
                        for g in 0..<(cols / 32) {
                            let block = (t * cols + 32 * g)..<(t * cols + 32 * g + 32)
                            let amax = x[block].reduce(Float(0)) { max($0, abs($1)) }
                            let inverse: Float = amax > 0 ? 127 / amax : 0
                            var wsum = 0.0
                            for c in (32 * g)..<(32 * g + 32) {
                                let w = deq[r * cols + c], xc = x[t * cols + c]
                                ref += w * Double(xc)
                                mag += abs(w * Double(xc))
                                wsum += abs(w)
                                let q = min(max((xc * inverse).rounded(.toNearestOrEven), -127), 127)
                                rounded += w * Double(amax / 127) * Double(q)
                                roundedMag += abs(w * Double(amax / 127) * Double(q))
                            }
                            bound += Double(amax) / 127 / 2 * wsum
                        }
                        let got = Double(y[t * rows + r])
                        #expect(abs(got - rounded) <= 1e-5 * roundedMag + 1e-6,
                                "\(type) \(rows)x\(cols) n=\(n) t=\(t) r=\(r): \(got) vs \(rounded)")
                        #expect(abs(got - ref) <= bound * 1.001 + 1e-5 * mag + 1e-6,
                                "\(type) \(rows)x\(cols) n=\(n) t=\(t) r=\(r): \(got) vs \(ref) (bound \(bound))")
                    }
                }
            }
        }
        if int8Applies { #expect(anyDifference, "the 8-bit path did not run") }
    }

    /// With 8-bit inputs a token's results are the same bits alone, in any batch, on any number
    /// of threads.
    @Test(arguments: [WeightType.q8_0, .q4_0, .q4_1])
    func int8ActivationsAreIndependentOfBatchAndThreads(type: WeightType) {
        var rng = KernelTestRNG(seed: 23)
        let (rows, cols) = (77, 576)
        let (bytes, _) = encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: type)
        for n in [2, 9, 16, 40] {
            let x = rng.floats(n * cols)
            let base = runKernelMatmul(nil, type, bytes, rows: rows, cols: cols, x: x, n: n, activations: .int8)
            for threads in [2, 3] {
                let y = runKernelMatmul(WorkerPool(threads: threads), type, bytes, rows: rows, cols: cols, x: x, n: n,
                                        activations: .int8)
                #expect(kernelBitsEqual(y, base), "\(type) n=\(n) threads=\(threads)")
            }
            guard Kernels.isa.hasPrefix("avx512vnni") else { continue }
            for t in [0, n / 2, n - 1] {
                let alone = runKernelMatmul(nil, type, bytes, rows: rows, cols: cols,
                                            x: Array(x[(t * cols)..<((t + 1) * cols)]), n: 1, activations: .int8)
                #expect(kernelBitsEqual(alone, Array(base[(t * rows)..<((t + 1) * rows)])), "\(type) n=\(n) token \(t)")
            }
        }
    }

    /// The repacked copy the 8-bit product reads gives the same bits as the file's layout, for row
    /// counts that do and do not fill the last 16-row block and any batch or thread count.
    @Test(arguments: [WeightType.q8_0, .q4_0, .q4_1])
    func int8RepackedWeightsGiveTheSameBits(type: WeightType) {
        var rng = KernelTestRNG(seed: 37)
        for (rows, cols) in [(1, 32), (16, 64), (37, 96), (70, 576)] {
            let (bytes, _) = encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: type)
            let count = Kernels.int8RepackedBytes(type: type, rows: rows, columns: cols)
            guard Kernels.isa.hasPrefix("avx512vnni") else {
                #expect(count == 0)
                continue
            }
            #expect(count == (rows + 15) / 16 * 16 * type.rowBytes(columns: cols))
            var repacked = [UInt8](repeating: 0, count: count)
            let made = bytes.withUnsafeBytes { w in
                repacked.withUnsafeMutableBytes {
                    Kernels.int8Repack(type: type, weights: w.baseAddress!, rows: rows, columns: cols, into: $0.baseAddress!)
                }
            }
            #expect(made)
            for n in [1, 5, 16, 17, 33] {
                let x = rng.floats(n * cols, scale: 3)
                let reference = runKernelMatmul(nil, type, bytes, rows: rows, cols: cols, x: x, n: n, activations: .int8)
                for pool in [nil, WorkerPool(threads: 2)] {
                    var y = [Float](repeating: .nan, count: rows * n)
                    bytes.withUnsafeBytes { w in
                        repacked.withUnsafeBytes { r in
                            y.withUnsafeMutableBufferPointer { out in
                                Kernels.matmulGroup(pool: pool, products: [(type, w.baseAddress!, rows, out.baseAddress!, r.baseAddress!)],
                                                    columns: cols, input: x, tokens: n, activations: .int8)
                            }
                        }
                    }
                    #expect(kernelBitsEqual(y, reference), "\(type) \(rows)x\(cols) n=\(n) threads=\(pool?.threads ?? 1)")
                }
            }
        }
    }

    /// `matmulPerToken`: a token's row is the same bits alone, in batches of any size and with any
    /// thread count (the plain product takes n-dependent paths), and it is the product.
    @Test(arguments: [WeightType.f32, .q8_0])
    func perTokenProductsAreIndependentOfTheBatch(type: WeightType) {
        var rng = KernelTestRNG(seed: 29)
        for (rows, cols) in [(8, 576), (576, 32), (3, 576)] {
            let (bytes, _) = encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: type)
            func product(_ pool: WorkerPool?, _ x: [Float], _ n: Int) -> [Float] {
                var y = [Float](repeating: .nan, count: rows * n)
                bytes.withUnsafeBytes { w in
                    y.withUnsafeMutableBufferPointer { yp in
                        Kernels.matmulPerToken(pool: pool, type: type, weights: w.baseAddress!, rows: rows, columns: cols,
                                               input: x, tokens: n, output: yp.baseAddress!)
                    }
                }
                return y
            }
            for n in [2, 3, 5, 16, 17, 40] {
                let x = rng.floats(n * cols)
                let batch = product(WorkerPool(threads: 2), x, n)
                let plain = runKernelMatmul(nil, type, bytes, rows: rows, cols: cols, x: x, n: n)
                #expect(TestResources.relativeError(batch, plain) < 1e-5, "\(type) \(rows)x\(cols) n=\(n)")
                for t in [0, n / 2, n - 1] {
                    let alone = product(nil, Array(x[(t * cols)..<((t + 1) * cols)]), 1)
                    #expect(kernelBitsEqual(alone, Array(batch[(t * rows)..<((t + 1) * rows)])),
                            "\(type) \(rows)x\(cols) n=\(n) token \(t)")
                }
            }
        }
    }

    /// LoRA updates: `y + scale · B (A x)` against a double-precision reference, and a token's row
    /// the same bits alone, in batches of any size and with any thread count. Ranks and widths
    /// include ones that are not multiples of the vector widths.
    @Test func lowRankUpdatesAreTheProductAndIndependentOfTheBatch() {
        var rng = KernelTestRNG(seed: 31)
        for (rank, inputs, outputs) in [(8, 576, 192), (8, 576, 1536), (3, 70, 45), (5, 32, 7)] {
            let update = LowRankUpdate(rank: rank, inputs: inputs, outputs: outputs, down: rng.floats(rank * inputs),
                                       up: rng.floats(outputs * rank))
            let scale: Float = 1.75
            func accumulate(_ pool: WorkerPool?, _ x: [Float], _ start: [Float], _ n: Int) -> [Float] {
                var y = start
                var scratch = [Float](repeating: .nan, count: n * rank)
                y.withUnsafeMutableBufferPointer { yp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        update.accumulate(x, tokens: n, into: yp.baseAddress!, scale: scale, scratch: sp.baseAddress!, pool: pool)
                    }
                }
                return y
            }
            for n in [1, 2, 5, 16, 17] {
                let x = rng.floats(n * inputs), start = rng.floats(n * outputs)
                let batch = accumulate(WorkerPool(threads: 2), x, start, n)
                var reference = [Float](repeating: 0, count: n * outputs)
                for t in 0..<n {
                    let reduced = (0..<rank).map { j in
                        (0..<inputs).reduce(0.0) { $0 + Double(update.down[j * inputs + $1]) * Double(x[t * inputs + $1]) }
                    }
                    for o in 0..<outputs {
                        let delta = (0..<rank).reduce(0.0) { $0 + Double(update.up[o * rank + $1]) * reduced[$1] }
                        reference[t * outputs + o] = Float(Double(start[t * outputs + o]) + Double(scale) * delta)
                    }
                }
                #expect(TestResources.relativeError(batch, reference) < 1e-5, "rank \(rank) \(inputs)→\(outputs) n=\(n)")
                for t in [0, n / 2, n - 1] {
                    let alone = accumulate(nil, Array(x[(t * inputs)..<((t + 1) * inputs)]),
                                           Array(start[(t * outputs)..<((t + 1) * outputs)]), 1)
                    #expect(kernelBitsEqual(alone, Array(batch[(t * outputs)..<((t + 1) * outputs)])),
                            "rank \(rank) \(inputs)→\(outputs) n=\(n) token \(t)")
                }
            }
        }
    }

    /// Grouped products (one quantization, one pool run) and the fused SwiGLU give the same bits as
    /// separate products followed by `swiglu`, for mixed weight types and both precisions.
    /// LoRA updates of one input grouped in one pool run (as q/k/v and gate/up run): each output
    /// the same bits as the update alone, whatever the thread count.
    @Test func groupedLowRankUpdatesMatchSeparateOnes() {
        var rng = KernelTestRNG(seed: 33)
        let inputs = 96
        let updates = [(8, 96), (3, 40), (5, 7)].map { rank, outputs in
            LowRankUpdate(rank: rank, inputs: inputs, outputs: outputs, down: rng.floats(rank * inputs),
                          up: rng.floats(outputs * rank))
        }
        for n in [1, 4, 17] {
            let x = rng.floats(n * inputs)
            let starts = updates.map { rng.floats(n * $0.outputs) }
            var scratch = [Float](repeating: .nan, count: n * 8)
            let separate: [[Float]] = zip(updates, starts).map { update, start in
                var y = start
                y.withUnsafeMutableBufferPointer { yp in
                    scratch.withUnsafeMutableBufferPointer { sp in
                        update.accumulate(x, tokens: n, into: yp.baseAddress!, scale: 0.5, scratch: sp.baseAddress!)
                    }
                }
                return y
            }
            for pool in [nil, WorkerPool(threads: 2)] {
                var outputs = starts
                let pointers = outputs.indices.map { i in
                    UnsafeMutablePointer<Float>.allocate(capacity: outputs[i].count)
                }
                defer { pointers.forEach { $0.deallocate() } }
                for i in outputs.indices { pointers[i].initialize(from: outputs[i], count: outputs[i].count) }
                scratch.withUnsafeMutableBufferPointer { sp in
                    LowRankUpdate.accumulate(Array(zip(updates, pointers)), input: x, tokens: n, scale: 0.5,
                                             scratch: sp.baseAddress!, pool: pool)
                }
                for i in outputs.indices {
                    outputs[i] = Array(UnsafeBufferPointer(start: pointers[i], count: outputs[i].count))
                    #expect(kernelBitsEqual(outputs[i], separate[i]), "update \(i) n=\(n) threads=\(pool?.threads ?? 1)")
                }
            }
        }
    }

    @Test(arguments: ActivationPrecision.allCases)
    func groupedProductsMatchSeparateOnes(activations: ActivationPrecision) {
        var rng = KernelTestRNG(seed: 41)
        let cols = 96
        let shapes: [(WeightType, Int)] = [(.q4_1, 70), (.q8_0, 17), (.q4_0, 33)]
        let weights = shapes.map { type, rows in encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: type).bytes }
        let pool = WorkerPool(threads: 2)
        for n in [1, 5, 21] {
            let x = rng.floats(n * cols, scale: 3)
            let separate = shapes.indices.map { k in
                runKernelMatmul(pool, shapes[k].0, weights[k], rows: shapes[k].1, cols: cols, x: x, n: n, activations: activations)
            }
            var (g0, g1, g2) = (separate[0].map { _ in Float.nan }, separate[1].map { _ in Float.nan }, separate[2].map { _ in Float.nan })
            weights[0].withUnsafeBytes { w0 in
                weights[1].withUnsafeBytes { w1 in
                    weights[2].withUnsafeBytes { w2 in
                        let w = [w0.baseAddress!, w1.baseAddress!, w2.baseAddress!]
                        g0.withUnsafeMutableBufferPointer { y0 in
                            g1.withUnsafeMutableBufferPointer { y1 in
                                g2.withUnsafeMutableBufferPointer { y2 in
                                    let y = [y0.baseAddress!, y1.baseAddress!, y2.baseAddress!]
                                    Kernels.matmulGroup(pool: pool, products: shapes.indices.map { (shapes[$0].0, w[$0], shapes[$0].1, y[$0], nil) },
                                                        columns: cols, input: x, tokens: n, activations: activations)
                                }
                            }
                        }
                    }
                }
            }
            for (k, grouped) in [g0, g1, g2].enumerated() {
                #expect(kernelBitsEqual(grouped, separate[k]), "product \(k) n=\(n)")
            }

            // SwiGLU of a Q4_1 gate and a Q8_0 up projection with the same rows
            let rows = 70
            let up = encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: .q8_0).bytes
            let upSeparate = runKernelMatmul(pool, .q8_0, up, rows: rows, cols: cols, x: x, n: n, activations: activations)
            var expected = [Float](repeating: 0, count: rows * n)
            Kernels.swiglu(gate: separate[0], up: upSeparate, output: &expected, count: rows * n)
            var gateOut = [Float](repeating: .nan, count: rows * n), upOut = gateOut
            weights[0].withUnsafeBytes { wg in
                up.withUnsafeBytes { wu in
                    gateOut.withUnsafeMutableBufferPointer { g in
                        upOut.withUnsafeMutableBufferPointer { u in
                            Kernels.matmulSwiGLU(pool: pool, gate: (.q4_1, wg.baseAddress!, rows, g.baseAddress!, nil),
                                                 up: (.q8_0, wu.baseAddress!, rows, u.baseAddress!, nil), columns: cols,
                                                 input: x, tokens: n, activations: activations)
                        }
                    }
                }
            }
            #expect(kernelBitsEqual(upOut, upSeparate), "up n=\(n)")
            #expect(kernelBitsEqual(gateOut, expected), "swiglu n=\(n)")
        }
    }

    /// LoRA updates added by the products of a group (as q/k/v and gate/up run in the decoder): the
    /// same bits as the products followed by ``LowRankUpdate/accumulate(_:tokens:into:scale:scratch:pool:)``
    /// token by token on the flagged rows, for both activation precisions, with and without a row
    /// mask, a weight without an update among them, an update held in f16, and the SwiGLU after
    /// both updates.
    @Test(arguments: ActivationPrecision.allCases)
    func productsAddTheirLowRankUpdates(activations: ActivationPrecision) {
        var rng = KernelTestRNG(seed: 43)
        let cols = 96, scale: Float = 0.75
        let shapes: [(type: WeightType, rows: Int, rank: Int?)] = [(.q4_1, 70, 8), (.q8_0, 17, nil), (.q4_0, 33, 3), (.q8_0, 70, 5)]
        let weights = shapes.map { shape in
            let bytes = encodeWeights(rng.floats(shape.rows * cols), rows: shape.rows, cols: cols, type: shape.type).bytes
            let copy = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
            copy.copyMemory(from: bytes, byteCount: bytes.count)
            return (bytes: bytes, pointer: UnsafeRawPointer(copy))
        }
        defer { weights.forEach { $0.pointer.deallocate() } }
        // the last update's values are f16 values (as an adapter stored in f16): the 8-bit path
        // reads its f16 copy, and must give the same bits
        func f16Values(_ values: [Float]) -> [Float] {
            var narrow = [UInt16](repeating: 0, count: values.count), back = values
            Kernels.f32ToF16(values, &narrow, count: values.count)
            Kernels.f16ToF32(narrow, &back, count: values.count)
            return back
        }
        let updates: [LowRankUpdate?] = shapes.indices.map { k in
            shapes[k].rank.map { rank in
                let down = rng.floats(rank * cols), up = rng.floats(shapes[k].rows * rank)
                return k == 3 ? LowRankUpdate(rank: rank, inputs: cols, outputs: shapes[k].rows, down: f16Values(down), up: f16Values(up))
                              : LowRankUpdate(rank: rank, inputs: cols, outputs: shapes[k].rows, down: down, up: up)
            }
        }
        #expect(updates[3]?.downF16 != nil && updates[3]?.upByRankF16 != nil)
        #expect(updates[0]?.downF16 == nil && updates[0]?.upByRankF16 == nil)
        let pool = WorkerPool(threads: 2)
        for n in [1, 5, 21] {
            let x = rng.floats(n * cols, scale: 3)
            for mask in [nil, (0..<n).map { UInt8($0 % 3 == 1 ? 0 : 1) }] {
                func expected(_ k: Int) -> [Float] {
                    var y = runKernelMatmul(pool, shapes[k].type, weights[k].bytes, rows: shapes[k].rows, cols: cols, x: x, n: n,
                                            activations: activations)
                    guard let update = updates[k] else { return y }
                    var scratch = [Float](repeating: .nan, count: update.rank)
                    for t in 0..<n where (mask?[t] ?? 1) != 0 {
                        y.withUnsafeMutableBufferPointer { yp in
                            x.withUnsafeBufferPointer { xp in
                                update.accumulate(xp.baseAddress! + t * cols, tokens: 1, into: yp.baseAddress! + t * shapes[k].rows,
                                                  scale: scale, scratch: &scratch)
                            }
                        }
                    }
                    return y
                }
                // returns the outputs of `run` given output pointers and the LoRA updates of `indices`
                func grouped(_ indices: [Int], _ run: ([UnsafeMutablePointer<Float>], ProductLowRankUpdates) -> Void) -> [[Float]] {
                    let outputs = indices.map { k in
                        let y = UnsafeMutablePointer<Float>.allocate(capacity: n * shapes[k].rows)
                        y.initialize(repeating: .nan, count: n * shapes[k].rows)
                        return y
                    }
                    defer { outputs.forEach { $0.deallocate() } }
                    var scratch = [Float](repeating: .nan, count: n * 16)  // the ranks' sum at most
                    let flags = mask.map { UnsafeMutablePointer<UInt8>.allocate(capacity: $0.count) }
                    defer { flags?.deallocate() }
                    if let flags, let mask { flags.initialize(from: mask, count: n) }
                    scratch.withUnsafeMutableBufferPointer { sp in
                        run(outputs, ProductLowRankUpdates(updates: indices.map { updates[$0] }, scale: scale,
                                                           rows: flags.map { UnsafePointer($0) }, scratch: sp.baseAddress!))
                    }
                    return indices.indices.map { Array(UnsafeBufferPointer(start: outputs[$0], count: n * shapes[indices[$0]].rows)) }
                }
                let group = grouped([0, 1, 2]) { outputs, lowRank in
                    lowRank.withKernelGroup { kernelGroup in
                        Kernels.matmulGroup(pool: pool, products: (0..<3).map { (shapes[$0].type, weights[$0].pointer, shapes[$0].rows, outputs[$0], nil) },
                                            columns: cols, input: x, tokens: n, activations: activations, lowRank: kernelGroup)
                    }
                }
                for k in 0..<3 {
                    #expect(kernelBitsEqual(group[k], expected(k)), "product \(k) n=\(n) mask=\(mask != nil)")
                }
                let pair = grouped([0, 3]) { outputs, lowRank in
                    lowRank.withKernelGroup { kernelGroup in
                        Kernels.matmulSwiGLU(pool: pool, gate: (shapes[0].type, weights[0].pointer, 70, outputs[0], nil),
                                             up: (shapes[3].type, weights[3].pointer, 70, outputs[1], nil), columns: cols,
                                             input: x, tokens: n, activations: activations, lowRank: kernelGroup)
                    }
                }
                let up = expected(3)
                var swiglu = [Float](repeating: 0, count: 70 * n)
                Kernels.swiglu(gate: expected(0), up: up, output: &swiglu, count: 70 * n)
                #expect(kernelBitsEqual(pair[1], up), "up n=\(n) mask=\(mask != nil)")
                #expect(kernelBitsEqual(pair[0], swiglu), "swiglu n=\(n) mask=\(mask != nil)")
            }
        }
    }

    @Test(arguments: WeightType.allCases)
    func matmulIsIndependentOfThreadCount(type: WeightType) {
        var rng = KernelTestRNG(seed: 99)
        let pools = [WorkerPool(threads: 1), WorkerPool(threads: 2), WorkerPool(threads: 3)]
        for (rows, cols) in [(300, 64), (77, 576)] {
            let (bytes, _) = encodeWeights(rng.floats(rows * cols), rows: rows, cols: cols, type: type)
            for n in [1, 2, 9, 37, 70] {
                let x = rng.floats(n * cols)
                let base = runKernelMatmul(nil, type, bytes, rows: rows, cols: cols, x: x, n: n)
                #expect(!base.contains { $0.isNaN })
                for pool in pools {
                    for _ in 0..<2 {
                        let y = runKernelMatmul(pool, type, bytes, rows: rows, cols: cols, x: x, n: n)
                        #expect(kernelBitsEqual(y, base), "\(type) \(rows)x\(cols) n=\(n) threads=\(pool.threads)")
                    }
                }
            }
        }
    }

    @Test func poolRunsEveryTaskOnce() {
        for threads in [1, 2, 3, 4] {
            let pool = WorkerPool(threads: threads)
            #expect(pool.threads == threads)
            for tasks in [1, 2, 5, 64, 1000] {
                let counts = UnsafeMutablePointer<Int>.allocate(capacity: tasks)
                counts.initialize(repeating: 0, count: tasks)
                for _ in 0..<3 {
                    pool.run(tasks: tasks) { i in counts[i] += 1 }
                }
                for i in 0..<tasks { #expect(counts[i] == 3) }
                counts.deallocate()
            }
            // nested runs execute inline
            let outer = UnsafeMutablePointer<Int>.allocate(capacity: 4 * 3)
            outer.initialize(repeating: 0, count: 12)
            pool.run(tasks: 4) { i in
                pool.run(tasks: 3) { j in outer[i * 3 + j] += 1 }
            }
            for i in 0..<12 { #expect(outer[i] == 1) }
            outer.deallocate()
        }
    }

    /// Many small jobs back to back: a worker that read the old job's state while the next job was
    /// being set up once claimed an extra task (found as a rare double run, about once per million jobs).
    @Test func poolNeverRunsATaskTwiceAcrossBackToBackJobs() {
        let pool = WorkerPool(threads: 2)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { counts.deallocate() }
        counts.initialize(repeating: 0, count: 4)
        var failures = 0
        for job in 0..<5_000_000 {
            let tasks = 2 + job % 3
            pool.run(tasks: tasks) { i in counts[i] += 1 }
            for i in 0..<4 where counts[i] != (i < tasks ? 1 : 0) { failures += 1 }
            for i in 0..<4 { counts[i] = 0 }
            if failures > 0 { break }
        }
        #expect(failures == 0)
    }

    @Test func poolSurvivesSleepingWorkers() async throws {
        let pool = WorkerPool(threads: 2)
        let n = 16
        let out = UnsafeMutablePointer<Int>.allocate(capacity: n)
        defer { out.deallocate() }
        for round in 0..<5 {
            out.initialize(repeating: 0, count: n)
            pool.run(tasks: n) { i in out[i] = i + round }
            for i in 0..<n { #expect(out[i] == i + round) }
            try await Task.sleep(nanoseconds: 2_000_000)  // > spin time: workers go to sleep
        }
    }

    @Test func rmsNorm() {
        var rng = KernelTestRNG(seed: 21)
        for n in [1, 7, 64, 576, 1000] {
            let x = rng.floats(n, scale: 3)
            let w = rng.floats(n)
            var out = [Float](repeating: 0, count: n)
            var out2 = [Float](repeating: 0, count: n)
            Kernels.rmsNorm(x, weight: w, output: &out, count: n, epsilon: 1e-5)
            Kernels.rmsNorm(x, weight: nil, output: &out2, count: n, epsilon: 1e-5)
            let ms = x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n)
            let r = 1 / (ms + 1e-5).squareRoot()
            for i in 0..<n {
                let ref = Double(x[i]) * r * Double(w[i])
                #expect(abs(Double(out[i]) - ref) <= 2e-6 * abs(ref) + 1e-7)
                let ref2 = Double(x[i]) * r
                #expect(abs(Double(out2[i]) - ref2) <= 2e-6 * abs(ref2) + 1e-7)
            }
            // in place
            var inplace = x
            inplace.withUnsafeMutableBufferPointer { p in
                Kernels.rmsNorm(p.baseAddress!, weight: w, output: p.baseAddress!, count: n, epsilon: 1e-5)
            }
            #expect(kernelBitsEqual(inplace, out))
        }
    }

    @Test func swigluAddSoftmax() {
        var rng = KernelTestRNG(seed: 23)
        for n in [1, 5, 8, 13, 64, 1537] {
            let g = rng.floats(n, scale: 12), u = rng.floats(n, scale: 2)
            var out = [Float](repeating: 0, count: n)
            Kernels.swiglu(gate: g, up: u, output: &out, count: n)
            for i in 0..<n {
                let gd = Double(g[i])
                let ref = gd / (1 + refExp(-gd)) * Double(u[i])
                #expect(abs(Double(out[i]) - ref) <= 1e-6 * abs(ref) + 1e-30, "swiglu \(g[i])")
            }
            var y = u
            Kernels.add(&y, g, count: n)
            for i in 0..<n { #expect(y[i] == u[i] + g[i]) }
            var s = rng.floats(n, scale: 20)
            let orig = s
            Kernels.softmax(&s, count: n)
            let mx = orig.max()!
            let es = orig.map { refExp(Double($0 - mx)) }
            let sum = es.reduce(0, +)
            for i in 0..<n {
                let ref = es[i] / sum
                #expect(abs(Double(s[i]) - ref) <= 2e-6 * ref + 1e-30, "softmax \(i)")
            }
        }
        // extreme gates: no NaN, saturate correctly
        let g: [Float] = [-200, -100, -90, -88, 0, 88, 90, 100, 200]
        let u = [Float](repeating: 1, count: g.count)
        var out = [Float](repeating: 0, count: g.count)
        Kernels.swiglu(gate: g, up: u, output: &out, count: g.count)
        for i in 0..<g.count {
            let gd = Double(g[i])
            let ref = gd / (1 + refExp(-gd))
            #expect(abs(Double(out[i]) - ref) <= 1e-6 * abs(ref) + 1e-37, "swiglu(\(g[i])) = \(out[i])")
        }
    }

    @Test func argmaxIsTheFirstLargestAndSkipsNaN() {
        var rng = KernelTestRNG(seed: 29)
        func reference(_ x: [Float]) -> Int {
            var best = 0
            for i in x.indices where x[i] > x[best] { best = i }
            return best
        }
        for n in [1, 2, 7, 8, 9, 31, 64, 100, 49_152] {
            for trial in 0..<6 {
                // few distinct values, so ties are common; NaNs and infinities sprinkled in
                var x = (0..<n).map { _ in Float(rng.int(5)) - 2 }
                if trial >= 2 { for _ in 0..<max(1, n / 10) { x[rng.int(n)] = .nan } }
                if trial >= 4 { x[rng.int(n)] = -.infinity }
                if trial == 5 { x[0] = .nan }
                x.withUnsafeBufferPointer { buffer in
                    #expect(Kernels.argmax(buffer.baseAddress!, count: n) == reference(x), "n=\(n) trial=\(trial)")
                }
            }
        }
        #expect(Sampler.argmax([]) == 0)
    }

    @Test func ropeBothLayouts() {
        var rng = KernelTestRNG(seed: 31)
        for dim in [64, 128] {
            let invFreq = (0..<(dim / 2)).map { Float(1 / refPow(10000.0, Double(2 * $0) / Double(dim))) }
            for pos in [0, 1, 17, 4095, 32000] {
                for interleaved in [true, false] {
                    let x = rng.floats(dim, scale: 4)
                    var y = x
                    Kernels.rope(&y, dimension: dim, position: pos, inverseFrequencies: invFreq,
                                 interleaved: interleaved)
                    // twice at the same position (cached angles) gives the same result
                    var y2 = x
                    Kernels.rope(&y2, dimension: dim, position: pos, inverseFrequencies: invFreq,
                                 interleaved: interleaved)
                    #expect(kernelBitsEqual(y, y2))
                    for i in 0..<(dim / 2) {
                        let angle = Double(Float(pos) * invFreq[i])  // f32 product, as PyTorch
                        let c = refCos(angle), s = refSin(angle)
                        let (a, b) = interleaved ? (2 * i, 2 * i + 1) : (i, i + dim / 2)
                        let r0 = Double(x[a]) * c - Double(x[b]) * s
                        let r1 = Double(x[b]) * c + Double(x[a]) * s
                        #expect(abs(Double(y[a]) - r0) <= 2e-6 * 4, "rope \(dim) \(pos) \(i)")
                        #expect(abs(Double(y[b]) - r1) <= 2e-6 * 4, "rope \(dim) \(pos) \(i)")
                    }
                }
            }
        }
    }
}

// MARK: - Attention

/// Paged KV storage for one KV head (test-side).
final class KernelTestKV {
    let type: WeightType, pageSize: Int, headDim: Int, slots: Int
    var kPages: [UnsafeMutableRawPointer] = []
    var vPages: [UnsafeMutableRawPointer] = []
    var k: [Double], v: [Double]  // exact stored values, [slot][d]

    init(type: WeightType, pageSize: Int, headDim: Int, slots: Int, mask: [UInt8]?, rng: inout KernelTestRNG) {
        self.type = type
        self.pageSize = pageSize
        self.headDim = headDim
        self.slots = slots
        let esz = type == .f32 ? 4 : 2
        let pages = (slots + pageSize - 1) / pageSize
        for _ in 0..<pages {
            kPages.append(UnsafeMutableRawPointer.allocate(byteCount: pageSize * headDim * esz, alignment: 64))
            vPages.append(UnsafeMutableRawPointer.allocate(byteCount: pageSize * headDim * esz, alignment: 64))
        }
        k = []
        v = []
        for s in 0..<slots {
            let hidden = mask.map { $0[s] == 0 } ?? false
            for which in 0..<2 {
                let page = (which == 0 ? kPages : vPages)[s / pageSize]
                let off = (s % pageSize) * headDim
                for d in 0..<headDim {
                    // hidden slots hold NaN: the kernels must never read them
                    let val: Float = hidden ? .nan : rng.float() * (which == 0 ? 2 : 1)
                    var stored = Double(val)
                    switch type {
                    case .f32: page.storeBytes(of: val, toByteOffset: (off + d) * 4, as: Float.self)
                    case .f16:
                        let h = hidden ? UInt16(0x7e00) : refFloatToHalf(val)
                        page.storeBytes(of: h, toByteOffset: (off + d) * 2, as: UInt16.self)
                        stored = Double(refHalfToFloat(h))
                    default:
                        let h = hidden ? UInt16(0x7fc0) : refFloatToBF16(val)
                        page.storeBytes(of: h, toByteOffset: (off + d) * 2, as: UInt16.self)
                        stored = Double(refBF16ToFloat(h))
                    }
                    if which == 0 { k.append(stored) } else { v.append(stored) }
                }
            }
        }
    }

    deinit {
        for p in kPages { p.deallocate() }
        for p in vPages { p.deallocate() }
    }

    func withPages<R>(_ body: (UnsafePointer<UnsafeRawPointer?>, UnsafePointer<UnsafeRawPointer?>) -> R) -> R {
        let kp: [UnsafeRawPointer?] = kPages.map { UnsafeRawPointer($0) }
        let vp: [UnsafeRawPointer?] = vPages.map { UnsafeRawPointer($0) }
        return kp.withUnsafeBufferPointer { kb in vp.withUnsafeBufferPointer { vb in body(kb.baseAddress!, vb.baseAddress!) } }
    }

    /// Double reference: [G][D], zeros for heads without visible slots.
    func reference(q: [Float], G: Int, scale: Float, mask: [UInt8]?, range: Range<Int>) -> [Double] {
        var out = [Double](repeating: 0, count: G * headDim)
        let vis = range.filter { mask == nil || mask![$0] != 0 }
        if vis.isEmpty { return out }
        for g in 0..<G {
            var sc: [Double] = vis.map { s in
                var d = 0.0
                for e in 0..<headDim { d += Double(q[g * headDim + e]) * k[s * headDim + e] }
                return d * Double(scale)
            }
            let mx = sc.max()!
            sc = sc.map { refExp($0 - mx) }
            let sum = sc.reduce(0, +)
            for (j, s) in vis.enumerated() {
                for e in 0..<headDim { out[g * headDim + e] += sc[j] / sum * v[s * headDim + e] }
            }
        }
        return out
    }
}

@Suite struct KernelAttentionTests {
    func attention(_ kv: KernelTestKV, q: [Float], G: Int, scale: Float, mask: [UInt8]?) -> [Float] {
        var out = [Float](repeating: .nan, count: G * kv.headDim)
        kv.withPages { kp, vp in
            mask.withKernelMaskPointer { mp in
                Kernels.attention(kvType: kv.type, keyPages: kp, valuePages: vp, pageSize: kv.pageSize,
                                  slots: kv.slots, mask: mp, headDim: kv.headDim, queries: q,
                                  groupSize: G, scale: scale, output: &out)
            }
        }
        return out
    }

    @Test(arguments: [WeightType.f32, .f16, .bf16])
    func attentionMatchesReference(type: WeightType) {
        var rng = KernelTestRNG(seed: 41)
        let configs: [(pageSize: Int, slots: Int, headDim: Int, G: Int)] = [
            (16, 1, 64, 3), (5, 37, 64, 3), (1, 9, 128, 2), (64, 150, 64, 3), (7, 100, 128, 1),
            (16, 70, 64, 5), (3, 20, 64, 17), (256, 300, 128, 3),
        ]
        for c in configs {
            for masked in [false, true] {
                let mask: [UInt8]? = masked ? (0..<c.slots).map { _ in rng.int(3) == 0 ? 0 : 1 } : nil
                let kv = KernelTestKV(type: type, pageSize: c.pageSize, headDim: c.headDim, slots: c.slots,
                                mask: mask, rng: &rng)
                let q = rng.floats(c.G * c.headDim, scale: 2)
                let scale = 1 / Float(c.headDim).squareRoot()
                let out = attention(kv, q: q, G: c.G, scale: scale, mask: mask)
                let ref = kv.reference(q: q, G: c.G, scale: scale, mask: mask, range: 0..<c.slots)
                for i in 0..<out.count {
                    #expect(abs(Double(out[i]) - ref[i]) <= 1e-5 * 1 + 1e-5 * abs(ref[i]),
                            "\(type) \(c) masked=\(masked) i=\(i): \(out[i]) vs \(ref[i])")
                }
            }
        }
    }

    @Test(arguments: [WeightType.f32, .f16])
    func partialsMergeToFull(type: WeightType) {
        var rng = KernelTestRNG(seed: 43)
        let (pageSize, slots, D, G) = (8, 120, 64, 3)
        var mask: [UInt8] = (0..<slots).map { _ in rng.int(4) == 0 ? 0 : 1 }
        for s in 40..<60 { mask[s] = 0 }  // a fully masked chunk
        let kv = KernelTestKV(type: type, pageSize: pageSize, headDim: D, slots: slots, mask: mask, rng: &rng)
        let q = rng.floats(G * D, scale: 2)
        let scale: Float = 0.125
        let full = attention(kv, q: q, G: G, scale: scale, mask: mask)
        let bounds = [0, 13, 40, 60, 61, 120]
        let parts = bounds.count - 1
        var acc = [Float](repeating: .nan, count: parts * G * D)
        var m = [Float](repeating: .nan, count: parts * G)
        var l = [Float](repeating: .nan, count: parts * G)
        kv.withPages { kp, vp in
            mask.withUnsafeBufferPointer { mp in
                for p in 0..<parts {
                    acc.withUnsafeMutableBufferPointer { a in
                        m.withUnsafeMutableBufferPointer { mb in
                            l.withUnsafeMutableBufferPointer { lb in
                                Kernels.attentionPartial(
                                    kvType: type, keyPages: kp, valuePages: vp, pageSize: pageSize,
                                    slotBegin: bounds[p], slotEnd: bounds[p + 1], mask: mp.baseAddress,
                                    headDim: D, queries: q, groupSize: G, scale: scale,
                                    accumulator: a.baseAddress! + p * G * D, maxima: mb.baseAddress! + p * G,
                                    sums: lb.baseAddress! + p * G)
                            }
                        }
                    }
                }
            }
        }
        // the all-masked chunk [40, 60)
        for g in 0..<G {
            #expect(m[2 * G + g] == -.infinity)
            #expect(l[2 * G + g] == 0)
        }
        #expect(acc[(2 * G * D)..<(3 * G * D)].allSatisfy { $0 == 0 })
        var merged = [Float](repeating: .nan, count: G * D)
        Kernels.attentionMerge(parts: parts, groupSize: G, headDim: D, accumulators: acc, maxima: m,
                               sums: l, output: &merged)
        for i in 0..<merged.count {
            #expect(abs(merged[i] - full[i]) <= 1e-5 * (1 + abs(full[i])), "merge \(i)")
        }
        // everything masked: zeros
        let none = [UInt8](repeating: 0, count: slots)
        let zero = attention(kv, q: q, G: G, scale: scale, mask: none)
        #expect(zero.allSatisfy { $0 == 0 })
        var mz = [Float](repeating: 0, count: G * D)
        Kernels.attentionMerge(parts: 1, groupSize: G, headDim: D,
                               accumulators: [Float](repeating: 0, count: G * D),
                               maxima: [Float](repeating: -.infinity, count: G),
                               sums: [Float](repeating: 0, count: G), output: &mz)
        #expect(mz.allSatisfy { $0 == 0 })
    }
}

extension Optional where Wrapped == [UInt8] {
    func withKernelMaskPointer<R>(_ body: (UnsafePointer<UInt8>?) -> R) -> R {
        switch self {
        case .none: return body(nil)
        case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
        }
    }
}

@inline(__always) func refExp(_ x: Double) -> Double { Foundation.exp(x) }
@inline(__always) func refCos(_ x: Double) -> Double { Foundation.cos(x) }
@inline(__always) func refSin(_ x: Double) -> Double { Foundation.sin(x) }
@inline(__always) func refPow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }
