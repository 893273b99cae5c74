/// Where a model's DMS eviction logits come from.
public enum EvictionDecisionSource: Sendable {
    /// Variant A: the checkpoint's borrowed query neuron (config.json `dms_*`).
    case queryNeuron(DMSParameters)
    /// Variant B: a trained adapter on the residual stream.
    case adapter(DMSAdapter)
    /// Random decisions flagging a `rate` fraction of tokens: measures the mechanism's speed and
    /// memory, not quality. Each decision is a pure function of (seed, layer, position, KV head),
    /// so chunking and the order of forward calls do not change them.
    case synthetic(rate: Double, seed: UInt64)

    /// The window the decisions were trained with (the synthetic source has none).
    public var trainedWindow: Int? {
        switch self {
        case .queryNeuron(let p): return p.window
        case .adapter(let a): return a.parameters.window
        case .synthetic: return nil
        }
    }

    /// The leading tokens the decisions were trained never to evict (0 when none).
    public var trainedSinks: Int {
        switch self {
        case .queryNeuron(let p): return p.sinks
        case .adapter(let a): return a.parameters.sinks
        case .synthetic: return 0
        }
    }

    /// What the decisions are, for `dms inspect`: the variant and its settings.
    public var summary: String {
        func settings(_ p: DMSParameters) -> String {
            "window \(p.window), scale \(p.alphaScale), offset \(p.offset)"
                + (p.sinks > 0 ? ", \(p.sinks) sinks" : "") + (p.trainedRatio.map { ", trained for ratio \($0)" } ?? "")
        }
        switch self {
        case .queryNeuron(let p): return "variant A (query neuron), " + settings(p)
        case .adapter(let a):
            let lowRank = a.lowRank.map { " and LoRA rank \($0.rank) on attention\($0.coversFeedForward ? " and MLP" : "")" }
            return "variant B (decision weights\(lowRank ?? "")), " + settings(a.parameters)
        case .synthetic(let rate, let seed): return "synthetic, rate \(rate), seed \(seed)"
        }
    }
}
