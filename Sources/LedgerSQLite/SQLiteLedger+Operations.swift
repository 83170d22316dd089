import Foundation
import GRDB
import Ledger

/// What the operator's views (`/metrics`, `/healthz`, `status`) read, and the loop guard.
extension SQLiteLedger {
    /// When the oldest reply due now (pending, its next attempt not in the future) was created.
    public func oldestDueReply(now: Date) async throws -> Date? {
        try await read { db in
            try Double.fetchOne(
                db, sql: "SELECT MIN(created_at) FROM outbox WHERE state = 'pending' AND next_attempt_at <= ?",
                arguments: [now.timeIntervalSince1970]
            ).map(Date.init(timeIntervalSince1970:))
        }
    }

    /// Held readings waiting for an operator.
    public func heldCount() async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM submission WHERE status = 'held' AND superseded_by IS NULL") ?? 0
        }
    }

    /// Distinct senders with a message ignored over the sender limit since `date`.
    public func rateLimitedSenders(since date: Date) async throws -> Int {
        try await read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(DISTINCT sender) FROM message
                WHERE processed_at >= ? AND status = 'ignored' AND reason = 'rate_limited'
                """, arguments: [date.timeIntervalSince1970]) ?? 0
        }
    }

    /// Messages since `date` by status and by status:reason (`ignored:rate_limited`).
    public func messageCountsByReason(since date: Date) async throws -> [String: Int] {
        try await read { db in
            var counts: [String: Int] = [:]
            for row in try Row.fetchAll(
                db, sql: "SELECT status, reason, COUNT(*) FROM message WHERE processed_at >= ? GROUP BY status, reason",
                arguments: [date.timeIntervalSince1970])
            {
                let status: String = row[0]
                let reason: String? = row[1]
                let count: Int = row[2]
                counts[status, default: 0] += count
                if let reason { counts[status + ":" + reason, default: 0] += count }
            }
            return counts
        }
    }

    /// How many replies with exactly this body went to `recipient` since `date` (sent or being sent).
    public func sameRepliesSent(recipient: String, body: String, since date: Date) async throws -> Int {
        try await read { db in
            // Asked before every reply: a cached statement.
            try Int.fetchOne(db.cachedStatement(sql: """
                SELECT COUNT(*) FROM outbox
                WHERE recipient = ? AND state = 'sent' AND sent_at >= ? AND body = ?
                """), arguments: [recipient, date.timeIntervalSince1970, body]) ?? 0
        }
    }

    /// Pending replies older than `lifetime` become `expired`; returns them (id, channel,
    /// recipient, attempts, last error) so each can be reported.
    public func expireReplies(olderThan lifetime: TimeInterval, now: Date) async throws -> [ExpiredReply] {
        try await write { db in
            let cutoff = now.timeIntervalSince1970 - lifetime
            let rows = try Row.fetchAll(db, sql: """
                SELECT id, channel, recipient, attempts, last_error FROM outbox
                WHERE state = 'pending' AND created_at < ? ORDER BY id
                """, arguments: [cutoff])
            try db.execute(
                sql: "UPDATE outbox SET state = 'expired' WHERE state = 'pending' AND created_at < ?", arguments: [cutoff])
            return rows.map { ExpiredReply(id: $0[0], channel: $0[1], recipient: $0[2], attempts: $0[3], lastError: $0[4]) }
        }
    }
}
