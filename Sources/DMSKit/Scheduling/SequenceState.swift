/// A sequence inside a ``BatchScheduler``: what it still has to feed, what it generated, and the
/// per-sequence sampling and text state that survives preemption.
final class SequenceState {
    let id: Int
    let request: SequenceRequest
    let continuation: AsyncThrowingStream<SequenceEvent, Error>.Continuation
    /// Created at submission (no pages until it runs); emptied when preempted or finished.
    let cache: KVCache
    let stopTokens: Set<Int>
    var sampler: Sampler
    var detokenizer: StreamingDetokenizer
    var stops: StopStringMatcher
    /// Tokens to feed before the next sample: the prompt, then each sampled token; after a
    /// preemption, the prompt and everything generated so far.
    var pending: [Int]
    /// Whether `pending` is a generated token (a decode step) rather than prompt.
    var pendingIsGenerated = false
    /// Generated tokens to feed again, one decode step each, after a preempted sequence's prompt
    /// (policies such as Quest attend differently in decode steps, so a replay must be one).
    var replay: [Int] = []
    /// Tokens in the cache, in order (the sampler's context for the repetition penalty).
    var history: [Int] = []
    var generated: [Int] = []
    var preemptions = 0
    /// For a choice sharing another's prompt: the sequence that reads it (until it has).
    var promptLeader: SequenceState?

    init(id: Int, request: SequenceRequest, cache: KVCache, tokenizer: Tokenizer,
         continuation: AsyncThrowingStream<SequenceEvent, Error>.Continuation) {
        self.id = id
        self.request = request
        self.cache = cache
        self.continuation = continuation
        stopTokens = request.stopTokens ?? tokenizer.eosTokenIds
        sampler = Sampler(request.sampling)
        detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        stops = StopStringMatcher(request.stopStrings)
        pending = request.prompt
    }

    /// Tokens the next step feeds, given how many prompt tokens the step may still take.
    func nextSegmentLength(prefillAllowance: Int) -> Int {
        pendingIsGenerated ? 1 : min(pending.count, prefillAllowance)
    }

    /// Frees the cache's pages; the sequence will feed its prompt again, then its generated tokens
    /// as decode steps, and go on sampling.
    func preempt() {
        cache.reset()
        history.removeAll()
        pending = request.prompt
        replay = generated
        pendingIsGenerated = false
        preemptions += 1
    }

    func summary(_ reason: FinishReason) -> SequenceSummary {
        SequenceSummary(finishReason: reason, promptTokens: request.prompt.count, completionTokens: generated.count,
                        preemptions: preemptions, kv: cache.statistics())
    }
}
