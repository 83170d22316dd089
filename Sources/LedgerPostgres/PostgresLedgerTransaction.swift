import Foundation
import Ledger
import PostgreSQL

/// `LedgerTransaction` inside one PostgreSQL transaction on the writer's connection; every
/// statement is prepared once per connection.
struct PostgresLedgerTransaction: LedgerTransaction {
    let link: PostgresLink
    let instance: String
    /// Lock each sender counted (a running instance, whose peers record at the same time);
    /// a command such as `replay` counts without (its batches of thousands would exhaust the
    /// server's lock table).
    var lockSenders = true

    func hasMessage(channel: String, externalID: String) throws -> Bool {
        try link.query("SELECT 1 FROM message WHERE channel = $1 AND external_id = $2", [.text(channel), .text(externalID)]).count > 0
    }

    /// Counted across every instance: the sender's messages are counted by one transaction at a
    /// time (a lock on the sender for the rest of this one), so two instances never both let the
    /// twenty-first message through.
    func countMessages(sender: String, since: Date) throws -> Int {
        if lockSenders { try link.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 16))", [.text(sender)]) }
        let result = try link.query("SELECT COUNT(*) FROM message WHERE sender = $1 AND received_at >= $2", [.text(sender), .of(since)])
        return Int(result.int(0, 0) ?? 0)
    }

    /// As `countMessages`, only the sender's mail whose `From` was (or was not) authenticated.
    func countMessages(sender: String, since: Date, authenticated: Bool) throws -> Int {
        if lockSenders { try link.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 16))", [.text(sender)]) }
        let result = try link.query(
            "SELECT COUNT(*) FROM message WHERE sender = $1 AND received_at >= $2 AND sender_authenticated = $3",
            [.text(sender), .of(since), .of(authenticated)])
        return Int(result.int(0, 0) ?? 0)
    }

    func countReplies(recipient: String, since: Date) throws -> Int {
        let result = try link.query(
            "SELECT COUNT(*) FROM outbox WHERE recipient = $1 AND created_at >= $2 AND state <> 'recorded'",
            [.text(recipient), .of(since)])
        return Int(result.int(0, 0) ?? 0)
    }

    func account(uin: String) throws -> Account? {
        try Self.account(uin: uin, link: link)
    }

    static func account(uin: String, link: PostgresLink) throws -> Account? {
        let row = try link.query("SELECT meters, previous, digits, phones, emails FROM account WHERE uin = $1", [.text(uin)])
        guard row.count > 0 else { return nil }
        return Account(
            uin: uin, meters: PostgresLedger.split(row.string(0, 0)), previous: PostgresLedger.splitOptional(row.string(0, 1)),
            digits: row.int(0, 2).map { Int($0) }, phones: PostgresLedger.split(row.string(0, 3)),
            emails: PostgresLedger.split(row.string(0, 4)))
    }

    func latestAccepted(uin: String) throws -> [String: String] {
        let row = try link.query(
            "SELECT meters, vals FROM submission WHERE uin = $1 AND status = 'accepted' AND superseded_by IS NULL ORDER BY id DESC LIMIT 1", [.text(uin)])
        guard row.count > 0 else { return [:] }
        var latest: [String: String] = [:]
        for (meter, value) in zip(PostgresLedger.split(row.string(0, 0)), PostgresLedger.split(row.string(0, 1))) { latest[meter] = value }
        return latest
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        try link.query("""
            SELECT 1 FROM submission
            WHERE uin = $1 AND status IN ('accepted', 'held') AND period = $2 AND vals = $3 AND superseded_by IS NULL LIMIT 1
            """, [.text(uin), .text(period), .text(PostgresLedger.joined(values))]).count > 0
    }

    /// Both questions in one statement (one round trip to the server).
    func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool) {
        let rows = try link.query("""
            SELECT id, status, period, meters, vals FROM submission
            WHERE uin = $1 AND status IN ('accepted', 'held') AND superseded_by IS NULL
            """, [.text(uin)])
        let joined = PostgresLedger.joined(values)
        var latestID: Int64 = .min
        var latest: (meters: String, values: String)?
        var recorded = false
        for row in 0..<rows.count {
            let id = rows.int(row, 0) ?? .min
            if id > latestID, rows.text(row, 1) == "accepted" {
                latestID = id
                latest = (rows.string(row, 3), rows.string(row, 4))
            }
            if !recorded, rows.text(row, 2) == period, rows.text(row, 4) == joined { recorded = true }
        }
        var map: [String: String] = [:]
        if let latest {
            for (meter, value) in zip(PostgresLedger.split(latest.meters), PostgresLedger.split(latest.values)) { map[meter] = value }
        }
        return (map, recorded)
    }

    /// One look at the account's submissions that are not superseded (an account has a few a year).
    func periodState(uin: String, period: String, values: [String]) throws -> PeriodState {
        let rows = try link.query("""
            SELECT id, status, period, meters, vals, sender, sender_bound, received_at FROM submission
            WHERE uin = $1 AND status IN ('accepted', 'held', 'duplicate') AND superseded_by IS NULL
            """, [.text(uin)])
        let joined = PostgresLedger.joined(values)
        var earlier: (period: String, id: Int64, meters: String, values: String)?
        var accepted: RecordedSubmission?
        var held: RecordedSubmission?
        var recorded = false
        var any = false
        for row in 0..<rows.count {
            let id = rows.int(row, 0) ?? .min
            let status = rows.string(row, 1)
            let rowPeriod = rows.string(row, 2)
            if rowPeriod == period {
                any = true
                if status == "duplicate" { continue }
                if !recorded, rows.text(row, 4) == joined { recorded = true }
                if status == "accepted" {
                    if id > accepted?.id ?? .min { accepted = Self.recorded(rows, row, status: status) }
                } else if id > held?.id ?? .min {
                    held = Self.recorded(rows, row, status: status)
                }
            } else if status == "accepted", rowPeriod < period, earlier.map({ ($0.period, $0.id) < (rowPeriod, id) }) ?? true {
                earlier = (rowPeriod, id, rows.string(row, 3), rows.string(row, 4))
            }
        }
        var map: [String: String] = [:]
        if let earlier {
            for (meter, value) in zip(PostgresLedger.split(earlier.meters), PostgresLedger.split(earlier.values)) { map[meter] = value }
        }
        return PeriodState(earlierAccepted: map, current: accepted ?? held, alreadyRecorded: recorded, hasUnsuperseded: any)
    }

    /// A row of `id, status|period…`: columns id, (status), period, meters, vals, sender, sender_bound, received_at.
    private static func recorded(_ rows: PostgresResult, _ row: Int, status: String) -> RecordedSubmission {
        RecordedSubmission(
            id: rows.int(row, 0) ?? 0, period: rows.string(row, 2), status: status,
            meters: PostgresLedger.split(rows.string(row, 3)), values: PostgresLedger.split(rows.string(row, 4)),
            sender: rows.text(row, 5), senderBound: rows.bool(row, 6), receivedAt: Date(timeIntervalSince1970: rows.double(row, 7) ?? 0))
    }

    @discardableResult
    func supersede(uin: String, period: String, by id: Int64) throws -> Int {
        try link.query("""
            UPDATE submission SET superseded_by = $1
            WHERE uin = $2 AND period = $3 AND status IN ('accepted', 'held', 'duplicate') AND superseded_by IS NULL
              AND id <> $1 AND NOT (status = 'held' AND id > $1)
            """, [.of(id), .text(uin), .text(period)]).affectedRows
    }

    func lastAccepted(uin: String) throws -> RecordedSubmission? {
        let rows = try link.query("""
            SELECT id, status, period, meters, vals, sender, sender_bound, received_at FROM submission
            WHERE uin = $1 AND status = 'accepted' AND superseded_by IS NULL
            ORDER BY period DESC, id DESC LIMIT 1
            """, [.text(uin)])
        return rows.count > 0 ? Self.recorded(rows, 0, status: "accepted") : nil
    }

    func uinsBound(to contact: String) throws -> [String] {
        let rows = try link.query("SELECT uin FROM account_contact WHERE contact = $1 ORDER BY uin COLLATE \"C\"", [.text(contact)])
        return (0..<rows.count).map { rows.string($0, 0) }
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        let result = try link.query("""
            INSERT INTO message (channel, external_id, feed, sender, received_at, received_at_text,
                                 subject, text, raw, status, reason, outcome, reply, processed_at, instance,
                                 sender_authenticated)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
            RETURNING id
            """, [
                .text(message.channel), .text(message.externalID), .text(message.feed), .of(message.sender),
                .of(message.receivedAt), .text(Timestamp.iso8601(message.receivedAt)), .of(message.subject),
                .of(message.text), message.raw.map { .bytes($0) } ?? .null, .text(message.status),
                .of(message.reason), .text(message.outcomeJSON), .of(message.reply),
                .of(Date()), .text(instance), message.senderAuthenticated.map { .of($0) } ?? .null,
            ])
        let id = result.int(0, 0) ?? 0
        for uin in Set(message.uins) {
            try link.query(
                "INSERT INTO message_uin (uin, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING", [.text(uin), .of(id)])
        }
        return id
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        let result = try link.query("""
            INSERT INTO submission (message_id, uin, period, status, reason, meters, vals, previous,
                                    channel, sender, received_at, received_at_text, sender_bound)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            RETURNING id
            """, [
                .of(submission.messageID), .text(submission.uin), .text(submission.period), .text(submission.status),
                .of(submission.reason), .text(PostgresLedger.joined(submission.meters)), .text(PostgresLedger.joined(submission.values)),
                .text(PostgresLedger.joined(submission.previous)), .text(channel), .of(sender), .of(receivedAt),
                .text(Timestamp.iso8601(receivedAt)), submission.senderBound.map { .of($0) } ?? .null,
            ])
        return result.int(0, 0) ?? 0
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        try Self.enqueue(reply, link: link)
    }

    static func enqueue(_ reply: NewReply, link: PostgresLink) throws -> Int64 {
        let now = Date()
        let result = try link.query("""
            INSERT INTO outbox (message_id, channel, recipient, subject, in_reply_to, refs, body, state,
                                next_attempt_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
            RETURNING id
            """, [
                .of(reply.messageID), .text(reply.channel), .text(reply.recipient), .of(reply.subject), .of(reply.inReplyTo),
                .text(reply.references.joined(separator: " ")), .text(reply.body), .text(reply.state.rawValue),
                .of(now), .of(now),
            ])
        return result.int(0, 0) ?? 0
    }
}
