import Foundation
import GRDB
import Ledger

extension SQLiteLedger {
    /// The feed a queued reply answers (the feed of its message), to send it back the same way.
    public func replyFeed(outboxID: Int64) async throws -> String? {
        try await read { db in
            try String.fetchOne(db, sql: """
                SELECT message.feed FROM outbox JOIN message ON message.id = outbox.message_id WHERE outbox.id = ?
                """, arguments: [outboxID])
        }
    }

    /// Delivery attempts recorded for a queued reply (0 when unknown).
    public func replyAttempts(outboxID: Int64) async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT attempts FROM outbox WHERE id = ?", arguments: [outboxID]) ?? 0 }
    }
}
