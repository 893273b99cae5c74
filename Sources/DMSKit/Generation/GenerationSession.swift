import Foundation

/// A sequence being generated: the model, its tokenizer, and one KV cache that persists across
/// calls, so a chat can append turn after turn without recomputing the history.
///
/// A session is used from one task at a time.
public final class GenerationSession: @unchecked Sendable {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    public let cache: KVCache
    /// Tokens in the cache, in order.
    public private(set) var history: [Int] = []
    /// Prompt tokens are fed to the model in chunks of this size.
    public var prefillChunk = 512
    /// The last generated token, not yet in the cache; it is fed before the next prompt.
    private var unfedToken: Int?

    public init(model: LanguageModel, tokenizer: Tokenizer, cache: KVCache) {
        self.model = model
        self.tokenizer = tokenizer
        self.cache = cache
    }

    /// Positions consumed (cached tokens plus a generated token waiting to be fed).
    public var length: Int { history.count + (unfedToken == nil ? 0 : 1) }

    /// Forgets everything, returning the cache's pages.
    public func reset() {
        cache.reset()
        history.removeAll()
        unfedToken = nil
    }

    /// Feeds `tokens` in chunks and returns the logits after the last one.
    @discardableResult
    public func prefill(_ tokens: [Int], timing: inout GenerationTiming) throws -> [Float] {
        var tokens = tokens
        if let pending = unfedToken {
            tokens.insert(pending, at: 0)
            unfedToken = nil
        }
        guard !tokens.isEmpty else { throw ForwardError.emptyInput }
        let limit = model.configuration.contextLength
        guard cache.tokensSeen + tokens.count <= limit else {
            throw ForwardError.contextOverflow(needed: cache.tokensSeen + tokens.count, contextLength: limit)
        }
        let started = DispatchTime.now()
        var logits: [Float] = []
        var offset = 0
        let chunk = max(prefillChunk, 1)
        while offset < tokens.count {
            let end = min(offset + chunk, tokens.count)
            logits = try model.forward(Array(tokens[offset..<end]), cache: cache, phase: .prefill,
                                       logits: end == tokens.count ? .last : .none)
            history.append(contentsOf: tokens[offset..<end])
            offset = end
        }
        timing.prefillTokens += tokens.count
        timing.prefillSeconds += Self.seconds(since: started)
        return logits
    }

    /// Appends `prompt` to the sequence and generates until a stop condition, calling `onToken`
    /// for each token (return `false` to stop early).
    public func generate(prompt: [Int], options: GenerationOptions,
                         onToken: (GeneratedToken) -> Bool = { _ in true }) throws -> GenerationResult {
        var timing = GenerationTiming()
        var logits = try prefill(prompt, timing: &timing)
        var sampler = Sampler(options.sampling)
        let stopTokens = options.stopTokens ?? tokenizer.eosTokenIds
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        var stops = StopStringMatcher(options.stopStrings)
        var generated: [Int] = []
        var finish = FinishReason.length
        let limit = model.configuration.contextLength

        // A step's latency runs from feeding the previous token to having sampled this one.
        var stepStart: DispatchTime?
        while generated.count < options.maxTokens {
            let token = sampler.sample(logits, context: history)
            if let stepStart { timing.decodeLatencies.append(Self.seconds(since: stepStart)) }
            generated.append(token)
            if stopTokens.contains(token) {
                finish = .stop
                break
            }
            let (text, stopped) = stops.append(detokenizer.append(token))
            let wantsMore = onToken(GeneratedToken(id: token, text: text))
            if stopped { finish = .stop }
            if stopped || !wantsMore || generated.count == options.maxTokens || cache.tokensSeen >= limit {
                unfedToken = token
                break
            }
            stepStart = DispatchTime.now()
            logits = try model.forward([token], cache: cache, phase: .decode, logits: .last)
            history.append(token)
        }
        let tail = stops.finish(detokenizer.flush())
        if !tail.isEmpty { _ = onToken(GeneratedToken(id: -1, text: tail)) }
        return GenerationResult(promptTokens: prompt, tokens: generated, text: stops.emitted,
                                finishReason: finish, timing: timing)
    }

    /// The same as ``generate(prompt:options:onToken:)`` as an asynchronous sequence of tokens.
    public func stream(prompt: [Int], options: GenerationOptions) -> AsyncThrowingStream<GeneratedToken, Error> {
        AsyncThrowingStream { continuation in
            let task = Task.detached { [self] in
                do {
                    _ = try self.generate(prompt: prompt, options: options) { token in
                        if Task.isCancelled { return false }
                        continuation.yield(token)
                        return true
                    }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    static func seconds(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
