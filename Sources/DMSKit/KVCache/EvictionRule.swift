/// Which resident token a budget-based policy drops when a head is over its budget.
///
/// A rule sees one head at a time: for every slot, the position it holds (`-1` when free) and its
/// score (the last query's attention weight for TOVA, the accumulated weight for H2O).
public protocol EvictionRule: Sendable {
    /// The policy's CLI name.
    var policyName: String { get }
    /// Whether scores are needed (computing attention weights costs a second pass over the keys).
    var usesScores: Bool { get }
    /// Whether a query's weights add to the scores (H2O) or replace them (TOVA).
    var accumulatesScores: Bool { get }
    /// The slot to evict, given the current position and the head's budget, or nil to keep everything.
    func victim(positions: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>, current: Int, budget: Int) -> Int?
}

extension EvictionRule {
    /// The live slot minimising `key`, among those `eligible` accepts (ties: the oldest position).
    func argmin(_ positions: UnsafeBufferPointer<Int32>, eligible: (Int32) -> Bool, key: (Int) -> Float) -> Int? {
        var best: Int?
        var bestKey = Float.infinity
        for slot in positions.indices where positions[slot] >= 0 && eligible(positions[slot]) {
            let value = key(slot)
            if best == nil || value < bestKey || (value == bestKey && positions[slot] < positions[best!]) {
                best = slot
                bestKey = value
            }
        }
        return best
    }
}
