import Foundation
import Testing

/// The `dms` executable on bad input: a clear `Error:` line and exit status 1 (or 64 for usage
/// errors), never a crash (a signal) or a hang. scripts/test.sh builds the binary first.
@Suite("dms CLI rejects bad input cleanly", .serialized)
struct CLITests {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var binary: String? {
        for configuration in ["release", "debug"] {
            let path = packageRoot.appendingPathComponent(".build/\(configuration)/dms").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    struct Outcome {
        var status: Int32
        var signalled: Bool
        var output: String
        var error: String
    }

    static func run(_ arguments: [String]) throws -> Outcome {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(binary, "build dms first (scripts/test.sh does)"))
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Outcome(status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
                       output: String(decoding: outData, as: UTF8.self), error: String(decoding: errData, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dms-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Expects a clean failure whose message mentions `fragment`.
    static func expectCleanFailure(_ arguments: [String], mentions fragment: String,
                                   sourceLocation: SourceLocation = #_sourceLocation) throws {
        let outcome = try run(arguments)
        #expect(!outcome.signalled, "crashed: \(outcome.error)", sourceLocation: sourceLocation)
        #expect(outcome.status == 1 || outcome.status == 64, "status \(outcome.status)", sourceLocation: sourceLocation)
        #expect(outcome.error.localizedCaseInsensitiveContains(fragment), "stderr: \(outcome.error)", sourceLocation: sourceLocation)
    }

    @Test func malformedModelFiles() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let valid = try Data(contentsOf: TestResources.fixtures.appendingPathComponent("tiny-llama.q4_1.gguf"))

        let wrongMagic = dir.appendingPathComponent("magic.gguf")
        try (Data("GGUX".utf8) + valid.dropFirst(4)).write(to: wrongMagic)
        try Self.expectCleanFailure(["generate", "--model", wrongMagic.path, "--prompt", "hi"], mentions: "GGUF")

        let truncated = dir.appendingPathComponent("truncated.gguf")
        try valid.prefix(valid.count / 2).write(to: truncated)
        try Self.expectCleanFailure(["generate", "--model", truncated.path, "--prompt", "hi"], mentions: "truncated.gguf")

        // A tensor type id nobody knows, patched into the first tensor's descriptor.
        var unknownType = valid
        let name = Data("token_embd.weight".utf8)
        let at = try #require(unknownType.range(of: name)).upperBound
        let dims = Int(unknownType[at])  // u32 n_dims, little-endian
        let typeOffset = at + 4 + dims * 8
        unknownType.replaceSubrange(typeOffset..<typeOffset + 4, with: [99, 0, 0, 0])
        let unknownPath = dir.appendingPathComponent("unknown.gguf")
        try unknownType.write(to: unknownPath)
        try Self.expectCleanFailure(["inspect", "--model", unknownPath.path], mentions: "unknown ggml type 99")

        // An absurd dimension in the same descriptor.
        var absurd = valid
        absurd.replaceSubrange(at + 4..<at + 12, with: [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        let absurdPath = dir.appendingPathComponent("absurd.gguf")
        try absurd.write(to: absurdPath)
        try Self.expectCleanFailure(["inspect", "--model", absurdPath.path], mentions: "absurd.gguf")
    }

    @Test func brokenHuggingFaceDirectories() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = TestResources.fixtures.appendingPathComponent("tiny-qwen3")
        let model = dir.appendingPathComponent("model")
        try FileManager.default.copyItem(at: source, to: model)
        let config = model.appendingPathComponent("config.json")
        let original = try String(contentsOf: config, encoding: .utf8)

        try "{\"model_type\": \"qwen3\", ".write(to: config, atomically: true, encoding: .utf8)
        try Self.expectCleanFailure(["generate", "--model", model.path, "--prompt", "hi"], mentions: "JSON")

        try original.replacingOccurrences(of: "\"num_hidden_layers\": 2", with: "\"num_hidden_layers\": 3")
            .write(to: config, atomically: true, encoding: .utf8)
        try Self.expectCleanFailure(["generate", "--model", model.path, "--prompt", "hi"], mentions: "model.layers.2")

        try original.write(to: config, atomically: true, encoding: .utf8)
        try Data("{\"bad".utf8).write(to: model.appendingPathComponent("tokenizer.json"))
        try Self.expectCleanFailure(["generate", "--model", model.path, "--prompt", "hi"], mentions: "tokenizer.json")
    }

    @Test func badArguments() throws {
        let model = TestResources.fixture("tiny-llama")
        try Self.expectCleanFailure(["generate", "--model", "/nonexistent/model.gguf", "--prompt", "hi"], mentions: "neither")
        try Self.expectCleanFailure(["generate", "--model", model], mentions: "--prompt")
        try Self.expectCleanFailure(["generate", "--model", model, "--prompt", "hi", "--top-p", "2"], mentions: "top-p")
        try Self.expectCleanFailure(["detokenize", "--model", model, "5", "100000"], mentions: "100000")
        // 256 positions: a longer prompt is refused, not truncated silently.
        try Self.expectCleanFailure(["generate", "--model", model, "--prompt", String(repeating: "dog ", count: 300)],
                                    mentions: "context length")
    }

    @Test func generateJSONIsOneObject() throws {
        let outcome = try Self.run(["generate", "--model", TestResources.fixture("tiny-llama"), "--prompt", "The dog",
                                    "--max-tokens", "5", "--temperature", "0", "--json"])
        #expect(outcome.status == 0, "\(outcome.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        #expect((object["tokens"] as? [Int])?.count == 5)
        let timing = try #require(object["timing"] as? [String: Any])
        for key in ["prefill_tokens_per_s", "decode_tokens_per_s", "decode_ms_per_token_p50", "decode_ms_per_token_p99"] {
            #expect(timing[key] is Double, "\(key)")
        }
        let kv = try #require(object["kv"] as? [String: Any])
        #expect(kv["policy"] as? String == "full")
        #expect(kv["tokens_seen"] as? Int == (object["prompt_tokens"] as? [Int])!.count + 4)
        #expect((kv["peak_bytes"] as? Int ?? 0) > 0)
    }
}
