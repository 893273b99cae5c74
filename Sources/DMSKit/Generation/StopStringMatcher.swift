/// Finds stop strings in streamed text, holding back any tail that could still become one.
struct StopStringMatcher {
    private let stops: [String]
    private var pending = ""
    /// Everything released so far.
    private(set) var emitted = ""
    private(set) var stopped = false

    init(_ stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// Adds `text`; returns what can be released now and whether a stop string was reached.
    mutating func append(_ text: String) -> (String, Bool) {
        guard !stopped else { return ("", true) }
        pending += text
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            stopped = true
            return (release(String(pending[..<cut])), true)
        }
        // Keep the longest suffix of `pending` that is a prefix of some stop string.
        var keep = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), through: 1, by: -1)
            where pending.hasSuffix(String(stop.prefix(length))) {
                keep = max(keep, length)
                break
            }
        }
        let releasable = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return (release(releasable), false)
    }

    /// Releases the held-back tail at the end of generation.
    mutating func finish(_ text: String) -> String {
        let (released, done) = append(text)
        if done { return released }
        let rest = pending
        pending = ""
        return released + release(rest)
    }

    private mutating func release(_ text: String) -> String {
        emitted += text
        return text
    }
}
