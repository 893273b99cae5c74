import Foundation

/// A byte-level BPE tokenizer that produces the same ids as Hugging Face `tokenizers` for GPT-2-style
/// vocabularies (SmolLM2, Llama 3, Qwen2/Qwen3).
///
/// Encoding: added tokens are cut out of the raw text first (longest match; special ones only when
/// `parseSpecial`), each remaining stretch is NFC-normalized if the tokenizer says so, split into
/// pre-tokens by ``PreTokenizerKind``, mapped to byte-level symbols, and merged by BPE rank.
///
/// The type is immutable apart from an internal, lock-protected cache of merged words, so one instance
/// can be shared between threads.
public final class Tokenizer: @unchecked Sendable {
    /// The data this tokenizer was built from.
    public let data: TokenizerData
    /// Number of token ids (vocabulary plus added tokens). The model's embedding may have more rows.
    public var vocabularySize: Int { tokens.count }
    /// The beginning-of-sequence token, if any.
    public var bosTokenId: Int? { data.bosTokenId }
    /// The end-of-sequence token named by the tokenizer, if any (see ``eosTokenIds`` for stopping).
    public var eosTokenId: Int? { data.eosTokenId }
    /// The padding token, if any.
    public var padTokenId: Int? { data.padTokenId }
    /// Whether ``encode(_:addSpecialTokens:parseSpecial:)`` puts ``bosTokenId`` first.
    public var addsBosToken: Bool { data.addBosToken && data.bosTokenId != nil }

    /// The tokens generation should stop at.
    ///
    /// The rule: the tokenizer's EOS id; plus each end-of-turn marker (`<|im_end|>`, `<|eot_id|>`,
    /// `<|eom_id|>`, `<|end|>`, `<end_of_turn>`) that is a special token and occurs in the chat template;
    /// plus the end-of-text markers `<|endoftext|>` and `<|end_of_text|>` when they are special tokens.
    /// For SmolLM2 this is {`<|im_end|>`, `<|endoftext|>`}, for Qwen3 {`<|im_end|>`, `<|endoftext|>`},
    /// for Llama 3.1 {`<|eot_id|>`, `<|eom_id|>`, `<|end_of_text|>`}, matching their generation configs.
    public let eosTokenIds: Set<Int>

    /// The model's chat template if it is one ``ChatTemplate`` recognises, else nil (see
    /// ``chatTemplateSource`` and ``makeChatTemplate()`` for the reason).
    public let chatTemplate: ChatTemplate?
    /// The chat template text as stored with the model, recognised or not.
    public var chatTemplateSource: String? { data.chatTemplate }

    let tokens: [String]
    let tokenBytesTable: [[UInt8]]
    let specialFlags: [Bool]
    let vocab: [String: Int]
    let byteToID: [Int32]
    /// (left << 32 | right) → (rank << 32 | merged id)
    let mergeTable: [UInt64: UInt64]
    let preTokenizer: PreTokenizer
    let matcher: AddedTokenMatcher

    private let cacheLock = NSLock()
    private var cache: [[UInt8]: [Int32]] = [:]
    private static let cacheLimit = 200_000

    /// Builds the tokenizer. Merge rules whose symbols or result are not in the vocabulary are ignored.
    public init(data: TokenizerData) {
        self.data = data
        tokens = data.tokens
        var vocab = [String: Int](minimumCapacity: data.tokens.count)
        for (id, token) in data.tokens.enumerated() where vocab[token] == nil {
            vocab[token] = id
        }
        var special = [Bool](repeating: false, count: data.tokens.count)
        for (id, type) in data.tokenTypes.enumerated() where id < special.count && type == .control {
            special[id] = true
        }
        var addedIDs = Set<Int>()
        for token in data.addedTokens where token.id >= 0 && token.id < special.count {
            special[token.id] = token.special
            addedIDs.insert(token.id)
            vocab[token.content] = token.id
        }
        self.vocab = vocab
        specialFlags = special

        tokenBytesTable = data.tokens.enumerated().map { id, token in
            addedIDs.contains(id) ? Array(token.utf8) : ByteLevel.decode(token)
        }

        var byteToID = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            if let id = vocab[String(Character(ByteLevel.byteToScalar[byte]))] { byteToID[byte] = Int32(id) }
        }
        self.byteToID = byteToID

        var table = [UInt64: UInt64](minimumCapacity: data.merges.count)
        for (rank, merge) in data.merges.enumerated() {
            guard let left = vocab[merge.left], let right = vocab[merge.right],
                  let merged = vocab[merge.left + merge.right] else { continue }
            let key = UInt64(left) << 32 | UInt64(right)
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(merged) }
        }
        mergeTable = table
        preTokenizer = PreTokenizer(kind: data.preTokenizer)
        matcher = AddedTokenMatcher(data.addedTokens)

        var stops = Set<Int>()
        if let eos = data.eosTokenId { stops.insert(eos) }
        let template = data.chatTemplate ?? ""
        for marker in ["<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>"] {
            if let id = vocab[marker], special[id], template.contains(marker) { stops.insert(id) }
        }
        for marker in ["<|endoftext|>", "<|end_of_text|>"] {
            if let id = vocab[marker], special[id] { stops.insert(id) }
        }
        eosTokenIds = stops
        chatTemplate = data.chatTemplate.flatMap { try? ChatTemplate(source: $0) }
    }

    /// The chat template, or the error that says why the model's template is not supported.
    public func makeChatTemplate() throws -> ChatTemplate {
        guard let source = data.chatTemplate else { throw ChatTemplateError.missing }
        return try ChatTemplate(source: source)
    }

    // MARK: - Lookup

    /// The vocabulary entry of `id` as stored (byte-level spelling, `Ġworld` for " world"; added tokens
    /// as their text). Empty for an id out of range. Use ``decode(_:skipSpecialTokens:)`` for text.
    public func tokenText(_ id: Int) -> String {
        id >= 0 && id < tokens.count ? tokens[id] : ""
    }

    /// The raw bytes `id` stands for (possibly an incomplete UTF-8 sequence).
    public func tokenBytes(_ id: Int) -> [UInt8] {
        id >= 0 && id < tokenBytesTable.count ? tokenBytesTable[id] : []
    }

    /// The id of a vocabulary entry in its stored spelling (see ``tokenText(_:)``), or of an added token.
    public func id(of token: String) -> Int? {
        vocab[token]
    }

    /// Whether `id` is a special token (control token / special added token).
    public func isSpecial(_ id: Int) -> Bool {
        id >= 0 && id < specialFlags.count && specialFlags[id]
    }

    // MARK: - Encoding

    /// Token ids of `text`.
    ///
    /// - Parameters:
    ///   - addSpecialTokens: put the BOS token first if the tokenizer asks for it (SmolLM2 and Qwen: no;
    ///     Llama 3: yes), as `tokenizer.encode(text)` in transformers.
    ///   - parseSpecial: match special tokens such as `<|im_start|>` written in the text (transformers'
    ///     default). When false they are tokenized as plain text; non-special added tokens are still matched.
    public func encode(_ text: String, addSpecialTokens: Bool = true, parseSpecial: Bool = true) -> [Int] {
        var output: [Int] = []
        output.reserveCapacity(text.utf8.count / 3 + 2)
        if addSpecialTokens, data.addBosToken, let bos = data.bosTokenId { output.append(bos) }
        if matcher.isEmpty {
            encodeText(text, into: &output)
            return output
        }
        let bytes = Array(text.utf8)
        for piece in matcher.split(bytes, includeSpecial: parseSpecial) {
            switch piece {
            case let .token(id):
                output.append(id)
            case let .text(range):
                encodeText(String(decoding: bytes[range], as: UTF8.self), into: &output)
            }
        }
        return output
    }

    /// Encodes text that contains no added tokens.
    private func encodeText(_ input: String, into output: inout [Int]) {
        var text = input
        if data.normalizeNFC && text.unicodeScalars.contains(where: { $0.value >= 0x300 }) {
            text = text.precomposedStringWithCanonicalMapping
        }
        if data.addPrefixSpace && !text.isEmpty && text.utf8.first != 0x20 { text = " " + text }
        if text.isEmpty { return }

        let utf8 = Array(text.utf8)
        var scalars: [UInt32] = []
        var classes: [UInt8] = []
        var offsets: [Int] = []
        scalars.reserveCapacity(utf8.count)
        classes.reserveCapacity(utf8.count)
        offsets.reserveCapacity(utf8.count + 1)
        var offset = 0
        for scalar in text.unicodeScalars {
            scalars.append(scalar.value)
            classes.append(PreTokenizer.classify(scalar))
            offsets.append(offset)
            offset += UTF8.width(scalar)
        }
        offsets.append(offset)

        var pieces: [Range<Int>] = []
        preTokenizer.split(scalars, classes, into: &pieces)
        for piece in pieces {
            let word = utf8[offsets[piece.lowerBound]..<offsets[piece.upperBound]]
            bpe(word, into: &output)
        }
    }

    /// Appends the ids of one pre-token (raw UTF-8 bytes).
    private func bpe(_ word: ArraySlice<UInt8>, into output: inout [Int]) {
        if word.count == 1 {
            let id = byteToID[Int(word[word.startIndex])]
            if id >= 0 { output.append(Int(id)) }
            return
        }
        let key = Array(word)
        cacheLock.lock()
        let cached = cache[key]
        cacheLock.unlock()
        if let cached {
            for id in cached { output.append(Int(id)) }
            return
        }
        let ids = merge(key)
        cacheLock.lock()
        if cache.count >= Tokenizer.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[key] = ids
        cacheLock.unlock()
        for id in ids { output.append(Int(id)) }
    }

    /// BPE of one pre-token, without the cache.
    func merge(_ word: [UInt8]) -> [Int32] {
        if data.ignoreMerges, let id = vocab[ByteLevel.encode(word)] {
            return [Int32(id)]
        }
        var symbols: [Int32] = []
        symbols.reserveCapacity(word.count)
        for byte in word {
            let id = byteToID[Int(byte)]
            if id >= 0 { symbols.append(id) }
        }
        if symbols.count < 2 { return symbols }
        return symbols.count <= 48 ? mergeSmall(symbols) : mergeLarge(symbols)
    }

    /// Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties). Quadratic; for short words.
    func mergeSmall(_ input: [Int32]) -> [Int32] {
        var symbols = input
        while symbols.count > 1 {
            var best = UInt64.max
            var bestIndex = -1
            for i in 0..<(symbols.count - 1) {
                let key = UInt64(UInt32(bitPattern: symbols[i])) << 32 | UInt64(UInt32(bitPattern: symbols[i + 1]))
                if let value = mergeTable[key], value < best {
                    best = value
                    bestIndex = i
                }
            }
            if bestIndex < 0 { break }
            symbols[bestIndex] = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            symbols.remove(at: bestIndex + 1)
        }
        return symbols
    }

    /// The same merges with a priority queue over a linked list: O(n log n) for long pre-tokens.
    func mergeLarge(_ input: [Int32]) -> [Int32] {
        let n = input.count
        var ids = input
        var prev = [Int32](repeating: -1, count: n)
        var next = [Int32](repeating: -1, count: n)
        var alive = [Bool](repeating: true, count: n)
        for i in 0..<n {
            prev[i] = Int32(i - 1)
            next[i] = i + 1 < n ? Int32(i + 1) : -1
        }
        // Heap entries: (rank << 32 | position), with the pair's ids to validate on pop.
        var heap = MergeHeap()
        func push(_ position: Int) {
            let right = next[position]
            guard right >= 0 else { return }
            let key = UInt64(UInt32(bitPattern: ids[position])) << 32 | UInt64(UInt32(bitPattern: ids[Int(right)]))
            guard let value = mergeTable[key] else { return }
            heap.push(.init(order: (value >> 32) << 32 | UInt64(position), left: ids[position], right: ids[Int(right)],
                            merged: Int32(truncatingIfNeeded: value & 0xFFFF_FFFF)))
        }
        for i in 0..<(n - 1) { push(i) }
        while let top = heap.pop() {
            let position = Int(top.order & 0xFFFF_FFFF)
            guard alive[position], ids[position] == top.left else { continue }
            let right = Int(next[position])
            guard right >= 0, ids[right] == top.right else { continue }
            ids[position] = top.merged
            alive[right] = false
            let after = next[right]
            next[position] = after
            if after >= 0 { prev[Int(after)] = Int32(position) }
            if prev[position] >= 0 { push(Int(prev[position])) }
            push(position)
        }
        var result: [Int32] = []
        var i: Int32 = 0
        while i >= 0 {
            result.append(ids[Int(i)])
            i = next[Int(i)]
        }
        return result
    }

    // MARK: - Decoding

    /// The text of `ids`: their bytes joined and read as UTF-8, invalid sequences replaced by U+FFFD
    /// (as `tokenizer.decode` in transformers with `clean_up_tokenization_spaces=False`).
    /// Unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids where id >= 0 && id < tokenBytesTable.count {
            if skipSpecialTokens && specialFlags[id] { continue }
            bytes.append(contentsOf: tokenBytesTable[id])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
