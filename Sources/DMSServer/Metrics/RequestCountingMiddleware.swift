import Hummingbird

/// Records every request's route and status in an ``HTTPRequestCounter``: the response's status,
/// or the status of the error it failed with (errors reach here already as OpenAI errors).
struct RequestCountingMiddleware<Context: RequestContext>: RouterMiddleware {
    let counter: HTTPRequestCounter

    func handle(_ request: Request, context: Context,
                next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            counter.record(path: request.uri.path, status: response.status.code)
            return response
        } catch let error as HTTPResponseError {
            counter.record(path: request.uri.path, status: error.status.code)
            throw error
        } catch {
            counter.record(path: request.uri.path, status: 500)
            throw error
        }
    }
}
