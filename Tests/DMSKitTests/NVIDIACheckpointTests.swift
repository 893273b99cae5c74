import DMSKit
import Foundation
import Testing

/// A DMS checkpoint as NVIDIA's retrofit recipe saves it (`extract_student_model`: the student's
/// `save_pretrained`): config.json with `dms_separate_alpha`, the DMS settings, `auto_map` and no
/// `architectures`; the decision weights under `model.layers.N.self_attn.dms_proj_alpha*` beside
/// the base weights in one model.safetensors. Built from the tiny-qwen3 fixture and its adapter, so
/// the independent reference of that adapter (scripts/fixtures/make_dms_fixtures.py) applies.
@Suite("Checkpoints saved by NVIDIA's retrofit recipe")
struct NVIDIACheckpointTests {
    /// Writes the checkpoint into a new temporary directory; `edit` adjusts its config.json.
    static func checkpoint(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> URL {
        let base = URL(fileURLWithPath: TestResources.fixture("tiny-qwen3"))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dms-nvidia-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: base.appendingPathComponent(name), to: directory.appendingPathComponent(name))
        }
        var config = try #require(try JSONSerialization.jsonObject(
            with: Data(contentsOf: base.appendingPathComponent("config.json"))) as? [String: Any])
        config["architectures"] = nil
        config["auto_map"] = ["AutoConfig": "configuration_qwen3_dms.Qwen3ConfigDMS",
                              "AutoModelForCausalLM": "modeling_qwen3_dms.Qwen3ForCausalLMDMS"]
        config.merge(["dms_alpha_scale": 100.0, "dms_initial_alpha_offset": 5.0, "dms_window_size": 4, "dms_cr": 8,
                      "dms_separate_alpha": true, "dms_alpha_per": "head", "dms_tau": 0.1, "dms_disable_eviction": false,
                      "dms_paged_attention_block_size": 2]) { $1 }
        edit(&config)
        try JSONSerialization.data(withJSONObject: config).write(to: directory.appendingPathComponent("config.json"))

        var weights = SafetensorsWriter()
        for file in [base.appendingPathComponent("model.safetensors").path, TestResources.fixture("dms/tiny-qwen3.adapter.safetensors")] {
            let tensors = try SafetensorsFile(path: file)
            for name in tensors.tensorNames {
                let tensor = try tensors.tensor(named: name)
                try #require(tensor.type == .f32)
                weights.add(name, shape: tensor.shape, values: Array(UnsafeBufferPointer(
                    start: tensor.data.assumingMemoryBound(to: Float.self), count: tensor.elementCount)))
            }
        }
        try weights.write(to: directory.appendingPathComponent("model.safetensors").path)
        return directory
    }

    static let referenceCase = DMSFidelityTests.cases.first { $0.name == "tiny-qwen3-adapter" }

    @Test func itRunsWithItsDecisionsAndMatchesTheReference() throws {
        let c = try #require(Self.referenceCase)
        let directory = try Self.checkpoint()
        defer { try? FileManager.default.removeItem(at: directory) }
        let loaded = try LoadedModel(path: directory.path, threads: 2)
        #expect(loaded.configuration.queryNeuronDMS == nil, "not the query-neuron variant")
        guard case .adapter(let adapter)? = loaded.model.evictionSource else {
            Issue.record("no decisions from the checkpoint")
            return
        }
        #expect(adapter.parameters == DMSParameters(window: 4, alphaScale: 100, offset: 5, trainedRatio: 8, sinks: 0))
        #expect(loaded.resolvedPolicy(KVCacheOptions()) == .dms)
        #expect(loaded.model.evictionSource?.summary == "variant B (decision weights), window 4, scale 100.0, offset 5.0, trained for ratio 8.0")

        var options = KVCacheOptions(precision: .f32)
        options.pageSize = 4
        let cache = try loaded.makeCache(options)
        let logits = try loaded.model.forward(c.allIDs, cache: cache, phase: .prefill, logits: .all)
        #expect(TestResources.relativeError(logits, try TestResources.floats(c.logitsFile)) < 1e-4)
        #expect(cache.statistics().perHeadLengths == c.residentCounts)
    }

    @Test func oneDecisionPerLayerIsTheFirstHeadsForEveryHead() throws {
        let perLayer = try Self.checkpoint { $0["dms_alpha_per"] = "layer" }
        let perHead = try Self.checkpoint()
        defer { for url in [perLayer, perHead] { try? FileManager.default.removeItem(at: url) } }
        let loaded = try LoadedModel(path: perLayer.path, threads: 1)
        guard case .adapter(let adapter)? = loaded.model.evictionSource,
              case .adapter(let heads)? = try LoadedModel(path: perHead.path, threads: 1).model.evictionSource else {
            Issue.record("no decisions from the checkpoint")
            return
        }
        let hidden = loaded.configuration.hiddenSize
        for (layer, original) in zip(adapter.layers, heads.layers) {
            #expect(layer.projection == Array(original.projection[0..<hidden]) + Array(original.projection[0..<hidden]))
            #expect(layer.norm == original.norm)
        }
        #expect(heads.layers[0].projection[0..<hidden] != heads.layers[0].projection[hidden...], "the heads differ")
        let cache = try loaded.makeCache(KVCacheOptions(precision: .f32))
        _ = try loaded.model.forward(Array(0..<40), cache: cache, phase: .prefill, logits: .none)
        #expect(cache.statistics().compressionRatio > 1)
        for heads in cache.statistics().perHeadLengths { #expect(Set(heads).count == 1, "every head keeps the same tokens") }
    }

    @Test func evictionSwitchedOffRunsTheBaseModel() throws {
        let directory = try Self.checkpoint { $0["dms_disable_eviction"] = true }
        defer { try? FileManager.default.removeItem(at: directory) }
        let loaded = try LoadedModel(path: directory.path, threads: 1)
        #expect(loaded.model.evictionSource.map { _ in "decisions" } == nil)
        #expect(loaded.resolvedPolicy(KVCacheOptions()) == .full)
    }

    @Test func badDMSSettingsAreClearErrors() throws {
        // Each bad config.json and the field its error must name.
        let edits: [(String, (inout [String: Any]) -> Void)] = [
            ("dms_alpha_per", { $0["dms_alpha_per"] = "token" }),
            ("dms_window_size", { $0["dms_window_size"] = nil }),
            ("dms_separate_alpha", { for key in ["dms_alpha_scale", "dms_initial_alpha_offset", "dms_window_size"] { $0[key] = nil } }),
            ("dms_window_size -1", { $0["dms_window_size"] = -1 }),
        ]
        for (field, edit) in edits {
            let directory = try Self.checkpoint(edit)
            defer { try? FileManager.default.removeItem(at: directory) }
            do {
                _ = try LoadedModel(path: directory.path, threads: 1)
                Issue.record("\(field): loaded")
            } catch {
                #expect("\(error)".contains(field), "\(error)")
            }
        }
    }
}
