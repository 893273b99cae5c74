import DMSKit
import Foundation
import Testing

/// Fixtures made by scripts/fixtures/make_tokenizer_fixtures.py, and the real SmolLM2 model.
private enum TokenizerFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")
        .appendingPathComponent("tokenizer")

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// `DMS_SMOLLM2_GGUF`, or the default download location.
    static let smolLM2Path: String = ProcessInfo.processInfo.environment["DMS_SMOLLM2_GGUF"]
        ?? FileManager.default.homeDirectoryForCurrentUser
            .appendingPathComponent(".cache/swift-dms/SmolLM2-135M-Instruct.Q4_1.gguf").path

    /// Real-model tests run when the file exists; with `DMS_REQUIRE_MODEL=1` they run anyway, so a
    /// missing model fails instead of skipping.
    static var smolLM2Enabled: Bool {
        FileManager.default.fileExists(atPath: smolLM2Path)
            || ProcessInfo.processInfo.environment["DMS_REQUIRE_MODEL"] == "1"
    }

    static let smolLM2: Result<Tokenizer, Error> = Result {
        Tokenizer(data: try TokenizerData(ggufMetadata: GGUFFile(path: smolLM2Path).metadata))
    }

    static func tiny(_ name: String) throws -> Tokenizer {
        let folder = directory.appendingPathComponent(name)
        return Tokenizer(data: try TokenizerData(tokenizerJSON: folder.appendingPathComponent("tokenizer.json"),
                                                 tokenizerConfig: folder.appendingPathComponent("tokenizer_config.json")))
    }

    struct Case {
        let text: String
        let ids: [Int]
        let decoded: String
        let raw: [String: Any]
    }

    static func cases(_ object: Any?) throws -> [Case] {
        let list = try #require(object as? [[String: Any]])
        return try list.map { entry in
            Case(text: try #require(entry["text"] as? String), ids: try #require(entry["ids"] as? [Int]),
                 decoded: try #require(entry["decoded"] as? String), raw: entry)
        }
    }
}

private func escaped(_ text: String) -> String {
    text.unicodeScalars.map { $0.isASCII && $0.value >= 0x20 ? String($0) : "\\u{\(String($0.value, radix: 16))}" }.joined()
}

private func metadata(_ overrides: [String: GGUFValue?]) -> [String: GGUFValue] {
    var base: [String: GGUFValue] = [
        "tokenizer.ggml.model": .string("gpt2"),
        "tokenizer.ggml.pre": .string("qwen2"),
        "tokenizer.ggml.tokens": .array(["a", "b", "ab", "<|im_end|>"].map { .string($0) }),
        "tokenizer.ggml.token_type": .array([1, 1, 1, 3].map { .int32($0) }),
        "tokenizer.ggml.merges": .array([.string("a b")]),
        "tokenizer.ggml.eos_token_id": .uint32(3),
    ]
    for (key, value) in overrides { base[key] = value }
    return base
}

@Suite("Tokenizer: SmolLM2 GGUF", .enabled(if: TokenizerFixtures.smolLM2Enabled))
struct SmolLM2TokenizerTests {
    @Test func metadataAndSpecialTokens() throws {
        let tokenizer = try TokenizerFixtures.smolLM2.get()
        let fixture = try TokenizerFixtures.json("smollm2_cases.json")
        #expect(tokenizer.data.preTokenizer == .digitsThenGPT2)      // tokenizer.ggml.pre = "smollm"
        #expect(tokenizer.vocabularySize == fixture["vocab_size"] as? Int)
        #expect(tokenizer.bosTokenId == fixture["bos_token_id"] as? Int)
        #expect(tokenizer.eosTokenId == fixture["eos_token_id"] as? Int)
        #expect(!tokenizer.addsBosToken)
        #expect(tokenizer.eosTokenIds == [2, 0])                        // <|im_end|>, <|endoftext|>
        #expect(tokenizer.id(of: "<|im_start|>") == 1)
        #expect(tokenizer.tokenText(19556) == "Hello")
        #expect(tokenizer.id(of: "Ġworld") == 905)
        #expect(tokenizer.isSpecial(2) && !tokenizer.isSpecial(905))
        let template = try #require(tokenizer.chatTemplate)
        #expect(template.family == .chatMLWithDefaultSystem)
        #expect(template.defaultSystemMessage == "You are a helpful AI assistant named SmolLM, trained by Hugging Face")
    }

    @Test func encodesLikeTransformers() throws {
        let tokenizer = try TokenizerFixtures.smolLM2.get()
        let cases = try TokenizerFixtures.cases(try TokenizerFixtures.json("smollm2_cases.json")["cases"])
        #expect(cases.count >= 60)
        for c in cases {
            #expect(tokenizer.encode(c.text) == c.ids, "\(escaped(c.text))")
            #expect(tokenizer.encode(c.text, addSpecialTokens: false) == c.ids)
            #expect(tokenizer.encode(c.text, parseSpecial: false) == c.raw["ids_no_special_parsing"] as? [Int],
                    "parseSpecial false: \(escaped(c.text))")
        }
    }

    @Test func decodesLikeTransformers() throws {
        let tokenizer = try TokenizerFixtures.smolLM2.get()
        let cases = try TokenizerFixtures.cases(try TokenizerFixtures.json("smollm2_cases.json")["cases"])
        for c in cases {
            #expect(tokenizer.decode(c.ids) == c.decoded, "\(escaped(c.text))")
            #expect(tokenizer.decode(c.ids, skipSpecialTokens: true) == c.raw["decoded_skip_special"] as? String)
            let partial = try #require(c.raw["partial_decodes"] as? [String])
            for (length, expected) in partial.enumerated() {
                #expect(tokenizer.decode(Array(c.ids.prefix(length))).unicodeScalars.elementsEqual(expected.unicodeScalars),
                        "prefix \(length) of \(escaped(c.text))")
            }
        }
    }

    @Test func streamingDetokenizerKeepsEmojiWhole() throws {
        let tokenizer = try TokenizerFixtures.smolLM2.get()
        let text = "Family 👨‍👩‍👧‍👦, flag 🇫🇷, café, 你好 and 🧑🏿‍🚀!"
        let ids = tokenizer.encode(text)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(detokenizer.append(id)) }
        pieces.append(detokenizer.flush())
        #expect(pieces.joined() == text)
        #expect(!pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") })
        #expect(pieces.contains(""), "some emoji should have been split across byte tokens")
        // Every emitted piece is whole scalars of the text, in order.
        var rest = Substring(text)
        for piece in pieces where !piece.isEmpty {
            #expect(rest.unicodeScalars.starts(with: piece.unicodeScalars))
            rest = Substring(rest.unicodeScalars.dropFirst(piece.unicodeScalars.count))
        }
    }

    @Test func encodesHundredKilobytesQuickly() throws {
        let tokenizer = try TokenizerFixtures.smolLM2.get()
        let cases = try TokenizerFixtures.cases(try TokenizerFixtures.json("smollm2_cases.json")["cases"])
        var text = ""
        var expected: [Int] = []
        var i = 0
        while text.utf8.count < 100_000 {
            let c = cases[i % cases.count]
            i += 1
            // Added tokens and a trailing "\n" separator keep pieces independent: ids concatenate.
            text += c.text + "<|endoftext|>"
            expected += c.ids + [0]
        }
        let start = Date()
        let ids = tokenizer.encode(text)
        let seconds = Date().timeIntervalSince(start)
        #expect(ids == expected)
        #expect(seconds < 5, "encoding \(text.utf8.count) bytes took \(seconds) s")
    }
}

@Suite("Tokenizer: tokenizer.json")
struct TokenizerJSONTests {
    @Test(arguments: ["tiny_gpt2", "tiny_smollm", "tiny_qwen2", "tiny_llama3"])
    func tinyTokenizersEncodeLikeHuggingFace(name: String) throws {
        let tokenizer = try TokenizerFixtures.tiny(name)
        let fixture = try #require(try TokenizerFixtures.json("tiny_bpe_cases.json")["tokenizers"] as? [String: Any])
        let entry = try #require(fixture[name] as? [String: Any])
        #expect(tokenizer.vocabularySize == entry["vocab_size"] as? Int)
        for c in try TokenizerFixtures.cases(entry["cases"]) {
            #expect(tokenizer.encode(c.text) == c.ids, "\(name): \(escaped(c.text))")
            #expect(tokenizer.decode(c.ids) == c.decoded, "\(name): \(escaped(c.text))")
        }
    }

    @Test func readsTheRightSettings() throws {
        let smol = try TokenizerFixtures.tiny("tiny_smollm")
        #expect(smol.data.preTokenizer == .digitsThenGPT2 && !smol.data.normalizeNFC && !smol.addsBosToken)
        #expect(smol.bosTokenId == 1 && smol.eosTokenId == 2)
        #expect(smol.chatTemplate == nil && smol.chatTemplateSource == nil)
        #expect(throws: ChatTemplateError.missing) { try smol.makeChatTemplate() }

        let qwen = try TokenizerFixtures.tiny("tiny_qwen2")
        #expect(qwen.data.preTokenizer == .qwen2 && qwen.data.normalizeNFC && !qwen.addsBosToken)
        #expect(qwen.bosTokenId == nil && qwen.eosTokenIds == [2, 0])
        #expect(qwen.chatTemplate?.family == .qwen3)

        let gpt2 = try TokenizerFixtures.tiny("tiny_gpt2")
        #expect(gpt2.data.preTokenizer == .gpt2 && gpt2.data.addPrefixSpace && !gpt2.addsBosToken)
        #expect(gpt2.encode("hello") == gpt2.encode(" hello"))

        let llama = try TokenizerFixtures.tiny("tiny_llama3")
        #expect(llama.data.preTokenizer == .llama3 && llama.data.ignoreMerges && llama.addsBosToken)
        #expect(llama.bosTokenId == 0)
        #expect(llama.encode("hello", addSpecialTokens: false).first != 0)
        #expect(llama.chatTemplate?.family == .chatML)   // the "default" of a list of named templates
    }

    @Test func streamingDetokenizerHoldsBackPartialCharacters() throws {
        let tokenizer = try TokenizerFixtures.tiny("tiny_qwen2")
        let text = "A 🦀 and 🐙‍🦑 and 🇨🇭, ok<|im_end|>"
        let ids = tokenizer.encode(text)
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var pieces: [String] = []
        for id in ids { pieces.append(detokenizer.append(id)) }
        #expect(detokenizer.flush() == "")
        #expect(pieces.joined() == text)
        #expect(!pieces.contains { $0.unicodeScalars.contains("\u{FFFD}") })
        #expect(pieces.filter(\.isEmpty).count >= 3)

        var skipping = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true)
        #expect(ids.map { skipping.append($0) }.joined() + skipping.flush() == "A 🦀 and 🐙‍🦑 and 🇨🇭, ok")

        // A sequence cut short comes out as U+FFFD on flush, like decode().
        var cut = StreamingDetokenizer(tokenizer: tokenizer)
        let emoji = tokenizer.encode("🦀")
        #expect(emoji.count > 1)
        let head = emoji.dropLast().map { cut.append($0) }.joined()
        #expect(head == "")
        #expect(cut.flush() == tokenizer.decode(Array(emoji.dropLast())))
    }

    @Test func rejectsUnsupportedFiles() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("dms-tokenizer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("tokenizer.json")

        try Data("{not json".utf8).write(to: file)
        #expect { try TokenizerData(tokenizerJSON: file, tokenizerConfig: nil) } throws: { error in
            guard case .badJSON = error as? TokenizerError else { return false }
            return "\(error)".contains("tokenizer.json")
        }

        try Data(#"{"model": {"type": "Unigram", "vocab": []}}"#.utf8).write(to: file)
        #expect(throws: TokenizerError.unsupportedModel("Unigram")) {
            try TokenizerData(tokenizerJSON: file, tokenizerConfig: nil)
        }

        try Data(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": {"type": "Whitespace"}}"#.utf8).write(to: file)
        #expect { try TokenizerData(tokenizerJSON: file, tokenizerConfig: nil) } throws: { error in
            guard case .unknownPreTokenizer = error as? TokenizerError else { return false }
            return "\(error)".contains("Whitespace")
        }

        let split = #"{"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "use_regex": false}]}"#
        try Data(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, "pre_tokenizer": \#(split)}"#.utf8).write(to: file)
        #expect(throws: TokenizerError.unknownPreTokenizer(#"Split regex \s+"#)) {
            try TokenizerData(tokenizerJSON: file, tokenizerConfig: nil)
        }

        #expect { try TokenizerData(tokenizerJSON: folder.appendingPathComponent("absent.json"), tokenizerConfig: nil) } throws: { error in
            guard case .unreadableFile = error as? TokenizerError else { return false }
            return true
        }
    }
}

@Suite("Tokenizer: GGUF metadata")
struct GGUFTokenizerDataTests {
    @Test func readsMinimalMetadata() throws {
        let tokenizer = Tokenizer(data: try TokenizerData(ggufMetadata: metadata([:])))
        #expect(tokenizer.data.preTokenizer == .qwen2)
        #expect(tokenizer.encode("ab<|im_end|>ba") == [2, 3, 1, 0])
        #expect(tokenizer.encode("ab<|im_end|>", parseSpecial: false) == [2])  // bytes missing from the vocabulary are dropped
        #expect(tokenizer.decode([2, 3, 1], skipSpecialTokens: true) == "abb")
        #expect(tokenizer.eosTokenIds == [3])
        #expect(tokenizer.chatTemplate == nil)
    }

    @Test func mapsPreTokenizerNamesAsLlamaCpp() throws {
        let expected: [String: PreTokenizerKind] = [
            "smollm": .digitsThenGPT2, "starcoder": .digitsThenGPT2, "qwen2": .qwen2, "llama-bpe": .llama3,
            "llama3": .llama3, "gpt2": .gpt2, "gpt-2": .gpt2, "deepseek-r1-qwen": .qwen2,
        ]
        for (name, kind) in expected {
            let data = try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.pre": .string(name)]))
            #expect(data.preTokenizer == kind, "\(name)")
        }
        let llama = try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.pre": .string("llama-bpe"),
                                                              "tokenizer.ggml.bos_token_id": .uint32(0)]))
        #expect(llama.ignoreMerges && llama.addBosToken)
        let noBos = try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.pre": .string("llama-bpe"),
                                                              "tokenizer.ggml.add_bos_token": .bool(false)]))
        #expect(!noBos.addBosToken)
    }

    @Test func reportsClearErrors() throws {
        #expect(throws: TokenizerError.unsupportedModel("llama")) {
            try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.model": .string("llama")]))
        }
        #expect("\(TokenizerError.unsupportedModel("llama"))".contains("'llama'"))
        #expect(throws: TokenizerError.unknownPreTokenizer("mystery")) {
            try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.pre": .string("mystery")]))
        }
        #expect("\(TokenizerError.unknownPreTokenizer("mystery"))".contains("'mystery'"))
        for key in ["tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens", "tokenizer.ggml.merges"] {
            #expect(throws: TokenizerError.missingKey(key)) { try TokenizerData(ggufMetadata: metadata([key: nil])) }
        }
        #expect(throws: TokenizerError.self) {
            try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.tokens": .array([.uint8(1)])]))
        }
        #expect(throws: TokenizerError.self) {
            try TokenizerData(ggufMetadata: metadata(["tokenizer.ggml.merges": .array([.string("ab")])]))
        }
    }
}
