import DMSKit

/// Builds a long-context prompt of an exact token length: an intro, real prose with short
/// statements planted at given depths (each at a sentence or line end of the prose, where even a
/// small model notices them), and a question at the end.
struct HaystackPrompt {
    let filler: FillerText
    let tokenizer: Tokenizer

    func encode(_ text: String) -> [Int] {
        tokenizer.encode(text, addSpecialTokens: false, parseSpecial: false)
    }

    /// A prompt of `length` tokens with `statements` (depth in [0, 1], text) planted in order of
    /// depth, and the depths they landed at.
    func build(length: Int, intro: String, statements: [(depth: Double, text: String)], question: String,
               using random: inout RandomSource) throws -> (prompt: [Int], depths: [Double]) {
        let leading = tokenizer.encode("", addSpecialTokens: true, parseSpecial: false)
        let introTokens = encode(intro), questionTokens = encode(question)
        let planted = statements.sorted { $0.depth < $1.depth }.map { ($0.depth, encode($0.text)) }
        let prose = length - leading.count - introTokens.count - questionTokens.count - planted.reduce(0) { $0 + $1.1.count }
        guard prose >= 16 else { throw EvaluationError.invalidSetting("--lengths \(length) is too short for this task's prompt") }
        let haystack = filler.span(prose, using: &random)
        var prompt = leading + introTokens
        var depths: [Double] = []
        var consumed = 0
        for (depth, tokens) in planted {
            let cut = max(consumed, sentenceEnd(in: haystack, atOrBefore: Int((Double(prose) * depth).rounded())))
            prompt += haystack[(haystack.startIndex + consumed)..<(haystack.startIndex + cut)] + tokens
            depths.append(Double(cut) / Double(prose))
            consumed = cut
        }
        prompt += haystack.dropFirst(consumed) + questionTokens
        return (prompt, depths)
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
}
