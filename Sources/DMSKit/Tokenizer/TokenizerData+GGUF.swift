extension TokenizerData {
    /// Reads a byte-level BPE tokenizer from GGUF metadata (the `tokenizer.*` keys).
    ///
    /// `tokenizer.ggml.model` must be `gpt2`. `tokenizer.ggml.pre` picks the pre-tokenizer as llama.cpp
    /// does (for example `smollm` → ``PreTokenizerKind/digitsThenGPT2``, `qwen2` →
    /// ``PreTokenizerKind/qwen2``, `llama-bpe` → ``PreTokenizerKind/llama3``); an unknown or missing
    /// name is an error rather than a guess. Control tokens (type 3) become special added tokens,
    /// user-defined tokens (type 4) non-special added tokens. `tokenizer.ggml.add_bos_token`, when present,
    /// overrides the pre-tokenizer's default (llama3: add BOS; others: don't).
    public init(ggufMetadata metadata: [String: GGUFValue]) throws {
        guard let modelValue = metadata["tokenizer.ggml.model"] else {
            throw TokenizerError.missingKey("tokenizer.ggml.model")
        }
        guard let model = modelValue.string else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.model", reason: "not a string")
        }
        guard model == "gpt2" else { throw TokenizerError.unsupportedModel(model) }

        guard let preValue = metadata["tokenizer.ggml.pre"] else {
            throw TokenizerError.missingKey("tokenizer.ggml.pre")
        }
        guard let preName = preValue.string else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.pre", reason: "not a string")
        }
        guard let settings = PreTokenizerKind.ggufSettings(for: preName) else {
            throw TokenizerError.unknownPreTokenizer(preName)
        }

        guard let tokensValue = metadata["tokenizer.ggml.tokens"] else {
            throw TokenizerError.missingKey("tokenizer.ggml.tokens")
        }
        guard let tokens = tokensValue.stringArray else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.tokens", reason: "not an array of strings")
        }

        var types: [TokenType] = []
        if let typeValue = metadata["tokenizer.ggml.token_type"] {
            guard let raw = typeValue.intArray, raw.count == tokens.count else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.token_type",
                                                  reason: "not an array of \(tokens.count) integers")
            }
            types = raw.map { TokenType(rawValue: $0) ?? .normal }
        }

        guard let mergesValue = metadata["tokenizer.ggml.merges"] else {
            throw TokenizerError.missingKey("tokenizer.ggml.merges")
        }
        guard let mergeStrings = mergesValue.stringArray else {
            throw TokenizerError.invalidValue(key: "tokenizer.ggml.merges", reason: "not an array of strings")
        }
        var merges: [BPEMerge] = []
        merges.reserveCapacity(mergeStrings.count)
        for (index, rule) in mergeStrings.enumerated() {
            // "a b": the separator is the first space after the first character (byte-level symbols
            // never contain a plain space).
            guard let space = rule.utf8.dropFirst().firstIndex(of: 0x20) else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.merges", reason: "rule \(index) '\(rule)' is not 'left right'")
            }
            let left = String(rule[rule.startIndex..<space])
            let right = String(rule[rule.index(after: space)...])
            merges.append(BPEMerge(left: left, right: right))
        }

        func optionalID(_ key: String) throws -> Int? {
            guard let value = metadata[key] else { return nil }
            guard let id = value.int else { throw TokenizerError.invalidValue(key: key, reason: "not an integer") }
            guard id >= 0 && id < tokens.count else { return nil }
            return id
        }

        var added: [AddedToken] = []
        for (id, type) in types.enumerated() where type == .control || type == .userDefined {
            added.append(AddedToken(id: id, content: tokens[id], special: type == .control))
        }

        var addBos = settings.addBos
        if let value = metadata["tokenizer.ggml.add_bos_token"] {
            guard let flag = value.bool else {
                throw TokenizerError.invalidValue(key: "tokenizer.ggml.add_bos_token", reason: "not a bool")
            }
            addBos = flag
        }
        var template: String?
        if let value = metadata["tokenizer.chat_template"] {
            guard let text = value.string else {
                throw TokenizerError.invalidValue(key: "tokenizer.chat_template", reason: "not a string")
            }
            template = text
        }

        self.init(
            tokens: tokens,
            merges: merges,
            tokenTypes: types,
            addedTokens: added,
            bosTokenId: try optionalID("tokenizer.ggml.bos_token_id"),
            eosTokenId: try optionalID("tokenizer.ggml.eos_token_id"),
            padTokenId: try optionalID("tokenizer.ggml.padding_token_id"),
            unknownTokenId: try optionalID("tokenizer.ggml.unknown_token_id"),
            preTokenizer: settings.kind,
            addPrefixSpace: false,
            normalizeNFC: settings.nfc,
            ignoreMerges: settings.ignoreMerges,
            addBosToken: addBos,
            chatTemplate: template
        )
    }
}
