import DMSKit
import Foundation
import Testing

/// A small GGUF image with every metadata type (nested arrays included) and several tensor types.
private func sampleGGUF(version: UInt32 = 3) -> GGUFTestWriter {
    var writer = GGUFTestWriter()
    writer.version = version
    writer.metadata = [
        ("general.architecture", .string("llama")),
        ("test.u8", .uint8(200)),
        ("test.i8", .int8(-100)),
        ("test.u16", .uint16(60000)),
        ("test.i16", .int16(-30000)),
        ("test.u32", .uint32(4_000_000_000)),
        ("test.i32", .int32(-2_000_000_000)),
        ("test.u64", .uint64(UInt64.max)),
        ("test.i64", .int64(-9_000_000_000)),
        ("test.f32", .float32(1.5)),
        ("test.f64", .float64(-0.25)),
        ("test.bool", .bool(true)),
        ("test.unicode", .string("héllo ▁wörld")),
        ("test.strings", .array([.string("a"), .string(""), .string("ü")])),
        ("test.ints", .array([.int32(1), .int32(-2), .int32(3)])),
        ("test.floats", .array([.float32(0.5), .float32(2)])),
        ("test.empty", .array([])),
        ("test.nested", .array([.array([.uint8(1), .uint8(2)]), .array([.uint8(3)])])),
        ("test.nested_strings", .array([.array([.string("x")]), .array([.string("y"), .string("z")])])),
    ]
    writer.addTensor("token_embd.weight", .f32, shape: [3, 4], seed: 1)
    writer.addTensor("blk.0.attn_q.weight", .q8_0, shape: [2, 64], seed: 2)
    writer.addTensor("blk.0.ffn_up.weight", .q4_0, shape: [2, 3, 32], seed: 3)
    writer.addTensor("blk.0.ffn_down.weight", .q4_1, shape: [1, 32], seed: 4)
    writer.addTensor("blk.0.attn_norm.weight", .f16, shape: [5], seed: 5)
    writer.addTensor("output_norm.weight", .bf16, shape: [2, 2, 1, 3], seed: 6)
    writer.addTensor("blk.0.attn_k.weight", .q4_K, shape: [1, 256], seed: 7)
    return writer
}

/// Writes `bytes` to a fresh file and opens it as GGUF.
private func openGGUF(_ bytes: [UInt8]) throws -> GGUFFile {
    let dir = try FormatsTempDirectory()
    defer { dir.remove() }
    return try GGUFFile(path: dir.write(bytes, to: "model.gguf"))
}

/// Expects opening `bytes` to fail with a `GGUFError` whose message contains `fragment`.
private func expectGGUFError(_ bytes: [UInt8], _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try openGGUF(bytes)
        Issue.record("expected a GGUFError containing \"\(fragment)\", but the file parsed", sourceLocation: sourceLocation)
    } catch let error as GGUFError {
        #expect(error.description.contains(fragment), "\(error.description)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a GGUFError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// A header with no tensors and the given metadata bytes appended after the key count, then
/// `padding` zero bytes so that small counts stay plausible.
private func headerOnly(keyCount: UInt64, padding: Int = 64, _ body: (inout FormatsByteBuilder) -> Void) -> [UInt8] {
    var out = FormatsByteBuilder()
    out.bytes.append(contentsOf: Array("GGUF".utf8))
    out.u32(3)
    out.u64(0)
    out.u64(keyCount)
    body(&out)
    return out.bytes + [UInt8](repeating: 0, count: padding)
}

@Suite("GGUF reader")
struct GGUFReaderTests {
    @Test("round-trips metadata and tensors", arguments: [UInt32(2), 3])
    func roundTrip(version: UInt32) throws {
        let writer = sampleGGUF(version: version)
        let gguf = try openGGUF(writer.bytes())
        #expect(gguf.version == version)
        #expect(gguf.alignment == 32)
        #expect(gguf.metadata.count == writer.metadata.count)

        let m = gguf.metadata
        #expect(m["general.architecture"]?.string == "llama")
        #expect(m["test.u8"]?.int == 200)
        #expect(m["test.i8"]?.int == -100)
        #expect(m["test.u16"]?.int == 60000)
        #expect(m["test.i16"]?.int == -30000)
        #expect(m["test.u32"]?.int == 4_000_000_000)
        #expect(m["test.i32"]?.int == -2_000_000_000)
        #expect(m["test.u64"]?.int == nil)  // does not fit in Int
        #expect(m["test.u64"]?.double == Double(UInt64.max))
        #expect(m["test.i64"]?.int == -9_000_000_000)
        #expect(m["test.f32"]?.double == 1.5)
        #expect(m["test.f32"]?.int == nil)
        #expect(m["test.f64"]?.double == -0.25)
        #expect(m["test.bool"]?.bool == true)
        #expect(m["test.bool"]?.int == nil)
        #expect(m["test.unicode"]?.string == "héllo ▁wörld")
        #expect(m["test.strings"]?.stringArray == ["a", "", "ü"])
        #expect(m["test.strings"]?.intArray == nil)
        #expect(m["test.ints"]?.intArray == [1, -2, 3])
        #expect(m["test.ints"]?.doubleArray == [1, -2, 3])
        #expect(m["test.floats"]?.doubleArray == [0.5, 2])
        #expect(m["test.empty"]?.array?.isEmpty == true)
        #expect(m["test.nested"]?.array?.map { $0.intArray ?? [] } == [[1, 2], [3]])
        #expect(m["test.nested_strings"]?.array?.compactMap(\.stringArray) == [["x"], ["y", "z"]])

        #expect(gguf.tensorInfos.map(\.name) == writer.tensors.map(\.name))
        let offsets = writer.naturalOffsets
        for (index, info) in gguf.tensorInfos.enumerated() {
            let written = writer.tensors[index]
            #expect(info.shape == written.ne.reversed().map { Int($0) })
            #expect(info.ggmlType.rawValue == written.typeID)
            #expect(info.byteCount == written.data.count)
            #expect(info.offset % 32 == 0)
            #expect(info.offset - gguf.tensorInfos[0].offset == Int(offsets[index]))
            #expect(gguf.hasTensor(info.name))
        }

        let embd = try gguf.tensor(named: "token_embd.weight")
        #expect(embd.type == .f32)
        #expect(embd.shape == [3, 4])
        #expect(embd.elementCount == 12)
        #expect(Array(UnsafeRawBufferPointer(start: embd.data, count: embd.byteCount)) == writer.tensors[0].data)

        let up = try gguf.tensor(named: "blk.0.ffn_up.weight")
        #expect(up.type == .q4_0 && up.shape == [2, 3, 32] && up.byteCount == 6 * 18)
        #expect(Array(UnsafeRawBufferPointer(start: up.data, count: up.byteCount)) == writer.tensors[2].data)
        #expect(try gguf.tensor(named: "blk.0.attn_q.weight").type == .q8_0)
        #expect(try gguf.tensor(named: "blk.0.ffn_down.weight").type == .q4_1)
        #expect(try gguf.tensor(named: "blk.0.attn_norm.weight").type == .f16)
        #expect(try gguf.tensor(named: "output_norm.weight").shape == [2, 2, 1, 3])
    }

    @Test("names unsupported and missing tensors")
    func unsupportedAndMissing() throws {
        let gguf = try openGGUF(sampleGGUF().bytes())
        #expect(gguf.tensorInfo(named: "blk.0.attn_k.weight")?.ggmlType == .q4_K)
        #expect(gguf.tensorInfo(named: "blk.0.attn_k.weight")?.byteCount == 144)
        do {
            _ = try gguf.tensor(named: "blk.0.attn_k.weight")
            Issue.record("expected an error")
        } catch let error as GGUFError {
            #expect(error.description.hasSuffix(
                "tensor blk.0.attn_k.weight has unsupported tensor type Q4_K (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1)"))
        }
        #expect(!gguf.hasTensor("nope"))
        #expect(throws: GGUFError.self) { try gguf.tensor(named: "nope") }
        do {
            _ = try gguf.tensor(named: "nope")
        } catch {
            #expect("\(error)".contains("no tensor named nope"))
            #expect("\(error)".contains("model.gguf"))
        }
    }

    @Test("honours general.alignment")
    func customAlignment() throws {
        var writer = sampleGGUF()
        writer.alignment = 64
        writer.metadata.append(("general.alignment", .uint32(64)))
        let gguf = try openGGUF(writer.bytes())
        #expect(gguf.alignment == 64)
        #expect(gguf.tensorInfos.allSatisfy { $0.offset % 64 == 0 })
        #expect(try gguf.tensor(named: "blk.0.ffn_down.weight").byteCount == 20)

        writer.metadata[writer.metadata.count - 1] = ("general.alignment", .uint32(48))
        expectGGUFError(writer.bytes(), "general.alignment must be a power-of-two")
    }

    @Test("every prefix of a valid file throws or parses, never crashes")
    func truncation() throws {
        let image = sampleGGUF().bytes()
        let full = try openGGUF(image)
        let dataEnd = full.tensorInfos.map { $0.offset + $0.byteCount }.max()!
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        var messages: [String] = []
        for length in 0..<image.count {
            let path = try dir.write(Array(image.prefix(length)), to: "prefix.gguf")
            if length < dataEnd {
                do {
                    _ = try GGUFFile(path: path)
                    Issue.record("prefix of \(length) bytes parsed")
                } catch {
                    messages.append("\(error)")
                }
            } else {
                let gguf = try GGUFFile(path: path)
                #expect(gguf.tensorInfos.count == full.tensorInfos.count)
            }
        }
        #expect(messages.contains { $0.contains("file is truncated") })
        #expect(messages.contains { $0.contains("extends past the end of the file") })
    }

    @Test("rejects bad magic, version 1, unknown versions and big-endian files")
    func headerErrors() {
        var image = sampleGGUF().bytes()
        image[3] = UInt8(ascii: "G")
        expectGGUFError(image, "not a GGUF file")
        expectGGUFError([], "not a GGUF file")
        expectGGUFError(Array("GGU".utf8), "not a GGUF file")

        var v1 = sampleGGUF()
        v1.version = 1
        expectGGUFError(v1.bytes(), "unsupported GGUF version 1")
        var v4 = sampleGGUF()
        v4.version = 4
        expectGGUFError(v4.bytes(), "unsupported GGUF version 4")

        var bigEndian = sampleGGUF().bytes()
        bigEndian.replaceSubrange(4..<8, with: [0, 0, 0, 3])
        expectGGUFError(bigEndian, "big-endian")
    }

    @Test("rejects absurd counts and lengths without allocating")
    func absurdCounts() {
        var out = FormatsByteBuilder()
        out.bytes.append(contentsOf: Array("GGUF".utf8))
        out.u32(3)
        out.u64(1 << 62)
        out.u64(0)
        expectGGUFError(out.bytes, "tensor count")

        expectGGUFError(headerOnly(keyCount: 1 << 62) { _ in }, "metadata key count")
        expectGGUFError(headerOnly(keyCount: 1) { $0.u64(1 << 62) }, "metadata key")
        expectGGUFError(headerOnly(keyCount: 1) { $0.u64(UInt64.max) }, "more than the rest of the file")
        expectGGUFError(headerOnly(keyCount: 1) {
            $0.string("a"); $0.u32(8); $0.u64(1 << 62)
        }, "string value of a")
        expectGGUFError(headerOnly(keyCount: 1) {
            $0.string("a"); $0.u32(9); $0.u32(0); $0.u64(1 << 62)
        }, "array length of a")
        expectGGUFError(headerOnly(keyCount: 1, padding: 0) {
            $0.string("a"); $0.u32(9); $0.u32(8); $0.u64(3); $0.string("x")
        }, "array length of a")
        // Empty nested arrays still take 12 bytes each, so this count is implausible too.
        expectGGUFError(headerOnly(keyCount: 1) {
            $0.string("a"); $0.u32(9); $0.u32(9); $0.u64(1 << 40)
            for _ in 0..<4 { $0.u32(0); $0.u64(0) }
        }, "array length of a")
    }

    @Test("rejects malformed metadata")
    func badMetadata() {
        expectGGUFError(headerOnly(keyCount: 1) { $0.string("a"); $0.u32(13); $0.u64(0) }, "key a has unknown value type 13")
        expectGGUFError(headerOnly(keyCount: 1) {
            $0.string("a"); $0.u32(9); $0.u32(99); $0.u64(0)
        }, "key a has unknown value type 99")
        expectGGUFError(headerOnly(keyCount: 1) { $0.string("flag"); $0.u32(7); $0.u8(2) }, "invalid bool byte 2")
        expectGGUFError(headerOnly(keyCount: 2) {
            $0.string("a"); $0.u32(4); $0.u32(1)
            $0.string("a"); $0.u32(4); $0.u32(2)
        }, "metadata key a appears more than once")

        var deep: GGUFValue = .array([.uint8(1)])
        for _ in 0..<20 { deep = .array([deep]) }
        var writer = GGUFTestWriter()
        writer.metadata = [("deep", deep)]
        expectGGUFError(writer.bytes(), "nested deeper")
    }

    @Test("rejects malformed tensor descriptions")
    func badTensors() {
        func variant(_ change: (inout GGUFTestWriter.Tensor) -> Void) -> [UInt8] {
            var writer = sampleGGUF()
            change(&writer.tensors[1])
            return writer.bytes()
        }
        expectGGUFError(variant { $0.ne = [32, 1, 1, 1, 1] }, "blk.0.attn_q.weight has 5 dimensions")
        expectGGUFError(variant { $0.ne = [64, 0] }, "invalid dimension 0")
        expectGGUFError(variant { $0.ne = [64, UInt64.max] }, "invalid dimension -1")
        expectGGUFError(variant { $0.ne = [1 << 62, 1 << 62] }, "too many elements")
        expectGGUFError(variant { $0.typeID = GGMLType.f32.rawValue; $0.ne = [1 << 61, 1] }, "too large")
        expectGGUFError(variant { $0.ne = [1 << 40, 1 << 20] }, "extends past the end of the file")
        expectGGUFError(variant { $0.typeID = 99 }, "blk.0.attn_q.weight has unknown ggml type 99")
        expectGGUFError(variant { $0.typeID = 4 }, "unknown ggml type 4")
        expectGGUFError(variant { $0.ne = [48, 2] }, "row length 48, not a multiple of the Q8_0 block size 32")
        expectGGUFError(variant { $0.offsetOverride = 4 }, "data offset 4, not a multiple of the alignment 32")
        expectGGUFError(variant { $0.offsetOverride = 1 << 40 }, "extends past the end of the file")
        expectGGUFError(variant { $0.offsetOverride = UInt64.max }, "beyond the end of the file")
        expectGGUFError(variant { $0.name = "token_embd.weight" }, "tensor token_embd.weight appears more than once")

        // A file cut inside the last tensor's data.
        let image = sampleGGUF().bytes()
        expectGGUFError(Array(image.dropLast(40)), "extends past the end of the file")
    }

    @Test("covers every ggml type id with sizes", arguments: GGMLType.allCases)
    func ggmlTypeTable(type: GGMLType) {
        #expect(type.blockSize > 0 && type.blockBytes > 0)
        #expect(GGMLType(rawValue: type.rawValue) == type)
        #expect(type.weightType.map { $0.rawValue == type.name && $0.blockBytes == type.blockBytes && $0.blockSize == type.blockSize } ?? true)
    }

    @Test("ggml type names and ids match llama.cpp")
    func ggmlTypeIDs() {
        let expected: [(UInt32, String)] = [
            (0, "F32"), (1, "F16"), (2, "Q4_0"), (3, "Q4_1"), (6, "Q5_0"), (7, "Q5_1"), (8, "Q8_0"), (9, "Q8_1"),
            (10, "Q2_K"), (11, "Q3_K"), (12, "Q4_K"), (13, "Q5_K"), (14, "Q6_K"), (15, "Q8_K"), (16, "IQ2_XXS"),
            (17, "IQ2_XS"), (18, "IQ3_XXS"), (19, "IQ1_S"), (20, "IQ4_NL"), (21, "IQ3_S"), (22, "IQ2_S"),
            (23, "IQ4_XS"), (24, "I8"), (25, "I16"), (26, "I32"), (27, "I64"), (28, "F64"), (29, "IQ1_M"),
            (30, "BF16"), (34, "TQ1_0"), (35, "TQ2_0"), (39, "MXFP4"),
        ]
        #expect(GGMLType.allCases.count == expected.count)
        for (id, name) in expected {
            #expect(GGMLType(rawValue: id)?.name == name)
        }
        #expect(GGMLType.allCases.compactMap(\.weightType).count == WeightType.allCases.count)
    }

    @Test("survives hundreds of seeded random corruptions", .timeLimit(.minutes(1)))
    func fuzz() throws {
        let image = sampleGGUF().bytes()
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        var rng = FormatsSeededRNG(seed: 0x6767_7566)
        var parsed = 0
        for _ in 0..<400 {
            var bytes = FormatsFuzz.mutate(image, using: &rng)
            if rng.next() % 3 == 0 { bytes = FormatsFuzz.mutate(bytes, using: &rng) }
            let path = try dir.write(bytes, to: "fuzz.gguf")
            guard let gguf = try? GGUFFile(path: path) else { continue }
            parsed += 1
            for info in gguf.tensorInfos {
                guard let view = try? gguf.tensor(named: info.name) else { continue }
                _ = FormatsFuzz.touch(view)
                #expect(view.byteCount == info.byteCount)
            }
        }
        #expect(parsed > 0)  // some corruptions (e.g. in tensor data) leave the file valid
    }
}

private let smolLM2Path = TestResources.smolLM2Path

@Suite("GGUF reader on SmolLM2-135M-Instruct Q4_1")
struct GGUFRealFileTests {
    @Test(.enabled(if: TestResources.smolLM2Available))
    func smolLM2() throws {
        let gguf = try GGUFFile(path: smolLM2Path)
        #expect(gguf.version == 3)
        #expect(gguf.metadata["general.architecture"]?.string == "llama")
        #expect(gguf.metadata["llama.block_count"]?.int == 30)
        print("SmolLM2 GGUF: \(gguf.tensorInfos.count) tensors, \(gguf.metadata.count) metadata keys")
        #expect(gguf.tensorInfos.count == 272)

        let embd = try #require(gguf.tensorInfo(named: "token_embd.weight"))
        #expect(embd.shape == [49152, 576])
        for info in gguf.tensorInfos {
            if info.ggmlType.weightType != nil {
                let view = try gguf.tensor(named: info.name)
                #expect(view.shape == info.shape && view.byteCount == info.byteCount)
            } else {
                #expect(throws: GGUFError.self) { try gguf.tensor(named: info.name) }
            }
        }
        #expect(try gguf.tensor(named: "blk.0.attn_q.weight").type == .q4_1)

        for key in gguf.metadata.keys.sorted() {
            let value = gguf.metadata[key]!
            let shown = value.array.map { "array of \($0.count)" } ?? "\(value)"
            print("  \(key) = \(shown)")
        }
        for info in gguf.tensorInfos where !info.name.hasPrefix("blk.") || info.name.hasPrefix("blk.0.") {
            print("  tensor \(info.name) \(info.ggmlType.name) \(info.shape)")
        }
    }
}

@Suite("MappedFile")
struct MappedFileTests {
    @Test("maps contents, allows empty files, names the path in errors")
    func mapping() throws {
        let dir = try FormatsTempDirectory()
        defer { dir.remove() }
        let file = try MappedFile(path: dir.write([1, 2, 3], to: "three"))
        #expect(file.count == 3)
        #expect(Array(UnsafeRawBufferPointer(start: file.base, count: file.count)) == [1, 2, 3])
        #expect(try MappedFile(path: dir.write([], to: "empty")).count == 0)

        let missing = dir.path("missing")
        #expect {
            _ = try MappedFile(path: missing)
        } throws: { error in
            "\(error)".contains(missing) && "\(error)".contains("No such file")
        }
        #expect {
            _ = try MappedFile(path: dir.url.path)
        } throws: { error in
            "\(error)".contains("not a regular file")
        }
    }
}
