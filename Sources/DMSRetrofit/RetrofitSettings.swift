import DMSKit

/// Everything that defines a retrofit run besides the model and the data (spec section 7).
///
/// A checkpoint records these; `--resume` refuses to continue under different settings.
public struct RetrofitSettings: Codable, Equatable, Sendable {
    /// DMS delay window `w` the adapter is trained for.
    public var window = 64
    /// Scale `s` and offset `b` of the decision logit `s · W_alpha · RMSNorm_alpha(x) − b`.
    public var alphaScale: Float = 100
    public var offset: Float = 5
    /// Temperature of the Gumbel-sigmoid relaxation.
    public var temperature: Float = 0.1
    /// Leading tokens of every sequence that are never evicted (attention sinks); 0 is NVIDIA's recipe.
    public var sinks = 4
    /// Tokens per training sequence (well above the window).
    public var sequenceLength = 1024
    /// Optimizer steps (one sequence each).
    public var steps = 240
    /// The compression ratio the schedule reaches at the last step, and the ratio its linear
    /// ramp is aimed at (the original: 1 → 16 over 510 steps, 8 at step 238).
    public var targetRatio = 8.0
    public var finalRatio = 16.0
    /// Steps at the end that stay at `targetRatio` (the ramp reaches it this many steps early).
    public var holdSteps = 0
    /// AdamW.
    public var learningRate: Float = 3e-4
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var weightDecay: Float = 0
    public var gradientClip: Float = 1
    /// Seeds the data order, the logistic noise and LoRA's initial `A`.
    public var seed: UInt64 = 0
    /// Rank of LoRA updates of the attention projections trained with the decisions (0: none,
    /// NVIDIA's adapter recipe); they are scaled by `loraAlpha / loraRank`.
    public var loraRank = 0
    public var loraAlpha: Float = 16
    /// Whether LoRA also updates the feed-forward projections (gate, up, down); nil (the default,
    /// and checkpoints from before the option, which it keeps resumable) is attention only.
    public var loraFeedForward: Bool?
    /// Whether LoRA updates the feed-forward projections.
    public var lowRankCoversFeedForward: Bool { loraFeedForward ?? false }
    /// The distillation's KL direction as given; nil (the default, and checkpoints from before the
    /// option, which it keeps resumable) is the recipe's KL(student ‖ teacher).
    public var klDirection: KLDirection?
    /// The KL direction the distillation minimises.
    public var distillationDirection: KLDirection { klDirection ?? .studentTeacher }
    /// An adapter whose weights the run starts from instead of the identity adapter (its file
    /// name is recorded; nil: start from the base model).
    public var initialAdapter: String?

    public init() {}

    /// The compression schedule these settings define.
    public var schedule: CompressionSchedule {
        CompressionSchedule(initialRatio: 1, aimedRatio: finalRatio, rampSteps: rampSteps, ceiling: targetRatio)
    }

    /// Steps over which the ratio would rise from 1 to `finalRatio`; chosen so that step
    /// `steps − holdSteps` reaches `targetRatio`.
    public var rampSteps: Double {
        targetRatio > 1 ? Double(steps - holdSteps) * (finalRatio - 1) / (targetRatio - 1) : 1
    }

    /// Checks the settings make sense; the message names the offending setting.
    public func validate() throws {
        func check(_ ok: Bool, _ message: String) throws {
            if !ok { throw RetrofitError.invalidSettings(message) }
        }
        try check(window >= 0, "the window must be ≥ 0")
        try check(sinks >= 0, "sinks must be ≥ 0")
        try check(sequenceLength > window + 1, "the sequence length must exceed the window + 1 (got \(sequenceLength), window \(window))")
        try check(steps >= 1, "steps must be ≥ 1")
        try check(holdSteps >= 0 && holdSteps < steps, "the hold steps must be in 0..<steps")
        try check(targetRatio >= 1 && targetRatio.isFinite, "the target ratio must be ≥ 1")
        try check(finalRatio >= targetRatio && finalRatio.isFinite, "the final ratio must be ≥ the target ratio")
        try check(learningRate > 0 && learningRate.isFinite, "the learning rate must be > 0")
        try check((0..<1).contains(beta1) && (0..<1).contains(beta2), "betas must be in [0, 1)")
        try check(weightDecay >= 0 && gradientClip > 0, "weight decay must be ≥ 0 and the clip > 0")
        try check(loraRank >= 0 && loraRank <= 256 && loraAlpha > 0 && loraAlpha.isFinite, "the LoRA rank must be in 0...256 and alpha > 0")
        try check(loraRank > 0 || !lowRankCoversFeedForward, "feed-forward LoRA updates need a LoRA rank > 0")
        try check(temperature > 0 && alphaScale.isFinite && offset.isFinite, "the temperature must be > 0")
    }
}
