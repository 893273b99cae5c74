/// H2O: keep a window of recent tokens plus the heavy hitters, the older tokens with the largest
/// attention accumulated over all past queries; drop the lightest older token.
public struct H2ORule: EvictionRule {
    /// Tokens at positions `> current - recent` are never dropped.
    public var recent: Int
    public init(recent: Int) { self.recent = recent }

    public var policyName: String { "h2o" }
    public var usesScores: Bool { true }
    public var accumulatesScores: Bool { true }

    public func victim(positions: UnsafeBufferPointer<Int32>, scores: UnsafeBufferPointer<Float>, current: Int) -> Int? {
        argmin(positions, eligible: { Int($0) <= current - recent }, key: { scores[$0] })
            // Everything resident is recent (budget ≤ window): fall back to the oldest token.
            ?? argmin(positions, eligible: { _ in true }, key: { Float(positions[$0]) })
    }
}
