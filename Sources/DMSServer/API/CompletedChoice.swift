import DMSKit

/// One choice once its sequence has finished: its text and how it ended.
struct CompletedChoice: Sendable {
    var index: Int
    var text: String
    var summary: SequenceSummary
}
