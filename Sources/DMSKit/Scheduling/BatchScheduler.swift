import Foundation

/// Continuous batching of many sequences in one KV memory budget.
///
/// One thread steps every running sequence together: each step is one batched forward pass
/// (``TransformerModel/forward(_:)``) in which running sequences decode one token each and waiting
/// prompts are read in chunks, so the weights are read once per step for the whole batch, and new
/// sequences join between steps. Every cache takes its pages from one ``KVPagePool`` limited to
/// ``Configuration/kvBudgetBytes``. A step runs only when the caches' page bounds
/// (``KVCache/pagesNeeded(appending:)``) fit in what is left; otherwise the youngest sequence is
/// preempted (its pages freed, its tokens recomputed later), so the budget is never exceeded and
/// nothing fails for lack of memory while an older sequence can make progress.
///
/// The scheduler owns the model while it runs: nothing else may call the model's forward pass.
/// Its thread runs until ``shutdown()``, which every owner must call.
public final class BatchScheduler: @unchecked Sendable {
    public let model: LoadedModel
    public let configuration: Configuration
    /// The pages of every sequence.
    public let pool: KVPagePool
    private let pageLimit: Int

    private let condition = NSCondition()
    // Shared with submitting threads, under `condition`.
    private var incoming: [SequenceState] = []
    private var cancelledIDs: Set<Int> = []
    private var stopping = false
    private var nextID = 0
    private var published = SchedulerMetrics()
    private let stopped = DispatchSemaphore(value: 0)

    // The scheduling thread's own state.
    private var waiting: [SequenceState] = []
    private var running: [SequenceState] = []
    private var counters = SchedulerMetrics()
    private var throughput = ThroughputWindow(seconds: 5)
    /// Set by a preemption, cleared when a sequence ends: admitting again before pages are
    /// released would only grow the batch back into the same shortage (and preempt again).
    private var admissionHeld = false
    private let started = DispatchTime.now()

    /// Starts the scheduling thread. Throws ``SchedulerError/invalidRequest(_:)`` when the budget
    /// holds no page or the default cache options cannot run on this model.
    public init(model: LoadedModel, configuration: Configuration) throws {
        self.model = model
        self.configuration = configuration
        let options = configuration.cacheOptions
        let pageBytes = 2 * options.pageSize * model.configuration.headDim * options.precision.byteCount
        pageLimit = configuration.kvBudgetBytes / pageBytes
        guard pageLimit >= 1 else {
            throw SchedulerError.invalidRequest("the KV budget of \(configuration.kvBudgetBytes) bytes holds no \(pageBytes)-byte page")
        }
        guard configuration.maxSequences >= 1, configuration.prefillChunk >= 1 else {
            throw SchedulerError.invalidRequest("the scheduler needs at least one sequence and one prompt token per step")
        }
        pool = KVPagePool(pageSize: options.pageSize, headDim: model.configuration.headDim, precision: options.precision,
                          pageLimit: pageLimit)
        do { _ = try model.makeCache(options, pool: pool) } catch {
            throw SchedulerError.invalidRequest("the default KV cache cannot run: \(error)")
        }
        counters.kvBudgetBytes = pageLimit * pageBytes
        published = counters
        let thread = Thread { [unowned self] in self.run() }
        thread.name = "dms-scheduler"
        thread.stackSize = 8 << 20
        thread.start()
    }

    /// Queues a sequence. Throws a ``SchedulerError`` for a request that can never run: an empty
    /// or over-long prompt, `maxTokens` < 1, a cache that cannot run on this model, a full-cache
    /// prompt larger than the whole budget, or a scheduler shutting down.
    public func submit(_ request: SequenceRequest) throws -> ScheduledSequence {
        try submit(choices: [request])[0]
    }

    /// Queues sequences that share one prompt and cache options (OpenAI's `n` choices). The
    /// first reads the prompt; the others then start from a copy of its cache and its last
    /// logits, and sample on their own. When the budget or the batch cannot take a copy at that
    /// moment, a choice reads the prompt itself later. Throws as ``submit(_:)``; nothing is queued
    /// then.
    public func submit(choices requests: [SequenceRequest]) throws -> [ScheduledSequence] {
        guard let first = requests.first else { throw SchedulerError.invalidRequest("no sequences to run") }
        guard requests.allSatisfy({ $0.prompt == first.prompt && $0.cacheOptions == first.cacheOptions }) else {
            throw SchedulerError.invalidRequest("choices must share the prompt and the KV cache options")
        }
        let caches = try requests.map(makeCache)
        let streams = requests.map { _ in AsyncThrowingStream<SequenceEvent, Error>.makeStream() }
        condition.lock()
        guard !stopping else {
            condition.unlock()
            throw SchedulerError.shuttingDown
        }
        var leader: SequenceState?
        var ids: [Int] = []
        for (i, request) in requests.enumerated() {
            let state = SequenceState(id: nextID, request: request, cache: caches[i], tokenizer: model.tokenizer,
                                      continuation: streams[i].continuation)
            state.promptLeader = leader
            leader = leader ?? state
            ids.append(nextID)
            nextID += 1
            incoming.append(state)
        }
        published.submitted += requests.count
        condition.signal()
        condition.unlock()
        // Outside the lock: a stream already ended would run the handler, and `cancel` locks.
        return zip(ids, streams).map { id, stream in
            stream.continuation.onTermination = { [weak self] termination in
                if case .cancelled = termination { self?.cancel(id) }
            }
            return ScheduledSequence(id: id, events: stream.stream) { [weak self] in self?.cancel(id) }
        }
    }

    /// The request's cache (no pages yet), after checking that the request can ever run.
    private func makeCache(_ request: SequenceRequest) throws -> KVCache {
        let contextLength = model.configuration.contextLength
        guard !request.prompt.isEmpty else { throw SchedulerError.invalidRequest("the prompt is empty") }
        guard request.maxTokens >= 1 else { throw SchedulerError.invalidRequest("maxTokens must be at least 1") }
        guard request.prompt.count < contextLength else {
            throw SchedulerError.promptTooLong(tokens: request.prompt.count, contextLength: contextLength)
        }
        if let bad = request.prompt.first(where: { $0 < 0 || $0 >= model.configuration.vocabularySize }) {
            throw SchedulerError.invalidRequest("token id \(bad) is outside the vocabulary")
        }
        var options = request.cacheOptions ?? configuration.cacheOptions
        options.pageSize = pool.pageSize
        options.precision = pool.precision
        let cache: KVCache
        do { cache = try model.makeCache(options, pool: pool) } catch {
            throw SchedulerError.invalidRequest("the KV cache cannot run: \(error)")
        }
        // Without eviction the prompt alone must fit; evicting policies are judged as they run.
        if !cache.freesSlots {
            let pages = cache.pagesNeeded(appending: request.prompt.count + 1)
            guard pages <= pageLimit else { throw SchedulerError.exceedsKVBudget(pagesNeeded: pages, pageLimit: pageLimit) }
        }
        return cache
    }

    /// The counters and gauges as of the last step.
    public func metrics() -> SchedulerMetrics {
        condition.lock()
        defer { condition.unlock() }
        var snapshot = published
        snapshot.uptimeSeconds = Self.seconds(since: started)
        return snapshot
    }

    /// Fails every queued and running sequence with ``SchedulerError/shuttingDown`` and stops
    /// the thread. Idempotent.
    public func shutdown() {
        condition.lock()
        let first = !stopping
        stopping = true
        condition.signal()
        condition.unlock()
        if first { stopped.wait() }
    }

    private func cancel(_ id: Int) {
        condition.lock()
        cancelledIDs.insert(id)
        condition.signal()
        condition.unlock()
    }

    // MARK: The scheduling thread

    private func run() {
        while true {
            condition.lock()
            while !stopping && incoming.isEmpty && cancelledIDs.isEmpty && waiting.isEmpty && running.isEmpty {
                condition.wait()
            }
            let arrivals = incoming
            incoming.removeAll()
            let cancels = cancelledIDs
            cancelledIDs.removeAll()
            let stop = stopping
            condition.unlock()

            waiting.append(contentsOf: arrivals)
            if stop {
                for sequence in waiting + running { end(sequence, throwing: SchedulerError.shuttingDown) }
                waiting.removeAll()
                running.removeAll()
                publish()
                stopped.signal()
                return
            }
            if !cancels.isEmpty { cancel(cancels) }
            admit()
            step()
            publish()
        }
    }

    private func cancel(_ ids: Set<Int>) {
        let cancelled = (waiting + running).filter { ids.contains($0.id) }
        guard !cancelled.isEmpty else { return }
        for sequence in cancelled {
            sequence.cache.reset()
            sequence.continuation.finish()
            counters.cancelled += 1
        }
        waiting.removeAll { ids.contains($0.id) }
        running.removeAll { ids.contains($0.id) }
        admissionHeld = false
    }

    /// Prompt tokens whose page bound a waiting sequence must fit to be admitted: small, since
    /// evicting policies keep far fewer than the bound, and a step shrinks chunks that do not fit.
    static let admissionChunk = 16

    /// Moves waiting sequences (oldest first) into the batch while their first tokens fit next to
    /// what those running still have pending. A cache that never evicts must fit its whole
    /// prompt, since that bound is exact for it.
    private func admit() {
        while running.count < configuration.maxSequences, let next = waiting.first(where: { !awaitsLeader($0) }) {
            if !running.isEmpty {
                guard !admissionHeld else { return }
                let runningDemand = running.reduce(0) { $0 + admissionDemand($1) }
                guard pool.pagesInUse + runningDemand + admissionDemand(next) <= pageLimit else { return }
            }
            waiting.removeAll { $0 === next }
            running.append(next)
        }
    }

    /// Pages a sequence needs for what it has pending: one decode step, or its prompt (all of it
    /// for a cache that keeps every token; the first ``admissionChunk`` tokens for an evicting
    /// one). Running sequences count theirs too, so prompts admitted together but not read yet
    /// are not taken for free room.
    private func admissionDemand(_ sequence: SequenceState) -> Int {
        let tokens = sequence.pendingIsGenerated ? 1
            : sequence.cache.freesSlots ? min(sequence.pending.count, Self.admissionChunk) : sequence.pending.count
        return sequence.cache.pagesNeeded(appending: tokens)
    }

    /// Whether a choice still waits for its leader to read the shared prompt. A leader that
    /// ended first releases it: it reads the prompt itself.
    private func awaitsLeader(_ sequence: SequenceState) -> Bool {
        guard let leader = sequence.promptLeader else { return false }
        if running.contains(where: { $0 === leader }) || waiting.contains(where: { $0 === leader }) { return true }
        sequence.promptLeader = nil
        return false
    }

    /// Starts the choices waiting for `leader`, which has just read the shared prompt: each takes
    /// a copy of its cache and samples from the same logits. A choice that the budget or the
    /// batch cannot take now reads the prompt itself later.
    private func startChoices(of leader: SequenceState, logits: [Float]) {
        for choice in waiting where choice.promptLeader === leader {
            choice.promptLeader = nil
            guard running.count < configuration.maxSequences else { continue }
            do { try choice.cache.copy(from: leader.cache) } catch { continue }
            choice.history = leader.history
            choice.pending = []
            waiting.removeAll { $0 === choice }
            running.append(choice)
            counters.sharedPromptTokens += leader.history.count
            sample(choice, logits: logits)
        }
    }

    /// One batched forward pass over every running sequence that has tokens to feed, then sampling.
    private func step() {
        guard let batch = fittingBatch(), !batch.isEmpty else { return }
        let segments = batch.map { sequence, count in
            ForwardSegment(tokens: Array(sequence.pending.prefix(count)), cache: sequence.cache,
                           phase: sequence.pendingIsGenerated ? .decode : .prefill,
                           logits: count == sequence.pending.count && sequence.replay.isEmpty ? .last : .none)
        }
        let logits: [[Float]]
        do {
            logits = try model.model.forward(segments)
        } catch {
            for (sequence, _) in batch { fail(sequence, SchedulerError.engineFailure("\(error)")) }
            return
        }
        counters.steps += 1
        counters.batchedTokens += segments.reduce(0) { $0 + $1.tokens.count }
        var sampling: [(sequence: SequenceState, logits: [Float])] = []
        for ((sequence, count), rows) in zip(batch, logits) {
            if !sequence.pendingIsGenerated { counters.promptTokens += count }
            sequence.history.append(contentsOf: sequence.pending.prefix(count))
            sequence.pending.removeFirst(count)
            guard sequence.pending.isEmpty else { continue }
            if sequence.replay.isEmpty {
                if sequence.generated.isEmpty { startChoices(of: sequence, logits: rows) }
                sampling.append((sequence, rows))
            } else {
                sequence.pending = [sequence.replay.removeFirst()]
                sequence.pendingIsGenerated = true
            }
        }
        // Each sequence draws from its own sampler, so the draws run side by side; what they
        // lead to (events, stops, finishing) is applied in order afterwards.
        var tokens = [Int](repeating: 0, count: sampling.count)
        tokens.withUnsafeMutableBufferPointer { drawn in
            parallelFor(sampling.count > 1 ? model.model.workers : nil, sampling.count) { i in
                let (sequence, rows) = sampling[i]
                drawn[i] = sequence.sampler.sample(rows, context: sequence.history)
            }
        }
        for ((sequence, _), token) in zip(sampling, tokens) { accept(token, for: sequence) }
    }

    /// Each running sequence's share of the next step, oldest first: one token for a decoding
    /// sequence, prompt tokens while the step's prefill allowance lasts.
    private func plan() -> [(sequence: SequenceState, count: Int)] {
        var allowance = configuration.prefillChunk
        var batch: [(sequence: SequenceState, count: Int)] = []
        for sequence in running {
            let count = sequence.nextSegmentLength(prefillAllowance: allowance)
            guard count > 0 else { continue }
            if !sequence.pendingIsGenerated { allowance -= count }
            batch.append((sequence, count))
        }
        return batch
    }

    /// The planned batch cut down until its page bound fits in the pool: the youngest prompt
    /// chunks shrink first (halving, then waiting a step); when decode steps alone do not fit, the
    /// youngest sequence is preempted. A sequence alone that cannot take one more token ends
    /// (nil). The budget is never exceeded, and the oldest sequence always makes progress.
    private func fittingBatch() -> [(sequence: SequenceState, count: Int)]? {
        var batch = plan()
        func demand() -> Int { batch.reduce(0) { $0 + $1.sequence.cache.pagesNeeded(appending: $1.count) } }
        let oldest = running.map(\.id).min()
        while pool.pagesInUse + demand() > pageLimit {
            let prompts = batch.indices.filter { !batch[$0].sequence.pendingIsGenerated }
            // A younger prompt may wait a step; the oldest sequence's chunk only shrinks, so
            // younger decode steps never hold it back.
            if let i = prompts.max(by: { batch[$0].sequence.id < batch[$1].sequence.id }),
               batch[i].count > 1 || batch[i].sequence.id != oldest {
                batch[i].count /= 2
                if batch[i].count == 0 { batch.remove(at: i) }
                if !batch.isEmpty { continue }
            }
            if running.count > 1, let youngest = running.max(by: { $0.id < $1.id }) {
                preempt(youngest)
                batch = plan()
            } else {
                if let only = running.first { endForBudget(only) }
                return nil
            }
        }
        return batch
    }

    private func sample(_ sequence: SequenceState, logits: [Float]) {
        accept(sequence.sampler.sample(logits, context: sequence.history), for: sequence)
    }

    /// Records `sequence`'s sampled `token`: streams it, and ends the sequence on a stop or at its
    /// length, or feeds it back.
    private func accept(_ token: Int, for sequence: SequenceState) {
        sequence.generated.append(token)
        counters.generatedTokens += 1
        throughput.record(tokens: 1, at: Self.seconds(since: started))
        if sequence.stopTokens.contains(token) {
            finish(sequence, .stop)
            return
        }
        let (text, stopped) = sequence.stops.append(sequence.detokenizer.append(token))
        sequence.continuation.yield(.token(GeneratedToken(id: token, text: text)))
        if stopped {
            finish(sequence, .stop)
        } else if sequence.generated.count >= sequence.request.maxTokens
                    || sequence.cache.tokensSeen + 1 > model.configuration.contextLength {
            finish(sequence, .length)
        } else {
            sequence.pending = [token]
            sequence.pendingIsGenerated = true
        }
    }

    private func preempt(_ sequence: SequenceState) {
        sequence.preempt()
        running.removeAll { $0 === sequence }
        // Back to the queue in arrival order, ahead of anything younger.
        let index = waiting.firstIndex { $0.id > sequence.id } ?? waiting.endIndex
        waiting.insert(sequence, at: index)
        counters.preemptions += 1
        admissionHeld = true
    }

    /// A sequence alone cannot take one more token: before its first token it fails; once it has
    /// streamed tokens it ends as if it reached its length.
    private func endForBudget(_ sequence: SequenceState) {
        if !sequence.generated.isEmpty {
            finish(sequence, .length)
        } else {
            fail(sequence, SchedulerError.exceedsKVBudget(pagesNeeded: pool.pagesInUse + sequence.cache.pagesNeeded(appending: 1),
                                                         pageLimit: pageLimit))
        }
    }

    private func finish(_ sequence: SequenceState, _ reason: FinishReason) {
        let tail = sequence.stops.finish(sequence.detokenizer.flush())
        if !tail.isEmpty { sequence.continuation.yield(.token(GeneratedToken(id: -1, text: tail))) }
        let summary = sequence.summary(reason)
        sequence.cache.reset()
        running.removeAll { $0 === sequence }
        counters.finished += 1
        admissionHeld = false
        // Published before the client hears of the end, so metrics it reads next count it.
        publish()
        sequence.continuation.yield(.finished(summary))
        sequence.continuation.finish()
    }

    private func fail(_ sequence: SequenceState, _ error: SchedulerError) {
        running.removeAll { $0 === sequence }
        waiting.removeAll { $0 === sequence }
        counters.failed += 1
        admissionHeld = false
        publish()
        end(sequence, throwing: error)
    }

    private func end(_ sequence: SequenceState, throwing error: Error) {
        sequence.cache.reset()
        sequence.continuation.finish(throwing: error)
    }

    private func publish() {
        counters.active = running.count
        counters.queued = waiting.count
        counters.decoding = running.filter(\.pendingIsGenerated).count
        counters.kvBytesInUse = pool.bytesInUse
        counters.kvPeakBytes = pool.peakBytes
        var seen = 0, resident = 0
        for sequence in running {
            let statistics = sequence.cache.statistics()
            seen += statistics.tokensSeen * statistics.perHeadLengths.joined().count
            resident += statistics.perHeadLengths.joined().reduce(0, +)
        }
        counters.compressionRatio = resident > 0 ? Double(seen) / Double(resident) : 1
        counters.recentTokensPerSecond = throughput.rate(at: Self.seconds(since: started))
        condition.lock()
        let submitted = published.submitted
        published = counters
        published.submitted = submitted
        condition.unlock()
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
