/// Where an ``OpenAIServer`` listens and what it calls its model.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The `model` clients must name (`GET /v1/models` lists it).
    public var modelID: String
    /// Larger request bodies are refused with 413.
    public var maxRequestBytes = 4 << 20

    public init(host: String = "127.0.0.1", port: Int = 8080, modelID: String) {
        self.host = host
        self.port = port
        self.modelID = modelID
    }
}
