import DMSKit

/// Needle in a haystack: a 5-digit pass key planted at a depth of a long prose text and asked for
/// at the end, in a plain completion format (in the chat template the full SmolLM2-135M fails
/// even at 1K): `There is an important pass key hidden … <prose> The pass key is 48213. Remember
/// it. 48213 is the pass key. <prose> What is the pass key? The pass key is`. The key goes in at a
/// sentence or line end of the prose: planted mid-sentence, the small model often misses it.
public struct PasskeyTask: Sendable {
    public let filler: FillerText
    public let tokenizer: Tokenizer

    public init(filler: FillerText, tokenizer: Tokenizer) {
        self.filler = filler
        self.tokenizer = tokenizer
    }

    /// `count` prompts of exactly `length` tokens, deterministic in `seed`. Depths are spread
    /// evenly over the context (sample k at (k + ½)/count); keys and prose offsets are random.
    public func samples(length: Int, count: Int, seed: UInt64) throws -> [RetrievalSample] {
        var random = RandomSource(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(length))
        let leading = tokenizer.encode("", addSpecialTokens: true, parseSpecial: false)
        let intro = encode("There is an important pass key hidden inside a lot of irrelevant text. Find it and memorize it. "
                           + "I will quiz you about the pass key.\n\n")
        let question = encode("\n\nWhat is the pass key? The pass key is")
        return try (0..<count).map { k in
            let key = String(10_000 + Int(random.next() % 90_000))
            let needle = encode(" The pass key is \(key). Remember it. \(key) is the pass key.")
            let prose = length - leading.count - intro.count - needle.count - question.count
            guard prose >= 16 else { throw EvaluationError.invalidSetting("--lengths \(length) is too short for a pass key prompt") }
            let haystack = filler.span(prose, using: &random)
            let aimed = Int((Double(prose) * (Double(k) + 0.5) / Double(count)).rounded())
            let before = sentenceEnd(in: haystack, atOrBefore: aimed)
            let prompt = leading + intro + haystack.prefix(before) + needle + haystack.dropFirst(before) + question
            return RetrievalSample(prompt: prompt, expected: [key], depth: Double(before) / Double(prose))
        }
    }

    /// The largest `n ≤ aimed` such that the first `n` tokens end a sentence or a line (within
    /// 256 tokens; else `aimed`).
    private func sentenceEnd(in tokens: ArraySlice<Int>, atOrBefore aimed: Int) -> Int {
        for n in stride(from: aimed, to: max(aimed - 256, 0), by: -1) {
            let text = tokenizer.decode([tokens[tokens.startIndex + n - 1]])
            if text.hasSuffix(".") || text.hasSuffix("\n") { return n }
        }
        return aimed
    }

    private func encode(_ text: String) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: false, parseSpecial: false)
    }
}
