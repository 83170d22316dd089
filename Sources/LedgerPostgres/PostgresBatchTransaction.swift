import Foundation
import Ledger
import PostgreSQL

/// `LedgerTransaction` for a group commit on PostgreSQL: a batch of messages in one transaction
/// on the writer's connection, in a handful of round trips instead of several per message.
///
/// `prepare(for:)` loads what the batch will ask about in one statement per kind (which of its
/// messages are recorded, its senders' messages of the last hour, its accounts' submissions that
/// are not superseded, its recipients' replies of the last hour). The rows the batch writes are
/// kept here and answer later questions of the same batch as the store would; they go to the
/// server at the end (`flush`) with `COPY`, their IDs drawn from the tables' sequences first. A
/// question about something not loaded writes what is kept first, then asks the server: the
/// answers are always the store's own, only fewer round trips.
///
/// In a running instance each sender is locked (`pg_advisory_xact_lock`) before its messages are
/// counted, so two instances never both let the twenty-first message through; all of a batch's
/// senders are locked in one statement, in key order.
final class PostgresBatchTransaction: LedgerTransaction {
    let link: PostgresLink
    let instance: String
    let lockSenders: Bool

    private struct MessageKey: Hashable {
        var channel: String
        var externalID: String
    }

    /// A submission that is not superseded, with status accepted, held or duplicate.
    private struct Submission {
        var id: Int64
        var status: String
        var period: String
        var meters: String
        var values: String
        var sender: String?
        var senderBound: Bool?
        var receivedAt: Double
    }

    private struct SenderHistory {
        var since: Double
        var messages: [(at: Double, authenticated: Bool?)]
    }

    private struct ReplyHistory {
        var since: Double
        var created: [Double]
    }

    /// A submission written in this batch, not yet at the server.
    private struct NewRow {
        var id: Int64
        var submission: NewSubmission
        var channel: String
        var sender: String?
        var receivedAt: Date
        var supersededBy: Int64?
    }

    // What the store (with this batch's rows) holds, for the keys loaded.
    private var messages: [MessageKey: Bool] = [:]
    private var senders: [String: SenderHistory] = [:]
    private var locked: Set<String> = []
    private var submissions: [String: [Submission]] = [:]
    private var accounts: [String: Account?] = [:]
    private var replies: [String: ReplyHistory] = [:]

    // This batch's rows, not yet at the server.
    private var messageRows: [UInt8] = []
    /// Every result's UIN of the batch's messages (the support desk's look-up by account).
    private var messageUINRows: [UInt8] = []
    private var submissionRows: [NewRow] = []
    private var submissionIndex: [Int64: Int] = [:]
    private var replyRows: [UInt8] = []
    private var supersededInStore: [(id: Int64, by: Int64)] = []

    // IDs drawn from the sequences and not used yet.
    private var messageIDs: ArraySlice<Int64> = []
    private var submissionIDs: ArraySlice<Int64> = []
    private var replyIDs: ArraySlice<Int64> = []
    /// Messages the batch announced and not yet inserted (how many IDs to draw at once).
    private var expected = 0

    init(link: PostgresLink, instance: String, lockSenders: Bool) {
        self.link = link
        self.instance = instance
        self.lockSenders = lockSenders
    }

    // MARK: loading ahead

    func prepare(for batch: LedgerBatchHint) throws {
        expected += batch.messages.count
        let keys = batch.messages.map { MessageKey(channel: $0.channel, externalID: $0.externalID) }
            .filter { messages[$0] == nil }
        if !keys.isEmpty { try loadMessages(keys) }
        if let since = batch.sendersSince {
            let wanted = batch.senders.filter { senders[$0].map { $0.since > since.timeIntervalSince1970 } ?? true }
            if !wanted.isEmpty { try loadSenders(wanted, since: since.timeIntervalSince1970) }
        }
        let uins = batch.uins.filter { submissions[$0] == nil }
        if !uins.isEmpty { try loadSubmissions(uins) }
        let unknown = batch.accounts.filter { accounts[$0] == nil }
        if !unknown.isEmpty { try loadAccounts(unknown) }
        let since = Date().timeIntervalSince1970 - 3600
        let recipients = batch.recipients.filter { replies[$0].map { $0.since > since } ?? true }
        if !recipients.isEmpty { try loadReplies(recipients, since: since) }
    }

    private func loadMessages(_ keys: [MessageKey]) throws {
        try flush()
        let rows = try link.query("""
            SELECT m.channel, m.external_id FROM message m
            JOIN unnest($1::text[], $2::text[]) AS k(channel, external_id)
              ON m.channel = k.channel AND m.external_id = k.external_id
            """, [.text(PostgresLedger.textArray(keys.map(\.channel))), .text(PostgresLedger.textArray(keys.map(\.externalID)))])
        for key in keys { messages[key] = false }
        for row in 0..<rows.count { messages[MessageKey(channel: rows.string(row, 0), externalID: rows.string(row, 1))] = true }
    }

    private func loadSenders(_ names: [String], since: Double) throws {
        try flush()
        let distinct = Array(Set(names))
        if lockSenders {
            let unlocked = distinct.filter { !locked.contains($0) }
            if !unlocked.isEmpty {
                // In key order: two instances locking overlapping batches never wait on each other in a circle.
                try link.query("""
                    SELECT COUNT(pg_advisory_xact_lock(key)) FROM (
                        SELECT DISTINCT hashtextextended(name, 16) AS key FROM unnest($1::text[]) AS name ORDER BY 1
                    ) AS keys
                    """, [.text(PostgresLedger.textArray(unlocked))])
                locked.formUnion(unlocked)
            }
        }
        let rows = try link.query("""
            SELECT sender, received_at, sender_authenticated FROM message WHERE sender = ANY($1::text[]) AND received_at >= $2
            """, [.text(PostgresLedger.textArray(distinct)), .of(since)])
        for name in distinct { senders[name] = SenderHistory(since: since, messages: []) }
        for row in 0..<rows.count {
            senders[rows.string(row, 0)]?.messages.append((rows.double(row, 1) ?? 0, rows.bool(row, 2)))
        }
    }

    private func loadSubmissions(_ uins: [String]) throws {
        try flush()
        let distinct = Array(Set(uins))
        let rows = try link.query("""
            SELECT uin, id, status, period, meters, vals, sender, sender_bound, received_at FROM submission
            WHERE uin = ANY($1::text[]) AND status IN ('accepted', 'held', 'duplicate') AND superseded_by IS NULL
            ORDER BY id
            """, [.text(PostgresLedger.textArray(distinct))])
        for uin in distinct { submissions[uin] = [] }
        for row in 0..<rows.count {
            submissions[rows.string(row, 0)]?.append(Submission(
                id: rows.int(row, 1) ?? 0, status: rows.string(row, 2), period: rows.string(row, 3), meters: rows.string(row, 4),
                values: rows.string(row, 5), sender: rows.text(row, 6), senderBound: rows.bool(row, 7),
                receivedAt: rows.double(row, 8) ?? 0))
        }
    }

    private func loadAccounts(_ uins: [String]) throws {
        let distinct = Array(Set(uins))
        let rows = try link.query(
            "SELECT uin, meters, previous, digits, phones, emails FROM account WHERE uin = ANY($1::text[])",
            [.text(PostgresLedger.textArray(distinct))])
        for uin in distinct { accounts[uin] = .some(nil) }
        for row in 0..<rows.count {
            accounts[rows.string(row, 0)] = .some(Account(
                uin: rows.string(row, 0), meters: PostgresLedger.split(rows.string(row, 1)),
                previous: PostgresLedger.splitOptional(rows.string(row, 2)), digits: rows.int(row, 3).map { Int($0) },
                phones: PostgresLedger.split(rows.string(row, 4)), emails: PostgresLedger.split(rows.string(row, 5))))
        }
    }

    private func loadReplies(_ recipients: [String], since: Double) throws {
        try flush()
        let distinct = Array(Set(recipients))
        let rows = try link.query("""
            SELECT recipient, created_at FROM outbox WHERE recipient = ANY($1::text[]) AND created_at >= $2 AND state <> 'recorded'
            """, [.text(PostgresLedger.textArray(distinct)), .of(since)])
        for recipient in distinct { replies[recipient] = ReplyHistory(since: since, created: []) }
        for row in 0..<rows.count { replies[rows.string(row, 0)]?.created.append(rows.double(row, 1) ?? 0) }
    }

    private func submissions(of uin: String) throws -> [Submission] {
        if let known = submissions[uin] { return known }
        try loadSubmissions([uin])
        return submissions[uin] ?? []
    }

    // MARK: questions

    func hasMessage(channel: String, externalID: String) throws -> Bool {
        let key = MessageKey(channel: channel, externalID: externalID)
        if let known = messages[key] { return known }
        try loadMessages([key])
        return messages[key] ?? false
    }

    private func history(_ sender: String, since: Date) throws -> SenderHistory {
        let seconds = since.timeIntervalSince1970
        if let known = senders[sender], known.since <= seconds { return known }
        try loadSenders([sender], since: seconds)
        return senders[sender] ?? SenderHistory(since: seconds, messages: [])
    }

    func countMessages(sender: String, since: Date) throws -> Int {
        let seconds = since.timeIntervalSince1970
        return try history(sender, since: since).messages.count { $0.at >= seconds }
    }

    func countMessages(sender: String, since: Date, authenticated: Bool) throws -> Int {
        let seconds = since.timeIntervalSince1970
        return try history(sender, since: since).messages.count { $0.at >= seconds && $0.authenticated == authenticated }
    }

    func countReplies(recipient: String, since: Date) throws -> Int {
        let seconds = since.timeIntervalSince1970
        if replies[recipient].map({ $0.since > seconds }) ?? true { try loadReplies([recipient], since: seconds) }
        return replies[recipient]?.created.count { $0 >= seconds } ?? 0
    }

    func account(uin: String) throws -> Account? {
        if let known = accounts[uin] { return known }
        let account = try PostgresLedgerTransaction.account(uin: uin, link: link)
        accounts[uin] = .some(account)
        return account
    }

    func latestAccepted(uin: String) throws -> [String: String] {
        guard let latest = try submissions(of: uin).filter({ $0.status == "accepted" }).max(by: { $0.id < $1.id }) else { return [:] }
        return Self.map(latest.meters, latest.values)
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        let joined = PostgresLedger.joined(values)
        return try submissions(of: uin).contains { $0.status != "duplicate" && $0.period == period && $0.values == joined }
    }

    func priorState(uin: String, period: String, values: [String]) throws -> (latestAccepted: [String: String], alreadyRecorded: Bool) {
        (try latestAccepted(uin: uin), try hasRecorded(uin: uin, period: period, values: values))
    }

    func periodState(uin: String, period: String, values: [String]) throws -> PeriodState {
        let joined = PostgresLedger.joined(values)
        var earlier: Submission?
        var accepted: Submission?
        var held: Submission?
        var recorded = false
        var any = false
        for row in try submissions(of: uin) {
            if row.period == period {
                any = true
                if row.status == "duplicate" { continue }
                if row.values == joined { recorded = true }
                if row.status == "accepted" {
                    if row.id > accepted?.id ?? .min { accepted = row }
                } else if row.id > held?.id ?? .min {
                    held = row
                }
            } else if row.status == "accepted", row.period < period, earlier.map({ ($0.period, $0.id) < (row.period, row.id) }) ?? true {
                earlier = row
            }
        }
        return PeriodState(
            earlierAccepted: earlier.map { Self.map($0.meters, $0.values) } ?? [:], current: (accepted ?? held).map(Self.recorded),
            alreadyRecorded: recorded, hasUnsuperseded: any)
    }

    @discardableResult
    func supersede(uin: String, period: String, by id: Int64) throws -> Int {
        var count = 0
        submissions[uin] = try submissions(of: uin).filter { row in
            guard row.period == period, row.id != id, !(row.status == "held" && row.id > id) else { return true }
            count += 1
            if let index = submissionIndex[row.id] {
                submissionRows[index].supersededBy = id
            } else {
                supersededInStore.append((row.id, id))
            }
            return false
        }
        return count
    }

    func lastAccepted(uin: String) throws -> RecordedSubmission? {
        try submissions(of: uin).filter { $0.status == "accepted" }.max { ($0.period, $0.id) < ($1.period, $1.id) }.map(Self.recorded)
    }

    func uinsBound(to contact: String) throws -> [String] {
        let rows = try link.query("SELECT uin FROM account_contact WHERE contact = $1 ORDER BY uin COLLATE \"C\"", [.text(contact)])
        return (0..<rows.count).map { rows.string($0, 0) }
    }

    private static func map(_ meters: String, _ values: String) -> [String: String] {
        var map: [String: String] = [:]
        for (meter, value) in zip(PostgresLedger.split(meters), PostgresLedger.split(values)) { map[meter] = value }
        return map
    }

    private static func recorded(_ row: Submission) -> RecordedSubmission {
        RecordedSubmission(
            id: row.id, period: row.period, status: row.status, meters: PostgresLedger.split(row.meters),
            values: PostgresLedger.split(row.values), sender: row.sender, senderBound: row.senderBound,
            receivedAt: Date(timeIntervalSince1970: row.receivedAt))
    }

    // MARK: writes (kept until the flush)

    private enum Sequence: String {
        case message, submission, outbox
    }

    private func draw(_ sequence: Sequence, _ pool: inout ArraySlice<Int64>, count: Int) throws -> Int64 {
        if pool.isEmpty {
            let rows = try link.query(
                // The sequence is named once (OFFSET 0 keeps the subquery from being merged into the
                // outer one): `pg_get_serial_sequence` per row costs several times the `nextval`.
                """
                SELECT nextval(s.sequence) FROM (SELECT pg_get_serial_sequence($1, 'id')::regclass AS sequence OFFSET 0) AS s,
                    generate_series(1, $2)
                """,
                [.text(sequence.rawValue), .of(max(1, count))])
            pool = ArraySlice((0..<rows.count).compactMap { rows.int($0, 0) })
            guard !pool.isEmpty else {
                throw PostgresError(code: .unexpectedResult, message: "no IDs drawn from the sequence of \(sequence.rawValue)")
            }
        }
        return pool.removeFirst()
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        let key = MessageKey(channel: message.channel, externalID: message.externalID)
        let id = try draw(.message, &messageIDs, count: expected)
        expected = max(0, expected - 1)
        var row = CopyRow()
        row.add(id)
        row.add(message.channel)
        row.add(message.externalID)
        row.add(message.feed)
        row.add(message.sender)
        row.add(message.receivedAt.timeIntervalSince1970)
        row.add(Timestamp.iso8601(message.receivedAt))
        row.add(message.subject)
        row.add(message.text)
        row.add(bytes: message.raw)
        row.add(message.status)
        row.add(message.reason)
        row.add(message.outcomeJSON)
        row.add(message.reply)
        row.add(Date().timeIntervalSince1970)
        row.add(instance)
        row.add(message.senderAuthenticated)
        row.end(into: &messageRows)
        for uin in Set(message.uins) {
            var uinRow = CopyRow()
            uinRow.add(uin)
            uinRow.add(id)
            uinRow.end(into: &messageUINRows)
        }
        messages[key] = true
        if let sender = message.sender {
            senders[sender]?.messages.append((message.receivedAt.timeIntervalSince1970, message.senderAuthenticated))
        }
        return id
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        let id = try draw(.submission, &submissionIDs, count: expected + 1)
        submissionIndex[id] = submissionRows.count
        submissionRows.append(NewRow(id: id, submission: submission, channel: channel, sender: sender, receivedAt: receivedAt))
        if ["accepted", "held", "duplicate"].contains(submission.status) {
            submissions[submission.uin]?.append(Submission(
                id: id, status: submission.status, period: submission.period, meters: PostgresLedger.joined(submission.meters),
                values: PostgresLedger.joined(submission.values), sender: sender, senderBound: submission.senderBound,
                receivedAt: receivedAt.timeIntervalSince1970))
        }
        return id
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        let id = try draw(.outbox, &replyIDs, count: expected + 1)
        let now = Date().timeIntervalSince1970
        var row = CopyRow()
        row.add(id)
        row.add(reply.messageID)
        row.add(reply.channel)
        row.add(reply.recipient)
        row.add(reply.subject)
        row.add(reply.inReplyTo)
        row.add(reply.references.joined(separator: " "))
        row.add(reply.body)
        row.add(reply.state.rawValue)
        row.add(now)
        row.add(now)
        row.end(into: &replyRows)
        if reply.state != .recorded { replies[reply.recipient]?.created.append(now) }
        return id
    }

    /// Sends the rows kept so far to the server (inside the transaction): messages, then their
    /// submissions, then the submissions they superseded, then replies.
    func flush() throws {
        if !messageRows.isEmpty {
            try copy("""
                COPY message (id, channel, external_id, feed, sender, received_at, received_at_text, subject, text, raw,
                              status, reason, outcome, reply, processed_at, instance, sender_authenticated) FROM STDIN
                """, messageRows)
            messageRows.removeAll(keepingCapacity: true)
        }
        if !messageUINRows.isEmpty {
            try copy("COPY message_uin (uin, message_id) FROM STDIN", messageUINRows)
            messageUINRows.removeAll(keepingCapacity: true)
        }
        if !submissionRows.isEmpty {
            var data: [UInt8] = []
            data.reserveCapacity(submissionRows.count * 160)
            for new in submissionRows {
                var row = CopyRow()
                row.add(new.id)
                row.add(new.submission.messageID)
                row.add(new.submission.uin)
                row.add(new.submission.period)
                row.add(new.submission.status)
                row.add(new.submission.reason)
                row.add(PostgresLedger.joined(new.submission.meters))
                row.add(PostgresLedger.joined(new.submission.values))
                row.add(PostgresLedger.joined(new.submission.previous))
                row.add(new.channel)
                row.add(new.sender)
                row.add(new.receivedAt.timeIntervalSince1970)
                row.add(Timestamp.iso8601(new.receivedAt))
                row.add(new.submission.senderBound)
                row.add(new.supersededBy)
                row.end(into: &data)
            }
            try copy("""
                COPY submission (id, message_id, uin, period, status, reason, meters, vals, previous, channel, sender,
                                 received_at, received_at_text, sender_bound, superseded_by) FROM STDIN
                """, data)
            submissionRows.removeAll(keepingCapacity: true)
            submissionIndex.removeAll(keepingCapacity: true)
        }
        if !supersededInStore.isEmpty {
            try link.query("""
                UPDATE submission SET superseded_by = u.by
                FROM unnest($1::bigint[], $2::bigint[]) AS u(id, by) WHERE submission.id = u.id
                """, [.text(Self.array(supersededInStore.map(\.id))), .text(Self.array(supersededInStore.map(\.by)))])
            supersededInStore.removeAll()
        }
        if !replyRows.isEmpty {
            try copy("""
                COPY outbox (id, message_id, channel, recipient, subject, in_reply_to, refs, body, state,
                             next_attempt_at, created_at) FROM STDIN
                """, replyRows)
            replyRows.removeAll(keepingCapacity: true)
        }
    }

    private func copy(_ sql: String, _ data: [UInt8]) throws {
        try link.copyIn(sql) { send in
            let step = 1 << 20
            var start = 0
            while start < data.count {
                guard send(Array(data[start..<min(start + step, data.count)])) else { return }
                start += step
            }
        }
    }

    private static func array(_ values: [Int64]) -> String {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }
}

/// One row in `COPY`'s text format: fields separated by tabs, `\N` for NULL, backslash, tab,
/// newline and carriage return escaped, `bytea` as `\\x` and hex digits.
struct CopyRow {
    private(set) var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(256)
    }

    private mutating func separate() {
        if !bytes.isEmpty { bytes.append(9) }
    }

    private mutating func null() { bytes += [0x5C, 0x4E] }

    mutating func add(_ text: String?) {
        separate()
        guard let text else { return null() }
        PostgresLedger.appendCopyText(text, to: &bytes)
    }

    mutating func add(_ number: Int64?) {
        separate()
        guard let number else { return null() }
        bytes += String(number).utf8
    }

    mutating func add(_ number: Double) {
        separate()
        bytes += String(number).utf8
    }

    mutating func add(_ flag: Bool?) {
        separate()
        guard let flag else { return null() }
        bytes.append(flag ? 0x74 : 0x66)
    }

    mutating func add(bytes raw: [UInt8]?) {
        separate()
        guard let raw else { return null() }
        let digits = Array("0123456789abcdef".utf8)
        bytes.reserveCapacity(bytes.count + raw.count * 2 + 4)
        bytes += [0x5C, 0x5C, 0x78]
        for byte in raw {
            bytes.append(digits[Int(byte >> 4)])
            bytes.append(digits[Int(byte & 15)])
        }
    }

    /// Appends the row, with its newline, to `buffer`.
    func end(into buffer: inout [UInt8]) {
        buffer += bytes
        buffer.append(10)
    }
}
