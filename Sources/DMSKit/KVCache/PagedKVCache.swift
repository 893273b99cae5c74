/// A ``KVCache`` whose tokens live in a ``PagedKVStore``: geometry and statistics come from it.
public protocol PagedKVCache: KVCache {
    var store: PagedKVStore { get }
}

extension PagedKVCache {
    public var geometry: KVCacheGeometry { store.geometry }

    public func statistics() -> KVStatistics {
        store.statistics(policy: policyName, tokensSeen: tokensSeen)
    }
}
