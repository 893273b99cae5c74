import DMSKit
@testable import DMSRetrofit
import Foundation
import Testing

/// LoRA updates trained with an adapter run the same way in the engine: the training graph and
/// the decoder give the same logits, and an adapter made on a GGUF (interleaved Q/K rows) gives
/// the same model on the Hugging Face files of the same weights.
@Suite struct RetrofitLowRankTests {
    static let fixtures = RetrofitGradientTests.fixtures

    /// An adapter whose decisions never evict (W_alpha = 0, offset 1e4) with random LoRA updates
    /// (of the feed-forward projections too with `feedForward`).
    static func adapter(_ c: ModelConfiguration, feedForward: Bool = false) -> (AdapterParameters, RetrofitSettings) {
        var settings = RetrofitSettings()
        settings.window = 2
        settings.sinks = 0
        settings.sequenceLength = 24
        settings.offset = 1e4
        settings.loraRank = 4
        settings.loraAlpha = 8
        settings.loraFeedForward = feedForward
        var parameters = RetrofitGradientTests.randomAdapter(c, seed: 21, loraRank: 4, loraFeedForward: feedForward)
        for l in 0..<c.layerCount {
            for i in 0..<(c.kvHeadCount * c.hiddenSize) { parameters.values[parameters.projectionOffset(layer: l) + i] = 0 }
        }
        return (parameters, settings)
    }

    /// Logits of the engine with `adapterPath` attached, DMS cache (nothing evicted), every position.
    static func engineLogits(model path: String, adapterPath: String, ids: [Int]) throws -> [Float] {
        let loaded = try LoadedModel(path: path, threads: 1)
        try loaded.attachAdapter(path: adapterPath)
        var options = KVCacheOptions(policy: .dms, precision: .f32)
        options.dmsWindow = 2
        return try loaded.model.forward(ids, cache: try loaded.makeCache(options), phase: .prefill, logits: .all)
    }

    @Test(arguments: [false, true])
    func trainingGraphAndEngineAgree(feedForward: Bool) throws {
        let ggufPath = Self.fixtures.appendingPathComponent("tiny-llama.gguf").path
        let loaded = try LoadedModel(path: ggufPath, threads: 1)
        let c = loaded.configuration
        let (parameters, settings) = Self.adapter(c, feedForward: feedForward)
        let ids = RetrofitGradientTests.ids(settings.sequenceLength, vocabulary: c.vocabularySize, seed: 4)
        let objective = try RetrofitObjective(model: loaded.model, settings: settings, pool: nil)
        var noise = RandomSource(seed: 1)
        objective.decoder.forward(ids, adapter: parameters, settings: settings, noise: &noise)
        #expect(objective.decoder.evictionCounts.evicted == 0)
        var trained = [Float](repeating: 0, count: ids.count * c.vocabularySize)
        trained.withUnsafeMutableBufferPointer { out in
            loaded.model.weights.output.apply(objective.decoder.finalHidden.pointer, tokens: ids.count, into: out.baseAddress!, pool: nil)
        }

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("lora-\(UUID()).safetensors").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let dms = DMSParameters(window: 2, alphaScale: settings.alphaScale, offset: settings.offset)
        try parameters.adapter(parameters: dms, loraAlpha: settings.loraAlpha,
                               metadata: DMSAdapter.identity(of: c, name: "tiny-llama")).write(to: path, configuration: c)

        let written = try DMSAdapter(path: path, for: c)
        #expect(written.lowRank?.coversFeedForward == feedForward)
        #expect(written.lowRank?.layers.allSatisfy { $0.updates.count == (feedForward ? 7 : 4) } == true)
        let engine = try Self.engineLogits(model: ggufPath, adapterPath: path, ids: ids)
        let base = try LoadedModel(path: ggufPath, threads: 1).model.forward(ids, cache: loaded.makeCache(precision: .f32),
                                                                              phase: .prefill, logits: .all)
        func distance(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max()! }
        #expect(distance(engine, trained) < 1e-4, "engine vs training graph")
        #expect(distance(engine, base) > 1e-2, "the LoRA updates change the model")

        // the same file on the Hugging Face copy of the weights (half-split Q/K rows)
        let huggingFace = try Self.engineLogits(model: Self.fixtures.appendingPathComponent("tiny-llama").path,
                                                adapterPath: path, ids: ids)
        #expect(distance(huggingFace, engine) < 1e-4, "GGUF vs Hugging Face layout")

        // a full cache runs the base model: the updates belong to the DMS retrofit
        let full = try LoadedModel(path: ggufPath, threads: 1)
        try full.attachAdapter(path: path)
        let fullLogits = try full.model.forward(ids, cache: full.makeCache(precision: .f32), phase: .prefill, logits: .all)
        #expect(distance(fullLogits, base) < 1e-6)
    }

    /// `--lora-precision f16`: the updates come back rounded to f16, the decision projection exact,
    /// in a file about half the size.
    @Test func lowRankUpdatesStoredInF16LoadBackRounded() throws {
        let c = try LoadedModel(path: Self.fixtures.appendingPathComponent("tiny-llama.gguf").path, threads: 1).configuration
        let trained = RetrofitGradientTests.randomAdapter(c, seed: 9, loraRank: 4, loraFeedForward: true)
            .adapter(parameters: DMSParameters(window: 2, alphaScale: 100, offset: 5), loraAlpha: 8, metadata: DMSAdapter.identity(of: c, name: "tiny-llama"))
        let directory = FileManager.default.temporaryDirectory
        let wide = directory.appendingPathComponent("lora-f32-\(UUID()).safetensors").path
        let narrow = directory.appendingPathComponent("lora-f16-\(UUID()).safetensors").path
        defer { for path in [wide, narrow] { try? FileManager.default.removeItem(atPath: path) } }
        try trained.write(to: wide, configuration: c)
        try trained.write(to: narrow, configuration: c, lowRankStorage: .f16)
        let exact = try DMSAdapter(path: wide, for: c), rounded = try DMSAdapter(path: narrow, for: c)

        #expect(rounded.layers.map(\.projection) == exact.layers.map(\.projection))
        #expect(rounded.layers.map(\.norm) == exact.layers.map(\.norm))
        let pairs = zip(exact.lowRank!.layers, rounded.lowRank!.layers).flatMap { zip($0.updates, $1.updates) }
        #expect(pairs.count == c.layerCount * 7)
        var changed = false
        for (a, b) in pairs {
            for (x, y) in zip(a.down + a.up, b.down + b.up) {
                #expect(abs(x - y) <= abs(x) * 1e-3 + 1e-7, "\(x) stored as \(y)")
                changed = changed || x != y
            }
        }
        #expect(changed, "the updates were rounded")
        let size = { (path: String) in try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int }
        let updateValues = pairs.reduce(0) { $0 + $1.0.down.count + $1.0.up.count }
        // two bytes a value fewer, give or take the header's offsets (shorter numbers, 8-byte padding)
        #expect(abs(try size(wide) - size(narrow) - 2 * updateValues) < 2_048)
    }

    @Test func attentionUpdatesStartARunWithFeedForwardUpdates() throws {
        let c = try LoadedModel(path: Self.fixtures.appendingPathComponent("tiny-llama.gguf").path, threads: 1).configuration
        let dms = DMSParameters(window: 2, alphaScale: 2, offset: 0.5)
        let attention = RetrofitGradientTests.randomAdapter(c, seed: 3, loraRank: 2)
        var both = AdapterParameters(configuration: c, loraRank: 2, loraFeedForward: true, seed: 5)
        let identity = both
        try both.load(attention.adapter(parameters: dms, loraAlpha: 4, metadata: [:]))
        func values(_ p: AdapterParameters, layer: Int, projection: Int) -> ArraySlice<Float> {
            let (down, up) = p.loraOffset(layer: layer, projection: projection)
            return p.values[down..<(up + p.projections[projection].outputs * p.loraRank)]
        }
        for l in 0..<c.layerCount {
            for p in 0..<4 { #expect(values(both, layer: l, projection: p) == values(attention, layer: l, projection: p)) }
            for p in 4..<7 { #expect(values(both, layer: l, projection: p) == values(identity, layer: l, projection: p)) }
        }
        var attentionOnly = AdapterParameters(configuration: c, loraRank: 2)
        #expect(throws: RetrofitError.self) { try attentionOnly.load(both.adapter(parameters: dms, loraAlpha: 4, metadata: [:])) }
    }
}
