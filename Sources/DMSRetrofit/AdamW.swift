import Foundation

/// AdamW with global gradient-norm clipping, over one flat parameter vector.
public struct AdamW: Sendable, Equatable {
    public var learningRate: Float
    public var beta1: Float
    public var beta2: Float
    public var weightDecay: Float
    public var gradientClip: Float
    public var epsilon: Float = 1e-8
    /// First and second moments, and the number of updates taken.
    public var firstMoment: [Float]
    public var secondMoment: [Float]
    public var updates = 0

    public init(count: Int, learningRate: Float, beta1: Float, beta2: Float, weightDecay: Float, gradientClip: Float) {
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecay = weightDecay
        self.gradientClip = gradientClip
        firstMoment = [Float](repeating: 0, count: count)
        secondMoment = [Float](repeating: 0, count: count)
    }

    /// Clips `gradient` to norm `gradientClip` and applies one update to `parameters`.
    /// Returns the gradient's norm before clipping.
    @discardableResult
    public mutating func step(_ parameters: inout [Float], gradient: [Float]) -> Double {
        precondition(parameters.count == gradient.count && gradient.count == firstMoment.count)
        let norm = gradient.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
        let clip: Float = norm > Double(gradientClip) ? Float(Double(gradientClip) / norm) : 1
        updates += 1
        let correction1 = 1 - pow(beta1, Float(updates))
        let correction2 = 1 - pow(beta2, Float(updates))
        for i in parameters.indices {
            let g = gradient[i] * clip
            firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * g
            secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g * g
            let m = firstMoment[i] / correction1
            let v = secondMoment[i] / correction2
            parameters[i] -= learningRate * (m / (v.squareRoot() + epsilon) + weightDecay * parameters[i])
        }
        return norm
    }
}
