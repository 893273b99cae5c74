/// The shape and numeric settings of a decoder-only transformer, whatever file it came from.
///
/// One decoder implementation serves Llama and Qwen3; the differences are switches here.
public struct ModelConfiguration: Sendable, Equatable {
    /// Decoder family.
    public enum Architecture: String, Sendable {
        case llama
        case qwen3
    }

    /// How rotary embeddings pair the dimensions of a head.
    public enum RopeLayout: String, Sendable {
        /// Pairs `(2i, 2i+1)`: GGUF Llama weights, whose Q/K rows llama.cpp's converter permuted.
        case interleaved
        /// Pairs `(i, i + d/2)`: Hugging Face weights and every Qwen3 file (NEOX layout).
        case halfSplit
    }

    public var architecture: Architecture
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var contextLength: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Double
    public var ropeScaling: RopeScaling?
    public var ropeLayout: RopeLayout
    /// Qwen3's per-head RMSNorm of queries and keys before RoPE.
    public var hasQKNorm: Bool
    public var tiedEmbeddings: Bool
    /// DMS variant A: the checkpoint borrows the last query dimension of each group's first head
    /// for the eviction decision (`dms_*` fields of config.json). That neuron is always zeroed.
    public var queryNeuronDMS: DMSParameters?

    public init(
        architecture: Architecture, hiddenSize: Int, intermediateSize: Int, layerCount: Int,
        headCount: Int, kvHeadCount: Int, headDim: Int, vocabularySize: Int, contextLength: Int,
        rmsNormEpsilon: Float, ropeTheta: Double, ropeScaling: RopeScaling?, ropeLayout: RopeLayout,
        hasQKNorm: Bool, tiedEmbeddings: Bool, queryNeuronDMS: DMSParameters? = nil
    ) {
        self.architecture = architecture
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.ropeLayout = ropeLayout
        self.hasQKNorm = hasQKNorm
        self.tiedEmbeddings = tiedEmbeddings
        self.queryNeuronDMS = queryNeuronDMS
    }

    /// Query heads per KV head (`G` in the DMS spec).
    public var groupSize: Int { headCount / kvHeadCount }

    /// Checks the invariants the decoder relies on; throws a readable error otherwise.
    public func validate() throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw ModelLoadError.invalidConfiguration(message) }
        }
        let limit = 1 << 20
        for (name, value) in [("hidden size", hiddenSize), ("intermediate size", intermediateSize),
                              ("layer count", layerCount), ("head count", headCount),
                              ("KV head count", kvHeadCount), ("head dimension", headDim),
                              ("vocabulary size", vocabularySize)] {
            try require(value > 0 && value <= limit * 8, "\(name) \(value) is out of range")
        }
        try require(headCount % kvHeadCount == 0, "head count \(headCount) is not a multiple of KV head count \(kvHeadCount)")
        try require(headDim % 2 == 0, "head dimension \(headDim) must be even for RoPE")
        try require(contextLength > 0, "context length \(contextLength) must be positive")
        try require(rmsNormEpsilon > 0 && rmsNormEpsilon < 1, "RMSNorm epsilon \(rmsNormEpsilon) is out of range")
        try require(ropeTheta > 0, "RoPE base \(ropeTheta) must be positive")
        try queryNeuronDMS?.validate()
    }
}
