import Foundation
import GRDB
import Ledger

/// `LedgerTransaction` over the ledger's connection inside GRDB's `write {}`; every
/// statement is prepared once and run through the SQLite C API (the message path).
struct SQLiteLedgerTransaction: LedgerTransaction {
    let db: Database
    let statements: RawStatements

    /// Every question is a few microseconds on the local file: nothing to load ahead.
    var wantsBatchHint: Bool { false }

    private func statement(_ sql: StaticString) throws -> RawStatement {
        try statements.statement(sql, in: db)
    }

    func hasMessage(channel: String, externalID: String) throws -> Bool {
        try statement("SELECT 1 FROM message WHERE channel = ? AND external_id = ?").first({
            $0.bind(1, channel)
            $0.bind(2, externalID)
        }, read: { _ in true }) ?? false
    }

    func countMessages(sender: String, since: Date) throws -> Int {
        let count = try statement("SELECT COUNT(*) FROM message WHERE sender = ? AND received_at >= ?").first({
            $0.bind(1, sender)
            $0.bind(2, since.timeIntervalSince1970)
        }, read: { $0.int(0) ?? 0 })
        return Int(count ?? 0)
    }

    func countMessages(sender: String, since: Date, authenticated: Bool) throws -> Int {
        let count = try statement(
            "SELECT COUNT(*) FROM message WHERE sender = ? AND received_at >= ? AND sender_authenticated = ?"
        ).first({
            $0.bind(1, sender)
            $0.bind(2, since.timeIntervalSince1970)
            $0.bind(3, Int64(authenticated ? 1 : 0))
        }, read: { $0.int(0) ?? 0 })
        return Int(count ?? 0)
    }

    func countReplies(recipient: String, since: Date) throws -> Int {
        let count = try statement(
            "SELECT COUNT(*) FROM outbox WHERE recipient = ? AND created_at >= ? AND state <> 'recorded'"
        ).first({
            $0.bind(1, recipient)
            $0.bind(2, since.timeIntervalSince1970)
        }, read: { $0.int(0) ?? 0 })
        return Int(count ?? 0)
    }

    func account(uin: String) throws -> Account? {
        try statement("SELECT meters, previous, digits, phones, emails FROM account WHERE uin = ?").first({
            $0.bind(1, uin)
        }, read: { row in
            Account(
                uin: uin,
                meters: SQLiteLedger.split(row.text(0) ?? ""),
                previous: SQLiteLedger.splitOptional(row.text(1) ?? ""),
                digits: row.int(2).map { Int($0) },
                phones: SQLiteLedger.split(row.text(3) ?? ""),
                emails: SQLiteLedger.split(row.text(4) ?? ""))
        })
    }

    func latestAccepted(uin: String) throws -> [String: String] {
        let row = try statement(
            """
            SELECT meters, vals FROM submission WHERE uin = ? AND status = 'accepted' AND superseded_by IS NULL
            ORDER BY id DESC LIMIT 1
            """
        ).first({ $0.bind(1, uin) }, read: { ($0.text(0) ?? "", $0.text(1) ?? "") })
        guard let row else { return [:] }
        var latest: [String: String] = [:]
        for (meter, value) in zip(SQLiteLedger.split(row.0), SQLiteLedger.split(row.1)) { latest[meter] = value }
        return latest
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        try statement("""
            SELECT 1 FROM submission
            WHERE uin = ? AND status IN ('accepted', 'held') AND period = ? AND vals = ? AND superseded_by IS NULL LIMIT 1
            """).first({
                $0.bind(1, uin)
                $0.bind(2, period)
                $0.bind(3, SQLiteLedger.joined(values))
            }, read: { _ in true }) ?? false
    }

    /// One index walk over the account's recent accepted and held submissions (the newest
    /// 200: an account with more in one period is not a real case).
    func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool) {
        // No ORDER BY: sorting the rows would take a temporary b-tree on every message; an
        // account has a few rows a year, and the newest accepted one is picked here.
        let statement = try statement("""
            SELECT id, status, period, meters, vals FROM submission
            WHERE uin = ? AND status IN ('accepted', 'held') AND superseded_by IS NULL
            """)
        defer { statement.reset() }
        statement.bind(1, uin)
        let joined = SQLiteLedger.joined(values)
        var latestID: Int64 = .min
        var latest: (meters: String, values: String)?
        var recorded = false
        while try statement.step() {
            let id = statement.int(0) ?? .min
            if id > latestID, statement.text(1) == "accepted" {
                latestID = id
                latest = (statement.text(3) ?? "", statement.text(4) ?? "")
            }
            if !recorded, statement.text(2) == period, statement.text(4) == joined { recorded = true }
        }
        var map: [String: String] = [:]
        if let latest {
            for (meter, value) in zip(SQLiteLedger.split(latest.meters), SQLiteLedger.split(latest.values)) {
                map[meter] = value
            }
        }
        return (map, recorded)
    }

    /// One index walk over the account's submissions that are not superseded (an account has a
    /// few a year; no ORDER BY, for the same reason as `priorState`). The status is tested here,
    /// not in SQL: `status IN (…)` would seek `submission_by_uin` once per status.
    func periodState(uin: String, period: String, values: [String]) throws -> PeriodState {
        let statement = try statement("""
            SELECT id, status, period, meters, vals, sender, sender_bound, received_at FROM submission
            WHERE uin = ? AND superseded_by IS NULL
            """)
        defer { statement.reset() }
        statement.bind(1, uin)
        let joined = SQLiteLedger.joined(values)
        var earlier: (period: String, id: Int64, meters: String, values: String)?
        var accepted: RecordedSubmission?
        var held: RecordedSubmission?
        var recorded = false
        var any = false
        func row(_ status: String, _ rowPeriod: String) -> RecordedSubmission {
            RecordedSubmission(
                id: statement.int(0) ?? 0, period: rowPeriod, status: status,
                meters: SQLiteLedger.split(statement.text(3) ?? ""), values: SQLiteLedger.split(statement.text(4) ?? ""),
                sender: statement.text(5), senderBound: statement.int(6).map { $0 != 0 },
                receivedAt: Date(timeIntervalSince1970: statement.double(7)))
        }
        while try statement.step() {
            let id = statement.int(0) ?? .min
            let status = statement.text(1) ?? ""
            guard status == "accepted" || status == "held" || status == "duplicate" else { continue }
            let rowPeriod = statement.text(2) ?? ""
            if rowPeriod == period {
                any = true
                if status == "duplicate" { continue }
                if !recorded, statement.text(4) == joined { recorded = true }
                if status == "accepted" {
                    if id > accepted?.id ?? .min { accepted = row(status, rowPeriod) }
                } else if id > held?.id ?? .min {
                    held = row(status, rowPeriod)
                }
            } else if status == "accepted", rowPeriod < period,
                      earlier.map({ ($0.period, $0.id) < (rowPeriod, id) }) ?? true {
                earlier = (rowPeriod, id, statement.text(3) ?? "", statement.text(4) ?? "")
            }
        }
        var map: [String: String] = [:]
        if let earlier {
            for (meter, value) in zip(SQLiteLedger.split(earlier.meters), SQLiteLedger.split(earlier.values)) { map[meter] = value }
        }
        return PeriodState(earlierAccepted: map, current: accepted ?? held, alreadyRecorded: recorded, hasUnsuperseded: any)
    }

    func supersede(uin: String, period: String, by id: Int64) throws -> Int {
        let statement = try statement("""
            UPDATE submission SET superseded_by = ?1
            WHERE uin = ?2 AND period = ?3 AND +status IN ('accepted', 'held', 'duplicate') AND superseded_by IS NULL
              AND id <> ?1 AND NOT (status = 'held' AND id > ?1)
            """)
        try statement.run {
            $0.bind(1, id)
            $0.bind(2, uin)
            $0.bind(3, period)
        }
        return statement.changes
    }

    func lastAccepted(uin: String) throws -> RecordedSubmission? {
        try statement("""
            SELECT id, period, meters, vals, sender, sender_bound, received_at FROM submission
            WHERE uin = ? AND status = 'accepted' AND superseded_by IS NULL
            ORDER BY period DESC, id DESC LIMIT 1
            """).first({ $0.bind(1, uin) }, read: { row in
                RecordedSubmission(
                    id: row.int(0) ?? 0, period: row.text(1) ?? "", status: "accepted",
                    meters: SQLiteLedger.split(row.text(2) ?? ""), values: SQLiteLedger.split(row.text(3) ?? ""),
                    sender: row.text(4), senderBound: row.int(5).map { $0 != 0 },
                    receivedAt: Date(timeIntervalSince1970: row.double(6)))
            })
    }

    func uinsBound(to contact: String) throws -> [String] {
        let statement = try statement("SELECT uin FROM account_contact WHERE contact = ? ORDER BY uin")
        defer { statement.reset() }
        statement.bind(1, contact)
        var uins: [String] = []
        while try statement.step() {
            if let uin = statement.text(0) { uins.append(uin) }
        }
        return uins
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        try statement("""
            INSERT INTO message (channel, external_id, feed, sender, received_at, received_at_text,
                                 subject, text, raw, status, reason, outcome, reply, processed_at,
                                 sender_authenticated)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).run {
                $0.bind(1, message.channel)
                $0.bind(2, message.externalID)
                $0.bind(3, message.feed)
                $0.bind(4, message.sender)
                $0.bind(5, message.receivedAt.timeIntervalSince1970)
                $0.bind(6, Timestamp.iso8601(message.receivedAt))
                $0.bind(7, message.subject)
                $0.bind(8, message.text)
                $0.bind(9, message.raw)
                $0.bind(10, message.status)
                $0.bind(11, message.reason)
                $0.bind(12, message.outcomeJSON)
                $0.bind(13, message.reply)
                $0.bind(14, Date().timeIntervalSince1970)
                $0.bind(15, message.senderAuthenticated.map { Int64($0 ? 1 : 0) })
            }
        let id = db.lastInsertedRowID
        // The support desk finds a message by account through `message_uin` and through the
        // message's submissions (`submission_by_uin`): a UIN that gets a submission here takes
        // no `message_uin` row (one random-key index entry fewer per reading).
        // (One UIN with its submission is the common case: no sets for it.)
        if message.uins.isEmpty || message.uins == message.submittedUINs { return id }
        for uin in Set(message.uins).subtracting(message.submittedUINs) {
            try statement("INSERT OR IGNORE INTO message_uin (uin, message_id) VALUES (?, ?)").run {
                $0.bind(1, uin)
                $0.bind(2, id)
            }
        }
        return id
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        try statement("""
            INSERT INTO submission (message_id, uin, period, status, reason, meters, vals, previous,
                                    channel, sender, received_at, received_at_text, sender_bound)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).run {
                $0.bind(1, submission.messageID)
                $0.bind(2, submission.uin)
                $0.bind(3, submission.period)
                $0.bind(4, submission.status)
                $0.bind(5, submission.reason)
                $0.bind(6, SQLiteLedger.joined(submission.meters))
                $0.bind(7, SQLiteLedger.joined(submission.values))
                $0.bind(8, SQLiteLedger.joined(submission.previous))
                $0.bind(9, channel)
                $0.bind(10, sender)
                $0.bind(11, receivedAt.timeIntervalSince1970)
                $0.bind(12, Timestamp.iso8601(receivedAt))
                $0.bind(13, submission.senderBound.map { $0 ? Int64(1) : Int64(0) })
            }
        return db.lastInsertedRowID
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        let now = Date().timeIntervalSince1970
        try statement("""
            INSERT INTO outbox (message_id, channel, recipient, subject, in_reply_to, refs, body, state,
                                next_attempt_at, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).run {
                $0.bind(1, reply.messageID)
                $0.bind(2, reply.channel)
                $0.bind(3, reply.recipient)
                $0.bind(4, reply.subject)
                $0.bind(5, reply.inReplyTo)
                $0.bind(6, reply.references.joined(separator: " "))
                $0.bind(7, reply.body)
                $0.bind(8, reply.state.rawValue)
                $0.bind(9, now)
                $0.bind(10, now)
            }
        return db.lastInsertedRowID
    }
}
