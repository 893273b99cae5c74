/// Runs `body(i)` for every `i` in `0..<count`, on `pool`'s threads when there is a pool, else
/// inline; returns when all are done.
@inlinable
public func parallelFor(_ pool: WorkerPool?, _ count: Int, _ body: (Int) -> Void) {
    if let pool {
        pool.run(tasks: count, body)
    } else {
        for i in 0..<count { body(i) }
    }
}
