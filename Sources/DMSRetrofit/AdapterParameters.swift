import DMSKit

/// The trainable weights of a DMS adapter (variant B) as one flat vector, so the optimizer,
/// gradient clipping and checkpoints see a single array.
///
/// First the decisions: per layer `W_alpha` (`kvHeads × hidden`, zero-initialised) then
/// `RMSNorm_alpha`'s weight (`hidden`, ones). Then, when `loraRank > 0`, per layer and per
/// projection (attention's q, k, v, o, and with `loraFeedForward` the MLP's gate, up, down) LoRA's
/// `A` (`rank × inputs`, small random) and `B` (`outputs × rank`, zero). Both initialisations
/// leave the model exactly the base model.
public struct AdapterParameters: Sendable, Equatable {
    /// The shape of one projection.
    public struct Projection: Sendable, Equatable {
        public let outputs: Int
        public let inputs: Int
    }

    public let layers: Int
    public let kvHeads: Int
    public let hidden: Int
    public let loraRank: Int
    /// In the order of ``LowRankAdapter/modules``: q, k, v, o (and gate, up, down).
    public let projections: [Projection]
    public var values: [Float]

    /// Values per layer of the decision part.
    public var layerStride: Int { kvHeads * hidden + hidden }
    private var decisionCount: Int { layers * layerStride }
    private var loraLayerStride: Int { projections.reduce(0) { $0 + loraRank * ($1.inputs + $1.outputs) } }

    /// The identity adapter for `c`; LoRA's `A` is drawn from `seed` (uniform in ±1/√inputs).
    public init(configuration c: ModelConfiguration, loraRank: Int = 0, loraFeedForward: Bool = false, seed: UInt64 = 0) {
        layers = c.layerCount
        kvHeads = c.kvHeadCount
        hidden = c.hiddenSize
        self.loraRank = loraRank
        projections = LowRankAdapter.shapes(c, feedForward: loraFeedForward).map { Projection(outputs: $0.outputs, inputs: $0.inputs) }
        values = []  // every stored property set: the offsets below can be computed
        let total = decisionCount + (loraRank > 0 ? layers * loraLayerStride : 0)
        values = [Float](repeating: 0, count: total)
        for l in 0..<layers {
            for i in 0..<hidden { values[normOffset(layer: l) + i] = 1 }
        }
        guard loraRank > 0 else { return }
        var random = RandomSource(seed: seed ^ 0x10_4A)
        for l in 0..<layers {
            for p in 0..<projections.count {
                let bound = 1 / Float(projections[p].inputs).squareRoot()
                let down = loraOffset(layer: l, projection: p).down
                for i in 0..<(loraRank * projections[p].inputs) {
                    values[down + i] = Float(random.nextUnit() * 2 - 1) * bound
                }
            }
        }
    }

    /// Offset of layer `l`'s `W_alpha` in `values`.
    public func projectionOffset(layer l: Int) -> Int { l * layerStride }
    /// Offset of layer `l`'s `RMSNorm_alpha` weight in `values`.
    public func normOffset(layer l: Int) -> Int { l * layerStride + kvHeads * hidden }

    /// Offsets of LoRA's `A` and `B` for projection `p` (0 q, 1 k, 2 v, 3 o, 4 gate, 5 up, 6 down)
    /// of layer `l`.
    public func loraOffset(layer l: Int, projection p: Int) -> (down: Int, up: Int) {
        var offset = decisionCount + l * loraLayerStride
        for q in 0..<p { offset += loraRank * (projections[q].inputs + projections[q].outputs) }
        return (offset, offset + loraRank * projections[p].inputs)
    }

    /// Takes the values of a trained adapter of the same model: the decisions always, and LoRA's
    /// `A` and `B` when it has them (of this rank). What the adapter lacks stays at its identity
    /// initialisation, so a decisions-only adapter can start a LoRA run and an attention-only
    /// LoRA adapter one with feed-forward updates too.
    public mutating func load(_ adapter: DMSAdapter) throws {
        guard adapter.layers.count == layers,
              adapter.layers.allSatisfy({ $0.projection.count == kvHeads * hidden && $0.norm.count == hidden }) else {
            throw RetrofitError.invalidSettings("the initial adapter's decision weights do not fit this model")
        }
        for (l, layer) in adapter.layers.enumerated() {
            values.replaceSubrange(projectionOffset(layer: l)..<normOffset(layer: l), with: layer.projection)
            values.replaceSubrange(normOffset(layer: l)..<(normOffset(layer: l) + hidden), with: layer.norm)
        }
        guard let lowRank = adapter.lowRank else { return }
        guard lowRank.rank == loraRank, lowRank.layers.count == layers else {
            throw RetrofitError.invalidSettings("the initial adapter has LoRA rank \(lowRank.rank), this run \(loraRank)")
        }
        guard lowRank.layers.allSatisfy({ $0.updates.count <= projections.count }) else {
            throw RetrofitError.invalidSettings("the initial adapter has feed-forward LoRA updates, this run has none")
        }
        for (l, layer) in lowRank.layers.enumerated() {
            for (p, update) in layer.updates.enumerated() {
                let (down, up) = loraOffset(layer: l, projection: p), shape = projections[p]
                guard update.inputs == shape.inputs, update.outputs == shape.outputs else {
                    throw RetrofitError.invalidSettings("the initial adapter's LoRA shapes do not fit this model")
                }
                values.replaceSubrange(down..<up, with: update.down)
                values.replaceSubrange(up..<(up + shape.outputs * loraRank), with: update.up)
            }
        }
    }

    /// The adapter these values define, in the layout of the model they were trained on.
    public func adapter(parameters: DMSParameters, loraAlpha: Float, metadata: [String: String]) -> DMSAdapter {
        let decisionLayers = (0..<layers).map { l in
            DMSAdapter.Layer(projection: Array(values[projectionOffset(layer: l)..<normOffset(layer: l)]),
                             norm: Array(values[normOffset(layer: l)..<(normOffset(layer: l) + hidden)]))
        }
        var lowRank: LowRankAdapter?
        if loraRank > 0 {
            lowRank = LowRankAdapter(rank: loraRank, alpha: loraAlpha, layers: (0..<layers).map { l in
                let updates = projections.indices.map { p in
                    let (down, up) = loraOffset(layer: l, projection: p), shape = projections[p]
                    return LowRankUpdate(rank: loraRank, inputs: shape.inputs, outputs: shape.outputs,
                                         down: Array(values[down..<up]),
                                         up: Array(values[up..<(up + shape.outputs * loraRank)]))
                }
                return LowRankAdapter.Layer(updates: updates)
            })
        }
        return DMSAdapter(parameters: parameters, layers: decisionLayers, lowRank: lowRank, metadata: metadata)
    }
}
