/// One prompt of a retrieval task and what a correct answer contains.
public struct RetrievalSample: Sendable, Equatable {
    /// The prompt, tokenized (exactly the task's context length).
    public var prompt: [Int]
    /// Strings a correct answer must contain (the pass key; every variable name).
    public var expected: [String]
    /// Where the planted information sits, as a fraction of the context (0 = start, 1 = end).
    public var depth: Double

    public init(prompt: [Int], expected: [String], depth: Double) {
        self.prompt = prompt
        self.expected = expected
        self.depth = depth
    }

    /// The fraction of ``expected`` items the answer names, each as a whole word (so key 4821
    /// does not match an answer of 48213).
    public func score(answer: String) -> Double {
        guard !expected.isEmpty else { return 0 }
        let words = Set(answer.split { !($0.isLetter || $0.isNumber) }.map(String.init))
        return Double(expected.filter(words.contains).count) / Double(expected.count)
    }
}
