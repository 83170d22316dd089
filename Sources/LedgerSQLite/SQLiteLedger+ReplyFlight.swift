import Foundation
import GRDB
import Ledger

/// The durable steps of a reply sent over a transport with a point of no return (SMTP's end of
/// DATA): `data_sent_at` is written, fsync'd, just before that point; `sent` after the server's
/// answer, for several replies in one commit.
extension SQLiteLedger {
    /// One commit: reply `id` is about to pass its point of no return (`data_sent_at`), and the
    /// replies `sent` were accepted by the server.
    ///
    /// This commit is written to the WAL without waiting for its fsync (`synchronous = OFF` for
    /// it alone): once `write(2)` returned it survives the process being killed, and the time from
    /// the mark to the end of data stays a few microseconds instead of an fsync. The next commit
    /// with `FULL` (`markRepliesSent`, any message batch) makes it durable against power loss.
    public func markReplyCommitting(id: Int64, sent: [Int64], at date: Date) throws {
        assertNotOnCooperativePool()
        try dbQueue.writeWithoutTransaction { db in
            try db.cachedStatement(sql: "PRAGMA synchronous = OFF").execute()
            let marked = Result {
                try db.inTransaction {
                    try db.cachedStatement(sql: "UPDATE outbox SET data_sent_at = ? WHERE id = ? AND state = 'pending'")
                        .execute(arguments: [date.timeIntervalSince1970, id])
                    try Self.markSent(sent, at: date, in: db)
                    return .commit
                }
            }
            // Back to FULL before anything else commits on this connection.
            try db.cachedStatement(sql: "PRAGMA synchronous = FULL").execute()
            try marked.get()
        }
    }

    /// Marks `ids` sent in one commit (a group commit of the server's answers).
    public func markRepliesSent(_ ids: [Int64], at date: Date) async throws {
        guard !ids.isEmpty else { return }
        try await write { db in try Self.markSent(ids, at: date, in: db) }
    }

    private static func markSent(_ ids: [Int64], at date: Date, in db: Database) throws {
        guard !ids.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?")
        for id in ids {
            try statement.execute(arguments: [date.timeIntervalSince1970, id])
        }
    }

    /// A reply in doubt (its end of data went out, no answer was recorded) is held: `failed` with
    /// `reason`, never sent again on its own.
    public func holdReplyInDoubt(id: Int64, reason: String) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ? WHERE id = ? AND state = 'pending'",
                arguments: [reason, id])
        }
    }

    /// At start-up: the replies a previous process left in doubt (end of data sent, no answer
    /// recorded) are held as `failed` with a note; returns them for the log.
    public func holdRepliesLeftInDoubt(now: Date) async throws -> [ReplyInDoubt] {
        try await write { db in
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, channel, recipient, data_sent_at FROM outbox
                WHERE state = 'pending' AND data_sent_at IS NOT NULL ORDER BY id
                """)
            let held = rows.map { row in
                ReplyInDoubt(id: row[0], channel: row[1], recipient: row[2], dataSentAt: Date(timeIntervalSince1970: row[3]))
            }
            for reply in held {
                try db.execute(sql: """
                    UPDATE outbox SET state = 'failed', attempts = attempts + 1,
                        last_error = 'in doubt: the end of its data went to the server at ' || ? || ' and metergate stopped before the answer was recorded; not sent again'
                    WHERE id = ?
                    """, arguments: [Timestamp.iso8601(reply.dataSentAt), reply.id])
            }
            return held
        }
    }
}
