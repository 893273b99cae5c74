import Hummingbird

/// An error as the OpenAI API reports it — `{"error": {"message", "type", "param", "code"}}` —
/// with its HTTP status.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String
    /// OpenAI's error class: `invalid_request_error`, `not_found_error`, `server_error`, ...
    public var type: String
    /// The request field at fault, when there is one (`temperature`, `messages.0.content`).
    public var param: String?
    /// A machine-readable reason (`model_not_found`, `context_length_exceeded`).
    public var code: String?

    public init(status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
    }

    /// A 400 for a request the client must change.
    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// A 404 for a model this server does not serve.
    public static func modelNotFound(_ model: String) -> APIError {
        APIError(status: .notFound, message: "The model `\(model)` does not exist or you do not have access to it.",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// A 404 for a method and path no endpoint serves.
    public static func unknownRoute(_ method: HTTPRequest.Method, _ path: String) -> APIError {
        APIError(status: .notFound, message: "Invalid URL (\(method.rawValue) \(path))", type: "invalid_request_error")
    }
}
