import DMSKit
import Testing
@testable import DMSServer

struct PrometheusTests {
    @Test func rendersEveryMetricWithHelpAndType() {
        var metrics = SchedulerMetrics()
        metrics.submitted = 7
        metrics.cancelled = 2
        metrics.kvBytesInUse = 1 << 20
        metrics.kvBudgetBytes = 1 << 30
        metrics.compressionRatio = 2.5
        let text = metrics.prometheusText
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.contains("dms_sequences_total{outcome=\"submitted\"} 7"))
        #expect(lines.contains("dms_sequences_total{outcome=\"cancelled\"} 2"))
        #expect(lines.contains("dms_kv_bytes_in_use 1048576"))
        #expect(lines.contains("dms_kv_budget_bytes 1073741824"))
        #expect(lines.contains("dms_kv_compression_ratio 2.5"))
        #expect(lines.contains("# TYPE dms_generated_tokens_total counter"))
        #expect(lines.contains("# TYPE dms_sequences_active gauge"))
        // Every sample's metric has HELP and TYPE lines before it.
        for sample in lines where !sample.hasPrefix("#") {
            let name = String(sample.prefix { $0 != "{" && $0 != " " })
            #expect(text.contains("# HELP \(name) ") && text.contains("# TYPE \(name) "), "\(name)")
        }
    }

    @Test func escapesLabelsAndSpellsSpecialNumbers() {
        var page = PrometheusExposition()
        page.add("x", .gauge, help: "h", samples: [(["b": "say \"hi\"\n", "a": "1"], .infinity), ([:], .nan), ([:], 0.25)])
        #expect(page.text == "# HELP x h\n# TYPE x gauge\nx{a=\"1\",b=\"say \\\"hi\\\"\\n\"} +Inf\nx NaN\nx 0.25\n")
    }
}
