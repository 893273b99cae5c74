import DMSKit
import Hummingbird

extension APIError {
    /// The response to a sequence the scheduler refused or failed: the client's fault is a 400,
    /// shutting down a 503, and only an engine failure a 500. Prompt errors name
    /// `promptParameter`, the request field that held the prompt.
    init(_ error: SchedulerError, promptParameter: String?) {
        switch error {
        case .promptTooLong:
            self = .invalidRequest(error.description, param: promptParameter, code: "context_length_exceeded")
        case .invalidRequest(let message):
            self = .invalidRequest(message)
        case .exceedsKVBudget:
            self = .invalidRequest(error.description, param: promptParameter, code: "kv_budget_exceeded")
        case .shuttingDown:
            self = APIError(status: .serviceUnavailable, message: error.description, type: "server_error",
                            code: "shutting_down")
        case .engineFailure:
            self = APIError(status: .internalServerError, message: error.description, type: "server_error")
        }
    }
}
