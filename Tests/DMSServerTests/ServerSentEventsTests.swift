import DMSKit
import Foundation
import Hummingbird
import Testing
@testable import DMSServer

struct ServerSentEventsTests {
    private func text(_ buffer: ByteBuffer) -> String { String(buffer: buffer) }

    /// The JSON object of one `data:` event.
    private func object(_ buffer: ByteBuffer) throws -> [String: Any] {
        let event = text(buffer)
        #expect(event.hasPrefix("data: ") && event.hasSuffix("\n\n"))
        let json = event.dropFirst("data: ".count).dropLast(2)
        return try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    private func chunk<Choice>(_ choice: Choice, includeUsage: Bool = false) -> CompletionObject<Choice> {
        CompletionObject(id: "chatcmpl-1", object: "chat.completion.chunk", created: 5, model: "m", choices: [choice],
                         writesNullUsage: includeUsage)
    }

    @Test func framesEventsAndDone() throws {
        #expect(text(ServerSentEvents.done) == "data: [DONE]\n\n")
        #expect(text(try ServerSentEvents.event(["a": "b/c"])) == "data: {\"a\":\"b/c\"}\n\n")
    }

    @Test func chatChunksCarryTheRoleThenTextThenTheFinishReason() throws {
        let opening = try object(ServerSentEvents.event(chunk(try #require(ChatFormat.openingChunk(index: 0)))))
        #expect(opening["object"] as? String == "chat.completion.chunk")
        #expect(opening["usage"] == nil)
        let openingChoice = try #require((opening["choices"] as? [[String: Any]])?.first)
        #expect(openingChoice["delta"] as? [String: String] == ["role": "assistant", "content": ""])
        #expect(openingChoice["finish_reason"] is NSNull && openingChoice["logprobs"] is NSNull)

        let text = try object(ServerSentEvents.event(chunk(ChatFormat.chunk(index: 2, text: "Hi", finishReason: nil),
                                                           includeUsage: true)))
        #expect(text["usage"] is NSNull)
        let textChoice = try #require((text["choices"] as? [[String: Any]])?.first)
        #expect(textChoice["index"] as? Int == 2)
        #expect(textChoice["delta"] as? [String: String] == ["content": "Hi"])

        let last = try object(ServerSentEvents.event(chunk(ChatFormat.chunk(index: 0, text: "", finishReason: .length))))
        let lastChoice = try #require((last["choices"] as? [[String: Any]])?.first)
        #expect((lastChoice["delta"] as? [String: Any])?.isEmpty == true)
        #expect(lastChoice["finish_reason"] as? String == "length")
    }

    @Test func textChunksCarryTextAndNoOpening() throws {
        #expect(TextFormat.openingChunk(index: 0) == nil)
        let event = try object(ServerSentEvents.event(chunk(TextFormat.chunk(index: 1, text: " upon", finishReason: nil))))
        let choice = try #require((event["choices"] as? [[String: Any]])?.first)
        #expect(choice["text"] as? String == " upon")
        #expect(choice["index"] as? Int == 1)
        #expect(choice["finish_reason"] is NSNull)
    }

    @Test func usageTotalsPromptAndCompletion() throws {
        var usage = CompletionObject<TextFormat.ChunkChoice>(id: "cmpl-1", object: "text_completion", created: 5, model: "m",
                                                             choices: [])
        usage.usage = Usage(promptTokens: 4, completionTokens: 6)
        let json = try object(ServerSentEvents.event(usage))
        #expect(json["usage"] as? [String: Int] == ["prompt_tokens": 4, "completion_tokens": 6, "total_tokens": 10])
        #expect((json["choices"] as? [Any])?.isEmpty == true)
    }
}
