import DMSKit
import Foundation
import Testing

/// The retrofit's row kernels (distillation KL, RMSNorm and SwiGLU backward) against double
/// precision references and central finite differences of them.
@Suite struct TrainingRowKernelTests {
    static func randomRow(_ n: Int, seed: UInt64, scale: Double = 1) -> [Float] {
        var random = RandomSource(seed: seed)
        return (0..<n).map { _ in Float((random.nextUnit() * 2 - 1) * scale) }
    }

    static func kl(_ s: [Double], _ t: [Double]) -> Double {
        func logSoftmax(_ z: [Double]) -> [Double] {
            let m = z.max()!
            let lse = m + log(z.reduce(0) { $0 + exp($1 - m) })
            return z.map { $0 - lse }
        }
        let ls = logSoftmax(s), lt = logSoftmax(t)
        return zip(ls, lt).reduce(0) { $0 + exp($1.0) * ($1.0 - $1.1) }
    }

    @Test(arguments: [7, 64, 1000], KLDirection.allCases)
    func klDivergenceAndGradient(n: Int, direction: KLDirection) {
        let student = Self.randomRow(n, seed: 1, scale: 4), teacher = Self.randomRow(n, seed: 2, scale: 4)
        // the exact divergence in double precision, in the direction under test
        func reference(_ s: [Double], _ t: [Double]) -> Double { direction == .studentTeacher ? Self.kl(s, t) : Self.kl(t, s) }
        var gradient = [Float](repeating: 0, count: n)
        let value = Kernels.klDivergence(student: student, teacher: teacher, count: n, gradient: &gradient, direction: direction)
        let s = student.map(Double.init), t = teacher.map(Double.init)
        #expect(abs(value - reference(s, t)) <= 1e-6 * max(1, reference(s, t)))
        #expect(abs(Self.kl(s, t) - Self.kl(t, s)) > 1e-3, "the two directions differ on these rows")
        for i in [0, n / 2, n - 1] {
            var up = s, down = s
            up[i] += 1e-5
            down[i] -= 1e-5
            let numeric = (reference(up, t) - reference(down, t)) / 2e-5
            #expect(abs(numeric - Double(gradient[i])) <= 1e-5, "logit \(i): \(gradient[i]) vs \(numeric)")
        }
        var same = [Float](repeating: 0, count: n)
        #expect(abs(Kernels.klDivergence(student: student, teacher: student, count: n, gradient: &same, direction: direction)) < 1e-9)
    }

    @Test func rmsNormBackward() {
        let n = 48, eps: Float = 1e-5
        let x = Self.randomRow(n, seed: 3, scale: 2), w = Self.randomRow(n, seed: 4), dy = Self.randomRow(n, seed: 5)
        func loss(_ x: [Double], _ w: [Double]) -> Double {
            let r = 1 / (x.reduce(0) { $0 + $1 * $1 } / Double(n) + Double(eps)).squareRoot()
            return (0..<n).reduce(0) { $0 + x[$1] * r * w[$1] * Double(dy[$1]) }
        }
        var dx = [Float](repeating: 0.5, count: n), dw = [Float](repeating: 0.25, count: n)
        Kernels.rmsNormBackward(x, weight: w, outputGradient: dy, count: n, epsilon: eps, inputGradient: &dx, weightGradient: &dw)
        let xd = x.map(Double.init), wd = w.map(Double.init)
        for i in 0..<n {
            var a = xd, b = xd
            a[i] += 1e-6
            b[i] -= 1e-6
            // both gradients accumulate onto what was there (0.5 and 0.25)
            #expect(abs((loss(a, wd) - loss(b, wd)) / 2e-6 - Double(dx[i] - 0.5)) <= 1e-4)
            var c = wd, d = wd
            c[i] += 1e-6
            d[i] -= 1e-6
            #expect(abs((loss(xd, c) - loss(xd, d)) / 2e-6 - Double(dw[i] - 0.25)) <= 1e-4)
        }
    }

    @Test func swigluBackward() {
        let n = 40
        let gate = Self.randomRow(n, seed: 6, scale: 6), up = Self.randomRow(n, seed: 7, scale: 2), dy = Self.randomRow(n, seed: 8)
        var dGate = [Float](repeating: 0, count: n), dUp = [Float](repeating: 0, count: n)
        Kernels.swigluBackward(gate: gate, up: up, outputGradient: dy, count: n, gateGradient: &dGate, upGradient: &dUp)
        func out(_ g: Double, _ u: Double) -> Double { g / (1 + exp(-g)) * u }
        for i in 0..<n {
            let g = Double(gate[i]), u = Double(up[i]), d = Double(dy[i])
            let numericGate = (out(g + 1e-6, u) - out(g - 1e-6, u)) / 2e-6 * d
            let numericUp = (out(g, u + 1e-6) - out(g, u - 1e-6)) / 2e-6 * d
            #expect(abs(numericGate - Double(dGate[i])) <= 1e-4 * max(1, abs(numericGate)))
            #expect(abs(numericUp - Double(dUp[i])) <= 1e-4 * max(1, abs(numericUp)))
        }
    }
}
