/// The candidates of one sampling step (tokens whose logit reaches `floor`), ranked best first
/// (higher logit, then lower id) only as far as they are read.
///
/// A vocabulary has tens of thousands of tokens, but top-k, top-p and the draw itself almost
/// always stop within the first few dozen: ranking them all on every step (a sort of the whole
/// vocabulary) cost milliseconds per token, more than a batched decode step.
struct RankedLogits {
    let logits: [Float]
    let floor: Float
    /// How many tokens are candidates.
    let count: Int
    /// The best `ranked.count` candidates' ids, best first.
    private var ranked: [Int] = []

    init(_ logits: [Float], floor: Float) {
        self.logits = logits
        self.floor = floor
        count = logits.reduce(0) { $1 >= floor ? $0 + 1 : $0 }
    }

    /// The id of the candidate at rank `rank` (`rank < count`).
    mutating func id(at rank: Int) -> Int {
        precondition(rank < count, "rank \(rank) of \(count) candidates")
        if rank >= ranked.count { rankBest(rank + 1) }
        return ranked[rank]
    }

    /// Softmax of `(logit - maximum) / temperature` over the best `kept` candidates (all of them
    /// when `kept == count`), indexed by token id; other tokens get 0.
    mutating func probabilities(keeping kept: Int, maximum: Float, temperature: Float) -> [Float] {
        // Only the kept values enter the softmax: a vocabulary of -inf entries would make its
        // exponential produce subnormals, which cost a microcode assist each.
        var ids: [Int] = []
        ids.reserveCapacity(kept)
        if kept == count {
            for (id, logit) in logits.enumerated() where logit >= floor { ids.append(id) }
        } else {
            for rank in 0..<kept { ids.append(id(at: rank)) }
        }
        var scaled = ids.map { (logits[$0] - maximum) / temperature }
        scaled.withUnsafeMutableBufferPointer { Kernels.softmax($0.baseAddress!, count: $0.count) }
        var probabilities = [Float](repeating: 0, count: logits.count)
        for (id, probability) in zip(ids, scaled) { probabilities[id] = probability }
        return probabilities
    }

    /// Candidates as keys that sort best first: the logit's bits mapped to an order where a
    /// larger logit gives a smaller key, then the id (ties go to the lower id).
    private static func key(_ id: Int, _ logit: Float) -> UInt64 {
        let bits = logit.bitPattern
        let ascending = bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000
        return UInt64(~ascending) << 32 | UInt64(id)
    }

    /// Ranks at least the best `wanted` candidates: a bounded heap picks a few times more than
    /// were ranked before (so reading on costs a geometric series), or all are sorted once the
    /// prefix nears the whole set.
    private mutating func rankBest(_ wanted: Int) {
        let target = max(wanted, 64, ranked.count * 8)
        var keys: [UInt64] = []
        keys.reserveCapacity(count)
        for (id, logit) in logits.enumerated() where logit >= floor { keys.append(Self.key(id, logit)) }
        if target * 4 >= count {
            keys.sort()
        } else {
            keys = Self.smallest(target, of: keys)
        }
        ranked = keys.map { Int(truncatingIfNeeded: $0 & 0xFFFF_FFFF) }
    }

    /// The `m` smallest keys, in order, through a max-heap of the best `m` so far.
    private static func smallest(_ m: Int, of keys: [UInt64]) -> [UInt64] {
        var heap = [UInt64](repeating: 0, count: m)
        heap.withUnsafeMutableBufferPointer { heap in
            keys.withUnsafeBufferPointer { keys in
                for i in 0..<m {  // sift up
                    var child = i
                    heap[child] = keys[i]
                    while child > 0 {
                        let parent = (child - 1) / 2
                        guard heap[child] > heap[parent] else { break }
                        heap.swapAt(child, parent)
                        child = parent
                    }
                }
                for key in keys[m...] where key < heap[0] {  // replace the worst, sift down
                    heap[0] = key
                    var parent = 0
                    while true {
                        let left = 2 * parent + 1, right = left + 1
                        var largest = parent
                        if left < m, heap[left] > heap[largest] { largest = left }
                        if right < m, heap[right] > heap[largest] { largest = right }
                        guard largest != parent else { break }
                        heap.swapAt(parent, largest)
                        parent = largest
                    }
                }
            }
        }
        heap.sort()
        return heap
    }
}
