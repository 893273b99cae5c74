/// The dimensions a KV cache is laid out for.
public struct KVCacheGeometry: Sendable, Equatable {
    public var layerCount: Int
    public var kvHeadCount: Int
    /// Query heads sharing one KV head.
    public var groupSize: Int
    public var headDim: Int

    public init(layerCount: Int, kvHeadCount: Int, groupSize: Int, headDim: Int) {
        self.layerCount = layerCount
        self.kvHeadCount = kvHeadCount
        self.groupSize = groupSize
        self.headDim = headDim
    }

    public init(_ configuration: ModelConfiguration) {
        self.init(layerCount: configuration.layerCount, kvHeadCount: configuration.kvHeadCount,
                  groupSize: configuration.groupSize, headDim: configuration.headDim)
    }

    /// Number of (layer, KV head) pairs.
    public var headSlots: Int { layerCount * kvHeadCount }
}
