extension BatchScheduler {
    /// How a ``BatchScheduler`` shares the machine between sequences.
    public struct Configuration: Sendable {
        /// The KV memory every sequence's pages come from, in bytes.
        public var kvBudgetBytes: Int
        /// Most sequences running at once; more wait in the queue.
        public var maxSequences: Int = 64
        /// Most prompt tokens processed in one step, over all sequences (chunked prefill, so
        /// running sequences keep decoding while a long prompt is read).
        public var prefillChunk: Int = 256
        /// The cache of a request that names none. Its page size and precision set the pool's.
        public var cacheOptions: KVCacheOptions

        public init(kvBudgetBytes: Int, cacheOptions: KVCacheOptions = KVCacheOptions()) {
            self.kvBudgetBytes = kvBudgetBytes
            self.cacheOptions = cacheOptions
        }
    }
}
