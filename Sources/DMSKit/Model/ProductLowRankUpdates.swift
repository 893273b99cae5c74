import CDMSKernels

/// LoRA updates that a group of weight products adds to its outputs
/// (``LinearWeight/apply(_:to:tokens:pool:activations:lowRank:)``): one per weight, `nil` where a
/// weight has none, each `output[t] += scale · B (A input[t])` for the token rows flagged in `rows`
/// (all of them when `rows` is `nil`). With 8-bit activations the products' own tasks add them, so
/// the outputs are not read a second time.
public struct ProductLowRankUpdates {
    public var updates: [LowRankUpdate?]
    public var scale: Float
    /// One flag per token row (nonzero: the updates apply), or `nil` for all rows.
    public var rows: UnsafePointer<UInt8>?
    /// Room for `tokens ·` the sum of the updates' ranks floats.
    public var scratch: UnsafeMutablePointer<Float>

    public init(updates: [LowRankUpdate?], scale: Float, rows: UnsafePointer<UInt8>?, scratch: UnsafeMutablePointer<Float>) {
        self.updates = updates
        self.scale = scale
        self.rows = rows
        self.scratch = scratch
    }

    /// Whether there is one update per weight, each with the weight's inputs and outputs.
    /// (Any collection, so a product call checks its weights without building a list of them.)
    @usableFromInline func fits(_ weights: some Collection<LinearWeight>) -> Bool {
        updates.count == weights.count && zip(updates, weights).allSatisfy { update, weight in
            update.map { $0.inputs == weight.columns && $0.outputs == weight.rows } ?? true
        }
    }

    /// The kernels' description of the updates, valid inside `body`.
    public func withKernelGroup<R>(_ body: (dms_low_rank_group) -> R) -> R {
        LowRankUpdate.withKernelUpdates(count: updates.count, { (updates[$0], nil) }) { kernelUpdates in
            body(dms_low_rank_group(updates: kernelUpdates.baseAddress, scale: scale, rows: rows, scratch: scratch))
        }
    }
}
