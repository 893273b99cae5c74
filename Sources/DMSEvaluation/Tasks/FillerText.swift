import DMSKit

/// Real prose cut into token spans to fill long prompts (haystacks); indented code blocks are left out.
public struct FillerText: Sendable {
    /// The text's tokens, without special tokens.
    public let tokens: [Int]

    /// Tokenizes enough of `text` for spans of up to `sizedFor` tokens (default `maxTokens`) at
    /// varied offsets (about three times as much when the text has it); throws unless there are
    /// `maxTokens`. Spans drawn from fillers of the same `sizedFor` are the same whatever
    /// `maxTokens` is, so a length's prompts need not depend on the other lengths of a run.
    public init(text: String, tokenizer: Tokenizer, maxTokens: Int, sizedFor: Int? = nil) throws {
        let characters = max(12 * max(maxTokens, sizedFor ?? 0), 4096)
        let ids = tokenizer.encode(String(Self.prose(of: text).prefix(characters)), addSpecialTokens: false, parseSpecial: false)
        // drop the last few tokens: the cut at the prefix's end may split a word
        let usable = Array(ids.dropLast(min(8, ids.count)))
        guard usable.count >= maxTokens else {
            throw EvaluationError.textTooShort(tokens: usable.count, needed: maxTokens)
        }
        tokens = usable
    }

    /// `text` without its indented blocks (lines starting with a tab or three spaces: the code
    /// examples and listings of text-format manuals) and with runs of blank lines squeezed to one.
    /// Numbers in code examples compete with a planted key, and the haystack is meant to be prose:
    /// in the Python tutorial, the full SmolLM2-135M found a 1K-token passkey 7 times in 12
    /// among its code, and 10 in 12 without it.
    public static func prose(of text: String) -> String {
        var kept: [Substring] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("\t") || line.hasPrefix("   ") { continue }
            let blank = line.allSatisfy(\.isWhitespace)
            if blank, let last = kept.last, last.allSatisfy(\.isWhitespace) { continue }
            kept.append(blank ? "" : line)
        }
        return kept.joined(separator: "\n")
    }

    /// `count` consecutive tokens starting at a seeded offset.
    public func span(_ count: Int, using random: inout RandomSource) -> ArraySlice<Int> {
        let room = tokens.count - count
        let start = room > 0 ? Int(random.next() % UInt64(room + 1)) : 0
        return tokens[start..<(start + count)]
    }
}
