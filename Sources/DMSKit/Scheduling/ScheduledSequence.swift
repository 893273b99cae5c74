/// A sequence submitted to a ``BatchScheduler``: its events and a way to cancel it.
public final class ScheduledSequence: Sendable {
    /// Unique within the scheduler, in submission order.
    public let id: Int
    /// Tokens as they are generated, then `finished`; throws a ``SchedulerError`` on failure.
    /// Ends without `finished` after ``cancel()``.
    public let events: AsyncThrowingStream<SequenceEvent, Error>
    private let onCancel: @Sendable () -> Void

    init(id: Int, events: AsyncThrowingStream<SequenceEvent, Error>, onCancel: @escaping @Sendable () -> Void) {
        self.id = id
        self.events = events
        self.onCancel = onCancel
    }

    /// Stops the sequence and frees its KV pages before the scheduler's next step.
    public func cancel() { onCancel() }
}
