import DMSKit

/// Needle in a haystack: a 5-digit pass key planted at a depth of a long prose text and asked for
/// at the end, in a plain completion format (in the chat template the full SmolLM2-135M fails
/// even at 1K): `There is an important pass key hidden … <prose> The pass key is 48213. Remember
/// it. 48213 is the pass key. <prose> What is the pass key? The pass key is`.
public struct PasskeyTask: Sendable {
    public let filler: FillerText
    public let tokenizer: Tokenizer

    public init(filler: FillerText, tokenizer: Tokenizer) {
        self.filler = filler
        self.tokenizer = tokenizer
    }

    /// `count` prompts of exactly `length` tokens, deterministic in `seed`. Depths are spread
    /// evenly over the context (sample k at about (k + ½)/count); keys and prose offsets are random.
    public func samples(length: Int, count: Int, seed: UInt64) throws -> [RetrievalSample] {
        var random = RandomSource(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(length))
        let builder = HaystackPrompt(filler: filler, tokenizer: tokenizer)
        return try (0..<count).map { k in
            let key = String(10_000 + Int(random.next() % 90_000))
            let (prompt, depths) = try builder.build(
                length: length,
                intro: "There is an important pass key hidden inside a lot of irrelevant text. Find it and memorize it. "
                    + "I will quiz you about the pass key.\n\n",
                statements: [((Double(k) + 0.5) / Double(count), " The pass key is \(key). Remember it. \(key) is the pass key.")],
                question: "\n\nWhat is the pass key? The pass key is", using: &random)
            return RetrievalSample(prompt: prompt, expected: [key], depth: depths[0])
        }
    }
}
