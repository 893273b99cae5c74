import DMSKit
import Foundation

/// Tiny models, texts and token sequences the evaluation tests share.
enum EvaluationFixtures {
    static let fixtures = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func fixture(_ relativePath: String) -> String {
        fixtures.appendingPathComponent(relativePath).path
    }

    /// The variant-A DMS checkpoint (window 4, 256 positions, 400-token vocabulary).
    static func dmsModel(threads: Int = 2) throws -> LoadedModel {
        try LoadedModel(path: fixture("dms/tiny-qwen3-dms"), threads: threads)
    }

    /// tiny-llama with random DMS decisions flagging half the tokens.
    static func syntheticModel(threads: Int = 2) throws -> LoadedModel {
        let loaded = try LoadedModel(path: fixture("tiny-llama"), threads: threads)
        loaded.model.evictionSource = .synthetic(rate: 0.5, seed: 7)
        return loaded
    }

    /// `count` pseudo-random token ids below `vocabulary`.
    static func tokens(_ count: Int, vocabulary: Int, seed: UInt64 = 1) -> [Int] {
        var random = RandomSource(seed: seed)
        return (0..<count).map { _ in Int(random.next() % UInt64(vocabulary)) }
    }

    /// English prose, long enough for a couple of hundred tokens of the tiny tokenizers.
    static let prose = String(repeating: """
        The quick brown fox jumps over the lazy dog while the cat sleeps on the warm mat. \
        A river runs through the valley, and the people of the town walk to the market every morning. \
        Numbers such as 12, 345 and 6789 appear in the ledger next to the names of the merchants. \

        """, count: 8)
}
