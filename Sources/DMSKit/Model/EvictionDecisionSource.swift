/// Where a model's DMS eviction logits come from.
public enum EvictionDecisionSource: Sendable {
    /// Variant A: the checkpoint's borrowed query neuron (config.json `dms_*`).
    case queryNeuron(DMSParameters)
    /// Variant B: a trained adapter on the residual stream.
    case adapter(DMSAdapter)
    /// Random decisions flagging a `rate` fraction of tokens: measures the mechanism's speed and
    /// memory, not quality.
    case synthetic(rate: Double, seed: UInt64)

    /// The window the decisions were trained with (the synthetic source has none).
    public var trainedWindow: Int? {
        switch self {
        case .queryNeuron(let p): return p.window
        case .adapter(let a): return a.parameters.window
        case .synthetic: return nil
        }
    }
}
