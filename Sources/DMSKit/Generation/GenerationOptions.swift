/// What to generate and when to stop.
public struct GenerationOptions: Sendable {
    public var maxTokens: Int = 256
    public var sampling = SamplingParameters()
    /// Generation ends when the text contains one of these (the stop string itself is dropped).
    public var stopStrings: [String] = []
    /// Generation ends on any of these token ids (the tokenizer's end-of-turn ids by default).
    public var stopTokens: Set<Int>?

    public init(maxTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(), stopStrings: [String] = []) {
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
    }
}

/// Why generation ended.
public enum FinishReason: String, Sendable {
    /// An end-of-sequence token was produced.
    case stop
    /// `maxTokens` or the context length was reached.
    case length
}

/// One generated token and the text it completed (whole UTF-8 characters, stop strings held back).
public struct GeneratedToken: Sendable {
    public let id: Int
    public let text: String
}

/// The outcome of ``GenerationSession/generate(prompt:options:onToken:)``.
public struct GenerationResult: Sendable {
    public var promptTokens: [Int]
    public var tokens: [Int]
    public var text: String
    public var finishReason: FinishReason
    public var timing: GenerationTiming
}
