import Foundation

/// Runs submitted sequences on one model under a shared KV memory budget.
///
/// This implementation runs one sequence at a time on a worker thread, each in its own
/// ``GenerationSession``; continuous batching over a shared page pool replaces it behind the
/// same API.
public final class BatchScheduler: @unchecked Sendable {
    public let model: LoadedModel
    public let configuration: Configuration

    private let condition = NSCondition()
    private var queue: [Job] = []
    private var running: Job?
    private var nextID = 0
    private var stopping = false
    private var counters = SchedulerMetrics()
    private var recentTokenTimes: [Double] = []
    private let started = DispatchTime.now()
    private let pageLimit: Int
    private var thread: Thread?

    /// A submitted sequence and its stream's continuation; touched under `condition`.
    private final class Job {
        let id: Int
        let request: SequenceRequest
        let continuation: AsyncThrowingStream<SequenceEvent, Error>.Continuation
        /// Finished, failed or cancelled: nothing more is sent or counted.
        var ended = false

        init(id: Int, request: SequenceRequest, continuation: AsyncThrowingStream<SequenceEvent, Error>.Continuation) {
            self.id = id
            self.request = request
            self.continuation = continuation
        }
    }

    /// Starts the scheduling thread. Throws ``SchedulerError/invalidRequest(_:)`` when the budget
    /// holds no page.
    public init(model: LoadedModel, configuration: Configuration) throws {
        self.model = model
        self.configuration = configuration
        let options = configuration.cacheOptions
        let headDim = KVCacheGeometry(model.configuration).headDim
        pageLimit = configuration.kvBudgetBytes / (2 * options.pageSize * headDim * options.precision.byteCount)
        guard pageLimit > 0 else { throw SchedulerError.invalidRequest("the KV budget holds no page") }
        counters.kvBudgetBytes = configuration.kvBudgetBytes
        let thread = Thread { [unowned self] in self.work() }
        thread.name = "dms-scheduler"
        self.thread = thread
        thread.start()
    }

    /// Queues a sequence; throws a ``SchedulerError`` for requests that can never run.
    public func submit(_ request: SequenceRequest) throws -> ScheduledSequence {
        try validate(request)
        let (events, continuation) = AsyncThrowingStream<SequenceEvent, Error>.makeStream()
        condition.lock()
        defer { condition.unlock() }
        guard !stopping else { throw SchedulerError.shuttingDown }
        let job = Job(id: nextID, request: request, continuation: continuation)
        nextID += 1
        queue.append(job)
        counters.submitted += 1
        condition.signal()
        let sequence = ScheduledSequence(id: job.id, events: events) { [weak self, job] in self?.cancel(job) }
        continuation.onTermination = { [weak self, job] _ in self?.cancel(job) }
        return sequence
    }

    public func metrics() -> SchedulerMetrics {
        condition.lock()
        defer { condition.unlock() }
        var snapshot = counters
        snapshot.active = running == nil ? 0 : 1
        snapshot.queued = queue.count
        let now = seconds()
        snapshot.uptimeSeconds = now
        snapshot.recentTokensPerSecond = Double(recentTokenTimes.filter { $0 > now - 5 }.count) / 5
        return snapshot
    }

    /// Fails queued and running sequences with ``SchedulerError/shuttingDown`` and stops the thread.
    public func shutdown() {
        condition.lock()
        stopping = true
        let failed = queue + (running.map { [$0] } ?? [])
        queue.removeAll()
        for job in failed where !job.ended {
            job.ended = true
            counters.failed += 1
        }
        condition.broadcast()
        condition.unlock()
        for job in failed { job.continuation.finish(throwing: SchedulerError.shuttingDown) }
    }

    private func validate(_ request: SequenceRequest) throws {
        guard !request.prompt.isEmpty else { throw SchedulerError.invalidRequest("the prompt is empty") }
        guard request.maxTokens >= 1 else { throw SchedulerError.invalidRequest("maxTokens must be ≥ 1") }
        let context = model.configuration.contextLength
        guard request.prompt.count + 1 <= context else {
            throw SchedulerError.promptTooLong(tokens: request.prompt.count, contextLength: context)
        }
        let options = cacheOptions(for: request)
        do { _ = try model.makeCache(options) } catch { throw SchedulerError.invalidRequest("\(error)") }
        if model.resolvedPolicy(options) == .full {
            let geometry = KVCacheGeometry(model.configuration)
            let tokens = min(request.prompt.count + request.maxTokens, context)
            let pages = geometry.headSlots * ((tokens + options.pageSize - 1) / options.pageSize)
            if pages > pageLimit { throw SchedulerError.exceedsKVBudget(pagesNeeded: pages, pageLimit: pageLimit) }
        }
    }

    private func cacheOptions(for request: SequenceRequest) -> KVCacheOptions {
        var options = request.cacheOptions ?? configuration.cacheOptions
        options.pageSize = configuration.cacheOptions.pageSize
        options.precision = configuration.cacheOptions.precision
        return options
    }

    private func cancel(_ job: Job) {
        condition.lock()
        let first = !job.ended
        if first {
            job.ended = true
            counters.cancelled += 1
            queue.removeAll { $0 === job }
        }
        condition.unlock()
        if first { job.continuation.finish() }
    }

    private func work() {
        while let job = nextJob() {
            run(job)
            condition.lock()
            running = nil
            counters.kvBytesInUse = 0
            counters.compressionRatio = 1
            condition.unlock()
        }
    }

    private func nextJob() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while queue.isEmpty && !stopping { condition.wait() }
        guard !stopping else { return nil }
        let job = queue.removeFirst()
        running = job
        counters.active = 1
        return job
    }

    private func run(_ job: Job) {
        let request = job.request
        do {
            let session = model.makeSession(cache: try model.makeCache(cacheOptions(for: request)))
            session.prefillChunk = configuration.prefillChunk
            var options = GenerationOptions(maxTokens: request.maxTokens, sampling: request.sampling,
                                            stopStrings: request.stopStrings)
            options.stopTokens = request.stopTokens
            let result = try session.generate(prompt: request.prompt, options: options) { token in
                if token.id >= 0 { record(session.cache.statistics()) }
                guard !hasEnded(job) else { return false }
                job.continuation.yield(.token(token))
                return true
            }
            let statistics = session.cache.statistics()
            condition.lock()
            let cancelled = job.ended
            if !cancelled {
                job.ended = true
                counters.finished += 1
                counters.promptTokens += request.prompt.count
            }
            condition.unlock()
            guard !cancelled else { return }
            job.continuation.yield(.finished(SequenceSummary(
                finishReason: result.finishReason, promptTokens: request.prompt.count,
                completionTokens: result.tokens.count, preemptions: 0, kv: statistics)))
            job.continuation.finish()
        } catch {
            condition.lock()
            let cancelled = job.ended
            if !cancelled {
                job.ended = true
                counters.failed += 1
            }
            condition.unlock()
            if !cancelled { job.continuation.finish(throwing: SchedulerError.engineFailure("\(error)")) }
        }
    }

    private func hasEnded(_ job: Job) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        return job.ended
    }

    private func record(_ statistics: KVStatistics) {
        condition.lock()
        defer { condition.unlock() }
        counters.generatedTokens += 1
        counters.steps += 1
        counters.batchedTokens += 1
        counters.kvBytesInUse = statistics.bytesInUse
        counters.kvPeakBytes = max(counters.kvPeakBytes, statistics.peakBytes)
        counters.compressionRatio = statistics.compressionRatio
        let now = seconds()
        recentTokenTimes.append(now)
        recentTokenTimes.removeAll { $0 < now - 5 }
    }

    private func seconds() -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
    }
}
