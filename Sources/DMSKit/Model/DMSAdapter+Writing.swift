extension DMSAdapter {
    /// Writes the adapter as safetensors: NVIDIA's tensor names (PEFT's for LoRA updates, whose
    /// Q/K rows are stored half-split whatever the layout of `configuration`, the model they were
    /// made on), the DMS settings and `metadata` (base-model identity, training record) in
    /// `__metadata__`. Atomic. `lowRankStorage` narrows the LoRA updates (f16 halves the file;
    /// the loader widens them again); the decision projection, whose logits meet a calibrated
    /// threshold, always stays f32.
    public func write(to path: String, configuration: ModelConfiguration, lowRankStorage: FloatPrecision = .f32) throws {
        var file = SafetensorsWriter(metadata: metadata)
        file.metadata[Key.formatVersion] = "1"
        file.metadata[Key.window] = "\(parameters.window)"
        file.metadata[Key.alphaScale] = "\(parameters.alphaScale)"
        file.metadata[Key.offset] = "\(parameters.offset)"
        file.metadata[Key.sinks] = "\(parameters.sinks)"
        if let ratio = parameters.trainedRatio { file.metadata[Key.compressionRatio] = "\(ratio)" }
        for (i, layer) in layers.enumerated() {
            file.add(Self.projectionName(layer: i), shape: [layer.projection.count / layer.norm.count, layer.norm.count],
                     values: layer.projection)
            file.add(Self.normName(layer: i), shape: [layer.norm.count], values: layer.norm)
        }
        if let lowRank {
            file.metadata[Key.loraRank] = "\(lowRank.rank)"
            file.metadata[Key.loraAlpha] = "\(lowRank.alpha)"
            for (i, layer) in lowRank.layers.enumerated() {
                for (module, update) in zip(LowRankAdapter.modules, layer.updates) {
                    let stored = LowRankAdapter.isRotated(module: module) && configuration.ropeLayout == .interleaved
                        ? update.permutingRows(headDim: configuration.headDim, toInterleaved: false) : update
                    file.add(Self.loraName(layer: i, module: module, part: "A"), shape: [stored.rank, stored.inputs], values: stored.down,
                             storage: lowRankStorage)
                    file.add(Self.loraName(layer: i, module: module, part: "B"), shape: [stored.outputs, stored.rank], values: stored.up,
                             storage: lowRankStorage)
                }
            }
        }
        try file.write(to: path)
    }
}
