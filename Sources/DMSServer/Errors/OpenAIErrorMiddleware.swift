import DMSKit
import Hummingbird

/// Turns every error a route or the router throws into an OpenAI error object, so clients never
/// see an empty or HTML error body: unknown routes become 404s, oversized bodies 413s, and
/// anything unexpected a 500 with its description.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxRequestBytes: Int

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            throw error
        } catch let error as SchedulerError {
            throw APIError(error, promptParameter: nil)  // the endpoints name their own prompt field
        } catch let error as HTTPResponseError {
            throw translate(error, request)
        } catch {
            throw APIError(status: .internalServerError, message: "\(error)", type: "server_error")
        }
    }

    private func translate(_ error: HTTPResponseError, _ request: Request) -> APIError {
        switch error.status {
        case .notFound, .methodNotAllowed:
            return .unknownRoute(request.method, request.uri.path)
        case .contentTooLarge:
            return APIError(status: .contentTooLarge, message: "The request body exceeds \(maxRequestBytes) bytes.",
                            type: "invalid_request_error")
        case let status:
            return APIError(status: status, message: status.reasonPhrase,
                            type: status.code < 500 ? "invalid_request_error" : "server_error")
        }
    }
}
