import DMSKit
import Foundation
import Testing

/// The paged, slot-reusing DMS cache against an independent dense implementation of the spec
/// (explicit visibility mask over the whole sequence; scripts/fixtures/make_dms_fixtures.py).
@Suite("DMS matches the dense reference")
struct DMSFidelityTests {
    struct Case: Sendable, CustomStringConvertible {
        let name: String
        let model: String
        let adapter: String?
        let window: Int
        let threshold: Float
        let turns: [(prompt: [Int], generated: [Int])]
        let allIDs: [Int]
        let logitsFile: String
        let flags: [[[Int]]]
        let residentCounts: [[Int]]
        /// (layer, KV head, flagged key, first query at distance w) of the boundary example.
        let boundary: [Int]?
        var description: String { name }
    }

    static let root: [String: Any] = (try? TestResources.json("dms/references.json") as? [String: Any]) ?? [:]

    static let cases: [Case] = ((root["cases"] as? [[String: Any]]) ?? []).map { c in
        Case(name: c["name"] as! String, model: c["model"] as! String, adapter: c["adapter"] as? String,
             window: c["window"] as! Int, threshold: Float(c["threshold"] as! Double),
             turns: (c["turns"] as! [[String: [Int]]]).map { ($0["prompt"]!, $0["generated"]!) },
             allIDs: c["all_ids"] as! [Int], logitsFile: c["logits_file"] as! String,
             flags: c["eviction_flags"] as! [[[Int]]], residentCounts: c["resident_counts"] as! [[Int]],
             boundary: (c["boundary_example"] as? [String: Any]).map { b in
                 ["layer", "kv_head", "k", "visible_at_query"].map { b[$0] as! Int } })
    }

    static func load(_ c: Case, threads: Int = 2) throws -> (LoadedModel, KVCacheOptions) {
        let loaded = try LoadedModel(path: TestResources.fixture(c.model), threads: threads)
        if let adapter = c.adapter { try loaded.attachAdapter(path: TestResources.fixture(adapter)) }
        var options = KVCacheOptions(precision: .f32)
        options.dmsWindow = c.window
        options.dmsThreshold = c.threshold
        options.pageSize = 4
        return (loaded, options)
    }

    @Test func fixturesArePresent() {
        #expect(Self.cases.count >= 6)
    }

    @Test("DMS is the default policy of DMS checkpoints and adapters", arguments: cases)
    func defaultPolicy(_ c: Case) throws {
        let (loaded, _) = try Self.load(c)
        #expect(loaded.resolvedPolicy(KVCacheOptions()) == .dms)
        #expect(try loaded.makeCache(KVCacheOptions()).policyName == "dms")
    }

    @Test("chunked prefill of the whole sequence", arguments: cases, [46, 1, 3, 5, 16])
    func chunkedPrefill(_ c: Case, chunk: Int) throws {
        let (loaded, options) = try Self.load(c, threads: chunk == 3 ? 1 : 2)
        let reference = try TestResources.floats(c.logitsFile)
        let cache = try loaded.makeCache(options)
        var logits: [Float] = []
        var offset = 0
        while offset < c.allIDs.count {
            let end = min(offset + chunk, c.allIDs.count)
            logits += try loaded.model.forward(Array(c.allIDs[offset..<end]), cache: cache,
                                               phase: chunk == 1 ? .decode : .prefill, logits: .all)
            offset = end
        }
        #expect(TestResources.relativeError(logits, reference) < 1e-4, "\(c.name) chunk \(chunk)")
        let stats = cache.statistics()
        #expect(stats.perHeadLengths == c.residentCounts, "\(c.name)")
        #expect(stats.tokensSeen == c.allIDs.count)
        #expect(stats.compressionRatio > 1)
        try expectResidentSetsMatchFlags(c, cache: try #require(cache as? DMSKVCache), upTo: c.allIDs.count - 1)
    }

    /// Resident positions of every head equal `{k ≤ q : not (e[k] and q - k > w)}` for the last query.
    func expectResidentSetsMatchFlags(_ c: Case, cache: DMSKVCache, upTo q: Int) throws {
        for (layer, heads) in c.flags.enumerated() {
            for (head, flags) in heads.enumerated() {
                let expected = (0...q).filter { k in !(flags[k] == 1 && q - k > c.window) }
                #expect(cache.residentPositions(layer: layer, head: head).sorted() == expected,
                        "\(c.name) layer \(layer) head \(head)")
            }
        }
    }

    @Test("two turns: prefill, token-by-token decode, prefill, decode", arguments: cases)
    func turns(_ c: Case) throws {
        let (loaded, options) = try Self.load(c)
        let reference = try TestResources.floats(c.logitsFile)
        let cache = try loaded.makeCache(options)
        var logits: [Float] = []
        for turn in c.turns {
            logits += try loaded.model.forward(turn.prompt, cache: cache, phase: .prefill, logits: .all)
            for token in turn.generated {
                logits += try loaded.model.forward([token], cache: cache, phase: .decode, logits: .all)
            }
        }
        #expect(TestResources.relativeError(logits, reference) < 1e-4, "\(c.name)")
        #expect(cache.statistics().perHeadLengths == c.residentCounts)
    }

    @Test("greedy generation across turns with one session", arguments: cases)
    func greedyTurns(_ c: Case) throws {
        let (loaded, options) = try Self.load(c)
        let session = GenerationSession(model: loaded.model, tokenizer: loaded.tokenizer, cache: try loaded.makeCache(options))
        for turn in c.turns where !turn.generated.isEmpty {
            var generation = GenerationOptions(maxTokens: turn.generated.count, sampling: .greedy)
            generation.stopTokens = []
            let result = try session.generate(prompt: turn.prompt, options: generation)
            #expect(result.tokens == turn.generated, "\(c.name)")
        }
    }

    @Test("a flagged key is visible at distance w and gone at w + 1")
    func windowBoundary() throws {
        let c = try #require(Self.cases.first { $0.boundary != nil })
        let example = try #require(c.boundary)
        let (layer, head, k) = (example[0], example[1], example[2])
        #expect(c.flags[layer][head][k] == 1)
        let (loaded, options) = try Self.load(c)
        let cache = try #require(try loaded.makeCache(options) as? DMSKVCache)
        for (position, token) in c.allIDs.enumerated() {
            _ = try loaded.model.forward([token], cache: cache, phase: .decode, logits: .none)
            let resident = cache.residentPositions(layer: layer, head: head).contains(k)
            if position >= k && position - k <= c.window { #expect(resident, "query \(position)") }
            if position - k > c.window { #expect(!resident, "query \(position)") }
        }
        #expect(example[3] - k == c.window)
    }

    @Test func mismatchedAdapterIsRejected() throws {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-qwen3"), threads: 1)
        #expect(throws: DMSError.self) {
            try loaded.attachAdapter(path: TestResources.fixture("dms/mismatched.adapter.safetensors"))
        }
        // An adapter for the other tiny model has a different head dimension.
        #expect(throws: DMSError.self) {
            try loaded.attachAdapter(path: TestResources.fixture("dms/tiny-llama.adapter.safetensors"))
        }
    }

    @Test func dmsWithoutDecisionsIsAnError() throws {
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-llama"), threads: 1)
        #expect(throws: DMSError.self) { try loaded.makeCache(KVCacheOptions(policy: .dms)) }
    }

    @Test("the llama adapter works on the same model read from GGUF (permuted Q/K)")
    func adapterOnGGUF() throws {
        let c = try #require(Self.cases.first { $0.name == "tiny-llama-adapter" })
        let loaded = try LoadedModel(path: TestResources.fixture("tiny-llama.gguf"), threads: 2)
        try loaded.attachAdapter(path: TestResources.fixture(c.adapter!))
        var options = KVCacheOptions(precision: .f32)
        options.dmsWindow = c.window
        let logits = try loaded.model.forward(c.allIDs, cache: try loaded.makeCache(options), phase: .prefill, logits: .all)
        #expect(TestResources.relativeError(logits, try TestResources.floats(c.logitsFile)) < 1e-4)
    }
}
