import Foundation

extension TokenizerData {
    /// Reads a Hugging Face `tokenizer.json` (model `BPE` with byte-level pre-tokenization) and,
    /// optionally, its `tokenizer_config.json`.
    ///
    /// Supported pre-tokenizers: `ByteLevel` with `use_regex` (GPT-2), `Sequence[Digits(individual_digits),
    /// ByteLevel]` (SmolLM2), and `Sequence[Split(regex), ByteLevel(use_regex: false)]` where the regex is
    /// Llama 3's or Qwen2's. Normalizer: none or `NFC`.
    ///
    /// From the config: `chat_template` (a string, or a list of `{name, template}` of which `default` is
    /// used; if absent, a `chat_template.jinja` beside the config is read), `bos_token`/`eos_token`/
    /// `pad_token` (strings or AddedToken dictionaries), and `add_bos_token`. Without `add_bos_token`,
    /// BOS is added when the `post_processor` template starts with a special token (Llama 3).
    public init(tokenizerJSON: URL, tokenizerConfig: URL?) throws {
        let root = try TokenizerData.readJSONObject(tokenizerJSON)
        let file = tokenizerJSON.lastPathComponent

        guard let model = root["model"] as? [String: Any] else {
            throw TokenizerError.badJSON(file: file, reason: "no 'model' object")
        }
        let modelType = model["type"] as? String ?? "BPE"
        guard modelType == "BPE" else { throw TokenizerError.unsupportedModel(modelType) }
        if model["byte_fallback"] as? Bool == true {
            throw TokenizerError.unsupportedModel("BPE with byte_fallback (SentencePiece-style)")
        }
        if let prefix = model["continuing_subword_prefix"] as? String, !prefix.isEmpty {
            throw TokenizerError.unsupportedComponent("BPE continuing_subword_prefix '\(prefix)'")
        }
        if let suffix = model["end_of_word_suffix"] as? String, !suffix.isEmpty {
            throw TokenizerError.unsupportedComponent("BPE end_of_word_suffix '\(suffix)'")
        }
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw TokenizerError.badJSON(file: file, reason: "no 'model.vocab' object")
        }

        // Vocabulary and added tokens, by id.
        var byID: [Int: String] = [:]
        byID.reserveCapacity(vocab.count)
        for (token, value) in vocab {
            guard let id = TokenizerData.intValue(value), id >= 0 else {
                throw TokenizerError.badJSON(file: file, reason: "vocab entry '\(token)' has no integer id")
            }
            byID[id] = token
        }
        var added: [AddedToken] = []
        for entry in root["added_tokens"] as? [[String: Any]] ?? [] {
            guard let id = entry["id"].flatMap(TokenizerData.intValue), id >= 0,
                  let content = entry["content"] as? String else {
                throw TokenizerError.badJSON(file: file, reason: "an added_tokens entry lacks id or content")
            }
            added.append(AddedToken(id: id, content: content,
                                    special: entry["special"] as? Bool ?? false,
                                    lstrip: entry["lstrip"] as? Bool ?? false,
                                    rstrip: entry["rstrip"] as? Bool ?? false))
            byID[id] = content
        }
        let count = (byID.keys.max() ?? -1) + 1
        var tokens = [String](repeating: "", count: count)
        for (id, token) in byID { tokens[id] = token }
        var types = [TokenType](repeating: .normal, count: count)
        for token in added { types[token.id] = token.special ? .control : .userDefined }

        // Merges: "a b" strings (older files) or ["a", "b"] pairs.
        var merges: [BPEMerge] = []
        let rawMerges = model["merges"] as? [Any] ?? []
        merges.reserveCapacity(rawMerges.count)
        for (index, rule) in rawMerges.enumerated() {
            if let pair = rule as? [String], pair.count == 2 {
                merges.append(BPEMerge(left: pair[0], right: pair[1]))
            } else if let text = rule as? String, let space = text.utf8.dropFirst().firstIndex(of: 0x20) {
                merges.append(BPEMerge(left: String(text[text.startIndex..<space]),
                                       right: String(text[text.index(after: space)...])))
            } else {
                throw TokenizerError.badJSON(file: file, reason: "merge \(index) is neither 'a b' nor [a, b]")
            }
        }

        // Normalizer.
        var nfc = false
        if let normalizer = root["normalizer"] as? [String: Any] {
            nfc = try TokenizerData.parseNormalizer(normalizer)
        }

        // Pre-tokenizer.
        guard let pre = root["pre_tokenizer"] as? [String: Any] else {
            throw TokenizerError.unknownPreTokenizer("none (a byte-level BPE needs a ByteLevel pre-tokenizer)")
        }
        let (kind, prefixSpace) = try TokenizerData.parsePreTokenizer(pre)

        if let decoder = root["decoder"] as? [String: Any], let type = decoder["type"] as? String, type != "ByteLevel" {
            throw TokenizerError.unsupportedComponent("decoder '\(type)' (only ByteLevel)")
        }

        func idOf(_ content: String?) -> Int? {
            guard let content else { return nil }
            if let token = added.first(where: { $0.content == content }) { return token.id }
            return vocab[content].flatMap(TokenizerData.intValue)
        }

        // tokenizer_config.json
        var config: [String: Any] = [:]
        if let tokenizerConfig {
            config = try TokenizerData.readJSONObject(tokenizerConfig)
        }
        var template: String?
        if let value = config["chat_template"] {
            if let text = value as? String {
                template = text
            } else if let list = value as? [[String: Any]] {
                let chosen = list.first { $0["name"] as? String == "default" } ?? list.first
                template = chosen?["template"] as? String
            } else if !(value is NSNull) {
                throw TokenizerError.badJSON(file: tokenizerConfig?.lastPathComponent ?? "tokenizer_config.json",
                                             reason: "chat_template is neither a string nor a list of templates")
            }
        }
        if template == nil, let tokenizerConfig {
            let jinja = tokenizerConfig.deletingLastPathComponent().appendingPathComponent("chat_template.jinja")
            if let data = FileManager.default.contents(atPath: jinja.path) {
                template = String(decoding: data, as: UTF8.self)
            }
        }

        let bos = idOf(TokenizerData.tokenContent(config["bos_token"]))
        var addBos: Bool
        if let flag = config["add_bos_token"] as? Bool {
            addBos = flag
        } else {
            addBos = false
            if let first = TokenizerData.leadingSpecialToken(root["post_processor"]), let id = idOf(first), id == bos || bos == nil {
                addBos = true
            }
        }
        var bosID = bos
        if addBos && bosID == nil, let first = TokenizerData.leadingSpecialToken(root["post_processor"]) {
            bosID = idOf(first)
        }

        self.init(
            tokens: tokens,
            merges: merges,
            tokenTypes: types,
            addedTokens: added,
            bosTokenId: bosID,
            eosTokenId: idOf(TokenizerData.tokenContent(config["eos_token"])),
            padTokenId: idOf(TokenizerData.tokenContent(config["pad_token"])),
            unknownTokenId: idOf(model["unk_token"] as? String),
            preTokenizer: kind,
            addPrefixSpace: prefixSpace,
            normalizeNFC: nfc,
            ignoreMerges: model["ignore_merges"] as? Bool ?? false,
            addBosToken: addBos && bosID != nil,
            chatTemplate: template
        )
    }

    // MARK: - Helpers

    static func readJSONObject(_ url: URL) throws -> [String: Any] {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TokenizerError.unreadableFile(path: url.path, reason: "\(error.localizedDescription)")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw TokenizerError.badJSON(file: url.lastPathComponent, reason: "\(error.localizedDescription)")
        }
        guard let dictionary = object as? [String: Any] else {
            throw TokenizerError.badJSON(file: url.lastPathComponent, reason: "the top level is not an object")
        }
        return dictionary
    }

    static func intValue(_ value: Any) -> Int? {
        if let int = value as? Int { return int }
        if let number = value as? NSNumber { return number.intValue }
        return nil
    }

    /// A token given as a string or as an AddedToken dictionary (`{"content": ...}`).
    static func tokenContent(_ value: Any?) -> String? {
        if let text = value as? String { return text }
        if let dictionary = value as? [String: Any] { return dictionary["content"] as? String }
        return nil
    }

    /// Whether the normalizer is NFC (true) or does nothing (false); anything else is unsupported.
    static func parseNormalizer(_ normalizer: [String: Any]) throws -> Bool {
        switch normalizer["type"] as? String {
        case "NFC":
            return true
        case "Sequence":
            var nfc = false
            for item in normalizer["normalizers"] as? [[String: Any]] ?? [] {
                if try parseNormalizer(item) { nfc = true }
            }
            return nfc
        case let other:
            throw TokenizerError.unsupportedComponent("normalizer '\(other ?? "?")' (only NFC)")
        }
    }

    /// The pre-tokenizer kind and ByteLevel's `add_prefix_space`.
    static func parsePreTokenizer(_ pre: [String: Any]) throws -> (PreTokenizerKind, Bool) {
        let type = pre["type"] as? String ?? "?"
        if type == "ByteLevel" {
            guard pre["use_regex"] as? Bool ?? true else {
                throw TokenizerError.unknownPreTokenizer("ByteLevel without use_regex and without a Split")
            }
            return (.gpt2, pre["add_prefix_space"] as? Bool ?? false)
        }
        guard type == "Sequence", let steps = pre["pretokenizers"] as? [[String: Any]], steps.count == 2,
              steps[1]["type"] as? String == "ByteLevel" else {
            throw TokenizerError.unknownPreTokenizer(describe(pre))
        }
        let byteLevel = steps[1]
        let prefixSpace = byteLevel["add_prefix_space"] as? Bool ?? false
        let useRegex = byteLevel["use_regex"] as? Bool ?? true
        let first = steps[0]
        switch first["type"] as? String {
        case "Digits" where first["individual_digits"] as? Bool == true && useRegex:
            return (.digitsThenGPT2, prefixSpace)
        case "Split" where !useRegex:
            let pattern = (first["pattern"] as? [String: Any])?["Regex"] as? String
            let behavior = first["behavior"] as? String ?? "Isolated"
            let invert = first["invert"] as? Bool ?? false
            guard behavior == "Isolated", !invert, let pattern else {
                throw TokenizerError.unknownPreTokenizer(describe(pre))
            }
            for kind in [PreTokenizerKind.llama3, .qwen2] where kind.pattern == pattern {
                return (kind, prefixSpace)
            }
            throw TokenizerError.unknownPreTokenizer("Split regex \(pattern)")
        default:
            throw TokenizerError.unknownPreTokenizer(describe(pre))
        }
    }

    private static func describe(_ object: [String: Any]) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else {
            return "\(object["type"] ?? "?")"
        }
        let text = String(decoding: data, as: UTF8.self)
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }

    /// The special token a `TemplateProcessing` post-processor puts first in a single sequence, if any.
    static func leadingSpecialToken(_ processor: Any?) -> String? {
        guard let processor = processor as? [String: Any] else { return nil }
        switch processor["type"] as? String {
        case "TemplateProcessing":
            guard let single = processor["single"] as? [[String: Any]], let first = single.first,
                  let special = first["SpecialToken"] as? [String: Any] else { return nil }
            return special["id"] as? String
        case "Sequence":
            for item in processor["processors"] as? [Any] ?? [] {
                if let token = leadingSpecialToken(item) { return token }
            }
            return nil
        default:
            return nil
        }
    }
}
