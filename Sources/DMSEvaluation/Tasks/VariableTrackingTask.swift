import DMSKit

/// RULER's variable tracking: a chain of assignments (`VAR QXKJD = 48213.`, then
/// `VAR MPLRT = VAR QXKJD.`, …) spread through long prose; the model must name every variable
/// that ends up holding the value. The score is the fraction of the chain's names in the answer.
public struct VariableTrackingTask: Sendable {
    public let filler: FillerText
    public let tokenizer: Tokenizer
    /// Variables in the chain (the first is assigned the value, each next one the previous).
    public let chainLength: Int

    public init(filler: FillerText, tokenizer: Tokenizer, chainLength: Int = 3) {
        self.filler = filler
        self.tokenizer = tokenizer
        self.chainLength = chainLength
    }

    /// `count` prompts of exactly `length` tokens, deterministic in `seed`: the chain's
    /// assignments at depths evenly spread over the context, names, value and prose offset random.
    public func samples(length: Int, count: Int, seed: UInt64) throws -> [RetrievalSample] {
        var random = RandomSource(seed: seed &* 0xD1B5_4A32_D192_ED03 &+ UInt64(length))
        let builder = HaystackPrompt(filler: filler, tokenizer: tokenizer)
        return try (0..<count).map { _ in
            let value = String(10_000 + Int(random.next() % 90_000))
            var names: [String] = []
            while names.count < chainLength {
                let name = String((0..<5).map { _ in Character(UnicodeScalar(UInt8(65 + random.next() % 26))) })
                if !names.contains(name) { names.append(name) }
            }
            let statements = names.indices.map { i in
                (depth: (Double(i) + 0.5) / Double(chainLength),
                 text: " VAR \(names[i]) = " + (i == 0 ? value : "VAR \(names[i - 1])") + ".")
            }
            let (prompt, depths) = try builder.build(
                length: length,
                intro: "Memorize and track the chain of variable assignments hidden in the following text.\n\n",
                statements: statements,
                question: "\n\nQuestion: Find all variables that are assigned the value \(value) in the text above. "
                    + "Answer: According to the chain of variable assignments in the text above, \(chainLength) variables "
                    + "are assigned the value \(value), they are:", using: &random)
            return RetrievalSample(prompt: prompt, expected: names, depth: depths.last ?? 1)
        }
    }
}
