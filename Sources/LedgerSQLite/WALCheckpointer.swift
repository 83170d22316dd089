import Dispatch
import GRDB
import GRDBSQLite
import Ledger
import Synchronization

/// Copies the write-ahead log back into the database file on its own connection and thread,
/// so that the writer — the message path — does not pay for checkpoints inside its commits.
///
/// It replaces SQLite's automatic checkpoint on the writer's connection (a WAL hook that runs
/// after every commit). When the log passes `threshold` frames a passive checkpoint is started
/// here; it never blocks the writer. Should the log still reach four times the threshold (a
/// checkpoint that cannot keep up or cannot run), the writer checkpoints itself, as SQLite
/// would have, so the log stays bounded.
final class WALCheckpointer: Sendable {
    private let dbQueue: DatabaseQueue
    private let queue = DispatchQueue(label: "metergate.ledger.checkpoint")
    private let running = Atomic<Bool>(false)
    let threshold: Int32

    init(path: String, threshold: Int32) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        dbQueue = try DatabaseQueue(path: path, configuration: configuration)
        self.threshold = threshold
    }

    /// Installs the hook on the writer's connection (`connection` must outlive `self`'s use:
    /// the ledger owns both).
    func install(on connection: OpaquePointer) {
        let context = Unmanaged.passUnretained(self).toOpaque()
        sqlite3_wal_hook(connection, { context, connection, database, frames in
            guard let context else { return SQLITE_OK }
            let checkpointer = Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue()
            if frames >= checkpointer.threshold * 4 {
                sqlite3_wal_checkpoint(connection, database)
            } else if frames >= checkpointer.threshold {
                checkpointer.start()
            }
            return SQLITE_OK
        }, context)
    }

    private func start() {
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else {
            return
        }
        queue.async { [self] in
            defer { running.store(false, ordering: .releasing) }
            // A failure leaves the log as it is; the next commit starts another attempt, and
            // the writer's own fallback bounds the log.
            _ = try? dbQueue.writeWithoutTransaction { db in try db.checkpoint(.passive) }
        }
    }

    /// Waits for a checkpoint in progress (tests, orderly shutdown).
    func wait() { queue.sync {} }

    /// Waits for a checkpoint in progress, then closes this connection (orderly shutdown).
    func close() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            queue.async { [self] in continuation.resume(with: Result { try dbQueue.close() }) }
        }
    }
}
