import DMSKit
import Foundation
import Hummingbird

/// Serves `/v1/chat/completions` and `/v1/completions`: decodes and checks a request, submits
/// one sequence per choice, then answers with one JSON object or a stream of server-sent events.
struct CompletionEndpoint: Sendable {
    let scheduler: BatchScheduler
    let configuration: ServerConfiguration
    /// Read once: a model without a usable template still serves plain completions.
    let chatTemplate: Result<ChatTemplate, Error>

    init(scheduler: BatchScheduler, configuration: ServerConfiguration) {
        self.scheduler = scheduler
        self.configuration = configuration
        chatTemplate = Result { try scheduler.model.chatTemplate() }
    }

    func chatCompletion(_ request: Request) async throws -> Response {
        var request = request
        let body = try await decode(ChatCompletionRequest.self, from: &request)
        try body.validate()
        try checkModel(body.parameters.model)
        let text: String
        do {
            text = try chatTemplate.get().render(messages: body.messages, addGenerationPrompt: true)
        } catch {
            throw APIError.invalidRequest("Cannot apply the model's chat template: \(error).", param: "messages")
        }
        // The template writes any BOS itself (transformers' apply_chat_template does not add one).
        let tokens = scheduler.model.tokenizer.encode(text, addSpecialTokens: false)
        return try await respond(ChatFormat.self, to: request, prompt: tokens, parameters: body.parameters)
    }

    func completion(_ request: Request) async throws -> Response {
        var request = request
        let body = try await decode(CompletionRequest.self, from: &request)
        try body.validate()
        try checkModel(body.parameters.model)
        let tokens = scheduler.model.tokenizer.encode(body.prompt)
        return try await respond(TextFormat.self, to: request, prompt: tokens, parameters: body.parameters)
    }

    /// Reads and decodes the body. `collectBody` keeps the connection's stream behind the buffer,
    /// which ``Request/cancellingOnDisconnect(_:_:)`` then watches for the client closing.
    private func decode<Body: Decodable>(_ type: Body.Type, from request: inout Request) async throws -> Body {
        let buffer = try await request.collectBody(upTo: configuration.maxRequestBytes)
        do {
            return try JSONDecoder().decode(Body.self, from: Data(buffer: buffer))
        } catch let error as DecodingError {
            throw APIError(error)
        }
    }

    private func checkModel(_ model: String) throws {
        guard model == configuration.modelID else { throw APIError.modelNotFound(model) }
    }

    private func respond<Format: CompletionFormat>(_ format: Format.Type, to request: Request, prompt tokens: [Int],
                                                   parameters: GenerationParameters) async throws -> Response {
        let model = scheduler.model
        let sequences = try submit(Format.self, try parameters.sequenceRequests(
            prompt: tokens, contextLength: model.configuration.contextLength,
            cacheOptions: scheduler.configuration.cacheOptions))
        let header = CompletionObject<Format.Choice>(
            id: Format.idPrefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased(),
            object: Format.object, created: Int(Date().timeIntervalSince1970), model: configuration.modelID, choices: [])
        if parameters.stream {
            let stream = CompletionStream<Format>(
                sequences: sequences, id: header.id, created: header.created, model: header.model,
                promptTokens: tokens.count, includeUsage: parameters.includeUsage)
            return Response(status: .ok, headers: [.contentType: ServerSentEvents.contentType,
                                                   .cacheControl: "no-cache", .connection: "close"],
                            body: ResponseBody { writer in
                                try await request.cancellingOnDisconnect(sequences) { try await stream.write(to: &writer) }
                                try await writer.finish(nil)
                            })
        }
        let choices = try await request.cancellingOnDisconnect(sequences) { try await Self.collect(Format.self, sequences) }
        var response = header
        response.choices = choices.map(Format.choice)
        response.usage = Usage(promptTokens: tokens.count,
                               completionTokens: choices.reduce(0) { $0 + $1.summary.completionTokens })
        var json = try Response.json(response)
        json.headers[.connection] = "close"
        return json
    }

    /// Submits every choice's sequence, or none: a refused one cancels those already queued.
    /// The request's choices, which share its prompt: it is read once.
    private func submit<Format: CompletionFormat>(_ format: Format.Type, _ requests: [SequenceRequest]) throws -> [ScheduledSequence] {
        do {
            return try scheduler.submit(choices: requests)
        } catch let error as SchedulerError {
            throw APIError(error, promptParameter: Format.promptParameter)
        }
    }

    /// Waits for every sequence and gathers its text; throws `CancellationError` when one ended
    /// without finishing (cancelled because the client left).
    private static func collect<Format: CompletionFormat>(_ format: Format.Type,
                                                          _ sequences: [ScheduledSequence]) async throws -> [CompletedChoice] {
        var texts = Array(repeating: "", count: sequences.count)
        var summaries: [SequenceSummary?] = Array(repeating: nil, count: sequences.count)
        do {
            for try await (index, event) in sequences.mergedEvents() {
                switch event {
                case .token(let token): texts[index] += token.text
                case .finished(let summary): summaries[index] = summary
                }
            }
        } catch let error as SchedulerError {
            sequences.cancelAll()
            throw APIError(error, promptParameter: Format.promptParameter)
        }
        return try summaries.enumerated().map { index, summary in
            guard let summary else { throw CancellationError() }
            return CompletedChoice(index: index, text: texts[index], summary: summary)
        }
    }
}
