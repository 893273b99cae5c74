import DMSKit

/// One teacher-forced pass of the reference (full) cache and candidate policies over the
/// sequence. They advance in lockstep, chunk by chunk, so only one chunk of reference logits is
/// held at a time: within a chunk the reference runs first, then each candidate, in chunks
/// (full, dms) or one token per forward call (the budget-based policies).
struct TeacherForcedPass {
    let model: LanguageModel
    let tokens: [Int]
    let chunk: Int
    let tracker: ProgressTracker

    /// The reference's row of a position, as candidates are compared with it.
    private struct ReferenceRow {
        var logits: UnsafeBufferPointer<Float>
        var logSumExp: Double
        var argmax: Int
    }

    func run(reference: PolicyRun?, candidates: [PolicyRun]) throws {
        let n = tokens.count
        let vocabulary = model.configuration.vocabularySize
        var start = 0
        while start < n {
            let end = min(start + chunk, n)
            let rows = end - start
            var referenceLogits: [Float] = []
            var referenceLogSumExps: [Double] = []
            var referenceArgmaxes: [Int] = []
            if let reference {
                referenceLogits = try reference.forward(tokens[start..<end], model: model, logits: .all, timed: true)
                referenceLogits.withUnsafeBufferPointer { all in
                    for row in 0..<rows {
                        let logits = UnsafeBufferPointer(rebasing: all[(row * vocabulary)..<((row + 1) * vocabulary)])
                        let logSumExp = DistributionMath.logSumExp(logits)
                        referenceLogSumExps.append(logSumExp)
                        referenceArgmaxes.append(DistributionMath.argmax(logits))
                        let position = start + row
                        if position == n - 1 {
                            reference.finalLogits = Array(logits)
                        } else {
                            reference.metrics.add(negativeLogLikelihood: logSumExp - Double(logits[tokens[position + 1]]),
                                                  klDivergence: 0, top1Matches: true)
                        }
                    }
                }
                tracker.advance(tokens: rows, feeding: .chunked, stage: reference.label, position: end, total: n)
            }
            try referenceLogits.withUnsafeBufferPointer { all in
                func referenceRow(_ row: Int) -> ReferenceRow? {
                    guard reference != nil else { return nil }
                    return ReferenceRow(logits: UnsafeBufferPointer(rebasing: all[(row * vocabulary)..<((row + 1) * vocabulary)]),
                                        logSumExp: referenceLogSumExps[row], argmax: referenceArgmaxes[row])
                }
                for run in candidates {
                    switch run.policy.feeding {
                    case .chunked:
                        let logits = try run.forward(tokens[start..<end], model: model, logits: .all, timed: true)
                        logits.withUnsafeBufferPointer { candidate in
                            for row in 0..<rows {
                                score(run, UnsafeBufferPointer(rebasing: candidate[(row * vocabulary)..<((row + 1) * vocabulary)]),
                                      position: start + row, against: referenceRow(row))
                            }
                        }
                        tracker.advance(tokens: rows, feeding: .chunked, stage: run.label, position: end, total: n)
                    case .oneTokenAtATime:
                        for position in start..<end {
                            let logits = try run.forward(tokens[position...position], model: model, logits: .last, timed: true)
                            logits.withUnsafeBufferPointer { candidate in
                                score(run, candidate, position: position, against: referenceRow(position - start))
                            }
                            tracker.advance(tokens: 1, feeding: .oneTokenAtATime, stage: run.label, position: position + 1, total: n)
                        }
                    }
                }
            }
            start = end
        }
        for run in [reference].compactMap({ $0 }) + candidates {
            run.statistics = run.cache.statistics()
        }
    }

    /// Scores one position of a candidate: the NLL of the actual next token and, against the
    /// reference, KL(reference ‖ candidate) and top-1 agreement. The last position has no next
    /// token; its logits are kept for the continuation at the end of the sequence.
    private func score(_ run: PolicyRun, _ logits: UnsafeBufferPointer<Float>, position: Int, against reference: ReferenceRow?) {
        guard position < tokens.count - 1 else {
            run.finalLogits = Array(logits)
            return
        }
        let logSumExp = DistributionMath.logSumExp(logits)
        let negativeLogLikelihood = logSumExp - Double(logits[tokens[position + 1]])
        guard let reference else {
            run.metrics.add(negativeLogLikelihood: negativeLogLikelihood)
            return
        }
        let divergence = DistributionMath.klDivergence(reference: reference.logits, referenceLogSumExp: reference.logSumExp,
                                                       candidate: logits, candidateLogSumExp: logSumExp)
        run.metrics.add(negativeLogLikelihood: negativeLogLikelihood, klDivergence: divergence,
                        top1Matches: DistributionMath.argmax(logits) == reference.argmax)
    }
}
