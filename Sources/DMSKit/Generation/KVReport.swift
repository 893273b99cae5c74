/// The `kv` object of every JSON report (generate, score, bench, the server).
public struct KVReport: Codable, Sendable, Equatable {
    public struct SlotsInUse: Codable, Sendable, Equatable {
        public var mean: Double
        public var max: Int
    }

    public var policy: String
    public var tokensSeen: Int
    public var slotsInUse: SlotsInUse
    public var compressionRatio: Double
    public var tokenReads: Int
    public var peakTokens: Int
    public var peakBytes: Int
    public var perHeadLengths: [[Int]]?

    public init(_ statistics: KVStatistics, includePerHeadLengths: Bool = false) {
        policy = statistics.policy
        tokensSeen = statistics.tokensSeen
        slotsInUse = SlotsInUse(mean: statistics.meanSlotsInUse, max: statistics.maxSlotsInUse)
        compressionRatio = statistics.compressionRatio
        tokenReads = statistics.tokenReads
        peakTokens = statistics.peakTokens
        peakBytes = statistics.peakBytes
        perHeadLengths = includePerHeadLengths ? statistics.perHeadLengths : nil
    }

    enum CodingKeys: String, CodingKey {
        case policy
        case tokensSeen = "tokens_seen"
        case slotsInUse = "slots_in_use"
        case compressionRatio = "compression_ratio"
        case tokenReads = "token_reads"
        case peakTokens = "peak_tokens"
        case peakBytes = "peak_bytes"
        case perHeadLengths = "per_head_lengths"
    }
}
