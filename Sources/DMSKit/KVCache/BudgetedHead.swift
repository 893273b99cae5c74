/// Slot bookkeeping of one (layer, KV head) under a budget-based policy.
final class BudgetedHead {
    /// Position held by each slot, -1 when free.
    var positions: [Int32] = []
    /// Per-slot score for the eviction rule.
    var scores: [Float] = []
    /// 1 for live slots: what attention may read.
    var mask: [UInt8] = []
    var freeSlots: [Int32] = []
    var live = 0
    /// Attention weights of the latest query, and the kernel's scratch.
    var weights: [Float] = []
    var scratch: [Float] = []

    var used: Int { positions.count }

    /// A free slot, or a new one at the end.
    func takeSlot(position: Int) -> Int {
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = Int(free)
        } else {
            slot = positions.count
            positions.append(-1)
            scores.append(0)
            mask.append(0)
            weights.append(0)
            scratch.append(0)
        }
        positions[slot] = Int32(position)
        scores[slot] = 0
        mask[slot] = 1
        live += 1
        return slot
    }

    func free(_ slot: Int) {
        positions[slot] = -1
        mask[slot] = 0
        freeSlots.append(Int32(slot))
        live -= 1
    }

    func copy(from source: BudgetedHead) {
        positions = source.positions
        scores = source.scores
        mask = source.mask
        freeSlots = source.freeSlots
        live = source.live
        weights = source.weights
        scratch = source.scratch
    }

    func clear() {
        positions.removeAll()
        scores.removeAll()
        mask.removeAll()
        freeSlots.removeAll()
        weights.removeAll()
        scratch.removeAll()
        live = 0
    }
}
