import DMSKit
import Hummingbird

extension Request {
    /// Runs `operation`, cancelling `sequences` the moment the client closes its connection or the
    /// handling task is cancelled, so an abandoned request stops using the model at once.
    ///
    /// The body must have been read with `collectBody(upTo:)`. Watching for the close reads the
    /// connection past this request, so it cannot carry another one: responses using this send
    /// `Connection: close`.
    func cancellingOnDisconnect<Value: Sendable>(_ sequences: [ScheduledSequence],
                                                 _ operation: () async throws -> Value) async throws -> Value {
        try await withTaskCancellationHandler {
            try await body.consumeWithInboundCloseHandler({ _ in try await operation() },
                                                          onInboundClosed: { sequences.cancelAll() })
        } onCancel: {
            sequences.cancelAll()
        }
    }
}
