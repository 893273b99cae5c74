import DMSKit

/// Real prose cut into token spans to fill long prompts (haystacks).
public struct FillerText: Sendable {
    /// The text's tokens, without special tokens.
    public let tokens: [Int]

    /// Tokenizes enough of `text` for spans of up to `sizedFor` tokens (default `maxTokens`) at
    /// varied offsets (about three times as much when the text has it); throws unless there are
    /// `maxTokens`. Spans drawn from fillers of the same `sizedFor` are the same whatever
    /// `maxTokens` is, so a length's prompts need not depend on the other lengths of a run.
    public init(text: String, tokenizer: Tokenizer, maxTokens: Int, sizedFor: Int? = nil) throws {
        let characters = max(12 * max(maxTokens, sizedFor ?? 0), 4096)
        let ids = tokenizer.encode(String(text.prefix(characters)), addSpecialTokens: false, parseSpecial: false)
        // drop the last few tokens: the cut at the prefix's end may split a word
        let usable = Array(ids.dropLast(min(8, ids.count)))
        guard usable.count >= maxTokens else {
            throw EvaluationError.textTooShort(tokens: usable.count, needed: maxTokens)
        }
        tokens = usable
    }

    /// `count` consecutive tokens starting at a seeded offset.
    public func span(_ count: Int, using random: inout RandomSource) -> ArraySlice<Int> {
        let room = tokens.count - count
        let start = room > 0 ? Int(random.next() % UInt64(room + 1)) : 0
        return tokens[start..<(start + count)]
    }
}
