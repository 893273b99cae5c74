extension LoadedModel {
    /// The policy `options` resolve to for this model.
    public func resolvedPolicy(_ options: KVCacheOptions) -> KVCacheOptions.Policy {
        options.policy ?? (model.evictionSource == nil ? .full : .dms)
    }

    /// A new, empty KV cache under `options`. Throws when the policy cannot run on this model
    /// (`dms` without DMS decisions).
    public func makeCache(_ options: KVCacheOptions) throws -> KVCache {
        let geometry = KVCacheGeometry(configuration)
        let pool = KVPagePool(pageSize: options.pageSize, headDim: geometry.headDim, precision: options.precision)
        switch resolvedPolicy(options) {
        case .full:
            return FullKVCache(geometry: geometry, pool: pool)
        case .dms:
            guard let source = model.evictionSource else { throw DMSError.noDecisions }
            guard let window = options.dmsWindow ?? source.trainedWindow else {
                throw DMSError.invalidAdapter("synthetic eviction needs an explicit --dms-window")
            }
            return DMSKVCache(geometry: geometry, pool: pool, window: window, threshold: options.dmsThreshold)
        }
    }

    /// Attaches a DMS adapter (variant B) checked against this model.
    public func attachAdapter(path: String) throws {
        model.evictionSource = .adapter(try DMSAdapter(path: path, for: configuration))
    }
}
