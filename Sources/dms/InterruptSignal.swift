import Dispatch
import Foundation

/// Turns Ctrl-C (SIGINT) and SIGTERM into a flag a long loop polls, so it can stop at a clean
/// point (after a step, with a checkpoint) instead of dying mid-write.
final class InterruptSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var received: Int32?
    private var sources: [DispatchSourceSignal] = []

    init() {
        for number in [SIGINT, SIGTERM] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                self.lock.lock()
                let first = self.received == nil
                self.received = number
                self.lock.unlock()
                if first { writeError("\n\(number == SIGINT ? "interrupted" : "terminated"): finishing this step and saving a checkpoint (again to quit now)\n") } else { exit(130) }
            }
            source.resume()
            sources.append(source)
        }
    }

    /// The signal received, if any.
    var receivedSignal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }
}
