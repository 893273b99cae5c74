/// The numbers that define a DMS eviction decision and its delay (spec sections 3 and 5).
public struct DMSParameters: Sendable, Equatable {
    /// Delay window `w`: a flagged token stays visible for `w` more positions.
    public var window: Int
    /// Scale `s` of the decision logit (`dms_alpha_scale`, 100 in the released checkpoint).
    public var alphaScale: Float
    /// Offset `b` subtracted from the logit (`dms_initial_alpha_offset`, 5).
    public var offset: Float
    /// The compression ratio the model was trained for (documentation only).
    public var trainedRatio: Double?
    /// The first `sinks` tokens of a sequence are never flagged (attention sinks); 0 in NVIDIA's
    /// recipe, set by adapters trained with protected sinks.
    public var sinks: Int

    public init(window: Int, alphaScale: Float = 100, offset: Float = 5, trainedRatio: Double? = nil, sinks: Int = 0) {
        self.window = window
        self.alphaScale = alphaScale
        self.offset = offset
        self.trainedRatio = trainedRatio
        self.sinks = sinks
    }
}
