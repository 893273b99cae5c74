import Foundation
import Testing

/// The `--quick` evaluation profile on the real model, as CI runs it: `dms eval --task passkey
/// --quick --out DIR` then `dms report DIR`, with the shipped adapter.
@Suite("Quick evaluation on SmolLM2", .enabled(if: TestResources.smolLM2Available), .serialized)
struct QuickEvaluationSmokeTests {
    /// Real prose from a Debian package (base-files), or this repository's README elsewhere.
    static var haystack: String {
        let license = "/usr/share/common-licenses/GPL-3"
        return FileManager.default.fileExists(atPath: license)
            ? license : CLITests.packageRoot.appendingPathComponent("README.md").path
    }

    @Test func passkeyQuickProfileWritesSaneResultsAndAReport() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("dms-quick-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let adapter = ShippedAdapterTests.directory.appendingPathComponent("dms-lora-adapter.safetensors").path
        let eval = try CLITests.run(["eval", "--model", TestResources.smolLM2Path, "--adapter", adapter, "--text", Self.haystack,
                                     "--task", "passkey", "--quick", "--policies", "full,dms,streaming", "--out", out.path, "--json"])
        #expect(eval.status == 0, "\(eval.error)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(eval.output.utf8)) as? [[String: Any]])
        let byPolicy = Dictionary(uniqueKeysWithValues: records.compactMap { record in
            (record["policy"] as? String).map { ($0, record) }
        })
        let full = try #require(byPolicy["full"]), dms = try #require(byPolicy["dms"]), streaming = try #require(byPolicy["streaming"])
        // a random 5-digit guess is right 1 time in 90,000: the full cache must find most keys at 1K
        #expect(try #require(full["value"] as? Double) >= 0.5, "full-cache passkey accuracy \(full)")
        #expect(try #require(dms["compression_ratio"] as? Double) > 4)
        #expect(abs(try #require(streaming["compression_ratio"] as? Double) - 4) < 0.1)
        #expect(try #require(dms["token_reads"] as? Double) < (try #require(full["token_reads"] as? Double)) / 3)
        for record in records {
            #expect(record["length"] as? Int == 1024 && record["samples"] as? Int == 4)
            #expect((try #require(record["decode_latency_p50_ms"] as? Double)) > 0)
        }

        let report = try CLITests.run(["report", out.path])
        #expect(report.status == 0, "\(report.error)")
        for file in ["results.jsonl", "results.csv", "report.md", "passkey-1024-reads.svg", "passkey-1024-memory.svg"] {
            #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent(file).path), "\(file)")
        }
    }
}
