import Foundation

/// llama-bench's two measurements on a model: prompt processing (`pp`) and token generation
/// (`tg`), each after `depth` tokens already in the cache, repeated for a median and spread.
public struct Benchmark {
    public struct Settings: Sendable {
        public var promptTokens = 512
        public var generatedTokens = 128
        public var depth = 0
        public var repetitions = 3
        public init() {}
    }

    /// Spread of a repeated measurement.
    public struct Spread: Codable, Sendable {
        public var min: Double
        public var max: Double
        public var stddev: Double

        public init(_ values: [Double]) {
            self.min = values.min() ?? 0
            self.max = values.max() ?? 0
            let mean = values.reduce(0, +) / Double(Swift.max(values.count, 1))
            stddev = (values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(Swift.max(values.count, 1))).squareRoot()
        }
    }

    public struct Result: Sendable {
        public var prefillTokensPerSecond: [Double] = []
        public var decodeTokensPerSecond: [Double] = []
        /// Every decode step's latency over all repetitions, in seconds.
        public var decodeLatencies: [Double] = []
        /// Statistics of the cache after the last decode run.
        public var kv: KVStatistics?
    }

    public let model: LanguageModel
    public let makeCache: () throws -> KVCache
    public let settings: Settings

    public init(model: LanguageModel, settings: Settings, makeCache: @escaping () throws -> KVCache) {
        self.model = model
        self.settings = settings
        self.makeCache = makeCache
    }

    /// Runs the measurements. Tokens are drawn at random from the vocabulary with a fixed seed,
    /// as llama-bench does; `progress` receives a line per finished run.
    public func run(chunk: Int = 512, progress: (String) -> Void = { _ in }) throws -> Result {
        var random = RandomSource(seed: 42)
        let vocabulary = model.configuration.vocabularySize
        func tokens(_ count: Int) -> [Int] { (0..<count).map { _ in Int(random.next() % UInt64(vocabulary)) } }
        func fill(_ cache: KVCache, _ count: Int) throws {
            var left = count
            while left > 0 {
                let n = min(chunk, left)
                _ = try model.forward(tokens(n), cache: cache, phase: .prefill, logits: .none)
                left -= n
            }
        }
        var result = Result()
        for repetition in 0..<max(settings.repetitions, 1) {
            if settings.promptTokens > 0 {
                let cache = try makeCache()
                try fill(cache, settings.depth)
                let prompt = tokens(settings.promptTokens)
                let start = DispatchTime.now()
                var offset = 0
                while offset < prompt.count {
                    let end = min(offset + chunk, prompt.count)
                    _ = try model.forward(Array(prompt[offset..<end]), cache: cache, phase: .prefill,
                                          logits: end == prompt.count ? .last : .none)
                    offset = end
                }
                let speed = Double(prompt.count) / GenerationSession.seconds(since: start)
                result.prefillTokensPerSecond.append(speed)
                progress(String(format: "run %d: pp%d @ d%d: %.1f tokens/s", repetition + 1, settings.promptTokens, settings.depth, speed))
            }
            if settings.generatedTokens > 0 {
                let cache = try makeCache()
                try fill(cache, settings.depth)
                var token = tokens(1)[0]
                let start = DispatchTime.now()
                for _ in 0..<settings.generatedTokens {
                    let step = DispatchTime.now()
                    let logits = try model.forward([token], cache: cache, phase: .decode, logits: .last)
                    token = Sampler.argmax(logits)
                    result.decodeLatencies.append(GenerationSession.seconds(since: step))
                }
                let speed = Double(settings.generatedTokens) / GenerationSession.seconds(since: start)
                result.decodeTokensPerSecond.append(speed)
                result.kv = cache.statistics()
                progress(String(format: "run %d: tg%d @ d%d: %.1f tokens/s", repetition + 1, settings.generatedTokens, settings.depth, speed))
            }
        }
        return result
    }
}
