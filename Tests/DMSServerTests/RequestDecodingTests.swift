import DMSKit
import Foundation
import Testing
@testable import DMSServer

struct RequestDecodingTests {
    private func decode<Body: Decodable>(_ type: Body.Type, _ json: String) throws -> Body {
        try JSONDecoder().decode(Body.self, from: Data(json.utf8))
    }

    /// The API error a body produces, from decoding or validation.
    private func chatError(_ json: String) -> APIError? {
        do {
            try decode(ChatCompletionRequest.self, json).validate()
            return nil
        } catch let error as DecodingError {
            return APIError(error)
        } catch {
            return error as? APIError
        }
    }

    @Test func decodesChatWithOpenAIDefaultsAndIgnoresUnknownFields() throws {
        let request = try decode(ChatCompletionRequest.self, """
            {"model": "m", "messages": [{"role": "developer", "content": "Be brief."},
             {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
             {"role": "assistant", "content": null}], "frequency_penalty": 0, "user": "x", "logit_bias": {}}
            """)
        #expect(request.messages == [.system("Be brief."), .user("Hi there"), .assistant("")])
        #expect(request.parameters.model == "m")
        #expect(request.parameters.temperature == 1)
        #expect(request.parameters.topP == 1)
        #expect(request.parameters.n == 1)
        #expect(request.parameters.maxTokens == nil)
        #expect(!request.parameters.stream)
    }

    @Test func decodesGenerationFields() throws {
        let request = try decode(ChatCompletionRequest.self, """
            {"model": "m", "messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 7, "max_tokens": 9,
             "temperature": 0, "top_p": 0.5, "seed": -3, "stop": "\\n", "n": 2, "stream": true,
             "stream_options": {"include_usage": true}, "kv": {"policy": "tova", "ratio": 4}}
            """)
        let parameters = request.parameters
        #expect(parameters.maxTokens == 7)
        #expect(parameters.stop == ["\n"])
        #expect(parameters.stream && parameters.includeUsage)
        let sequences = try parameters.sequenceRequests(prompt: [1, 2, 3], contextLength: 100, cacheOptions: KVCacheOptions())
        #expect(sequences.count == 2)
        #expect(sequences.map(\.sampling.seed) == [UInt64(bitPattern: -3), UInt64(bitPattern: -2)])
        #expect(sequences.allSatisfy { $0.sampling.isGreedy && $0.sampling.topK == 0 && $0.sampling.minP == 0 })
        #expect(sequences[0].sampling.topP == 0.5)
        #expect(sequences[0].maxTokens == 7 && sequences[0].stopStrings == ["\n"])
        #expect(sequences[0].cacheOptions?.policy == .tova)
        #expect(sequences[0].cacheOptions?.budget == .ratio(4))
    }

    @Test func defaultsMaxTokensToTheRestOfTheContext() throws {
        let request = try decode(CompletionRequest.self, #"{"model": "m", "prompt": ["Once"], "kv": {"budget_tokens": 64}}"#)
        #expect(request.prompt == "Once")
        let sequence = try #require(try request.parameters.sequenceRequests(
            prompt: [1, 2, 3], contextLength: 100, cacheOptions: KVCacheOptions(policy: .h2o)).first)
        #expect(sequence.maxTokens == 97)
        #expect(sequence.sampling.seed == nil)
        #expect(sequence.cacheOptions?.policy == .h2o && sequence.cacheOptions?.budget == .tokens(64))
    }

    @Test(arguments: [
        (#"{"model": "m", "messages": [], "n": 1}"#, "messages"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 0}"#, "n"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 17}"#, "n"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0}"#, "max_tokens"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": 2.5}"#, "temperature"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": -1}"#, "temperature"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "top_p": 0}"#, "top_p"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]}"#, "stop"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "kv": {"policy": "lru"}}"#, "kv.policy"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "kv": {"ratio": 0.5}}"#, "kv.ratio"),
        (#"{"model": "m", "messages": [{"role": "user", "content": "x"}], "temperature": "hot"}"#, "temperature"),
        (#"{"model": "m", "messages": [{"role": "user", "content": 3}]}"#, "messages.0.content"),
        (#"{"model": "m", "messages": [{"role": "tool", "content": "x"}]}"#, "messages.0.role"),
        (#"{"model": "m", "messages": [{"role": "user", "content": [{"type": "image_url"}]}]}"#, "messages.0.content.0.type"),
        (#"{"messages": [{"role": "user", "content": "x"}]}"#, "model"),
    ])
    func refusesBadValuesNamingTheField(json: String, param: String) {
        let error = chatError(json)
        #expect(error?.status == .badRequest)
        #expect(error?.type == "invalid_request_error")
        #expect(error?.param == param)
    }

    @Test func budgetPolicyWithoutARatioTakesTheServersOrIsRefused() throws {
        let request = try decode(CompletionRequest.self, #"{"model": "m", "prompt": "x", "kv": {"policy": "tova"}}"#)
        var server = KVCacheOptions(policy: .dms)
        #expect(throws: APIError.self) {
            _ = try request.parameters.sequenceRequests(prompt: [1], contextLength: 100, cacheOptions: server)
        }
        server.budget = .ratio(4)
        let sequence = try #require(try request.parameters.sequenceRequests(prompt: [1], contextLength: 100, cacheOptions: server).first)
        #expect(sequence.cacheOptions?.policy == .tova && sequence.cacheOptions?.budget == .ratio(4))
    }

    @Test func refusesMalformedJSONWithoutAParam() {
        for body in ["{\"model\": ", "", "[1, 2]", "null"] {
            let error = chatError(body)
            #expect(error?.status == .badRequest)
            #expect(error?.param == nil)
        }
    }

    @Test func refusesSeveralPrompts() {
        #expect(throws: DecodingError.self) {
            try decode(CompletionRequest.self, #"{"model": "m", "prompt": ["a", "b"]}"#)
        }
    }
}
