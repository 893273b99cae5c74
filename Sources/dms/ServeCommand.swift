import ArgumentParser
import DMSKit
import DMSServer
import Foundation

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the model over an OpenAI-compatible HTTP API.",
        discussion: """
            Endpoints: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health, \
            GET /metrics (Prometheus). Requests may choose their own KV cache with the "kv" extension field. \
            One scheduler steps every running sequence together (continuous batching); all their KV pages \
            come from --kv-budget bytes.
            """)

    @OptionGroup var serving: ServingOptions

    @Option(help: "Address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8080

    @Option(help: "The model name clients send (default: the model file's name without its extension).")
    var modelId: String?

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be between 0 and 65535") }
        if let modelId, modelId.isEmpty { throw ValidationError("--model-id must not be empty") }
    }

    func run() async throws {
        let loaded = try serving.load()
        let scheduler = try BatchScheduler(model: loaded, configuration: serving.schedulerConfiguration)
        let modelID = modelId ?? URL(fileURLWithPath: serving.common.model).deletingPathExtension().lastPathComponent
        let server = OpenAIServer(scheduler: scheduler, configuration: ServerConfiguration(host: host, port: port, modelID: modelID))
        let policy = loaded.resolvedPolicy(serving.cacheOptions).rawValue
        let budget = serving.kvBudget.bytes
        try await server.run { address in
            writeError("dms serve: \(modelID) (KV policy \(policy), budget \(budget) bytes) listening on \(address)\n")
        }
    }
}
