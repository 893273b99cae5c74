/// A decoder-only language model that consumes tokens into a ``KVCache`` and produces logits.
public protocol LanguageModel: AnyObject {
    var configuration: ModelConfiguration { get }

    /// Runs `tokens` (positions `cache.tokensSeen ..< cache.tokensSeen + tokens.count`) through
    /// the model, appends them to `cache`, and returns logits for the requested rows,
    /// `[rows][vocabularySize]` flattened.
    func forward(_ tokens: [Int], cache: KVCache, phase: AttentionBatch.Phase, logits: LogitRows) throws -> [Float]
}

/// Which positions of a forward pass need logits.
public enum LogitRows: Sendable {
    /// Only the last token's (generation).
    case last
    /// Every token's (scoring).
    case all
    /// None (filling the cache, e.g. benchmark depth).
    case none
}
