/// TOVA: drop the token the current query attends to least (weights averaged over the group).
public struct TOVARule: EvictionRule {
    public init() {}

    public var policyName: String { "tova" }
    public var usesScores: Bool { true }
    public var accumulatesScores: Bool { false }

    public func victim(positions: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>, current: Int, budget: Int) -> Int? {
        argmin(positions, eligible: { _ in true }, key: { scores[$0] })
    }
}
