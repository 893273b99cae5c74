/// Events per second over a sliding window of recent time (for a live tokens/s gauge).
struct ThroughputWindow {
    let seconds: Double
    /// One bucket per tenth of a second: (bucket start, events).
    private var buckets: [(start: Double, count: Int)] = []

    init(seconds: Double) { self.seconds = seconds }

    mutating func record(tokens: Int, at time: Double) {
        let start = (time * 10).rounded(.down) / 10
        if let last = buckets.last, last.start == start {
            buckets[buckets.count - 1].count += tokens
        } else {
            buckets.append((start, tokens))
        }
        buckets.removeAll { $0.start < time - seconds }
    }

    /// Events per second over the window ending at `time`.
    func rate(at time: Double) -> Double {
        let recent = buckets.filter { $0.start >= time - seconds }.reduce(0) { $0 + $1.count }
        return Double(recent) / seconds
    }
}
