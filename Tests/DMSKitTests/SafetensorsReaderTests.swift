import DMSKit
import Foundation
import Testing

private func sampleSafetensors(seed: UInt8 = 1, prefix: String = "model") -> SafetensorsTestWriter {
    var writer = SafetensorsTestWriter()
    writer.metadata = ["format": "pt", "note": "test"]
    writer.add("\(prefix).embed_tokens.weight", "BF16", shape: [4, 3], bytesPerElement: 2, seed: seed)
    writer.add("\(prefix).layers.0.q_proj.weight", "F32", shape: [2, 3], bytesPerElement: 4, seed: seed &+ 1)
    writer.add("\(prefix).layers.0.norm.weight", "F16", shape: [5], bytesPerElement: 2, seed: seed &+ 2)
    writer.add("\(prefix).position_ids", "I64", shape: [1, 2], bytesPerElement: 8, seed: seed &+ 3)
    writer.add("\(prefix).scale", "F32", shape: [], bytesPerElement: 4, seed: seed &+ 4)
    return writer
}

/// Expects `body` to throw a `SafetensorsError` whose message contains `fragment`.
private func expectSafetensorsError(_ fragment: String, sourceLocation: SourceLocation = #_sourceLocation,
                                    _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a SafetensorsError containing \"\(fragment)\"", sourceLocation: sourceLocation)
    } catch let error as SafetensorsError {
        #expect(error.description.contains(fragment), "\(error.description)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a SafetensorsError, got \(error)", sourceLocation: sourceLocation)
    }
}

private func expectFileError(_ bytes: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    expectSafetensorsError(fragment, sourceLocation: sourceLocation) {
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        _ = try SafetensorsFile(path: dir.write(bytes, to: "model.safetensors"))
    }
}

private func bytes(of view: TensorView) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: view.data, count: view.byteCount))
}

/// An index file mapping each tensor name to a shard.
private func indexJSON(_ weightMap: [String: String]) -> [UInt8] {
    let entries = weightMap.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \"\($0.value)\"" }
    return Array("{\"metadata\": {\"total_size\": 0}, \"weight_map\": {\(entries.joined(separator: ", "))}}".utf8)
}

@Suite("safetensors reader")
struct SafetensorsReaderTests {
    @Test("round-trips tensors and metadata")
    func roundTrip() throws {
        let writer = sampleSafetensors()
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        let file = try SafetensorsFile(path: dir.write(writer.bytes(), to: "model.safetensors"))

        #expect(file.metadata == ["format": "pt", "note": "test"])
        #expect(file.tensorNames == writer.tensors.map(\.name))  // ordered by data offset
        for tensor in writer.tensors {
            #expect(file.hasTensor(tensor.name))
            let info = try #require(file.tensorInfo(named: tensor.name))
            #expect(info.dtype == tensor.dtype && info.shape == tensor.shape && info.byteCount == tensor.data.count)
            guard tensor.dtype != "I64" else { continue }
            let view = try file.tensor(named: tensor.name)
            #expect(view.shape == tensor.shape)
            #expect(bytes(of: view) == tensor.data)
        }
        #expect(try file.tensor(named: "model.embed_tokens.weight").type == .bf16)
        #expect(try file.tensor(named: "model.layers.0.q_proj.weight").type == .f32)
        #expect(try file.tensor(named: "model.layers.0.norm.weight").type == .f16)
        #expect(try file.tensor(named: "model.scale").elementCount == 1)

        expectSafetensorsError("tensor model.position_ids has unsupported dtype I64 (supported: F32, F16, BF16)") {
            _ = try file.tensor(named: "model.position_ids")
        }
        expectSafetensorsError("no tensor named missing") { _ = try file.tensor(named: "missing") }
    }

    @Test("accepts unknown dtypes until they are requested")
    func exoticDtypes() throws {
        var writer = sampleSafetensors()
        writer.add("fp8", "F8_E4M3", shape: [2, 2], bytesPerElement: 1)
        writer.tensors.append(.init(name: "fp4", dtype: "F4", shape: [4], data: [1, 2]))
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        let file = try SafetensorsFile(path: dir.write(writer.bytes(), to: "model.safetensors"))
        #expect(file.hasTensor("fp8") && file.hasTensor("fp4"))
        expectSafetensorsError("unsupported dtype F8_E4M3") { _ = try file.tensor(named: "fp8") }
        expectSafetensorsError("unsupported dtype F4") { _ = try file.tensor(named: "fp4") }
    }

    @Test("rejects malformed files")
    func malformed() {
        expectFileError([], "too small")
        expectFileError([1, 0, 0], "too small")

        var absurd = FormatsByteBuilder()
        absurd.u64(1 << 62)
        absurd.bytes.append(contentsOf: Array("{}      ".utf8))
        expectFileError(absurd.bytes, "header length 4611686018427387904")

        let writer = sampleSafetensors()
        expectFileError(writer.bytes(header: "{\"a\": {\"dtype\": \"F32\""), "not valid JSON")
        expectFileError(writer.bytes(header: "[1, 2]"), "invalid safetensors header")
        expectFileError(writer.bytes(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}"), "missing field data_offsets")
        expectFileError(writer.bytes(header: "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, \"4\"]}}"),
                        "invalid safetensors header")
        expectFileError(writer.bytes(header: "{\"__metadata__\": {\"a\": 1}}"), "invalid safetensors header")

        func variant(_ change: (inout SafetensorsTestWriter.Tensor) -> Void) -> [UInt8] {
            var copy = writer
            change(&copy.tensors[1])
            return copy.bytes()
        }
        expectFileError(variant { $0.offsetsOverride = [0, 1 << 40] }, "outside the")
        expectFileError(variant { $0.offsetsOverride = [30, 20] }, "outside the")
        expectFileError(variant { $0.offsetsOverride = [-8, 16] }, "outside the")
        expectFileError(variant { $0.offsetsOverride = [0, 4] }, "has 4 data bytes, but shape [2, 3] of F32 needs 24")
        expectFileError(variant { $0.shape = [1 << 40, 1 << 40] }, "too many elements")
        expectFileError(variant { $0.shape = [-2, -3] }, "negative dimension")
        expectFileError(Array(writer.bytes().dropLast(3)), "outside the")
    }

    @Test("every prefix of a valid file throws or parses, never crashes")
    func truncation() throws {
        let image = sampleSafetensors().bytes()
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        for length in 0..<image.count {
            let path = try dir.write(Array(image.prefix(length)), to: "prefix.safetensors")
            #expect(throws: (any Error).self, "prefix \(length)") { try SafetensorsFile(path: path) }
        }
    }

    @Test("survives hundreds of seeded random corruptions", .timeLimit(.minutes(1)))
    func fuzz() throws {
        let image = sampleSafetensors().bytes()
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        var rng = FormatsSeededRNG(seed: 0x5AFE)
        for _ in 0..<400 {
            var bytes = FormatsFuzz.mutate(image, using: &rng)
            if rng.next() % 3 == 0 { bytes = FormatsFuzz.mutate(bytes, using: &rng) }
            let path = try dir.write(bytes, to: "fuzz.safetensors")
            guard let file = try? SafetensorsFile(path: path) else { continue }
            for name in file.tensorNames {
                guard let view = try? file.tensor(named: name) else { continue }
                _ = FormatsFuzz.touch(view)
            }
        }
    }
}

@Suite("safetensors model directory")
struct SafetensorsModelFilesTests {
    @Test("opens a single model.safetensors")
    func singleFile() throws {
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        let writer = sampleSafetensors()
        try dir.write(writer.bytes(), to: "model.safetensors")
        let model = try SafetensorsModelFiles(directory: dir.url.path)
        #expect(model.files.count == 1)
        #expect(model.tensorNames == writer.tensors.map(\.name).sorted())
        #expect(bytes(of: try model.tensor(named: "model.layers.0.q_proj.weight")) == writer.tensors[1].data)
        expectSafetensorsError("no tensor named nope") { _ = try model.tensor(named: "nope") }
    }

    @Test("resolves tensors across shards through the index")
    func sharded() throws {
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        let first = sampleSafetensors(seed: 1, prefix: "a")
        let second = sampleSafetensors(seed: 9, prefix: "b")
        try dir.write(first.bytes(), to: "model-00001-of-00002.safetensors")
        try dir.write(second.bytes(), to: "model-00002-of-00002.safetensors")
        var map: [String: String] = [:]
        for tensor in first.tensors { map[tensor.name] = "model-00001-of-00002.safetensors" }
        for tensor in second.tensors { map[tensor.name] = "model-00002-of-00002.safetensors" }
        try dir.write(indexJSON(map), to: "model.safetensors.index.json")

        let model = try SafetensorsModelFiles(directory: dir.url.path)
        #expect(model.files.count == 2)
        #expect(model.tensorNames.count == map.count)
        #expect(bytes(of: try model.tensor(named: "a.layers.0.q_proj.weight")) == first.tensors[1].data)
        #expect(bytes(of: try model.tensor(named: "b.layers.0.q_proj.weight")) == second.tensors[1].data)
        #expect(model.tensorInfo(named: "b.position_ids")?.dtype == "I64")
        #expect(model.hasTensor("b.scale") && !model.hasTensor("c.scale"))

        map["c.extra"] = "model-00003-of-00003.safetensors"
        try dir.write(indexJSON(map), to: "model.safetensors.index.json")
        expectSafetensorsError("shard model-00003-of-00003.safetensors does not exist") {
            _ = try SafetensorsModelFiles(directory: dir.url.path)
        }

        map["c.extra"] = "model-00001-of-00002.safetensors"
        try dir.write(indexJSON(map), to: "model.safetensors.index.json")
        expectSafetensorsError("tensor c.extra is mapped to shard model-00001-of-00002.safetensors, which does not contain it") {
            _ = try SafetensorsModelFiles(directory: dir.url.path)
        }

        try dir.write(Array("{\"weight_map\": ".utf8), to: "model.safetensors.index.json")
        expectSafetensorsError("not valid JSON") { _ = try SafetensorsModelFiles(directory: dir.url.path) }
        try dir.write(Array("{\"metadata\": {}}".utf8), to: "model.safetensors.index.json")
        expectSafetensorsError("no weight_map") { _ = try SafetensorsModelFiles(directory: dir.url.path) }
    }

    @Test("reports a directory without weights")
    func empty() throws {
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        expectSafetensorsError("no model.safetensors or model.safetensors.index.json") {
            _ = try SafetensorsModelFiles(directory: dir.url.path)
        }
    }
}
