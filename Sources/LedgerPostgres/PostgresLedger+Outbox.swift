import Foundation
import Ledger
import PostgreSQL

/// The outbox shared by the instances: a reply is claimed by the instance that fetched it
/// (`FOR UPDATE SKIP LOCKED`, so two instances never fetch the same one), for `claimLease`
/// seconds or until it is settled; the claim of a dead instance (heartbeat silent for
/// `deadAfter`) or of one that stopped is taken over. Its point of no return (`data_sent_at`)
/// is marked only while the claim is still this instance's.
extension PostgresLedger: OutboxQueue {
    public func dueReplies(channel: String, now: Date, afterID: Int64, limit: Int) async throws -> [StoredReply] {
        let instance = instanceName
        guard limit > 0 else { return [] }
        return try await onOutbox { link in
            let rows = try link.query("""
                WITH due AS (
                    SELECT o.id FROM outbox o
                    WHERE o.state = 'pending' AND o.channel = $1 AND o.next_attempt_at <= $2 AND o.id > $3
                        AND o.data_sent_at IS NULL
                        AND (o.claimed_by IS NULL OR o.claimed_by = $5 OR o.claim_until < \(Self.serverNow)
                             OR NOT EXISTS (SELECT 1 FROM instance i WHERE i.name = o.claimed_by AND i.stopped_at IS NULL
                                                AND i.heartbeat_at > \(Self.serverNow) - $7))
                    ORDER BY o.id LIMIT $4
                    FOR UPDATE OF o SKIP LOCKED
                )
                UPDATE outbox SET claimed_by = $5, claim_until = \(Self.serverNow) + $6
                FROM due WHERE outbox.id = due.id
                RETURNING outbox.id, outbox.channel, outbox.recipient, outbox.subject, outbox.in_reply_to, outbox.refs,
                          outbox.body, outbox.attempts, outbox.created_at
                """, [.text(channel), .of(now), .of(afterID), .of(limit), .text(instance), .of(Self.claimLease), .of(Self.deadAfter)])
            return (0..<rows.count).map { row in
                StoredReply(
                    id: rows.int(row, 0) ?? 0, channel: rows.string(row, 1), recipient: rows.string(row, 2), subject: rows.text(row, 3),
                    inReplyTo: rows.text(row, 4), references: rows.string(row, 5).split(separator: " ").map(String.init),
                    body: rows.string(row, 6), attempts: Int(rows.int(row, 7) ?? 0),
                    createdAt: Date(timeIntervalSince1970: rows.double(row, 8) ?? 0))
            }.sorted { $0.id < $1.id }
        }
    }

    public func markReplySent(id: Int64, at date: Date) async throws {
        try await markRepliesSent([id], at: date)
    }

    public func markRepliesSent(_ ids: [Int64], at date: Date) async throws {
        guard !ids.isEmpty else { return }
        try await onOutbox { link in try Self.markSent(ids, at: date, link) }
    }

    static func markSent(_ ids: [Int64], at date: Date, _ link: PostgresLink) throws {
        guard !ids.isEmpty else { return }
        try link.query("""
            UPDATE outbox SET state = 'sent', sent_at = $1, attempts = attempts + 1, claimed_by = NULL, claim_until = NULL
            WHERE id = ANY($2::bigint[])
            """, [.of(date), .text("{" + ids.map(String.init).joined(separator: ",") + "}")])
    }

    /// Only the claim's holder (or nobody's claim) reschedules or fails a reply.
    public func markReplyFailed(id: Int64, error: String, permanent: Bool, retryAfter delay: TimeInterval) async throws {
        let instance = instanceName
        try await onOutbox { link in
            _ = try link.query("""
                UPDATE outbox SET attempts = attempts + 1, last_error = $1, data_sent_at = NULL,
                    state = CASE WHEN $2 THEN 'failed' ELSE state END, next_attempt_at = $3, claimed_by = NULL, claim_until = NULL
                WHERE id = $4 AND (claimed_by IS NULL OR claimed_by = $5)
                """, [.text(error), .of(permanent), .of(Date().addingTimeInterval(delay)), .of(id), .text(instance)])
        }
    }

    /// One commit: reply `id` is about to pass its point of no return, and `sent` were accepted.
    /// An ordinary, durable commit (unlike SQLite's unsynced one): with a synchronous standby it is
    /// on the standby too, so a fail-over never forgets a mark and sends the reply again. Throws
    /// when the claim passed to another instance: the transfer must stop.
    public func markReplyCommitting(id: Int64, sent: [Int64], at date: Date) throws {
        let instance = instanceName
        try wrap("write") {
            try outbox.runBlocking { link in
                try link.transaction {
                    let marked = try link.query("""
                        UPDATE outbox SET data_sent_at = $1, claimed_by = $3
                        WHERE id = $2 AND state = 'pending' AND (claimed_by IS NULL OR claimed_by = $3)
                        """, [.of(date), .of(id), .text(instance)])
                    try Self.markSent(sent, at: date, link)
                    if marked.affectedRows == 0 {
                        let owner = try link.query("SELECT claimed_by, state FROM outbox WHERE id = $1", [.of(id)])
                        if owner.count > 0, let other = owner.text(0, 0), other != instance {
                            throw LedgerError(.conflict, "reply \(id) was taken over by instance \(other); not sent here")
                        }
                    }
                }
            }
        }
    }

    public func holdReplyInDoubt(id: Int64, reason: String) async throws {
        try await onOutbox { link in
            _ = try link.query(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2 AND state = 'pending'",
                [.text(reason), .of(id)])
        }
    }

    /// At start-up: the replies this instance (in an earlier life) or a dead one left in doubt
    /// are held; a live instance's are its own business.
    public func holdRepliesLeftInDoubt(now: Date) async throws -> [ReplyInDoubt] {
        let instance = instanceName
        return try await onOutbox { link in try Self.holdInDoubt(link, mine: instance, instance: instance) }
    }

    /// How long a reply's flight lasts at most after its mark (an SMTP transfer's time-outs): a
    /// mark older than this, without an answer, is in doubt whoever made it (its instance lost
    /// the answer, or the database while recording it).
    static let inFlightAtMost: Double = 120

    /// Holds the pending replies in doubt of `mine` (when given), of every dead instance, and
    /// every one whose mark is older than `inFlightAtMost`.
    static func holdInDoubt(_ link: PostgresLink, mine: String?, instance: String) throws -> [ReplyInDoubt] {
        try link.transaction {
            let rows = try link.query("""
                SELECT o.id, o.channel, o.recipient, o.data_sent_at FROM outbox o
                WHERE o.state = 'pending' AND o.data_sent_at IS NOT NULL
                    AND (o.claimed_by IS NULL OR o.claimed_by = $1 OR o.data_sent_at < \(serverNow) - $4
                         OR (o.claimed_by <> $2 AND NOT EXISTS (
                                SELECT 1 FROM instance i WHERE i.name = o.claimed_by AND i.stopped_at IS NULL
                                    AND i.heartbeat_at > \(serverNow) - $3)))
                ORDER BY o.id
                FOR UPDATE OF o SKIP LOCKED
                """, [.of(mine), .text(instance), .of(deadAfter), .of(inFlightAtMost)])
            let held = (0..<rows.count).map { row in
                ReplyInDoubt(id: rows.int(row, 0) ?? 0, channel: rows.string(row, 1), recipient: rows.string(row, 2),
                             dataSentAt: Date(timeIntervalSince1970: rows.double(row, 3) ?? 0))
            }
            for reply in held {
                try link.query("""
                    UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2
                    """, [.text("in doubt: the end of its data went to the server at \(Timestamp.iso8601(reply.dataSentAt)) and metergate stopped before the answer was recorded; not sent again"), .of(reply.id)])
            }
            return held
        }
    }

    public func expireReplies(olderThan lifetime: TimeInterval, now: Date) async throws -> [ExpiredReply] {
        try await onOutbox { link in
            let rows = try link.query("""
                UPDATE outbox SET state = 'expired' WHERE state = 'pending' AND created_at < $1
                RETURNING id, channel, recipient, attempts, last_error
                """, [.of(now.timeIntervalSince1970 - lifetime)])
            return (0..<rows.count).map { row in
                ExpiredReply(id: rows.int(row, 0) ?? 0, channel: rows.string(row, 1), recipient: rows.string(row, 2),
                             attempts: Int(rows.int(row, 3) ?? 0), lastError: rows.text(row, 4))
            }.sorted { $0.id < $1.id }
        }
    }

    /// The loop guard's question, counted over every instance's replies.
    public func sameRepliesSent(recipient: String, body: String, since date: Date) async throws -> Int {
        try await onOutbox { link in
            Int(try link.query("""
                SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND state = 'sent' AND sent_at >= $2 AND body = $3
                """, [.text(recipient), .of(date), .text(body)]).int(0, 0) ?? 0)
        }
    }

    public func replyFeed(outboxID: Int64) async throws -> String? {
        try await onOutbox { link in
            let rows = try link.query(
                "SELECT message.feed FROM outbox JOIN message ON message.id = outbox.message_id WHERE outbox.id = $1", [.of(outboxID)])
            return rows.count > 0 ? rows.text(0, 0) : nil
        }
    }

    public func replyAttempts(outboxID: Int64) async throws -> Int {
        try await onOutbox { link in
            let rows = try link.query("SELECT attempts FROM outbox WHERE id = $1", [.of(outboxID)])
            return rows.count > 0 ? Int(rows.int(0, 0) ?? 0) : 0
        }
    }
}
