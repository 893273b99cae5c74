/// One sequence to generate under a ``BatchScheduler``: its prompt, how to sample, when to stop,
/// and the KV cache policy it runs with.
public struct SequenceRequest: Sendable {
    /// Prompt token ids (already templated and tokenized).
    public var prompt: [Int]
    /// Most tokens to generate; generation also ends at the model's context length.
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation ends when the text contains one of these (the stop string itself is dropped).
    public var stopStrings: [String]
    /// Generation ends on any of these token ids; nil uses the tokenizer's end-of-turn ids.
    public var stopTokens: Set<Int>?
    /// The cache policy; nil uses the scheduler's default (``BatchScheduler/Configuration/cacheOptions``).
    /// Page size and precision always come from the scheduler's shared pool.
    public var cacheOptions: KVCacheOptions?

    public init(prompt: [Int], maxTokens: Int = 256, sampling: SamplingParameters = SamplingParameters(),
                stopStrings: [String] = [], stopTokens: Set<Int>? = nil, cacheOptions: KVCacheOptions? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopStrings = stopStrings
        self.stopTokens = stopTokens
        self.cacheOptions = cacheOptions
    }
}
