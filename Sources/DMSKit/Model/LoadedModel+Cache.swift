extension LoadedModel {
    /// The policy `options` resolve to for this model.
    public func resolvedPolicy(_ options: KVCacheOptions) -> KVCacheOptions.Policy {
        options.policy ?? (model.evictionSource == nil ? .full : .dms)
    }

    /// A new, empty KV cache under `options`. Throws when the policy cannot run on this model
    /// (`dms` without DMS decisions, a budget policy without a budget).
    public func makeCache(_ options: KVCacheOptions) throws -> KVCache {
        let pool = KVPagePool(pageSize: options.pageSize, headDim: configuration.headDim, precision: options.precision)
        return try makeCache(options, pool: pool)
    }

    /// A new, empty KV cache under `options` whose pages come from `pool`, which other caches may
    /// share (the pool's page size and precision apply, not the options').
    public func makeCache(_ options: KVCacheOptions, pool: KVPagePool) throws -> KVCache {
        let policy = resolvedPolicy(options)
        let geometry = KVCacheGeometry(configuration)
        if policy == .full { return FullKVCache(geometry: geometry, pool: pool) }
        if policy.needsBudget, options.budget == nil {
            throw KVCacheOptionsError.missingBudget(policy.rawValue)
        }
        switch (policy, options.budget) {
        case (.dms, _):
            guard let source = model.evictionSource else { throw DMSError.noDecisions }
            guard let window = options.dmsWindow ?? source.trainedWindow else {
                throw KVCacheOptionsError.syntheticWithoutWindow
            }
            return DMSKVCache(geometry: geometry, pool: pool, window: window, threshold: options.dmsThreshold,
                              sinks: options.dmsSinks ?? source.trainedSinks)
        case (.streaming, let budget?):
            return BudgetedKVCache(geometry: geometry, pool: pool, rule: StreamingRule(sinks: options.sinks),
                                   budget: budget, minimumBudget: options.sinks + 1)
        case (.tova, let budget?):
            return BudgetedKVCache(geometry: geometry, pool: pool, rule: TOVARule(), budget: budget)
        case (.h2o, let budget?):
            return BudgetedKVCache(geometry: geometry, pool: pool, rule: H2ORule(recent: options.recentWindow), budget: budget)
        case (.quest, let budget?):
            return QuestKVCache(geometry: geometry, pool: pool, budget: budget)
        default:
            throw KVCacheOptionsError.missingBudget(policy.rawValue)
        }
    }

    /// Attaches a DMS adapter (variant B) checked against this model.
    public func attachAdapter(path: String) throws {
        attach(try DMSAdapter(path: path, for: configuration))
    }

    /// Attaches an adapter already loaded for this model's configuration (swapping adapters
    /// without reading their files again).
    public func attach(_ adapter: DMSAdapter) {
        model.evictionSource = .adapter(adapter)
        model.lowRank = adapter.lowRank
    }
}
