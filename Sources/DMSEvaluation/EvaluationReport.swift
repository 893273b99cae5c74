/// The result of `dms eval`: what ran on which text, and one ``PolicyEvaluation`` per policy
/// (and ratio) in the order asked for.
public struct EvaluationReport: Sendable, Equatable, Encodable {
    /// The model's path.
    public var model: String
    /// The DMS adapter's path, when one was attached.
    public var adapter: String?
    /// Where the text came from (a file path), when the caller says.
    public var text: String?
    /// `kl` or `perplexity`.
    public var task: EvaluationTask
    /// Tokens in the evaluation sequence.
    public var tokens: Int
    /// Sequence positions after which the greedy continuations start (empty without them).
    public var cutPoints: [Int]
    /// Tokens per greedy continuation; nil without continuations.
    public var continuationLength: Int?
    /// Wall time of the whole evaluation, seconds.
    public var wallSeconds: Double
    /// One row per policy, and per ratio for the baselines, in the order asked for.
    public var policies: [PolicyEvaluation]

    /// A report of `policies` evaluated on `tokens` tokens.
    public init(model: String, adapter: String? = nil, text: String? = nil, task: EvaluationTask, tokens: Int,
                cutPoints: [Int], continuationLength: Int?, wallSeconds: Double, policies: [PolicyEvaluation]) {
        self.model = model
        self.adapter = adapter
        self.text = text
        self.task = task
        self.tokens = tokens
        self.cutPoints = cutPoints
        self.continuationLength = continuationLength
        self.wallSeconds = wallSeconds
        self.policies = policies
    }

    enum CodingKeys: String, CodingKey {
        case model, adapter, text, task, tokens
        case cutPoints = "cut_points"
        case continuationLength = "continuation_length"
        case wallSeconds = "wall_seconds"
        case policies
    }

    /// Every key is written; absent values as null.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(model, forKey: .model)
        try container.encode(adapter, forKey: .adapter)
        try container.encode(text, forKey: .text)
        try container.encode(task, forKey: .task)
        try container.encode(tokens, forKey: .tokens)
        try container.encode(cutPoints, forKey: .cutPoints)
        try container.encode(continuationLength, forKey: .continuationLength)
        try container.encode(wallSeconds, forKey: .wallSeconds)
        try container.encode(policies, forKey: .policies)
    }
}
