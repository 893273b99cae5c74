/// How the next token is chosen from the logits (llama.cpp's defaults; temperature 0 is greedy).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 0.8
    /// Keep the `topK` most likely tokens (0 = all).
    public var topK: Int = 40
    /// Keep the smallest set whose probability reaches `topP` (1 = all).
    public var topP: Float = 0.95
    /// Drop tokens less likely than `minP` times the most likely one (0 = off).
    public var minP: Float = 0.05
    /// Divides positive logits (multiplies negative ones) of tokens already in the context (1 = off).
    public var repetitionPenalty: Float = 1.0
    /// How many recent tokens the repetition penalty looks at.
    public var repetitionWindow: Int = 64
    public var seed: UInt64?

    public init() {}

    /// Deterministic argmax decoding.
    public static var greedy: SamplingParameters {
        var parameters = SamplingParameters()
        parameters.temperature = 0
        return parameters
    }

    public var isGreedy: Bool { temperature <= 0 }
}
