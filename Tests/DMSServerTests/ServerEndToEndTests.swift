import DMSKit
import Foundation
import Testing
@testable import DMSServer

/// The whole server over HTTP with the tiny Llama fixture (random weights: the texts are noise,
/// the shapes and counts are what is checked).
@Suite(.serialized)
struct ServerEndToEndTests {
    private let chat: [String: Any] = ["model": TestServer.modelID, "messages": [["role": "user", "content": "Hi"]],
                                       "max_tokens": 5]

    @Test func answersChatAndTextCompletions() async throws {
        try await TestServer.with { server in
            let (status, json) = try await server.post("v1/chat/completions", chat.merging(["n": 2, "seed": 1]) { $1 })
            #expect(status == 200)
            #expect(json["object"] as? String == "chat.completion")
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choices = try #require(json["choices"] as? [[String: Any]])
            #expect(choices.map { $0["index"] as? Int } == [0, 1])
            let message = try #require(choices[0]["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(["stop", "length"].contains(choices[0]["finish_reason"] as? String))
            #expect((choices[0]["kv"] as? [String: Any])?["compression_ratio"] is Double)
            let usage = try #require(json["usage"] as? [String: Int])
            #expect(usage["total_tokens"] == usage["prompt_tokens"]! + usage["completion_tokens"]!)
            #expect(usage["completion_tokens"]! <= 10)

            let (textStatus, text) = try await server.post("v1/completions", [
                "model": TestServer.modelID, "prompt": "Once upon", "max_tokens": 3, "temperature": 0])
            #expect(textStatus == 200)
            #expect(text["object"] as? String == "text_completion")
            #expect(((text["choices"] as? [[String: Any]])?.first?["text"]) is String)
        }
    }

    /// A tokenizer that adds a BOS: a chat prompt holds only the one its template writes, a text
    /// completion's prompt gets one.
    @Test func promptsCarryOneBOS() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("server-bos-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: TestServer.fixture, to: directory)
        defer { try? FileManager.default.removeItem(at: directory) }
        let configURL = directory.appendingPathComponent("tokenizer_config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: configURL)) as? [String: Any])
        config["add_bos_token"] = true
        try JSONSerialization.data(withJSONObject: config).write(to: configURL)
        let loaded = try LoadedModel(path: directory.path, threads: 1)
        let rendered = try loaded.chatTemplate().render(messages: [ChatMessage(role: .user, content: "Hi")], addGenerationPrompt: true)
        let chatTokens = loaded.tokenizer.encode(rendered, addSpecialTokens: false)
        try #require(chatTokens.first == loaded.tokenizer.bosTokenId)
        let textTokens = loaded.tokenizer.encode("Once upon")
        try #require(textTokens.first == loaded.tokenizer.bosTokenId)

        try await TestServer.with(model: directory.path) { server in
            let promptTokens = { (json: [String: Any]) in (json["usage"] as? [String: Int])?["prompt_tokens"] }
            let answer = try await server.post("v1/chat/completions", chat)
            #expect(answer.status == 200)
            #expect(promptTokens(answer.json) == chatTokens.count)
            let text = try await server.post("v1/completions", ["model": TestServer.modelID, "prompt": "Once upon", "max_tokens": 2])
            #expect(text.status == 200)
            #expect(promptTokens(text.json) == textTokens.count)
        }
    }

    @Test func sameSeedSameText() async throws {
        try await TestServer.with { server in
            let request = chat.merging(["seed": 42, "temperature": 1.5, "max_tokens": 8]) { $1 }
            let first = try await server.post("v1/chat/completions", request).json
            let second = try await server.post("v1/chat/completions", request).json
            let text = { (json: [String: Any]) in
                ((json["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
            }
            #expect(text(first) != nil && text(first) == text(second))
        }
    }

    @Test func streamsChunksUsageAndDone() async throws {
        try await TestServer.with { server in
            let body = chat.merging(["stream": true, "n": 2, "stream_options": ["include_usage": true]]) { $1 }
            let (status, data) = try await server.call("POST", "v1/chat/completions",
                                                       body: try JSONSerialization.data(withJSONObject: body))
            #expect(status == 200)
            let events = String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").filter { !$0.isEmpty }
            #expect(events.allSatisfy { $0.hasPrefix("data: ") })
            #expect(events.last == "data: [DONE]")
            let chunks = try events.dropLast().map {
                try #require(JSONSerialization.jsonObject(with: Data($0.dropFirst(6).utf8)) as? [String: Any])
            }
            #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
            let choices = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first }
            let finishes = choices.filter { $0["finish_reason"] is String }
            #expect(Set(finishes.compactMap { $0["index"] as? Int }) == [0, 1])
            let usage = try #require(chunks.last?["usage"] as? [String: Int])
            #expect(usage["completion_tokens"]! >= 1)
        }
    }

    @Test func refusesClientMistakesWithOpenAIErrors() async throws {
        try await TestServer.with { server in
            let malformed = try await server.call("POST", "v1/chat/completions", body: Data("{\"model\": ".utf8))
            #expect(malformed.status == 400)
            let unknownModel = try await server.post("v1/chat/completions", chat.merging(["model": "gpt-4o"]) { $1 })
            #expect(unknownModel.status == 404)
            #expect((unknownModel.json["error"] as? [String: Any])?["code"] as? String == "model_not_found")
            let long = String(repeating: "word ", count: 400)
            let tooLong = try await server.post("v1/completions", ["model": TestServer.modelID, "prompt": long])
            #expect(tooLong.status == 400)
            #expect((tooLong.json["error"] as? [String: Any])?["code"] as? String == "context_length_exceeded")
            #expect((tooLong.json["error"] as? [String: Any])?["param"] as? String == "prompt")
            let tooLongChat = try await server.post("v1/chat/completions", chat.merging(["messages": [["role": "user", "content": long]]]) { $1 })
            #expect(tooLongChat.status == 400)
            #expect((tooLongChat.json["error"] as? [String: Any])?["param"] as? String == "messages")
            let badN = try await server.post("v1/chat/completions", chat.merging(["n": 0]) { $1 })
            #expect(badN.status == 400 && (badN.json["error"] as? [String: Any])?["param"] as? String == "n")
            let huge = try await server.call("POST", "v1/completions", body: Data(count: 5 << 20))
            #expect(huge.status == 413)
            let route = try await server.call("GET", "v1/engines")
            #expect(route.status == 404)
            #expect((try JSONSerialization.jsonObject(with: route.body) as? [String: Any])?["error"] != nil)
            // Still serving.
            #expect(try await server.post("v1/chat/completions", chat).status == 200)
        }
    }

    @Test func listsTheModelAndReportsHealthAndMetrics() async throws {
        try await TestServer.with(kvBudgetBytes: 1 << 22) { server in
            let models = try await server.call("GET", "v1/models")
            let list = try #require(try JSONSerialization.jsonObject(with: models.body) as? [String: Any])
            #expect((list["data"] as? [[String: Any]])?.first?["id"] as? String == TestServer.modelID)
            #expect(try await server.call("GET", "v1/models/\(TestServer.modelID)").status == 200)
            #expect(try await server.call("GET", "v1/models/other").status == 404)
            let health = try await server.call("GET", "health")
            #expect(String(decoding: health.body, as: UTF8.self) == #"{"status":"ok"}"#)
            _ = try await server.post("v1/chat/completions", chat)
            let metrics = String(decoding: try await server.call("GET", "metrics").body, as: UTF8.self)
            #expect(metrics.contains("dms_sequences_total{outcome=\"finished\"} 1\n"))
            #expect(metrics.contains("dms_kv_budget_bytes 4194304\n"))
            // requests by route and status; an unknown model id counts under its route's pattern
            #expect(metrics.contains("dms_http_requests_total{route=\"/v1/models/{id}\",status=\"404\"} 1\n"))
            #expect(metrics.contains("dms_http_requests_total{route=\"/v1/models/{id}\",status=\"200\"} 1\n"))
            #expect(metrics.contains("dms_http_requests_total{route=\"/health\",status=\"200\"} 1\n"))
            #expect(metrics.contains("dms_http_requests_total{route=\"/v1/chat/completions\",status=\"200\"} 1\n"))
            _ = try await server.call("GET", "v1/engines")
            let later = String(decoding: try await server.call("GET", "metrics").body, as: UTF8.self)
            #expect(later.contains("dms_http_requests_total{route=\"other\",status=\"404\"} 1\n"))
            #expect(later.contains("dms_http_requests_total{route=\"/metrics\",status=\"200\"} 1\n"))
        }
    }

    @Test func clientsThatHangUpCancelTheirSequences() async throws {
        try await TestServer.with { server in
            // 16 long choices run for a while, so the hang-up comes first.
            let body = chat.merging(["stream": true, "n": 16, "max_tokens": 240]) { $1 }
            try server.hangUpAfterFirstBytes("POST", "v1/chat/completions",
                                             body: try JSONSerialization.data(withJSONObject: body))
            func sample(_ metrics: String, _ name: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(name + " ") }
                    .flatMap { Double($0.split(separator: " ").last ?? "") }
            }
            var metrics = ""
            for _ in 0..<250 {
                try await Task.sleep(for: .milliseconds(20))
                metrics = String(decoding: try await server.call("GET", "metrics").body, as: UTF8.self)
                if sample(metrics, "dms_sequences_active") == 0 && sample(metrics, "dms_sequences_queued") == 0 { break }
            }
            // every choice ended, at least one by the hang-up, and every page went back to the pool
            let cancelled = sample(metrics, "dms_sequences_total{outcome=\"cancelled\"}") ?? 0
            let finished = sample(metrics, "dms_sequences_total{outcome=\"finished\"}") ?? 0
            #expect(cancelled >= 1)
            #expect(cancelled + finished == 16)
            #expect(sample(metrics, "dms_sequences_active") == 0)
            #expect(sample(metrics, "dms_kv_bytes_in_use") == 0)
            #expect(try await server.post("v1/chat/completions", chat).status == 200)
        }
    }
}
