import DMSKit

/// The sampling, stopping and cache fields shared by `/v1/chat/completions` and
/// `/v1/completions`, decoded from the same JSON object as the endpoint's own fields.
struct GenerationParameters: Decodable, Sendable {
    static let choiceLimit = 16

    var model: String
    var maxTokens: Int?
    /// OpenAI's default is 1; 0 is greedy decoding.
    var temperature = 1.0
    var topP = 1.0
    var seed: Int64?
    var stop: [String] = []
    /// Completions generated from the same prompt (parallel sequences).
    var n = 1
    var stream = false
    var includeUsage = false
    var kv: KVOverride?

    private enum CodingKeys: String, CodingKey {
        case model, temperature, seed, stop, n, stream, kv
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
        case topP = "top_p"
        case streamOptions = "stream_options"
    }

    private enum StreamOptionsKeys: String, CodingKey {
        case includeUsage = "include_usage"
    }

    init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        model = try container.decode(String.self, forKey: .model)
        maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxCompletionTokens)
            ?? container.decodeIfPresent(Int.self, forKey: .maxTokens)
        temperature = try container.decodeIfPresent(Double.self, forKey: .temperature) ?? temperature
        topP = try container.decodeIfPresent(Double.self, forKey: .topP) ?? topP
        seed = try container.decodeIfPresent(Int64.self, forKey: .seed)
        stop = try container.decodeIfPresent(StopSequences.self, forKey: .stop)?.strings ?? []
        n = try container.decodeIfPresent(Int.self, forKey: .n) ?? n
        stream = try container.decodeIfPresent(Bool.self, forKey: .stream) ?? stream
        if container.contains(.streamOptions), try !container.decodeNil(forKey: .streamOptions) {
            let options = try container.nestedContainer(keyedBy: StreamOptionsKeys.self, forKey: .streamOptions)
            includeUsage = try options.decodeIfPresent(Bool.self, forKey: .includeUsage) ?? false
        }
        kv = try container.decodeIfPresent(KVOverride.self, forKey: .kv)
    }

    /// Checks the values OpenAI would refuse, naming the field at fault.
    func validate() throws {
        if let maxTokens, maxTokens < 1 {
            throw APIError.invalidRequest("'max_tokens' must be at least 1.", param: "max_tokens")
        }
        guard (0...2).contains(temperature) else {
            throw APIError.invalidRequest("'temperature' must be between 0 and 2.", param: "temperature")
        }
        guard topP > 0 && topP <= 1 else {
            throw APIError.invalidRequest("'top_p' must be greater than 0 and at most 1.", param: "top_p")
        }
        guard (1...Self.choiceLimit).contains(n) else {
            throw APIError.invalidRequest("'n' must be between 1 and \(Self.choiceLimit).", param: "n")
        }
        guard stop.count <= StopSequences.limit else {
            throw APIError.invalidRequest("'stop' holds at most \(StopSequences.limit) strings.", param: "stop")
        }
        try kv?.validate()
    }

    /// One scheduler request per choice. Choice `i` samples with seed `seed + i`, so the choices
    /// differ yet a seeded request repeats exactly.
    func sequenceRequests(prompt: [Int], contextLength: Int, cacheOptions: KVCacheOptions) throws -> [SequenceRequest] {
        let options = try kv?.applied(to: cacheOptions)
        return (0..<n).map { index in
            // topK and minP off: OpenAI's sampling is temperature and top_p only.
            let sampling = SamplingParameters(temperature: Float(temperature), topK: 0, topP: Float(topP), minP: 0,
                                              seed: seed.map { UInt64(bitPattern: $0) &+ UInt64(index) })
            return SequenceRequest(prompt: prompt, maxTokens: maxTokens ?? max(contextLength - prompt.count, 1),
                                   sampling: sampling, stopStrings: stop, cacheOptions: options)
        }
    }
}
