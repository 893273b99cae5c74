import CDMSKernels

extension WorkerPool {
    /// Runs `body(i)` for every `i` in `0..<count` on the pool's threads, returning when all ended.
    ///
    /// The closure is passed to the C pool through an opaque context pointer, so no allocation
    /// happens per call beyond what Swift needs for the non-escaping closure.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        guard count > 0 else { return }
        if count == 1 || threads == 1 {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { escapable in
            var box = escapable
            withUnsafeMutablePointer(to: &box) { context in
                dms_pool_run(raw, { context, task, _ in
                    let body = context!.assumingMemoryBound(to: ((Int) -> Void).self).pointee
                    body(Int(task))
                }, context, Int32(count))
            }
        }
    }
}

/// Runs `body` over `0..<count`, on `pool` when there is one.
@inlinable
public func parallelFor(_ pool: WorkerPool?, _ count: Int, _ body: (Int) -> Void) {
    if let pool {
        pool.parallelFor(count, body)
    } else {
        for i in 0..<count { body(i) }
    }
}
