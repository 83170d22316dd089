import Foundation
import Synchronization

/// The ledger in memory: every protocol of the boundary, with the SQLite ledger's semantics,
/// for unit tests of the runtime (never for a daemon: nothing survives the process).
///
/// A transaction works on a copy of the state and replaces it when its body returns, so a
/// body that throws leaves nothing behind, as a rolled-back SQLite transaction does.
public final class InMemoryLedger: LedgerDriver {
    let state = Mutex(InMemoryLedgerState())
    public let location: String

    /// `now`: the wall clock of its marks and due times (tests pass one they move).
    public init(name: String = "memory", now: @escaping @Sendable () -> Date = { Date() }) {
        location = name
        state.withLock { $0.now = now }
    }

    public func close() async throws {}

    private func read<T>(_ body: (borrowing InMemoryLedgerState) throws -> T) rethrows -> T {
        try state.withLock { try body($0) }
    }

    private func write<T>(_ body: (inout InMemoryLedgerState) throws -> T) rethrows -> T {
        try state.withLock { state in
            var copy = state
            let result = try body(&copy)
            state = copy
            return result
        }
    }

    // MARK: MessageRecording

    public func transaction<T: Sendable>(_ body: @escaping @Sendable (any LedgerTransaction) throws -> T) async throws -> T {
        try write { state in
            let transaction = InMemoryTransaction(state: state)
            let result = try body(transaction)
            state = transaction.state
            return result
        }
    }

    // MARK: OutboxQueue

    public func dueReplies(channel: String, now: Date, afterID: Int64, limit: Int) async throws -> [StoredReply] {
        read { state in
            state.outbox.values
                .filter { $0.state == "pending" && $0.channel == channel && $0.nextAttemptAt <= now && $0.id > afterID && $0.dataSentAt == nil }
                .sorted { $0.id < $1.id }.prefix(max(0, limit)).map(\.stored)
        }
    }

    public func markReplySent(id: Int64, at date: Date) async throws {
        write { $0.markSent([id], at: date) }
    }

    public func markRepliesSent(_ ids: [Int64], at date: Date) async throws {
        write { $0.markSent(ids, at: date) }
    }

    public func markReplyFailed(id: Int64, error: String, permanent: Bool, retryAfter delay: TimeInterval) async throws {
        write { state in
            guard var reply = state.outbox[id] else { return }
            reply.attempts += 1
            reply.lastError = error
            reply.dataSentAt = nil
            if permanent { reply.state = "failed" }
            reply.nextAttemptAt = state.now().addingTimeInterval(delay)
            state.outbox[id] = reply
        }
    }

    public func markReplyCommitting(id: Int64, sent: [Int64], at date: Date) throws {
        write { state in
            if state.outbox[id]?.state == "pending" { state.outbox[id]?.dataSentAt = date }
            state.markSent(sent, at: date)
        }
    }

    public func holdReplyInDoubt(id: Int64, reason: String) async throws {
        write { state in
            guard state.outbox[id]?.state == "pending" else { return }
            state.outbox[id]?.state = "failed"
            state.outbox[id]?.attempts += 1
            state.outbox[id]?.lastError = reason
        }
    }

    public func holdRepliesLeftInDoubt(now: Date) async throws -> [ReplyInDoubt] {
        write { state in
            let held = state.outbox.values.filter { $0.state == "pending" && $0.dataSentAt != nil }.sorted { $0.id < $1.id }
            for reply in held {
                state.outbox[reply.id]?.state = "failed"
                state.outbox[reply.id]?.attempts += 1
                state.outbox[reply.id]?.lastError = "in doubt: the end of its data went to the server at \(Timestamp.iso8601(reply.dataSentAt!)) and metergate stopped before the answer was recorded; not sent again"
            }
            return held.map { ReplyInDoubt(id: $0.id, channel: $0.channel, recipient: $0.recipient, dataSentAt: $0.dataSentAt!) }
        }
    }

    public func expireReplies(olderThan lifetime: TimeInterval, now: Date) async throws -> [ExpiredReply] {
        write { state in
            let cutoff = now.addingTimeInterval(-lifetime)
            let expired = state.outbox.values.filter { $0.state == "pending" && $0.createdAt < cutoff }.sorted { $0.id < $1.id }
            for reply in expired { state.outbox[reply.id]?.state = "expired" }
            return expired.map {
                ExpiredReply(id: $0.id, channel: $0.channel, recipient: $0.recipient, attempts: $0.attempts, lastError: $0.lastError)
            }
        }
    }

    public func sameRepliesSent(recipient: String, body: String, since date: Date) async throws -> Int {
        read { state in
            state.outbox.values.count { $0.recipient == recipient && $0.state == "sent" && ($0.sentAt ?? .distantPast) >= date && $0.body == body }
        }
    }

    public func replyFeed(outboxID: Int64) async throws -> String? {
        read { state in state.outbox[outboxID]?.messageID.flatMap { state.messages[$0]?.feed } }
    }

    public func replyAttempts(outboxID: Int64) async throws -> Int {
        read { $0.outbox[outboxID]?.attempts ?? 0 }
    }

    // MARK: FeedStateStore

    public func cursor(feed: String) async throws -> String? {
        read { $0.feeds[feed]?.cursor }
    }

    public func saveCursor(_ cursor: String, feed: String) async throws {
        write { $0.feeds[feed, default: InMemoryLedgerState.Feed()].cursor = cursor }
    }

    public func recordPoll(feed: String, error: String?, at date: Date) async throws {
        write { state in
            var row = state.feeds[feed] ?? InMemoryLedgerState.Feed()
            row.lastPollAt = date
            if let error {
                row.lastError = error
                row.lastErrorAt = date
                row.consecutiveFailures += 1
            } else {
                row.lastSuccessAt = date
                row.consecutiveFailures = 0
            }
            state.feeds[feed] = row
        }
    }

    public func feedStates() async throws -> [FeedState] {
        read { state in
            state.feeds.sorted { $0.key < $1.key }.map { name, row in
                FeedState(
                    feed: name, lastPollAt: row.lastPollAt, lastSuccessAt: row.lastSuccessAt, lastError: row.lastError,
                    lastErrorAt: row.lastErrorAt, consecutiveFailures: row.consecutiveFailures)
            }
        }
    }

    public func knownExternalIDs(channel: String, _ externalIDs: [String]) async throws -> Set<String> {
        read { state in Set(externalIDs.filter { state.messageIDs[channel + "\u{0}" + $0] != nil }) }
    }

    public func forEachRawMessage(feed: String, channel: String, _ body: @escaping @Sendable ([UInt8]) throws -> Void) async throws {
        let raws = read { state in
            state.messages.values.filter { $0.channel == channel && $0.feed == feed }.sorted { $0.id < $1.id }.compactMap(\.raw)
        }
        for raw in raws { try body(raw) }
    }

    // MARK: OperatorViews

    public func outboxCounts() async throws -> [String: Int] {
        read { state in state.outbox.values.reduce(into: [:]) { $0[$1.state, default: 0] += 1 } }
    }

    public func oldestDueReply(now: Date) async throws -> Date? {
        read { state in state.outbox.values.filter { $0.state == "pending" && $0.nextAttemptAt <= now }.map(\.createdAt).min() }
    }

    public func heldCount() async throws -> Int {
        read { $0.submissions.values.count { $0.status == "held" && $0.reviewedAt == nil && $0.supersededBy == nil } }
    }

    public func heldSubmissions() async throws -> [HeldSubmission] {
        read { state in
            state.submissions.values.filter { $0.status == "held" && $0.reviewedAt == nil && $0.supersededBy == nil }.sorted { $0.id < $1.id }
                .compactMap { state.held($0) }
        }
    }

    public func decide(
        submission id: Int64, _ decision: ReviewDecision, makeReply: @escaping @Sendable (HeldSubmission) -> NewReply?
    ) async throws -> HeldSubmission {
        try write { state in
            guard let row = state.submissions[id], row.status == "held", row.reviewedAt == nil, row.supersededBy == nil,
                  let held = state.held(row) else {
                throw LedgerError(.notFound, "no held reading with id \(id) waits for review")
            }
            state.submissions[id]?.status = decision == .approve ? "accepted" : "rejected"
            state.submissions[id]?.reason = decision == .approve ? nil : "operator"
            state.submissions[id]?.reviewedAt = state.now()
            if decision == .approve { _ = state.supersede(uin: row.uin, period: row.period, by: id) }
            if let reply = makeReply(held) { _ = state.enqueue(reply) }
            return held
        }
    }

    public func messageCountsByReason(since date: Date) async throws -> [String: Int] {
        read { state in
            var counts: [String: Int] = [:]
            for message in state.messages.values where message.processedAt >= date {
                counts[message.status, default: 0] += 1
                if let reason = message.reason { counts[message.status + ":" + reason, default: 0] += 1 }
            }
            return counts
        }
    }

    public func rateLimitedSenders(since date: Date) async throws -> Int {
        read { state in
            Set(state.messages.values.filter { $0.processedAt >= date && $0.status == "ignored" && $0.reason == "rate_limited" }
                .compactMap(\.sender)).count
        }
    }

    public func messages(matching query: MessageQuery) async throws -> [MessageRecord] {
        read { state in
            state.messages.values.filter { message in
                (query.sender == nil || message.sender == query.sender)
                    && (query.uin.map { message.uins.contains($0) } ?? true)
                    && (query.since.map { message.receivedAt >= $0 } ?? true)
                    && (query.until.map { message.receivedAt < $0 } ?? true)
                    && (query.status == nil || message.status == query.status)
                    && (query.beforeID.map { message.id < $0 } ?? true)
            }
            .sorted { ($0.receivedAt, $0.id) > ($1.receivedAt, $1.id) }
            .prefix(max(0, query.limit)).map { state.record($0) }
        }
    }

    public func message(id: Int64) async throws -> MessageRecord? {
        read { state in state.messages[id].map { state.record($0) } }
    }

    public func rawMessage(id: Int64) async throws -> [UInt8]? {
        read { $0.messages[id]?.raw }
    }

    public func submissions(uin: String, limit: Int) async throws -> [AccountSubmission] {
        read { state in
            state.submissions.values.filter { $0.uin == uin }.sorted { $0.id > $1.id }.prefix(max(0, limit)).map {
                AccountSubmission(
                    id: $0.id, messageID: $0.messageID, period: $0.period, status: $0.status, reason: $0.reason, meters: $0.meters,
                    values: $0.values, channel: $0.channel, receivedAt: $0.receivedAt, superseded: $0.supersededBy != nil)
            }
        }
    }

    public func submissionsPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount] {
        read { state in
            var counts: [String: DailyCount] = [:]
            for submission in state.submissions.values where submission.receivedAt >= date {
                let day = Self.day(submission.receivedAt, utcOffset)
                counts["\(day) \(submission.channel)", default: DailyCount(day: day, key: submission.channel, count: 0)].count += 1
            }
            return Array(counts.values)
        }
    }

    public func messagesPerDay(since date: Date, utcOffset: Int) async throws -> [DailyCount] {
        read { state in
            var counts: [String: DailyCount] = [:]
            for message in state.messages.values where message.receivedAt >= date {
                let day = Self.day(message.receivedAt, utcOffset)
                var keys = [message.status]
                if let reason = message.reason { keys.append(message.status + ":" + reason) }
                for key in keys { counts["\(day) \(key)", default: DailyCount(day: day, key: key, count: 0)].count += 1 }
            }
            return Array(counts.values)
        }
    }

    static func day(_ date: Date, _ utcOffset: Int) -> Int {
        Int(((date.timeIntervalSince1970 + Double(utcOffset)) / 86400).rounded(.down))
    }

    // MARK: BillingExchange

    public func importAccounts(_ accounts: [Account], replacing: Bool) async throws -> Int {
        write { state in
            if replacing { state.accounts = [:] }
            for account in accounts { state.accounts[account.uin] = account }
            return accounts.count
        }
    }

    public func accountCount() async throws -> Int {
        read { $0.accounts.count }
    }

    public func account(uin: String) async throws -> Account? {
        read { $0.accounts[uin] }
    }

    public func makeAccountLookup() throws -> any AccountLookup {
        InMemoryAccountLookup(ledger: self)
    }

    public func exportPage(since: Date?, after cursor: Int64, limit: Int, includeSuperseded: Bool) async throws -> ExportPage {
        read { state in
            let page = state.submissions.values
                .filter {
                    ["accepted", "held", "duplicate"].contains($0.status) && $0.id > cursor && $0.receivedAt >= (since ?? .distantPast)
                        && (includeSuperseded || $0.supersededBy == nil)
                }
                .sorted { $0.id < $1.id }.prefix(max(1, limit))
            var rows: [ExportRow] = []
            for submission in page {
                let messageID = state.messages[submission.messageID]?.externalID ?? ""
                for (index, meter) in submission.meters.enumerated() where index < submission.values.count {
                    rows.append(ExportRow(
                        uin: submission.uin, meter: meter, value: submission.values[index],
                        previous: index < submission.previous.count ? submission.previous[index] : nil,
                        receivedAt: Timestamp.iso8601(submission.receivedAt), channel: submission.channel,
                        sender: submission.sender, status: submission.supersededBy == nil ? submission.status : "superseded",
                        messageID: messageID))
                }
            }
            return ExportPage(rows: rows, next: page.count == max(1, limit) ? page.last?.id : nil)
        }
    }
}

/// `AccountLookup` over an `InMemoryLedger`.
struct InMemoryAccountLookup: AccountLookup {
    let ledger: InMemoryLedger

    func accounts(_ uins: [String]) throws -> [String: Account?] {
        ledger.state.withLock { state in
            var found: [String: Account?] = [:]
            for uin in uins where found[uin] == nil { found[uin] = .some(state.accounts[uin]) }
            return found
        }
    }
}
