import Hummingbird

extension APIError: HTTPResponseError {
    /// The error as a JSON response, so a handler can simply throw it.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try .json(self, status: status)
    }
}
