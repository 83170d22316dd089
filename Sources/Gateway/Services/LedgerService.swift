import Ledger
import Logging
import ServiceLifecycle

/// The ledger's place in `metergate run`'s group: listed first, so it is the last to stop: once
/// the pollers have stopped and the outbox has drained, it closes the store (the log copied
/// into the database file). Cancelled instead (the group's shutdown took too long), it leaves
/// the store as it is: a WAL store needs no closing to stay whole.
package struct LedgerService: Service {
    let ledger: any LedgerDriver
    let logger: Logger

    package init(ledger: any LedgerDriver, logger: Logger) {
        self.ledger = ledger
        self.logger = logger
    }

    package func run() async throws {
        do {
            try await gracefulShutdown()
        } catch {
            return  // cancelled
        }
        do {
            try await ledger.close()
            logger.debug("store closed", metadata: ["mg.event": "store-closed"])
        } catch {
            logger.error("store: cannot close \(ledger.location): \(error)", metadata: ["mg.event": "store-error"])
        }
    }
}
