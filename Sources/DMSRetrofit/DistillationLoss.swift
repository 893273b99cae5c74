import DMSKit

/// The distillation term of the retrofit loss: KL(student ‖ teacher) (or, by `direction`,
/// KL(teacher ‖ student)) over the vocabulary at temperature 1, averaged over positions, computed from the two models' final hidden states in
/// chunks of rows so the `[T][vocabulary]` logits never exist at once.
final class DistillationLoss {
    let vocabulary: Int
    let hidden: Int
    let chunkRows: Int
    let direction: KLDirection
    private let studentLogits, teacherLogits, logitGradient: ScratchBuffer
    private var rowDivergence: [Double]

    init(configuration c: ModelConfiguration, direction: KLDirection, chunkRows: Int = 128) {
        self.direction = direction
        vocabulary = c.vocabularySize
        hidden = c.hiddenSize
        self.chunkRows = chunkRows
        studentLogits = ScratchBuffer(capacity: chunkRows * c.vocabularySize)
        teacherLogits = ScratchBuffer(capacity: chunkRows * c.vocabularySize)
        logitGradient = ScratchBuffer(capacity: chunkRows * c.vocabularySize)
        rowDivergence = [Double](repeating: 0, count: chunkRows)
    }

    /// Mean KL over `tokens` rows; writes ∂(mean KL)/∂studentHidden to `hiddenGradient` (`[T][hidden]`).
    func evaluate(student: UnsafePointer<Float>, teacher: UnsafePointer<Float>, tokens: Int,
                  decoder: DifferentiableDecoder, hiddenGradient: UnsafeMutablePointer<Float>) -> Double {
        let output = decoder.model.weights.output, pool = decoder.pool
        let v = vocabulary, direction = direction
        var total = 0.0
        var start = 0
        while start < tokens {
            let rows = min(chunkRows, tokens - start)
            output.apply(student + start * hidden, tokens: rows, into: studentLogits.pointer, pool: pool)
            output.apply(teacher + start * hidden, tokens: rows, into: teacherLogits.pointer, pool: pool)
            let s = studentLogits.pointer, t = teacherLogits.pointer, g = logitGradient.pointer
            rowDivergence.withUnsafeMutableBufferPointer { divergence in
                parallelFor(pool, rows) { r in
                    divergence[r] = Kernels.klDivergence(student: s + r * v, teacher: t + r * v, count: v,
                                                         gradient: g + r * v, direction: direction)
                }
                for r in 0..<rows { total += divergence[r] }
            }
            let rowGradient = hiddenGradient + start * hidden
            decoder.transposed.vocabulary.apply(g, tokens: rows, into: rowGradient, pool: pool)
            // the mean over positions, applied to the small hidden gradient rather than the logits
            let inverse = 1 / Float(tokens)
            for i in 0..<(rows * hidden) { rowGradient[i] *= inverse }
            start += rows
        }
        return total / Double(tokens)
    }
}
