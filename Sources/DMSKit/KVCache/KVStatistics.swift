/// Occupancy and traffic of a KV cache: the paper's efficiency metrics.
public struct KVStatistics: Sendable, Equatable {
    public var policy: String
    public var tokensSeen: Int
    /// Resident slots per layer, per KV head (`[layer][head]`).
    public var perHeadLengths: [[Int]]
    /// Sum over decode steps, layers and KV heads of the slots each query read.
    public var tokenReads: Int
    /// Largest number of resident (layer, head, token) entries at once.
    public var peakTokens: Int
    /// Peak bytes of the cache's page memory.
    public var peakBytes: Int
    /// Bytes of page memory in use now.
    public var bytesInUse: Int

    public init(policy: String, tokensSeen: Int, perHeadLengths: [[Int]], tokenReads: Int,
                peakTokens: Int, peakBytes: Int, bytesInUse: Int) {
        self.policy = policy
        self.tokensSeen = tokensSeen
        self.perHeadLengths = perHeadLengths
        self.tokenReads = tokenReads
        self.peakTokens = peakTokens
        self.peakBytes = peakBytes
        self.bytesInUse = bytesInUse
    }

    /// Mean resident slots over layers and heads.
    public var meanSlotsInUse: Double {
        let all = perHeadLengths.joined()
        return all.isEmpty ? 0 : Double(all.reduce(0, +)) / Double(all.count)
    }

    /// Largest resident slot count of any head.
    public var maxSlotsInUse: Int { perHeadLengths.joined().max() ?? 0 }

    /// Tokens seen per mean resident slot (1 for a full cache).
    public var compressionRatio: Double {
        meanSlotsInUse > 0 ? Double(tokensSeen) / meanSlotsInUse : 1
    }
}
