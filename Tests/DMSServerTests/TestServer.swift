import DMSKit
import Foundation
import Logging
import Testing
@testable import DMSServer
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A server on a free loopback port over the tiny Llama fixture, and a client for it.
struct TestServer {
    static let modelID = "tiny"
    let baseURL: URL

    /// Stopping by cancellation makes Hummingbird log errors that are expected here.
    private static let silent = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs `body` against a fresh server, then stops it.
    static func with(kvBudgetBytes: Int = 1 << 24, _ body: (TestServer) async throws -> Void) async throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/tiny-llama").path
        let model = try LoadedModel(path: fixture, threads: 1)
        let scheduler = try BatchScheduler(model: model, configuration: .init(kvBudgetBytes: kvBudgetBytes))
        let server = OpenAIServer(scheduler: scheduler, configuration: ServerConfiguration(port: 0, modelID: modelID))
        let (addresses, listening) = AsyncStream<String>.makeStream()
        let task = Task {
            try await server.run(gracefulShutdownSignals: [], logger: silent) { listening.yield($0) }
        }
        defer { task.cancel() }
        var iterator = addresses.makeAsyncIterator()
        let address = try #require(await iterator.next())
        try await body(TestServer(baseURL: try #require(URL(string: address))))
    }

    /// Sends a request; returns the status and the body.
    func send(_ method: String, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: baseURL.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// POSTs `json` and parses the JSON answer.
    func post(_ path: String, _ json: [String: Any]) async throws -> (status: Int, json: [String: Any]) {
        let (status, data) = try await send("POST", path, body: try JSONSerialization.data(withJSONObject: json))
        return (status, try #require(JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }
}
