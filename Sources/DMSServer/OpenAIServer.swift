import DMSKit
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// An OpenAI-compatible HTTP server over a ``BatchScheduler``: chat and text completions
/// (streamed or not), the model list, health and Prometheus metrics.
///
/// ```swift
/// let scheduler = try BatchScheduler(model: loaded, configuration: .init(kvBudgetBytes: 1 << 30))
/// let server = OpenAIServer(scheduler: scheduler, configuration: ServerConfiguration(modelID: "smollm2"))
/// try await server.run { address in print("listening on \(address)") }
/// ```
public struct OpenAIServer: Sendable {
    public let scheduler: BatchScheduler
    public let configuration: ServerConfiguration
    /// When the server started, for the model list's `created`.
    private let started = Int(Date().timeIntervalSince1970)
    /// Requests answered, by route and status, for `/metrics`.
    private let requests = HTTPRequestCounter()

    public init(scheduler: BatchScheduler, configuration: ServerConfiguration) {
        self.scheduler = scheduler
        self.configuration = configuration
    }

    /// Serves until SIGINT or SIGTERM, then fails the running sequences, closes the connections
    /// and returns. `onListening` gets the bound address (`http://127.0.0.1:8080`), which
    /// names the real port when `port` is 0.
    public func run(logger: Logger = OpenAIServer.quietLogger,
                    onListening: @escaping @Sendable (String) -> Void = { _ in }) async throws {
        try await run(gracefulShutdownSignals: [.sigterm, .sigint], logger: logger, onListening: onListening)
    }

    /// Serves until one of `gracefulShutdownSignals` arrives or the task is cancelled (tests
    /// pass no signals so they leave the process's signal handling alone).
    func run(gracefulShutdownSignals: [UnixSignal], logger: Logger,
             onListening: @escaping @Sendable (String) -> Void) async throws {
        let application = Application(
            router: makeRouter(),
            configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                    serverName: "dms"),
            onServerRunning: { channel in
                let address = channel.localAddress
                onListening("http://\(address?.ipAddress ?? configuration.host):\(address?.port ?? configuration.port)")
            },
            logger: logger)
        // Services shut down in reverse order: the scheduler first, so streams end before the
        // server waits for its connections to close.
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(
            services: [application, SchedulerService(scheduler: scheduler)],
            gracefulShutdownSignals: gracefulShutdownSignals, logger: logger))
        try await group.run()
    }

    /// Warnings and errors only: a request log would drown the terminal under load.
    public static var quietLogger: Logger {
        var logger = Logger(label: "dms.serve")
        logger.logLevel = .warning
        return logger
    }

    /// The routes, behind the middleware that turns every error into an OpenAI error object.
    func makeRouter() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestCountingMiddleware(counter: requests))
        router.add(middleware: OpenAIErrorMiddleware(maxRequestBytes: configuration.maxRequestBytes))
        let completions = CompletionEndpoint(scheduler: scheduler, configuration: configuration)
        router.post("/v1/chat/completions") { request, _ in try await completions.chatCompletion(request) }
        router.post("/v1/completions") { request, _ in try await completions.completion(request) }
        let models = ModelList(data: [ModelList.Model(id: configuration.modelID, created: started)])
        router.get("/v1/models") { _, _ in try Response.json(models) }
        router.get("/v1/models/{id}") { _, context in
            guard context.parameters.get("id") == configuration.modelID else {
                throw APIError.modelNotFound(context.parameters.get("id") ?? "")
            }
            return try Response.json(models.data[0])
        }
        router.get("/health") { _, _ in try Response.json(["status": "ok"]) }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: SchedulerMetrics.prometheusContentType],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: scheduler.metrics().prometheusText + requests.prometheusText)))
        }
        return router
    }
}
