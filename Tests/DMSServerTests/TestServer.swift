import DMSKit
import Foundation
import Logging
import Testing
@testable import DMSServer
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server on a free loopback port over the tiny Llama fixture, and a client for it.
struct TestServer {
    static let modelID = "tiny"
    let baseURL: URL

    /// Stopping by cancellation makes Hummingbird log errors that are expected here.
    private static let silent = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// The tiny Llama fixture's directory.
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/tiny-llama")

    /// Runs `body` against a fresh server over `model` (the tiny Llama fixture by default), then stops it.
    static func with(model path: String = fixture.path, kvBudgetBytes: Int = 1 << 24,
                     _ body: (TestServer) async throws -> Void) async throws {
        let model = try LoadedModel(path: path, threads: 1)
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
    func call(_ method: String, _ path: String, body: Data? = nil) async throws -> (status: Int, body: Data) {
        var request = URLRequest(url: baseURL.appendingPathComponent(path))
        request.httpMethod = method
        request.httpBody = body
        if body != nil { request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: request)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, data)
    }

    /// POSTs `json` and parses the JSON answer.
    func post(_ path: String, _ json: [String: Any]) async throws -> (status: Int, json: [String: Any]) {
        let (status, data) = try await call("POST", path, body: try JSONSerialization.data(withJSONObject: json))
        return (status, try #require(JSONSerialization.jsonObject(with: data) as? [String: Any]))
    }

    /// Sends a raw HTTP request, reads until the response has begun, and hangs up: a client that
    /// goes away mid-response.
    func hangUpAfterFirstBytes(_ method: String, _ path: String, body: Data) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(try #require(baseURL.port))).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let head = "\(method) /\(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\n\r\n"
        let request = Data(head.utf8) + body
        let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, 0) }
        try #require(sent == request.count)
        var buffer = [UInt8](repeating: 0, count: 64)
        try #require(recv(descriptor, &buffer, buffer.count, 0) > 0)
    }
}
