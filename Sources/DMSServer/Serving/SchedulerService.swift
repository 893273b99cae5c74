import DMSKit
import ServiceLifecycle

/// Shuts the scheduler down on graceful shutdown: running and queued sequences fail with
/// `shuttingDown`, so open streams end at once instead of holding the server up.
struct SchedulerService: Service {
    let scheduler: BatchScheduler

    func run() async throws {
        try? await gracefulShutdown()
        scheduler.shutdown()
    }
}
