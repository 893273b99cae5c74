import Foundation
import Testing

/// `dms eval` as a user runs it: the built binary on a tiny fixture.
@Suite("dms eval from the command line", .serialized)
struct EvalCLITests {
    /// A temporary text file with `contents`.
    static func textFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dms-eval-\(UUID().uuidString).txt")
        try contents.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    static let model = TestResources.fixture("dms/tiny-qwen3-dms")

    /// English prose (Tests/Fixtures/prose.txt), long enough for a couple of hundred tokens of the tiny tokenizers.
    static let prose = (try? String(contentsOfFile: TestResources.fixture("prose.txt"), encoding: .utf8)) ?? ""

    @Test func jsonReportHasEveryField() throws {
        let text = try Self.textFile(Self.prose)
        defer { try? FileManager.default.removeItem(at: text) }
        let outcome = try CLITests.run(["eval", "--model", Self.model, "--text", text.path, "--length", "120",
                                    "--continuations", "2", "--continuation-length", "8", "--json", "--threads", "2"])
        #expect(outcome.status == 0, "\(outcome.error)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [String: Any])
        #expect(object["model"] as? String == Self.model)
        #expect(object["text"] as? String == text.path)
        #expect(object["adapter"] is NSNull)
        #expect(object["tokens"] as? Int == 120)
        #expect(object["task"] as? String == "kl")
        #expect(object["cut_points"] as? [Int] == [90, 120])
        let policies = try #require(object["policies"] as? [[String: Any]])
        #expect(policies.map { $0["policy"] as? String } == ["full", "dms", "streaming", "tova", "h2o"])
        for policy in policies {
            for key in ["compression_ratio", "kl_nats_per_token", "mean_nll", "perplexity", "perplexity_ratio",
                        "top1_agreement", "continuation_agreement", "continuation_initial_run", "seconds", "tokens_per_s"] {
                #expect(policy[key] is Double, "\(key)")
            }
            for key in ["tokens", "scored_positions", "token_reads", "peak_tokens", "peak_bytes", "continuations"] {
                #expect(policy[key] is Int, "\(key)")
            }
            #expect(policy.keys.contains("requested_ratio"))
        }
    }

    @Test func tableAndPerplexityTask() throws {
        let text = try Self.textFile(Self.prose)
        defer { try? FileManager.default.removeItem(at: text) }
        let outcome = try CLITests.run(["eval", "--model", Self.model, "--text", text.path, "--length", "100",
                                    "--task", "perplexity", "--policies", "dms,quest", "--ratios", "2,4"])
        #expect(outcome.status == 0, "\(outcome.error)")
        let lines = outcome.output.split(separator: "\n")
        #expect(lines.count == 7)  // two heading lines, header, rule, dms, quest at 2 and 4
        #expect(lines.last?.hasPrefix("quest") == true)
        #expect(outcome.output.contains("task perplexity"))
    }

    @Test func passkeyWritesResultsForEveryLengthPolicyAndRatio() throws {
        let text = try Self.textFile(Self.prose)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dms-eval-out-\(UUID().uuidString)")
        defer { for url in [text, out] { try? FileManager.default.removeItem(at: url) } }
        let outcome = try CLITests.run(["eval", "--model", Self.model, "--text", text.path, "--task", "passkey",
                                        "--lengths", "200,240", "--samples", "2", "--ratios", "2,4", "--policies", "full,dms,h2o",
                                        "--out", out.path, "--json", "--threads", "2"])
        #expect(outcome.status == 0, "\(outcome.error)")
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(outcome.output.utf8)) as? [[String: Any]])
        #expect(printed.count == 8)  // per length: full, dms, h2o at 2 and 4
        let lines = try String(contentsOf: out.appendingPathComponent("results.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 8)
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["task"] as? String == "passkey" && object["metric"] as? String == "accuracy")
            for key in ["compression_ratio", "value", "token_reads", "decode_latency_p50_ms", "decode_latency_p99_ms"] {
                #expect(object[key] is Double, "\(key)")
            }
        }
        let csv = try String(contentsOf: out.appendingPathComponent("results.csv"), encoding: .utf8).split(separator: "\n")
        #expect(csv.count == 9 && csv[0].hasPrefix("task,length,policy,setting,requested_ratio"))
        #expect(csv.filter { $0.hasPrefix("passkey,240,h2o,ratio 4,4.0,") }.count == 1)
    }

    @Test func badInputFailsCleanly() throws {
        let long = try Self.textFile(Self.prose)
        let empty = try Self.textFile("")
        let short = try Self.textFile("Hello there.")
        defer { for url in [long, empty, short] { try? FileManager.default.removeItem(at: url) } }
        let base = ["eval", "--model", Self.model, "--length", "100"]
        let cases: [([String], String)] = [
            (base + ["--text", "/nonexistent/text.txt"], "cannot read"),
            (base + ["--text", empty.path], "empty"),
            (base + ["--text", short.path], "fewer than the 100"),
            (["eval", "--model", Self.model, "--length", "250", "--text", long.path], "context length 256"),
            (base + ["--text", long.path, "--policies", "full,lru"], "unknown policy 'lru'"),
            (base + ["--text", long.path, "--ratios", "1"], "> 1"),
            (base + ["--text", long.path, "--ratios", "0.5,2"], "> 1"),
            (base + ["--text", long.path, "--ratios", "two"], "--ratios"),
            (base + ["--text", long.path, "--policies", "full,h2o"], "no dms"),
            (base + ["--text", long.path, "--task", "bleu"], "task"),
            (["eval", "--model", TestResources.fixture("tiny-llama"), "--length", "100", "--text", long.path], "decisions"),
            (base + ["--text", long.path, "--task", "passkey", "--ratios", "match"], "explicit --ratios"),
            (["eval", "--model", Self.model, "--text", long.path, "--task", "passkey", "--lengths", "200,9000"], "context length 256"),
            (["eval", "--model", Self.model, "--text", long.path, "--task", "passkey", "--lengths", "200", "--samples", "0"], "--samples"),
            (["eval", "--model", Self.model, "--text", long.path, "--task", "passkey", "--lengths", "200", "--adapters", "/nonexistent.safetensors"], "cannot read the adapter"),
            (["eval", "--model", TestResources.fixture("tiny-llama"), "--text", long.path, "--task", "passkey", "--lengths", "200"], "no DMS decisions"),
            (base + ["--text", long.path, "--adapters", "a.safetensors"], "--adapters applies"),
            (base + ["--text", long.path, "--out", "/proc/no/such/dir"], "cannot write results"),
        ]
        for (arguments, fragment) in cases {
            let outcome = try CLITests.run(arguments)
            #expect(!outcome.signalled, "crashed: \(outcome.error)")
            #expect(outcome.status == 1 || outcome.status == 64, "status \(outcome.status) for \(arguments)")
            #expect(outcome.error.localizedCaseInsensitiveContains(fragment), "stderr for \(arguments): \(outcome.error)")
            #expect(outcome.output.isEmpty, "stdout for \(arguments): \(outcome.output)")
        }
    }
}
