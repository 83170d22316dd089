import Logging
import ServiceLifecycle

/// Delivers due replies every second until shutdown, then once more; expires old ones each minute.
package struct OutboxService: Service {
    let dispatcher: OutboxDispatcher
    let logger: Logger

    package init(dispatcher: OutboxDispatcher, logger: Logger) {
        self.dispatcher = dispatcher
        self.logger = logger
    }

    package func run() async throws {
        var lastExpiry = ContinuousClock.now - .seconds(60)
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            if ContinuousClock.now - lastExpiry >= .seconds(60) {
                lastExpiry = .now
                do { try await dispatcher.operations?.expire(now: dispatcher.now()) } catch { logger.error("outbox: \(error)") }
            }
            do { try await dispatcher.deliverDue() } catch { logger.error("outbox: \(error)") }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        do { try await dispatcher.deliverDue() } catch { logger.error("outbox: \(error)") }
    }
}
