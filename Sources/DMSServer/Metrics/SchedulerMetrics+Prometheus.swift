import DMSKit

extension SchedulerMetrics {
    /// The content type of ``prometheusText``.
    static let prometheusContentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The metrics in Prometheus' text format, every name prefixed `dms_`.
    var prometheusText: String {
        var page = PrometheusExposition()
        page.add("dms_sequences_total", .counter,
                 help: "Sequences (one per choice of a request) by outcome: submitted, then finished, cancelled or failed.",
                 samples: [(["outcome": "submitted"], Double(submitted)), (["outcome": "finished"], Double(finished)),
                           (["outcome": "cancelled"], Double(cancelled)), (["outcome": "failed"], Double(failed))])
        page.add("dms_prompt_tokens_total", .counter, help: "Prompt tokens processed, recomputation included.",
                 value: Double(promptTokens))
        page.add("dms_shared_prompt_tokens_total", .counter,
                 help: "Prompt tokens that n > 1 choices copied from the first choice's cache instead of reading.",
                 value: Double(sharedPromptTokens))
        page.add("dms_generated_tokens_total", .counter, help: "Tokens generated.", value: Double(generatedTokens))
        page.add("dms_generated_tokens_per_second", .gauge, help: "Tokens generated per second over the last few seconds.",
                 value: recentTokensPerSecond)
        page.add("dms_steps_total", .counter, help: "Forward steps run.", value: Double(steps))
        page.add("dms_batched_tokens_total", .counter, help: "Tokens carried by the forward steps.",
                 value: Double(batchedTokens))
        page.add("dms_sequences_active", .gauge, help: "Sequences running now.", value: Double(active))
        page.add("dms_sequences_queued", .gauge, help: "Sequences waiting to run.", value: Double(queued))
        page.add("dms_preemptions_total", .counter, help: "Running sequences preempted to free KV pages.",
                 value: Double(preemptions))
        page.add("dms_kv_bytes_in_use", .gauge, help: "KV page memory in use.", value: Double(kvBytesInUse))
        page.add("dms_kv_peak_bytes", .gauge, help: "Peak KV page memory in use.", value: Double(kvPeakBytes))
        page.add("dms_kv_budget_bytes", .gauge, help: "The KV memory budget.", value: Double(kvBudgetBytes))
        page.add("dms_kv_compression_ratio", .gauge,
                 help: "Tokens seen per resident KV entry over the running sequences (1 with none running).",
                 value: compressionRatio)
        page.add("dms_uptime_seconds", .gauge, help: "Seconds since the scheduler started.", value: uptimeSeconds)
        return page.text
    }
}
