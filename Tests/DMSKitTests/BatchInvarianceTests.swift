import DMSKit
import Testing

/// A sequence's logits must not depend on what else runs with it: how its prompt is chunked, which
/// other sequences share its forward passes, or whether decode steps attend side by side. That is
/// what makes a `seed` reproducible on a busy server.
@Suite("Batch invariance on SmolLM2", .enabled(if: TestResources.smolLM2Available && Kernels.isa.hasPrefix("avx512vnni")),
       .serialized)
struct BatchInvarianceTests {
    /// SmolLM2 with a LoRA adapter (LoRA and decision products run in every layer) and 8-bit
    /// activations, whose products are per-token by construction; 2 threads, so long heads split.
    static func model() throws -> LoadedModel {
        let loaded = try LoadedModel(path: TestResources.smolLM2Path, threads: 2)
        try loaded.attachAdapter(path: ShippedAdapterTests.directory.appendingPathComponent("dms-lora-adapter.safetensors").path)
        loaded.model.activationPrecision = .int8
        return loaded
    }

    /// A prompt of `length` tokens, longer than the point where one query's attention is split.
    static func prompt(_ length: Int, seed: Int) -> [Int] {
        BatchSchedulerTests.prompt(length, seed: seed, vocabulary: 49_152)
    }

    /// The mixed pairs put DMS rows (with LoRA) and full-cache rows (without) in one product, so
    /// the updates apply to some rows of a batch only.
    @Test("a sequence gets the same logits alone and chunked among other sequences",
          arguments: [(KVCacheOptions.Policy.dms, KVCacheOptions.Policy.dms), (.full, .full), (.dms, .full), (.full, .dms)])
    func logitsDoNotDependOnTheBatch(policy: KVCacheOptions.Policy, others: KVCacheOptions.Policy) throws {
        let loaded = try Self.model()
        let options = KVCacheOptions(policy: policy), otherOptions = KVCacheOptions(policy: others)
        let prompt = Self.prompt(700, seed: 1)
        let continuation = [1_000, 2_000, 3_000, 4_000]

        // Alone: the prompt in the default chunks, then one decode step at a time.
        let alone = try loaded.makeCache(options)
        _ = try loaded.model.forward(Array(prompt[..<512]), cache: alone, phase: .prefill, logits: .none)
        var expected = [try loaded.model.forward(Array(prompt[512...]), cache: alone, phase: .prefill, logits: .last)]
        for token in continuation {
            expected.append(try loaded.model.forward([token], cache: alone, phase: .decode, logits: .last))
        }

        // Among others: a long sequence decoding (it splits its own attention alone) and a short
        // one prefilling, the prompt in other chunks, then decode steps side by side.
        let target = try loaded.makeCache(options), long = try loaded.makeCache(otherOptions)
        let short = try loaded.makeCache(otherOptions)
        _ = try loaded.model.forward(Self.prompt(900, seed: 2), cache: long, phase: .prefill, logits: .none)
        let shortPrompt = Self.prompt(200, seed: 3)
        var actual: [[Float]] = []
        var fed = 0
        for (i, chunk) in [100, 37, 300, 263].enumerated() {
            let last = i == 3
            let outputs = try loaded.model.forward([
                ForwardSegment(tokens: [5 + i], cache: long, phase: .decode, logits: .last),
                ForwardSegment(tokens: Array(prompt[fed..<(fed + chunk)]), cache: target, phase: .prefill, logits: last ? .last : .none),
                ForwardSegment(tokens: Array(shortPrompt[(50 * i)..<(50 * i + 50)]), cache: short, phase: .prefill, logits: .none),
            ])
            fed += chunk
            if last { actual.append(outputs[1]) }
        }
        for token in continuation {
            let outputs = try loaded.model.forward([
                ForwardSegment(tokens: [7], cache: short, phase: .decode, logits: .last),
                ForwardSegment(tokens: [token], cache: target, phase: .decode, logits: .last),
                ForwardSegment(tokens: [9], cache: long, phase: .decode, logits: .last),
            ])
            actual.append(outputs[1])
        }
        for (step, (got, want)) in zip(actual, expected).enumerated() {
            let identical = got == want  // not `got == want` inside #expect: it would print 49K logits
            #expect(identical, "step \(step): relative error \(TestResources.relativeError(got, want))")
        }
        #expect(target.statistics() == alone.statistics())
    }
}
