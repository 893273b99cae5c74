import Foundation

/// The serving measurements of issue-level claims: aggregate decode throughput of concurrent
/// sequences, and how many long sequences one KV budget holds at once.
public enum BatchBenchmark {
    /// Decode throughput while every sequence of a batch is generating.
    public struct Throughput: Sendable, Codable {
        public var concurrency: Int
        /// Tokens generated, and seconds elapsed, between the last sequence's first token and
        /// the first sequence's end (the span in which all `concurrency` sequences decode).
        public var tokens: Int
        public var seconds: Double
        public var tokensPerSecond: Double
    }

    /// Runs `concurrency` sequences of `promptTokens` random tokens, each generating
    /// `generatedTokens` greedily, under a scheduler that reads every prompt in one step.
    public static func throughput(loaded: LoadedModel, configuration: BatchScheduler.Configuration, concurrency: Int,
                                  promptTokens: Int, generatedTokens: Int, seed: UInt64 = 42) async throws -> Throughput {
        var configuration = configuration
        configuration.prefillChunk = max(configuration.prefillChunk, concurrency * promptTokens)
        configuration.maxSequences = max(configuration.maxSequences, concurrency)
        let scheduler = try BatchScheduler(model: loaded, configuration: configuration)
        defer { scheduler.shutdown() }
        let clock = DispatchTime.now()
        let sequences = try randomPrompts(count: concurrency, length: promptTokens, vocabulary: loaded.configuration.vocabularySize,
                                          seed: seed).map {
            try scheduler.submit(SequenceRequest(prompt: $0, maxTokens: generatedTokens, sampling: .greedy, stopTokens: []))
        }
        // Each sequence's token arrival times, in seconds since `clock`.
        let arrivals = try await withThrowingTaskGroup(of: [Double].self) { group in
            for sequence in sequences {
                group.addTask {
                    var times: [Double] = []
                    for try await event in sequence.events {
                        if case .token(let token) = event, token.id >= 0 { times.append(BatchScheduler.seconds(since: clock)) }
                    }
                    return times
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        let start = arrivals.compactMap(\.first).max() ?? 0
        let end = arrivals.compactMap(\.last).min() ?? 0
        let tokens = arrivals.reduce(0) { total, times in total + times.filter { $0 > start && $0 <= end }.count }
        let seconds = max(end - start, 1e-9)
        return Throughput(concurrency: concurrency, tokens: tokens, seconds: seconds, tokensPerSecond: Double(tokens) / seconds)
    }

    /// How many sequences of a given length run at once in a KV budget.
    public struct Capacity: Sendable, Codable {
        public var sequences: Int
        public var contextTokens: Int
        /// The most sequences generating at the same time (each then holds its whole prompt).
        public var peakConcurrent: Int
        public var preemptions: Int
        public var peakBytes: Int
        public var budgetBytes: Int
        public var seconds: Double
    }

    /// Sends every prompt as a request generating `generatedTokens` more and records the peak
    /// number of sequences generating together.
    public static func capacity(loaded: LoadedModel, configuration: BatchScheduler.Configuration, prompts: [[Int]],
                                generatedTokens: Int) async throws -> Capacity {
        let count = prompts.count
        var configuration = configuration
        configuration.maxSequences = max(configuration.maxSequences, count)
        let scheduler = try BatchScheduler(model: loaded, configuration: configuration)
        defer { scheduler.shutdown() }
        let clock = DispatchTime.now()
        let sequences = try prompts.map {
            try scheduler.submit(SequenceRequest(prompt: $0, maxTokens: generatedTokens, sampling: .greedy, stopTokens: []))
        }
        let peak = try await withThrowingTaskGroup(of: Int.self) { group in
            for sequence in sequences {
                group.addTask {
                    for try await _ in sequence.events {}
                    return 0
                }
            }
            group.addTask {
                var peak = 0
                while true {
                    let metrics = scheduler.metrics()
                    peak = max(peak, metrics.decoding)
                    if metrics.finished + metrics.failed + metrics.cancelled == count { return peak }
                    try await Task.sleep(nanoseconds: 5_000_000)
                }
            }
            return try await group.reduce(0, max)
        }
        let metrics = scheduler.metrics()
        return Capacity(sequences: count, contextTokens: (prompts.map(\.count).max() ?? 0) + generatedTokens, peakConcurrent: peak, preemptions: metrics.preemptions,
                        peakBytes: metrics.kvPeakBytes, budgetBytes: metrics.kvBudgetBytes,
                        seconds: BatchScheduler.seconds(since: clock))
    }

    /// `count` prompts of `length` tokens drawn uniformly from the vocabulary (llama-bench's way).
    public static func randomPrompts(count: Int, length: Int, vocabulary: Int, seed: UInt64) -> [[Int]] {
        var random = RandomSource(seed: seed)
        return (0..<count).map { _ in (0..<length).map { _ in Int(random.next() % UInt64(vocabulary)) } }
    }
}
