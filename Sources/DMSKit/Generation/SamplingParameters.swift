/// How the next token is chosen from the logits (llama.cpp's defaults; temperature 0 is greedy).
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float
    /// Keep the `topK` most likely tokens (0 = all).
    public var topK: Int
    /// Keep the smallest set whose probability reaches `topP` (1 = all).
    public var topP: Float
    /// Drop tokens less likely than `minP` times the most likely one (0 = off).
    public var minP: Float
    /// Divides positive logits (multiplies negative ones) of tokens already in the context (1 = off).
    public var repetitionPenalty: Float
    /// How many recent tokens the repetition penalty looks at.
    public var repetitionWindow: Int = 64
    public var seed: UInt64?

    public init(temperature: Float = 0.8, topK: Int = 40, topP: Float = 0.95, minP: Float = 0.05,
                repetitionPenalty: Float = 1.0, seed: UInt64? = nil) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.minP = minP
        self.repetitionPenalty = repetitionPenalty
        self.seed = seed
    }

    /// Deterministic argmax decoding.
    public static var greedy: SamplingParameters {
        SamplingParameters(temperature: 0)
    }

    public var isGreedy: Bool { temperature <= 0 }
}
