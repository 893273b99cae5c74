/// What one optimizer step did: a line of the JSON-lines training log and of the progress bar.
public struct RetrofitStepReport: Codable, Sendable, Equatable {
    public var step: Int
    public var steps: Int
    /// Which training sequence the step used.
    public var sequence: Int
    public var loss: Double
    /// KL(student ‖ teacher), nats per token.
    public var kl: Double
    /// max(0, target − evicted fraction).
    public var compressionLoss: Double
    /// The schedule's ratio at this step and the eviction fraction it asks for.
    public var targetRatio: Double
    public var targetFraction: Double
    /// Mean hard decision over layers, KV heads and positions, and the ratio `1 / (1 − f)` it means.
    public var evictedFraction: Double
    public var ratio: Double
    /// Mean relaxed decision `p`.
    public var meanProbability: Double
    /// Gradient norm before clipping.
    public var gradientNorm: Double
    public var learningRate: Double
    /// Wall time of this step and since the run began (resumed runs included).
    public var seconds: Double
    public var elapsedSeconds: Double

    enum CodingKeys: String, CodingKey {
        case step, steps, sequence, loss, kl, ratio, seconds
        case compressionLoss = "compression_loss"
        case targetRatio = "target_ratio"
        case targetFraction = "target_fraction"
        case evictedFraction = "evicted_fraction"
        case meanProbability = "mean_probability"
        case gradientNorm = "gradient_norm"
        case learningRate = "learning_rate"
        case elapsedSeconds = "elapsed_seconds"
    }
}
