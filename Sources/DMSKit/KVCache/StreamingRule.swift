/// StreamingLLM: keep the first `sinks` tokens (attention sinks) and the most recent ones.
public struct StreamingRule: EvictionRule {
    public var sinks: Int
    public init(sinks: Int = 4) { self.sinks = sinks }

    public var policyName: String { "streaming" }
    public var usesScores: Bool { false }
    public var accumulatesScores: Bool { false }

    public func victim(positions: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>, current: Int, budget: Int) -> Int? {
        argmin(positions, eligible: { $0 >= sinks }, key: { Float(positions[$0]) })
    }
}
