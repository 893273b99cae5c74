import CDMSKernels

/// Persistent worker threads for the numeric kernels (a wrapper over `dms_pool`).
///
/// `threads` counts the calling thread, which always takes part in the work: a pool of 1 runs
/// everything inline. Workers spin for ~50 µs after a job (tunable with `DMS_POOL_SPIN_US`), then
/// sleep. One job runs at a time: concurrent callers are serialised, and a `run` issued from inside
/// a task runs inline on that thread.
public final class WorkerPool: @unchecked Sendable {
    @usableFromInline internal let raw: OpaquePointer

    /// The number of threads, the caller's included.
    public let threads: Int

    /// Creates a pool of `threads` threads (at least 1; the caller's thread is one of them).
    public init(threads: Int) {
        let n = Int32(clamping: max(1, threads))
        guard let pool = dms_pool_create(n) else {
            fatalError("dms_pool_create(\(n)) failed")
        }
        raw = pool
        self.threads = Int(dms_pool_threads(pool))
    }

    deinit {
        dms_pool_destroy(raw)
    }

    /// Runs `body(i)` for every `i` in `0..<tasks`, spread over the pool's threads; returns when all
    /// are done. `body` is called concurrently from several threads.
    public func run(tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 0 else { return }
        if tasks == 1 || threads == 1 {
            for i in 0..<tasks { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var box = escapable
            withUnsafeMutablePointer(to: &box) { ptr in
                dms_pool_run(raw, { ctx, task, _ in
                    ctx!.assumingMemoryBound(to: ((Int) -> Void).self).pointee(Int(task))
                }, UnsafeMutableRawPointer(ptr), Int32(clamping: tasks))
            }
        }
    }
}
