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

    /// English prose (Tests/Fixtures/prose.txt), long enough for a couple of hundred tokens of the tiny tokenizers.
    static let prose = (try? String(contentsOf: fixtures.appendingPathComponent("prose.txt"), encoding: .utf8)) ?? ""
}
