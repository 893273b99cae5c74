/// Why ``KVCache/copy(from:)`` refused a source cache.
public struct KVCacheCopyError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) { self.description = description }

    /// The source is another policy, or the same policy with other settings.
    static func incompatible(_ cache: KVCache, _ source: KVCache) -> KVCacheCopyError {
        KVCacheCopyError("cannot copy a '\(source.policyName)' cache into a '\(cache.policyName)' cache made with other options")
    }
}
