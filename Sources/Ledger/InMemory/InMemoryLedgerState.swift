import Foundation

/// The rows of an `InMemoryLedger`, as the SQLite ledger's tables hold them.
struct InMemoryLedgerState: Sendable {
    struct Message: Sendable {
        var id: Int64
        var channel: String
        var externalID: String
        var feed: String
        var sender: String?
        var receivedAt: Date
        var subject: String?
        var text: String?
        var raw: [UInt8]?
        var status: String
        var reason: String?
        var processedAt: Date
        var senderAuthenticated: Bool? = nil
        var outcomeJSON = "{}"
        var reply: String? = nil
        var uins: [String] = []
    }

    struct Submission: Sendable {
        var id: Int64
        var messageID: Int64
        var uin: String
        var period: String
        var status: String
        var reason: String?
        var meters: [String]
        var values: [String]
        var previous: [String?]
        var channel: String
        var sender: String?
        var receivedAt: Date
        var reviewedAt: Date?
        var senderBound: Bool?
        /// The submission of the same period that replaced this one.
        var supersededBy: Int64?

        var recorded: RecordedSubmission {
            RecordedSubmission(
                id: id, period: period, status: status, meters: meters, values: values, sender: sender,
                senderBound: senderBound, receivedAt: receivedAt)
        }
    }

    struct Reply: Sendable {
        var id: Int64
        var messageID: Int64?
        var channel: String
        var recipient: String
        var subject: String?
        var inReplyTo: String?
        var references: [String]
        var body: String
        var state: String
        var attempts = 0
        var lastError: String?
        var nextAttemptAt: Date
        var createdAt: Date
        var sentAt: Date?
        var dataSentAt: Date?

        var stored: StoredReply {
            StoredReply(
                id: id, channel: channel, recipient: recipient, subject: subject, inReplyTo: inReplyTo,
                references: references, body: body, attempts: attempts, createdAt: createdAt)
        }
    }

    struct Feed: Sendable {
        var cursor: String?
        var lastPollAt: Date?
        var lastSuccessAt: Date?
        var lastError: String?
        var lastErrorAt: Date?
        var consecutiveFailures = 0
    }

    var accounts: [String: Account] = [:]
    var messages: [Int64: Message] = [:]
    /// `channel NUL external id` → message id (the SQLite ledger's `UNIQUE(channel, external_id)`).
    var messageIDs: [String: Int64] = [:]
    var submissions: [Int64: Submission] = [:]
    var outbox: [Int64: Reply] = [:]
    var feeds: [String: Feed] = [:]
    var lastID: Int64 = 0
    /// The wall clock of marks and due times.
    var now: @Sendable () -> Date = { Date() }

    mutating func nextID() -> Int64 {
        lastID += 1
        return lastID
    }

    mutating func markSent(_ ids: [Int64], at date: Date) {
        for id in ids where outbox[id] != nil {
            outbox[id]?.state = "sent"
            outbox[id]?.sentAt = date
            outbox[id]?.attempts += 1
        }
    }

    mutating func enqueue(_ reply: NewReply) -> Int64 {
        let id = nextID()
        let now = now()
        outbox[id] = Reply(
            id: id, messageID: reply.messageID, channel: reply.channel, recipient: reply.recipient, subject: reply.subject,
            inReplyTo: reply.inReplyTo, references: reply.references, body: reply.body, state: reply.state.rawValue,
            nextAttemptAt: now, createdAt: now)
        return id
    }

    func held(_ row: Submission) -> HeldSubmission? {
        guard let message = messages[row.messageID] else { return nil }
        return HeldSubmission(
            id: row.id, uin: row.uin, meters: row.meters, values: row.values, previous: row.previous, channel: row.channel,
            sender: row.sender, receivedAt: Timestamp.iso8601(row.receivedAt),
            text: (message.subject.map { $0 + " | " } ?? "") + (message.text ?? ""), messageID: message.id, reason: row.reason)
    }

    /// `LedgerTransaction.supersede`.
    mutating func supersede(uin: String, period: String, by id: Int64) -> Int {
        let ids = submissions.values.filter {
            $0.uin == uin && $0.period == period && $0.id != id && $0.supersededBy == nil
                && ["accepted", "held", "duplicate"].contains($0.status) && !($0.status == "held" && $0.id > id)
        }.map(\.id)
        for other in ids { submissions[other]?.supersededBy = id }
        return ids.count
    }
}

/// `LedgerTransaction` over a copy of an `InMemoryLedger`'s state.
final class InMemoryTransaction: LedgerTransaction {
    var state: InMemoryLedgerState

    init(state: InMemoryLedgerState) {
        self.state = state
    }

    func hasMessage(channel: String, externalID: String) throws -> Bool {
        state.messageIDs[channel + "\u{0}" + externalID] != nil
    }

    func countMessages(sender: String, since: Date) throws -> Int {
        state.messages.values.count { $0.sender == sender && $0.receivedAt >= since }
    }

    func countMessages(sender: String, since: Date, authenticated: Bool) throws -> Int {
        state.messages.values.count {
            $0.sender == sender && $0.receivedAt >= since && $0.senderAuthenticated == authenticated
        }
    }

    func countReplies(recipient: String, since: Date) throws -> Int {
        state.outbox.values.count { $0.recipient == recipient && $0.createdAt >= since && $0.state != "recorded" }
    }

    func account(uin: String) throws -> Account? {
        state.accounts[uin]
    }

    func latestAccepted(uin: String) throws -> [String: String] {
        state.submissions.values.filter { $0.uin == uin && $0.status == "accepted" && $0.supersededBy == nil }
            .max { $0.id < $1.id }?.recorded.valuesByMeter ?? [:]
    }

    func hasRecorded(uin: String, period: String, values: [String]) throws -> Bool {
        state.submissions.values.contains {
            $0.uin == uin && ($0.status == "accepted" || $0.status == "held") && $0.supersededBy == nil && $0.period == period
                && $0.values == values
        }
    }

    func periodState(uin: String, period: String, values: [String]) throws -> PeriodState {
        let rows = state.submissions.values.filter { $0.uin == uin && $0.supersededBy == nil }
        let earlier = rows.filter { $0.status == "accepted" && $0.period < period }
            .max { ($0.period, $0.id) < ($1.period, $1.id) }
        let inPeriod = rows.filter { $0.period == period }
        let counting = inPeriod.filter { $0.status == "accepted" || $0.status == "held" }
        let current = counting.filter { $0.status == "accepted" }.max { $0.id < $1.id }
            ?? counting.filter { $0.status == "held" }.max { $0.id < $1.id }
        return PeriodState(
            earlierAccepted: earlier?.recorded.valuesByMeter ?? [:], current: current?.recorded,
            alreadyRecorded: counting.contains { $0.values == values },
            hasUnsuperseded: inPeriod.contains { ["accepted", "held", "duplicate"].contains($0.status) })
    }

    func supersede(uin: String, period: String, by id: Int64) throws -> Int {
        state.supersede(uin: uin, period: period, by: id)
    }

    func lastAccepted(uin: String) throws -> RecordedSubmission? {
        state.submissions.values.filter { $0.uin == uin && $0.status == "accepted" && $0.supersededBy == nil }
            .max { ($0.period, $0.id) < ($1.period, $1.id) }?.recorded
    }

    func uinsBound(to contact: String) throws -> [String] {
        state.accounts.values.filter { $0.phones.contains(contact) || $0.emails.contains(contact) }.map(\.uin).sorted()
    }

    func insertMessage(_ message: NewMessage) throws -> Int64 {
        let key = message.channel + "\u{0}" + message.externalID
        guard state.messageIDs[key] == nil else {
            throw LedgerError(.conflict, "message \(message.channel) \(message.externalID) is already recorded")
        }
        let id = state.nextID()
        state.messageIDs[key] = id
        state.messages[id] = .init(
            id: id, channel: message.channel, externalID: message.externalID, feed: message.feed, sender: message.sender,
            receivedAt: message.receivedAt, subject: message.subject, text: message.text, raw: message.raw,
            status: message.status, reason: message.reason, processedAt: state.now(),
            senderAuthenticated: message.senderAuthenticated, outcomeJSON: message.outcomeJSON, reply: message.reply,
            uins: message.uins)
        return id
    }

    func insertSubmission(_ submission: NewSubmission, channel: String, sender: String?, receivedAt: Date) throws -> Int64 {
        guard state.messages[submission.messageID] != nil else {
            throw LedgerError(.conflict, "submission of message \(submission.messageID), which is not recorded")
        }
        let id = state.nextID()
        state.submissions[id] = .init(
            id: id, messageID: submission.messageID, uin: submission.uin, period: submission.period, status: submission.status,
            reason: submission.reason, meters: submission.meters, values: submission.values, previous: submission.previous,
            channel: channel, sender: sender, receivedAt: receivedAt, senderBound: submission.senderBound)
        return id
    }

    func enqueueReply(_ reply: NewReply) throws -> Int64 {
        state.enqueue(reply)
    }
}

extension InMemoryLedgerState {
    /// A message as the support desk reads it, with its replies.
    func record(_ message: Message) -> MessageRecord {
        let replies = outbox.values.filter { $0.messageID == message.id }.sorted { $0.id < $1.id }.map {
            ReplyRecord(
                id: $0.id, channel: $0.channel, recipient: $0.recipient, body: $0.body, state: $0.state, attempts: $0.attempts,
                lastError: $0.lastError, createdAt: $0.createdAt, sentAt: $0.sentAt, dataSentAt: $0.dataSentAt)
        }
        return MessageRecord(
            id: message.id, channel: message.channel, externalID: message.externalID, feed: message.feed, sender: message.sender,
            receivedAt: message.receivedAt, subject: message.subject, text: message.text, status: message.status,
            reason: message.reason, outcomeJSON: message.outcomeJSON, reply: message.reply, replies: replies)
    }
}
