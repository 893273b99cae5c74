import DMSKit
import Foundation
import Testing

/// Continuous batching in one KV budget: batched forward passes, admission, preemption by
/// recomputation, cancellation (tiny fixture models, random weights).
@Suite("Batch scheduler")
struct BatchSchedulerTests {
    /// tiny-qwen3 with its DMS adapter (window 4): DMS is the default policy.
    static func dmsModel() throws -> LoadedModel {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-qwen3"), threads: 2)
        try loaded.attachAdapter(path: TestResources.fixture("dms/tiny-qwen3.adapter.safetensors"))
        return loaded
    }

    static func fullModel() throws -> LoadedModel {
        try LoadedModel(path: TestResources.fixture("tiny-llama"), threads: 2)
    }

    /// Options with small f32 pages, so budgets of a few dozen pages are meaningful.
    static func options(_ policy: KVCacheOptions.Policy? = nil, budget: KVBudget? = nil) -> KVCacheOptions {
        var options = KVCacheOptions(policy: policy, precision: .f32)
        options.pageSize = 4
        options.budget = budget
        return options
    }

    static func pageBytes(_ loaded: LoadedModel) -> Int { 2 * 4 * loaded.configuration.headDim * 4 }

    static func prompt(_ length: Int, seed: Int, vocabulary: Int) -> [Int] {
        (0..<length).map { 3 + (($0 * 7919 + seed * 104_729) % (vocabulary - 3)) }
    }

    static func request(_ prompt: [Int], maxTokens: Int, policy: KVCacheOptions? = nil) -> SequenceRequest {
        SequenceRequest(prompt: prompt, maxTokens: maxTokens, sampling: .greedy, stopTokens: [], cacheOptions: policy)
    }

    /// Tokens and summary of a sequence, read to its end.
    static func collect(_ sequence: ScheduledSequence) async throws -> (tokens: [Int], summary: SequenceSummary?) {
        var tokens: [Int] = []
        var summary: SequenceSummary?
        for try await event in sequence.events {
            switch event {
            case .token(let token): if token.id >= 0 { tokens.append(token.id) }
            case .finished(let end): summary = end
            }
        }
        return (tokens, summary)
    }

    /// The same prompt generated alone, token by token, with its own cache.
    static func alone(_ loaded: LoadedModel, _ prompt: [Int], maxTokens: Int, options: KVCacheOptions) throws -> [Int] {
        let session = loaded.makeSession(cache: try loaded.makeCache(options))
        var generation = GenerationOptions(maxTokens: maxTokens, sampling: .greedy)
        generation.stopTokens = []
        return try session.generate(prompt: prompt, options: generation).tokens
    }

    @Test("a batched forward pass gives each sequence the logits of its own pass")
    func batchedForwardMatchesSeparatePasses() throws {
        let loaded = try Self.dmsModel()
        let vocabulary = loaded.configuration.vocabularySize
        let policies: [KVCacheOptions] = [Self.options(), Self.options(.full), Self.options(.streaming, budget: .tokens(8))]
        let histories = [Self.prompt(13, seed: 1, vocabulary: vocabulary), Self.prompt(7, seed: 2, vocabulary: vocabulary),
                         Self.prompt(20, seed: 3, vocabulary: vocabulary)]
        let next = [Self.prompt(1, seed: 4, vocabulary: vocabulary), Self.prompt(9, seed: 5, vocabulary: vocabulary),
                    Self.prompt(1, seed: 6, vocabulary: vocabulary)]
        let batchedCaches = try policies.map { try loaded.makeCache($0) }
        let separateCaches = try policies.map { try loaded.makeCache($0) }
        for (cache, history) in zip(batchedCaches + separateCaches, histories + histories) {
            _ = try loaded.model.forward(history, cache: cache, phase: .prefill, logits: .none)
        }
        let rows: [LogitRows] = [.last, .all, .last]
        let batched = try loaded.model.forward((0..<3).map {
            ForwardSegment(tokens: next[$0], cache: batchedCaches[$0], phase: next[$0].count == 1 ? .decode : .prefill, logits: rows[$0])
        })
        for i in 0..<3 {
            let separate = try loaded.model.forward(next[i], cache: separateCaches[i], phase: next[i].count == 1 ? .decode : .prefill,
                                                    logits: rows[i])
            #expect(batched[i].count == separate.count)
            #expect(TestResources.relativeError(batched[i], separate) < 1e-5)
            #expect(batchedCaches[i].statistics() == separateCaches[i].statistics())
        }
    }

    @Test("a batch naming one cache twice is refused before anything runs")
    func repeatedCacheIsRefused() throws {
        let loaded = try Self.fullModel()
        let cache = try loaded.makeCache(Self.options())
        #expect(throws: ForwardError.self) {
            _ = try loaded.model.forward([ForwardSegment(tokens: [5], cache: cache, phase: .prefill, logits: .last),
                                          ForwardSegment(tokens: [6], cache: cache, phase: .prefill, logits: .last)])
        }
        #expect(cache.tokensSeen == 0)
    }

    @Test("concurrent greedy sequences generate what each generates alone", arguments: [false, true])
    func batchedGreedyMatchesAlone(dms: Bool) async throws {
        let loaded = dms ? try Self.dmsModel() : try Self.fullModel()
        let options = Self.options()
        let vocabulary = loaded.configuration.vocabularySize
        let prompts = (0..<6).map { Self.prompt(5 + 9 * $0, seed: $0, vocabulary: vocabulary) }
        // Before the scheduler starts: it owns the model while it runs.
        let expected = try prompts.map { try Self.alone(loaded, $0, maxTokens: 24, options: options) }
        let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 64 << 20, cacheOptions: options))
        defer { scheduler.shutdown() }
        let sequences = try prompts.map { try scheduler.submit(Self.request($0, maxTokens: 24)) }
        for (expected, sequence) in zip(expected, sequences) {
            let (tokens, summary) = try await Self.collect(sequence)
            #expect(tokens == expected)
            #expect(summary?.finishReason == .length)
            #expect(summary?.completionTokens == 24)
            #expect(summary?.kv.policy == (dms ? "dms" : "full"))
        }
        let metrics = scheduler.metrics()
        #expect(metrics.finished == 6)
        #expect(metrics.batchedTokens > metrics.steps)  // steps carried several sequences
    }

    @Test("choices that share a prompt read it once and each generate what they generate alone", arguments: [false, true])
    func choicesShareThePrompt(dms: Bool) async throws {
        let loaded = dms ? try Self.dmsModel() : try Self.fullModel()
        let options = Self.options()
        let prompt = Self.prompt(30, seed: 8, vocabulary: loaded.configuration.vocabularySize)
        let seeds: [UInt64] = [11, 12, 13]
        func sampling(_ seed: UInt64) -> SamplingParameters {
            SamplingParameters(temperature: 0.9, topK: 0, topP: 1, minP: 0, seed: seed)
        }
        let expected = try seeds.map { seed in
            let session = loaded.makeSession(cache: try loaded.makeCache(options))
            var generation = GenerationOptions(maxTokens: 12, sampling: sampling(seed))
            generation.stopTokens = []
            return try session.generate(prompt: prompt, options: generation).tokens
        }
        let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 64 << 20, cacheOptions: options))
        defer { scheduler.shutdown() }
        let sequences = try scheduler.submit(choices: seeds.map {
            SequenceRequest(prompt: prompt, maxTokens: 12, sampling: sampling($0), stopTokens: [], cacheOptions: nil)
        })
        for (expected, sequence) in zip(expected, sequences) {
            let (tokens, summary) = try await Self.collect(sequence)
            #expect(tokens == expected)
            #expect(summary?.completionTokens == 12)
        }
        let metrics = scheduler.metrics()
        #expect(metrics.promptTokens == prompt.count)
        #expect(metrics.sharedPromptTokens == 2 * prompt.count)
        #expect(metrics.kvBytesInUse == 0)
        #expect(throws: SchedulerError.self) {
            _ = try scheduler.submit(choices: [Self.request(prompt, maxTokens: 4), Self.request(Array(prompt.dropLast()), maxTokens: 4)])
        }
    }

    @Test("preempted sequences resume with the tokens of an uninterrupted run", arguments: [false, true])
    func preemptionRecomputesTheSameTokens(dms: Bool) async throws {
        let loaded = dms ? try Self.dmsModel() : try Self.fullModel()
        let options = Self.options()
        let heads = loaded.configuration.layerCount * loaded.configuration.kvHeadCount
        // Room for about two full sequences of 60 tokens at once (DMS keeps fewer: less room), so
        // six force preemptions.
        let budget = (dms ? 3 : 2) * heads * (dms ? 4 : 15) * Self.pageBytes(loaded)
        let vocabulary = loaded.configuration.vocabularySize
        let prompts = (0..<6).map { Self.prompt(20 + $0, seed: 10 + $0, vocabulary: vocabulary) }
        let expected = try prompts.map { try Self.alone(loaded, $0, maxTokens: 40, options: options) }
        let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: budget, cacheOptions: options))
        defer { scheduler.shutdown() }
        let sequences = try prompts.map { try scheduler.submit(Self.request($0, maxTokens: 40)) }
        var preemptions = 0
        for (index, (expected, sequence)) in zip(expected, sequences).enumerated() {
            let (tokens, summary) = try await Self.collect(sequence)
            #expect(tokens == expected)
            // The youngest is preempted, so the oldest always makes progress.
            if index == 0 { #expect(summary?.preemptions == 0) }
            preemptions += summary?.preemptions ?? 0
        }
        let metrics = scheduler.metrics()
        #expect(preemptions > 0)
        #expect(metrics.preemptions == preemptions)
        #expect(metrics.kvPeakBytes <= metrics.kvBudgetBytes)
        #expect(metrics.kvBytesInUse == 0)
    }

    @Test("random arrivals and cancellations never exceed the budget")
    func budgetHoldsUnderRandomArrivals() async throws {
        let loaded = try Self.dmsModel()
        let heads = loaded.configuration.layerCount * loaded.configuration.kvHeadCount
        let budget = heads * 40 * Self.pageBytes(loaded)
        var configuration = BatchScheduler.Configuration(kvBudgetBytes: budget, cacheOptions: Self.options())
        configuration.prefillChunk = 16
        configuration.maxSequences = 12
        let scheduler = try BatchScheduler(model: loaded, configuration: configuration)
        defer { scheduler.shutdown() }
        var random = SystemRandomNumberGenerator()
        var generator = FormatsSeededRNG(seed: 99)
        let vocabulary = loaded.configuration.vocabularySize
        let policies: [KVCacheOptions?] = [nil, Self.options(.full), Self.options(.streaming, budget: .tokens(12)),
                                           Self.options(.h2o, budget: .ratio(3))]
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<40 {
                let length = Int.random(in: 3...90, using: &generator)
                let maxTokens = Int.random(in: 1...60, using: &generator)
                let cancelAfter = Int.random(in: 0...3, using: &generator) == 0 ? Int.random(in: 0...5, using: &generator) : nil
                let policy = policies[Int.random(in: 0..<policies.count, using: &generator)]
                let sequence = try scheduler.submit(Self.request(Self.prompt(length, seed: i, vocabulary: vocabulary),
                                                                 maxTokens: maxTokens, policy: policy))
                group.addTask {
                    var seen = 0
                    for try await event in sequence.events {
                        if case .token = event { seen += 1 }
                        if let cancelAfter, seen >= cancelAfter { sequence.cancel() }
                    }
                    return seen
                }
                if Bool.random(using: &random) { try await Task.sleep(nanoseconds: 2_000_000) }
            }
            for try await _ in group {}
        }
        let metrics = await Self.settled(scheduler)
        #expect(metrics.kvPeakBytes <= metrics.kvBudgetBytes)
        #expect(metrics.finished + metrics.cancelled == 40)
        #expect(metrics.failed == 0)
        #expect(metrics.kvBytesInUse == 0)
        #expect(metrics.active == 0 && metrics.queued == 0)
    }

    @Test("requests that can never run are refused at submission")
    func impossibleRequestsAreRefused() throws {
        let loaded = try Self.fullModel()
        let heads = loaded.configuration.layerCount * loaded.configuration.kvHeadCount
        let scheduler = try BatchScheduler(model: loaded,
                                           configuration: .init(kvBudgetBytes: heads * 10 * Self.pageBytes(loaded), cacheOptions: Self.options()))
        defer { scheduler.shutdown() }
        let context = loaded.configuration.contextLength
        #expect(throws: SchedulerError.invalidRequest("the prompt is empty")) { try scheduler.submit(Self.request([], maxTokens: 4)) }
        #expect(throws: SchedulerError.promptTooLong(tokens: context, contextLength: context)) {
            try scheduler.submit(Self.request(Array(repeating: 5, count: context), maxTokens: 4))
        }
        #expect(throws: SchedulerError.self) { try scheduler.submit(Self.request([5], maxTokens: 0)) }
        #expect(throws: SchedulerError.self) { try scheduler.submit(Self.request([5, 400], maxTokens: 4)) }
        #expect(throws: SchedulerError.self) { try scheduler.submit(Self.request([5], maxTokens: 4, policy: Self.options(.tova))) }
        #expect(throws: SchedulerError.exceedsKVBudget(pagesNeeded: heads * 11, pageLimit: heads * 10)) {
            try scheduler.submit(Self.request(Array(repeating: 5, count: 43), maxTokens: 4))
        }
        #expect(throws: SchedulerError.self) {
            _ = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 100, cacheOptions: Self.options()))
        }
    }

    @Test("a sequence that outgrows the whole budget alone ends at its length")
    func sequenceOutgrowingTheBudgetEnds() async throws {
        let loaded = try Self.fullModel()
        let heads = loaded.configuration.layerCount * loaded.configuration.kvHeadCount
        let scheduler = try BatchScheduler(model: loaded,
                                           configuration: .init(kvBudgetBytes: heads * 10 * Self.pageBytes(loaded), cacheOptions: Self.options()))
        defer { scheduler.shutdown() }
        let (tokens, summary) = try await Self.collect(try scheduler.submit(Self.request(Self.prompt(30, seed: 2, vocabulary: 400), maxTokens: 100)))
        #expect(summary?.finishReason == .length)
        #expect(tokens.count == 40 - 30 + 1)  // 40 slots per head; the last sampled token is never fed
        #expect(scheduler.metrics().kvPeakBytes <= scheduler.metrics().kvBudgetBytes)
    }

    @Test("shutting down fails queued and running sequences")
    func shutdownFailsSequences() async throws {
        let loaded = try Self.fullModel()
        let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 64 << 20, cacheOptions: Self.options()))
        let sequence = try scheduler.submit(Self.request(Self.prompt(10, seed: 3, vocabulary: 400), maxTokens: 10_000))
        scheduler.shutdown()
        await #expect(throws: SchedulerError.shuttingDown) { _ = try await Self.collect(sequence) }
        #expect(throws: SchedulerError.shuttingDown) { try scheduler.submit(Self.request([5], maxTokens: 1)) }
    }

    /// Metrics once the scheduler has nothing left to do.
    static func settled(_ scheduler: BatchScheduler) async -> SchedulerMetrics {
        for _ in 0..<500 {
            let metrics = scheduler.metrics()
            if metrics.active == 0, metrics.queued == 0, metrics.kvBytesInUse == 0 { return metrics }
            try? await Task.sleep(nanoseconds: 10_000_000)
        }
        return scheduler.metrics()
    }
}

/// The scheduler on SmolLM2-135M with the shipped LoRA adapter (batched LoRA updates, Q4_1 rows).
@Suite("Batch scheduler on SmolLM2", .enabled(if: TestResources.smolLM2Available), .serialized)
struct BatchSchedulerSmolLM2Tests {
    static func model() throws -> LoadedModel {
        let loaded = try LoadedModel(path: TestResources.smolLM2Path, threads: 2)
        try loaded.attachAdapter(path: ShippedAdapterTests.directory.appendingPathComponent("dms-lora-adapter.safetensors").path)
        return loaded
    }

    @Test("concurrent chats generate what each generates alone")
    func batchedGreedyMatchesAlone() async throws {
        let loaded = try Self.model()
        let template = try loaded.chatTemplate()
        let questions = ["What is the capital of France?", "Write a haiku about autumn.", "List three primary colours."]
        let prompts = try questions.map {
            loaded.tokenizer.encode(try template.render(messages: [ChatMessage(role: .user, content: $0)], addGenerationPrompt: true),
                                    addSpecialTokens: false)
        }
        let options = KVCacheOptions()
        let expected = try prompts.map { try BatchSchedulerTests.alone(loaded, $0, maxTokens: 16, options: options) }
        let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 256 << 20))
        defer { scheduler.shutdown() }
        let sequences = try prompts.map { try scheduler.submit(BatchSchedulerTests.request($0, maxTokens: 16)) }
        for (expected, sequence) in zip(expected, sequences) {
            #expect(try await BatchSchedulerTests.collect(sequence).tokens == expected)
        }
    }

    @Test("a seeded request samples the same tokens alone and among other requests")
    func seededSamplingDoesNotDependOnTheLoad() async throws {
        let loaded = try Self.model()
        loaded.model.activationPrecision = .int8  // as `dms serve` runs
        let sampling = SamplingParameters(temperature: 1, topK: 0, topP: 0.95, minP: 0, seed: 42)
        // Long enough that attention splits into ranges; the others, submitted first, take the
        // prefill allowance first, so this prompt is chunked differently and decodes side by side.
        let prompt = BatchInvarianceTests.prompt(600, seed: 4)
        func run(after others: [[Int]]) async throws -> [Int] {
            let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 256 << 20))
            defer { scheduler.shutdown() }
            let background = try others.map { try scheduler.submit(BatchSchedulerTests.request($0, maxTokens: 40)) }
            let sequence = try scheduler.submit(SequenceRequest(prompt: prompt, maxTokens: 32, sampling: sampling,
                                                                stopTokens: [], cacheOptions: nil))
            let tokens = try await BatchSchedulerTests.collect(sequence).tokens
            for other in background { _ = try await BatchSchedulerTests.collect(other) }
            return tokens
        }
        let alone = try await run(after: [])
        let amongOthers = try await run(after: [700, 100, 300].enumerated().map { BatchInvarianceTests.prompt($1, seed: 5 + $0) })
        #expect(alone.count == 32)
        #expect(amongOthers == alone)
    }

    @Test("cancelling a running sequence frees its pages at once")
    func cancellationFreesPages() async throws {
        let loaded = try Self.model()
        let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 256 << 20))
        defer { scheduler.shutdown() }
        let prompt = loaded.tokenizer.encode("Once upon a time, in a small village by the sea,", addSpecialTokens: true)
        // As long as the context allows: a reader lagging seconds behind (a loaded CI machine)
        // still cancels a running sequence, not one that has already ended.
        let maxTokens = loaded.configuration.contextLength - prompt.count
        let sequence = try scheduler.submit(BatchSchedulerTests.request(prompt, maxTokens: maxTokens))
        var tokens = 0
        for try await event in sequence.events {
            guard case .token = event else { continue }
            tokens += 1
            if tokens == 2 {
                #expect(scheduler.metrics().kvBytesInUse > 0)
                sequence.cancel()
            }
        }
        let metrics = await BatchSchedulerTests.settled(scheduler)
        #expect(tokens < maxTokens)
        #expect(metrics.cancelled == 1 && metrics.finished == 0)
        #expect(metrics.kvBytesInUse == 0)
    }
}
