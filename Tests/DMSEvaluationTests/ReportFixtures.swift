import DMSEvaluation

/// Synthetic evaluation records for the chart and report tests: passkey at two lengths with
/// DMS and baselines matched to its ratio, KL at fixed ratios, and decode latency.
enum ReportFixtures {
    /// A record whose resources shrink with `ratio` as a real run's would.
    static func record(task: String = "passkey", length: Int = 4096, policy: String, ratio: Double,
                       requested: Double? = nil, value: Double, setting: String = "") -> EvaluationRecord {
        let metric: String, higherIsBetter: Bool
        switch task {
        case "kl": (metric, higherIsBetter) = ("kl_nats_per_token", false)
        case "latency": (metric, higherIsBetter) = ("decode_latency_ms", false)
        default: (metric, higherIsBetter) = ("accuracy", true)
        }
        let peakTokens = Int(Double(length * 30 * 3) / ratio)
        return EvaluationRecord(task: task, length: length, policy: policy, setting: setting, requestedRatio: requested,
                                compressionRatio: ratio, metric: metric, value: value, higherIsBetter: higherIsBetter,
                                samples: 20, tokenReads: Double(length) * 2_000 / ratio, peakKVTokens: peakTokens,
                                peakKVBytes: peakTokens * 128, decodeLatencyP50Milliseconds: 3 / ratio.squareRoot(),
                                decodeLatencyP99Milliseconds: 5 / ratio.squareRoot(), decodeTokensPerSecond: 300 * ratio.squareRoot())
    }

    static let records: [EvaluationRecord] = {
        var records: [EvaluationRecord] = []
        for length in [4096, 8192] {
            records.append(record(length: length, policy: "full", ratio: 1, value: 1))
            records.append(record(length: length, policy: "dms", ratio: 7.8, value: 0.95, setting: "adapter.safetensors"))
            records.append(record(length: length, policy: "streaming", ratio: 7.7, requested: 7.8, value: 0.6, setting: "ratio 7.8"))
            records.append(record(length: length, policy: "tova", ratio: 7.8, requested: 7.8, value: 0.85, setting: "ratio 7.8"))
        }
        records.append(record(task: "kl", policy: "full", ratio: 1, value: 0))
        for ratio in [2.0, 4.0] {
            records.append(record(task: "kl", policy: "h2o", ratio: ratio, requested: ratio, value: 0.1 * ratio, setting: "ratio \(ratio)"))
            records.append(record(task: "kl", policy: "streaming", ratio: ratio, requested: ratio, value: 0.2 * ratio, setting: "ratio \(ratio)"))
        }
        for length in [8192, 4096] {
            records.append(record(task: "latency", length: length, policy: "full", ratio: 1, value: Double(length) / 1_000))
            records.append(record(task: "latency", length: length, policy: "dms", ratio: 7.8, value: Double(length) / 4_000))
        }
        return records
    }()
}
