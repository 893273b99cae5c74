import DMSKit

/// Moves a trained adapter (variant B) to another operating point without training: a delay
/// window and the decision threshold at which it reaches a target compression ratio on
/// calibration text, the threshold then folded into the adapter's offset. Evicting when
/// `s · W_alpha · x − b > θ` is evicting when `s · W_alpha · x − (b + θ) > 0`, so the calibrated
/// adapter runs with the default threshold 0.
///
/// The ratio is the engine's own physical measure (tokens seen per resident slot, the window's
/// slots included) at the end of each sequence, averaged over the sequences; it falls as the
/// threshold rises, which a bisection uses.
public struct AdapterCalibration {
    /// One measured threshold.
    public struct Probe: Sendable, Equatable {
        public var threshold: Float
        public var ratio: Double
    }

    public let loaded: LoadedModel
    public let adapter: DMSAdapter
    public let window: Int
    public let sequences: [[Int]]
    /// Tokens per forward call while reading a sequence.
    public var chunk = 512

    /// `adapter` (loaded for `loaded`'s configuration) at `window`, measured on `sequences`.
    public init(loaded: LoadedModel, adapter: DMSAdapter, window: Int, sequences: [[Int]]) throws {
        guard window >= 0 else { throw RetrofitError.invalidSettings("the window must be ≥ 0") }
        guard let shortest = sequences.map(\.count).min(), shortest > window + 1 else {
            throw RetrofitError.notEnoughData("calibration needs sequences longer than the window + 1")
        }
        self.loaded = loaded
        self.adapter = adapter
        self.window = window
        self.sequences = sequences
    }

    /// The mean compression ratio over the sequences at `threshold`. Attaches ``adapter`` to
    /// ``loaded`` (replacing what it had), since the decoder reads the decisions from there.
    public func ratio(threshold: Float) throws -> Double {
        loaded.attach(adapter)
        var options = KVCacheOptions(policy: .dms)
        options.dmsWindow = window
        options.dmsThreshold = threshold
        var total = 0.0
        for sequence in sequences {
            let session = GenerationSession(model: loaded.model, tokenizer: loaded.tokenizer, cache: try loaded.makeCache(options))
            session.prefillChunk = chunk
            var timing = GenerationTiming()
            try session.prefill(sequence, timing: &timing)
            total += session.cache.statistics().compressionRatio
        }
        return total / Double(sequences.count)
    }

    /// The largest threshold in `range` (to within its width / 2^`iterations`) at which the mean
    /// ratio is at least `target`, with the ratio there; `progress` sees every probe.
    public func threshold(reaching target: Double, in range: ClosedRange<Float> = -50...50, iterations: Int = 12,
                          progress: (Probe) -> Void = { _ in }) throws -> Probe {
        func probe(_ threshold: Float) throws -> Probe {
            let measured = Probe(threshold: threshold, ratio: try ratio(threshold: threshold))
            progress(measured)
            return measured
        }
        var reaching = try probe(range.lowerBound)
        guard reaching.ratio >= target else {
            throw RetrofitError.invalidSettings(
                "the adapter reaches ratio \(String(format: "%.2f", reaching.ratio)) at most (threshold \(range.lowerBound)), below \(target)")
        }
        let high = try probe(range.upperBound)
        if high.ratio >= target { return high }
        var above = range.upperBound
        for _ in 0..<iterations {
            let middle = try probe((reaching.threshold + above) / 2)
            if middle.ratio >= target { reaching = middle } else { above = middle.threshold }
        }
        return reaching
    }

    /// The adapter moved to this window with `probe`'s threshold folded into its offset; its
    /// metadata records the calibration.
    public func calibratedAdapter(_ probe: Probe, description: String) -> DMSAdapter {
        var calibrated = adapter
        calibrated.parameters = DMSParameters(window: window, alphaScale: adapter.parameters.alphaScale,
                                              offset: adapter.parameters.offset + probe.threshold,
                                              trainedRatio: probe.ratio, sinks: adapter.parameters.sinks)
        calibrated.metadata.merge([
            "dms.calibration.window": "\(window)",
            "dms.calibration.threshold": "\(probe.threshold)",
            "dms.calibration.ratio": "\(probe.ratio)",
            "dms.calibration.original_window": "\(adapter.parameters.window)",
            "dms.calibration.original_offset": "\(adapter.parameters.offset)",
            "dms.calibration.data": description,
        ]) { $1 }
        return calibrated
    }
}
