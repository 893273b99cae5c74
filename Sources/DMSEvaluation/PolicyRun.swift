import DMSKit
import Foundation

/// One policy's cache and what has been measured on it so far.
final class PolicyRun {
    let policy: PolicyUnderTest
    /// The full cache every other policy is compared with.
    let isReference: Bool
    let cache: KVCache
    var metrics = TeacherForcingMetrics()
    var agreement = ContinuationAgreement()
    /// Seconds in forward passes over the sequence.
    var seconds = 0.0
    /// Logits after the last token of the sequence (where the last continuation starts).
    var finalLogits: [Float] = []
    /// The cache's statistics at the end of the sequence, before any continuation.
    var statistics: KVStatistics?

    init(policy: PolicyUnderTest, isReference: Bool = false, model: LoadedModel) throws {
        self.policy = policy
        self.isReference = isReference
        cache = try model.makeCache(policy.cacheOptions)
    }

    var label: String { isReference ? "full (reference)" : policy.label }

    /// Feeds `tokens` as the next positions (decode phase, so token reads count every position
    /// as a generation step would) and returns the requested logits.
    func forward(_ tokens: ArraySlice<Int>, model: LanguageModel, logits rows: LogitRows, timed: Bool) throws -> [Float] {
        let started = DispatchTime.now()
        let logits = try model.forward(Array(tokens), cache: cache, phase: .decode, logits: rows)
        if timed { seconds += Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9 }
        return logits
    }
}
