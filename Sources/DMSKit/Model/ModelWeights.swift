/// All weights of a decoder, bound to the memory-mapped file(s) they live in.
public struct ModelWeights: @unchecked Sendable {
    public let tokenEmbedding: LinearWeight
    public let layers: [LayerWeights]
    public let outputNorm: [Float]
    /// The vocabulary projection (the token embedding itself when tied).
    public let output: LinearWeight

    init(source: TensorSource, naming: TensorNaming, configuration c: ModelConfiguration) throws {
        func tensor(_ name: String) throws -> TensorView {
            guard source.hasTensor(name) else { throw ModelLoadError.missingTensor(name) }
            return try source.tensor(named: name)
        }
        func linear(_ name: String, _ rows: Int, _ columns: Int) throws -> LinearWeight {
            try LinearWeight(tensor(name), rows: rows, columns: columns)
        }
        func norm(_ name: String, _ count: Int) throws -> [Float] {
            try Self.floats(tensor(name), count: count)
        }
        let qDim = c.headCount * c.headDim
        let kvDim = c.kvHeadCount * c.headDim
        tokenEmbedding = try linear(naming.tokenEmbedding, c.vocabularySize, c.hiddenSize)
        layers = try (0..<c.layerCount).map { i in
            func name(_ t: TensorNaming.LayerTensor) -> String { naming.name(t, layer: i) }
            return LayerWeights(
                attentionNorm: try norm(name(.attentionNorm), c.hiddenSize),
                query: try linear(name(.query), qDim, c.hiddenSize),
                key: try linear(name(.key), kvDim, c.hiddenSize),
                value: try linear(name(.value), kvDim, c.hiddenSize),
                output: try linear(name(.output), c.hiddenSize, qDim),
                queryNorm: c.hasQKNorm ? try norm(name(.queryNorm), c.headDim) : nil,
                keyNorm: c.hasQKNorm ? try norm(name(.keyNorm), c.headDim) : nil,
                feedForwardNorm: try norm(name(.feedForwardNorm), c.hiddenSize),
                gate: try linear(name(.gate), c.intermediateSize, c.hiddenSize),
                up: try linear(name(.up), c.intermediateSize, c.hiddenSize),
                down: try linear(name(.down), c.hiddenSize, c.intermediateSize))
        }
        outputNorm = try norm(naming.outputNorm, c.hiddenSize)
        output = c.tiedEmbeddings ? tokenEmbedding : try linear(naming.output, c.vocabularySize, c.hiddenSize)
    }

    /// Reads a vector tensor (a norm weight) as f32.
    static func floats(_ tensor: TensorView, count: Int) throws -> [Float] {
        guard tensor.elementCount == count else {
            throw ModelLoadError.tensorShapeMismatch(name: tensor.name, expected: [count], found: tensor.shape)
        }
        switch tensor.type {
        case .f32, .f16, .bf16:
            guard tensor.byteCount >= tensor.type.rowBytes(columns: count) else {
                throw ModelLoadError.invalidConfiguration("tensor '\(tensor.name)' is too small for its shape")
            }
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                Kernels.dequantizeRow(type: tensor.type, source: tensor.data, destination: buffer.baseAddress!, columns: count)
                initialized = count
            }
        default:
            throw ModelLoadError.unsupportedNormType(name: tensor.name, type: tensor.type)
        }
    }
}
