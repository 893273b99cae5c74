/// H2O: keep a window of recent tokens plus the heavy hitters, the older tokens with the largest
/// attention accumulated over all past queries; drop the lightest older token.
public struct H2ORule: EvictionRule {
    /// Tokens at positions `> current - recent` are never dropped; nil is half the budget (H2O's
    /// even split between heavy hitters and recent tokens).
    public var recent: Int?
    public init(recent: Int? = nil) { self.recent = recent }

    public var policyName: String { "h2o" }
    public var usesScores: Bool { true }
    public var accumulatesScores: Bool { true }

    public func victim(positions: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>, current: Int, budget: Int) -> Int? {
        let recent = self.recent ?? budget / 2
        return argmin(positions, eligible: { Int($0) <= current - recent }, key: { scores[$0] })
            // Everything resident is recent (budget ≤ window): fall back to the oldest token.
            ?? argmin(positions, eligible: { _ in true }, key: { Float(positions[$0]) })
    }
}
