import Foundation
import GRDB
import Ledger

extension SQLiteLedger {
    /// Replies due for delivery on `channel`, oldest first (ids above `afterID`). A reply whose end
    /// of data went to a server without a recorded answer (`data_sent_at`) is never due again.
    public func dueReplies(channel: String, now: Date, afterID: Int64, limit: Int) async throws -> [StoredReply] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT id, channel, recipient, subject, in_reply_to, refs, body, attempts, created_at
                FROM outbox WHERE state = 'pending' AND channel = ? AND next_attempt_at <= ? AND id > ?
                    AND data_sent_at IS NULL
                ORDER BY id LIMIT ?
                """, arguments: [channel, now.timeIntervalSince1970, afterID, limit]
            ).map { row in
                StoredReply(
                    id: row[0], channel: row[1], recipient: row[2], subject: row[3], inReplyTo: row[4],
                    references: (row[5] as String).split(separator: " ").map(String.init), body: row[6],
                    attempts: row[7], createdAt: Date(timeIntervalSince1970: row[8]))
            }
        }
    }

    public func markReplySent(id: Int64, at date: Date) async throws {
        try await write { db in
            try db.execute(
                sql: "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?",
                arguments: [date.timeIntervalSince1970, id])
        }
    }

    /// Schedules another attempt after `delay`, or marks the reply `failed` when `permanent`.
    public func markReplyFailed(id: Int64, error: String, permanent: Bool, retryAfter delay: TimeInterval) async throws {
        try await write { db in
            try db.execute(sql: """
                UPDATE outbox SET attempts = attempts + 1, last_error = ?, data_sent_at = NULL,
                    state = CASE WHEN ? THEN 'failed' ELSE state END, next_attempt_at = ?
                WHERE id = ?
                """, arguments: [error, permanent, Date().timeIntervalSince1970 + delay, id])
        }
    }

    /// Outbox depth by state.
    public func outboxCounts() async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) FROM outbox GROUP BY state") {
                counts[row[0]] = row[1]
            }
            return counts
        }
    }
}

extension SQLiteLedger {
    public func recordPoll(feed: String, error: String?, at date: Date) async throws {
        try await write { db in
            let now = date.timeIntervalSince1970
            if let error {
                try db.execute(sql: """
                    INSERT INTO feed (name, last_poll_at, last_error, last_error_at, consecutive_failures)
                    VALUES (?, ?, ?, ?, 1)
                    ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                        last_error = excluded.last_error, last_error_at = excluded.last_error_at,
                        consecutive_failures = consecutive_failures + 1
                    """, arguments: [feed, now, error, now])
            } else {
                try db.execute(sql: """
                    INSERT INTO feed (name, last_poll_at, last_success_at, consecutive_failures) VALUES (?, ?, ?, 0)
                    ON CONFLICT (name) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                        last_success_at = excluded.last_success_at, consecutive_failures = 0
                    """, arguments: [feed, now, now])
            }
        }
    }

    public func feedStates() async throws -> [FeedState] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT name, last_poll_at, last_success_at, last_error, last_error_at, consecutive_failures
                FROM feed ORDER BY name
                """).map { row in
                FeedState(
                    feed: row[0], lastPollAt: (row[1] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastSuccessAt: (row[2] as Double?).map(Date.init(timeIntervalSince1970:)),
                    lastError: row[3], lastErrorAt: (row[4] as Double?).map(Date.init(timeIntervalSince1970:)),
                    consecutiveFailures: row[5])
            }
        }
    }
}
