import DMSKit

extension Array where Element == ScheduledSequence {
    /// The events of all sequences as they arrive, each with its sequence's position (its choice
    /// index). Finishes when every sequence has; throws the first sequence's error.
    func mergedEvents() -> AsyncThrowingStream<(index: Int, event: SequenceEvent), Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for (index, sequence) in enumerated() {
                            group.addTask {
                                for try await event in sequence.events { continuation.yield((index, event)) }
                            }
                        }
                        try await group.waitForAll()
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Cancels every sequence (those already finished ignore it).
    func cancelAll() {
        for sequence in self { sequence.cancel() }
    }
}
