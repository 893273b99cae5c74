/// Wall-clock figures of one generation: prefill throughput and per-token decode latency.
public struct GenerationTiming: Sendable, Equatable {
    public var prefillTokens = 0
    public var prefillSeconds = 0.0
    /// Seconds of each decode step (sampling + one forward), in order.
    public var decodeLatencies: [Double] = []

    public init() {}

    public var prefillTokensPerSecond: Double {
        prefillSeconds > 0 ? Double(prefillTokens) / prefillSeconds : 0
    }

    public var decodeTokensPerSecond: Double {
        let total = decodeLatencies.reduce(0, +)
        return total > 0 ? Double(decodeLatencies.count) / total : 0
    }

    /// The `fraction` quantile of the decode latencies in milliseconds (nearest rank).
    public func decodeMillisecondsQuantile(_ fraction: Double) -> Double {
        Statistics.quantile(decodeLatencies, fraction) * 1000
    }
}

/// Small order statistics shared by timing and benchmarks.
public enum Statistics {
    /// Nearest-rank quantile of `values` (0 when empty).
    public static func quantile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return sorted[min(max(rank, 0), sorted.count - 1)]
    }

    public static func median(_ values: [Double]) -> Double { quantile(values, 0.5) }
}
