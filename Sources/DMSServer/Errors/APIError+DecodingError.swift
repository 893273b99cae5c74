extension APIError {
    /// The response to a body that is not JSON or whose fields have the wrong shape; `param` is
    /// the field's path (`messages.0.content`).
    init(_ error: DecodingError) {
        let (message, path): (String, [CodingKey])
        switch error {
        case .dataCorrupted(let context) where context.codingPath.isEmpty:
            self = .invalidRequest("The request body is not valid JSON: \(Self.reason(context)).")
            return
        case .dataCorrupted(let context):
            (message, path) = (Self.reason(context), context.codingPath)
        case .keyNotFound(let key, let context):
            (message, path) = ("Missing required parameter.", context.codingPath + [key])
        case .typeMismatch(let type, let context), .valueNotFound(let type, let context):
            (message, path) = ("Invalid type: expected \(Self.jsonName(of: type)).", context.codingPath)
        @unknown default:
            self = .invalidRequest("The request body could not be decoded.")
            return
        }
        guard !path.isEmpty else {
            self = .invalidRequest("The request body must be a JSON object: \(message)")
            return
        }
        let param = Self.param(path)
        self = .invalidRequest("'\(param)': \(message)", param: param)
    }

    /// Dotted path of a coding path, with array positions as numbers.
    static func param(_ path: [CodingKey]) -> String {
        path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    private static func reason(_ context: DecodingError.Context) -> String {
        let reason = context.debugDescription
        return reason.hasSuffix(".") ? String(reason.dropLast()) : reason
    }

    private static func jsonName(of type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default: return "\(type)".hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
