import Foundation
import Ledger
import Synchronization
import Testing

/// What every ledger implementation must do, written once against the boundary's protocols
/// and run against each `LedgerKind` (in the manner of swift-configuration's provider
/// compatibility tests). The SQLite ledger's own durability (WAL, `synchronous = FULL`) is
/// tested in `LedgerSQLiteTests`.
@Suite("Ledger compatibility")
struct LedgerCompatibilityTests {
    // MARK: recording messages

    @Test("a message is recorded once per channel and id; a failed transaction leaves nothing", arguments: LedgerKind.all)
    func recordsOnce(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        try await ledger.transaction { tx in
            #expect(try !tx.hasMessage(channel: "sms", externalID: "m1"))
            _ = try tx.insertMessage(message("m1"))
            #expect(try tx.hasMessage(channel: "sms", externalID: "m1"))
            #expect(try !tx.hasMessage(channel: "email", externalID: "m1"))
        }
        await #expect(throws: (any Error).self) {
            try await ledger.transaction { tx in _ = try tx.insertMessage(message("m1")) }
        }
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            try await ledger.transaction { tx in
                _ = try tx.insertMessage(message("m2"))
                _ = try tx.enqueueReply(reply("a@b.ru"))
                throw Boom()
            }
        }
        #expect(try await ledger.knownExternalIDs(channel: "sms", ["m1", "m2", "m3"]) == ["m1"])
        #expect(try await ledger.knownExternalIDs(channel: "email", ["m1"]).isEmpty)
        #expect(try await ledger.outboxCounts().isEmpty, "the failed transaction's reply is gone too")
        #expect(try await ledger.messageCountsByReason(since: .distantPast)["accepted"] == 1, "m1 only")
    }

    @Test("the validator's questions: latest accepted values, values already recorded for the period", arguments: LedgerKind.all)
    func priorState(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        try await ledger.transaction { tx in
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("a")), status: "accepted", period: "2026-10", values: ["100", "50"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("b")), status: "accepted", values: ["120", "60"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("c")), status: "held", values: ["99999", "61"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("d")), status: "rejected", values: ["130", "70"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
        }
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.latestAccepted(uin: "1234567") == ["T1": "120", "T2": "60"])
            #expect(try tx.hasRecorded(uin: "1234567", period: "2026-11", values: ["99999", "61"]))
            #expect(try !tx.hasRecorded(uin: "1234567", period: "2026-11", values: ["130", "70"]), "rejected is no recording")
            #expect(try !tx.hasRecorded(uin: "1234567", period: "2026-12", values: ["120", "60"]))
            let state = try tx.priorState(uin: "1234567", period: "2026-11", values: ["120", "60"])
            #expect(state.latestAccepted == ["T1": "120", "T2": "60"] && state.alreadyRecorded)
            #expect(try tx.priorState(uin: "7654321", period: "2026-11", values: ["1"]).latestAccepted.isEmpty)
        }
    }

    @Test("messages per sender and replies per recipient within a window", arguments: LedgerKind.all)
    func windows(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let now = Date()
        try await ledger.transaction { tx in
            _ = try tx.insertMessage(message("1", at: now.addingTimeInterval(-4000)))
            _ = try tx.insertMessage(message("2", channel: "email", at: now.addingTimeInterval(-100)))
            _ = try tx.insertMessage(message("3", at: now))
            _ = try tx.insertMessage(message("4", sender: "+79990000000", at: now))
            _ = try tx.enqueueReply(reply("+79030000000", channel: "sms"))
            _ = try tx.enqueueReply(reply("+79030000000", channel: "sms", state: .recorded))
            #expect(try tx.countMessages(sender: "+79030000000", since: now.addingTimeInterval(-3600)) == 2)
            #expect(try tx.countReplies(recipient: "+79030000000", since: now.addingTimeInterval(-3600)) == 1, "replay's are not counted")
        }
    }

    @Test("e-mail counted apart by whether the receiving server authenticated its From (issue 13)", arguments: LedgerKind.all)
    func authenticatedWindows(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let now = Date()
        let owner = "owner@example.ru"
        try await ledger.transaction { tx in
            for index in 0..<3 {
                var forged = message("f\(index)", channel: "email", sender: owner, at: now.addingTimeInterval(-Double(index)))
                forged.senderAuthenticated = false
                _ = try tx.insertMessage(forged)
            }
            var real = message("r", channel: "email", sender: owner, at: now)
            real.senderAuthenticated = true
            _ = try tx.insertMessage(real)
            var old = message("o", channel: "email", sender: owner, at: now.addingTimeInterval(-4000))
            old.senderAuthenticated = true
            _ = try tx.insertMessage(old)
            _ = try tx.insertMessage(message("n", channel: "email", sender: owner, at: now))  // no flag
            let since = now.addingTimeInterval(-3600)
            #expect(try tx.countMessages(sender: owner, since: since, authenticated: true) == 1)
            #expect(try tx.countMessages(sender: owner, since: since, authenticated: false) == 3)
            #expect(try tx.countMessages(sender: owner, since: since) == 5, "the old count is of every message")
            #expect(try tx.countMessages(sender: "other@example.ru", since: since, authenticated: false) == 0)
        }
    }

    // MARK: the outbox

    @Test("due replies: oldest first, retried after their delay, sent or failed for good", arguments: LedgerKind.all)
    func outbox(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let (first, second) = try await ledger.transaction { tx in
            let ids = (try tx.enqueueReply(reply("a@b.ru")), try tx.enqueueReply(reply("c@d.ru")))
            _ = try tx.enqueueReply(reply("x@y.ru", state: .recorded))
            _ = try tx.enqueueReply(reply("+79030000000", channel: "sms"))
            return ids
        }
        let due = try await ledger.dueReplies(channel: "email")
        #expect(due.map(\.id) == [first, second], "replay's recorded reply is never due")
        #expect(due.first?.references == ["<0@b>", "<1@b>"] && due.first?.subject == "Re: x" && due.first?.attempts == 0)
        #expect(try await ledger.dueReplies(channel: "email", afterID: first, limit: 10).map(\.id) == [second])
        #expect(try await ledger.dueReplies(channel: "email", afterID: 0, limit: 1).map(\.id) == [first])
        try await ledger.markReplyFailed(id: first, error: "421 try later", permanent: false, retryAfter: 60)
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == [second])
        let later = try await ledger.dueReplies(channel: "email", now: Date().addingTimeInterval(120), afterID: 0, limit: 100)
        #expect(later.map(\.id) == [first, second])
        #expect(later.first?.attempts == 1)
        #expect(try await ledger.replyAttempts(outboxID: first) == 1)
        try await ledger.markReplySent(id: second)
        try await ledger.markReplyFailed(id: first, error: "550 no such user", permanent: true, retryAfter: 0)
        let counts = try await ledger.outboxCounts()
        #expect(counts["sent"] == 1 && counts["failed"] == 1 && counts["recorded"] == 1 && counts["pending"] == 1, "\(counts)")
        #expect(try await ledger.sameRepliesSent(recipient: "c@d.ru", body: "text", since: Date().addingTimeInterval(-60)) == 1)
        #expect(try await ledger.sameRepliesSent(recipient: "c@d.ru", body: "other", since: Date().addingTimeInterval(-60)) == 0)
        #expect(try await ledger.sameRepliesSent(recipient: "c@d.ru", body: "text", since: Date().addingTimeInterval(60)) == 0)
    }

    @Test("the point of no return: marked replies are never due again; a restart holds the ones in doubt", arguments: LedgerKind.all)
    func inDoubt(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let ids = try await ledger.transaction { tx in try (0..<5).map { try tx.enqueueReply(reply("r\($0)@example.org")) } }
        // Reply 0 passes its point of no return; then reply 1 does, and 0's `sent` rides along.
        try await offPool { try ledger.markReplyCommitting(id: ids[0], sent: []) }
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == Array(ids[1...]))
        try await offPool { try ledger.markReplyCommitting(id: ids[1], sent: [ids[0]]) }
        try await ledger.markRepliesSent([ids[2]])
        // A definite answer after the end of data (451) makes it due again.
        try await offPool { try ledger.markReplyCommitting(id: ids[3], sent: []) }
        try await ledger.markReplyFailed(id: ids[3], error: "451", permanent: false, retryAfter: 0)
        // A transfer that ended without an answer: held at once.
        try await ledger.holdReplyInDoubt(id: ids[4], reason: "in doubt: connection reset")
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == [ids[3]])

        // "Restart": reply 1 is in doubt (mark, no answer): held, not due, reported once.
        let held = try await ledger.holdRepliesLeftInDoubt()
        #expect(held.map(\.id) == [ids[1]] && held.first?.recipient == "r1@example.org" && held.first?.channel == "email")
        #expect(try await ledger.holdRepliesLeftInDoubt().isEmpty)
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == [ids[3]])
        let counts = try await ledger.outboxCounts()
        #expect(counts["sent"] == 2 && counts["failed"] == 2 && counts["pending"] == 1, "\(counts)")
    }

    @Test("replies older than their lifetime expire, each reported; the oldest due reply's age", arguments: LedgerKind.all)
    func expiry(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let before = Date()
        let ids = try await ledger.transaction { tx in
            [try tx.enqueueReply(reply("a@b.ru")), try tx.enqueueReply(reply("+79030000000", channel: "sms"))]
        }
        try await ledger.markReplyFailed(id: ids[0], error: "421", permanent: false, retryAfter: 0)
        let oldest = try #require(try await ledger.oldestDueReply(now: Date().addingTimeInterval(1)))
        #expect(oldest >= before.addingTimeInterval(-1) && oldest <= Date().addingTimeInterval(1))
        #expect(try await ledger.expireReplies(olderThan: 3600, now: Date()).isEmpty)
        let expired = try await ledger.expireReplies(olderThan: 60, now: Date().addingTimeInterval(120))
        #expect(expired.map(\.id) == ids)
        #expect(expired.first?.attempts == 1 && expired.first?.lastError == "421")
        #expect(try await ledger.outboxCounts()["expired"] == 2)
        #expect(try await ledger.oldestDueReply(now: Date().addingTimeInterval(1)) == nil)
    }

    @Test("a reply is sent back through the feed of the message it answers", arguments: LedgerKind.all)
    func replyFeed(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let (answered, loose) = try await ledger.transaction { tx in
            let id = try tx.insertMessage(message("k1", feed: "kannel"))
            return (try tx.enqueueReply(reply("+79030000000", channel: "sms", messageID: id)), try tx.enqueueReply(reply("a@b.ru")))
        }
        #expect(try await ledger.replyFeed(outboxID: answered) == "kannel")
        #expect(try await ledger.replyFeed(outboxID: loose) == nil)
        #expect(try await ledger.replyAttempts(outboxID: 999_999) == 0)
    }

    // MARK: feed state

    @Test("a feed's cursor, its polls and what the ledger holds of it", arguments: LedgerKind.all)
    func feedState(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        #expect(try await ledger.cursor(feed: "mail") == nil)
        try await ledger.saveCursor("17:1", feed: "mail")
        try await ledger.saveCursor("17:42", feed: "mail")
        try await ledger.saveCursor("4", feed: "smsc")
        #expect(try await ledger.cursor(feed: "mail") == "17:42")
        #expect(try await ledger.cursor(feed: "smsc") == "4")
        try await ledger.recordPoll(feed: "mail", error: "connection refused")
        try await ledger.recordPoll(feed: "mail", error: "connection refused")
        #expect(try await ledger.feedStates().first { $0.feed == "mail" }?.consecutiveFailures == 2)
        #expect(try await ledger.cursor(feed: "mail") == "17:42", "a poll keeps the cursor")
        try await ledger.recordPoll(feed: "mail", error: nil)
        try await ledger.recordPoll(feed: "gammu", error: nil)
        let states = try await ledger.feedStates()
        #expect(states.map(\.feed) == ["gammu", "mail", "smsc"])
        let mail = try #require(states.first { $0.feed == "mail" })
        #expect(mail.consecutiveFailures == 0 && mail.lastSuccessAt != nil && mail.lastError == "connection refused")
        #expect(states.first { $0.feed == "smsc" }?.lastPollAt == nil)

        try await ledger.transaction { tx in
            _ = try tx.insertMessage(message("<1@x>", channel: "email", feed: "mail", raw: Array("one".utf8)))
            _ = try tx.insertMessage(message("<2@x>", channel: "email", feed: "mail", raw: nil))
            _ = try tx.insertMessage(message("<3@x>", channel: "email", feed: "other", raw: Array("three".utf8)))
        }
        let raws = Raws()
        try await ledger.forEachRawMessage(feed: "mail", channel: "email") { raws.add($0) }
        #expect(raws.all == [Array("one".utf8)])
    }

    // MARK: operator views

    @Test("review: held readings listed, approved or rejected once, with the reply queued", arguments: LedgerKind.all)
    func review(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let (first, second) = try await ledger.transaction { tx in
            let id = try tx.insertMessage(message("h1"))
            let other = try tx.insertMessage(message("h2"))
            return (try tx.insertSubmission(submission(id, status: "held", values: ["99999"]), channel: "sms", sender: "+79030000000", receivedAt: Date()),
                    try tx.insertSubmission(submission(other, status: "held", values: ["88888"]), channel: "sms", sender: nil, receivedAt: Date()))
        }
        #expect(try await ledger.heldCount() == 2)
        let held = try await ledger.heldSubmissions()
        #expect(held.map(\.id) == [first, second])
        #expect(held.first?.values == ["99999"] && held.first?.sender == "+79030000000" && held.first?.text == "1234567 12345")
        let decided = try await ledger.decide(submission: first, .approve) { held in
            NewReply(messageID: held.messageID, channel: "sms", recipient: held.sender!, subject: nil, inReplyTo: nil,
                     references: [], body: "ok", state: .pending)
        }
        #expect(decided.id == first)
        try await ledger.decide(submission: second, .reject) { _ in nil }
        #expect(try await ledger.heldSubmissions().isEmpty)
        #expect(try await ledger.heldCount() == 0)
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.latestAccepted(uin: "1234567") == ["T1": "99999"])
        }
        #expect(try await ledger.dueReplies(channel: "sms").map(\.body) == ["ok"])
        await #expect(throws: LedgerError.self) {
            try await ledger.decide(submission: first, .reject) { _ in nil }
        }
    }

    @Test("today's counts by status and reason, and the senders over the limit", arguments: LedgerKind.all)
    func counts(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let start = Date().addingTimeInterval(-1)
        try await ledger.transaction { tx in
            _ = try tx.insertMessage(message("1"))
            _ = try tx.insertMessage(message("2", status: "rejected", reason: "unparsed"))
            _ = try tx.insertMessage(message("3", status: "ignored", reason: "rate_limited"))
            _ = try tx.insertMessage(message("4", status: "ignored", reason: "rate_limited"))
            _ = try tx.insertMessage(message("5", sender: "+79990000000", status: "ignored", reason: "rate_limited"))
            _ = try tx.insertMessage(message("6", sender: nil, status: "ignored", reason: "auto_reply"))
        }
        let counts = try await ledger.messageCountsByReason(since: start)
        #expect(counts["accepted"] == 1 && counts["rejected"] == 1 && counts["ignored"] == 4)
        #expect(counts["ignored:rate_limited"] == 3 && counts["rejected:unparsed"] == 1 && counts["accepted:"] == nil)
        #expect(try await ledger.rateLimitedSenders(since: start) == 2)
        #expect(try await ledger.messageCountsByReason(since: Date().addingTimeInterval(60)).isEmpty)
    }

    // MARK: billing

    @Test("accounts imported, updated and replaced; looked up off the writer", arguments: LedgerKind.all)
    func accounts(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        #expect(try await ledger.importAccounts([
            Account(uin: "0012345", meters: ["T1", "T2"], previous: ["100", nil], digits: 5, phones: ["+79031112233"], emails: ["a@b.ru"]),
            Account(uin: "7654321", meters: ["T1"]),
        ], replacing: false) == 2)
        let account = try #require(try await ledger.account(uin: "0012345"))
        #expect(account == Account(uin: "0012345", meters: ["T1", "T2"], previous: ["100", nil], digits: 5, phones: ["+79031112233"], emails: ["a@b.ru"]))
        #expect(try await ledger.account(uin: "12345") == nil, "leading zeros count")
        _ = try await ledger.importAccounts([Account(uin: "0012345", meters: ["T1"])], replacing: false)
        #expect(try await ledger.account(uin: "0012345")?.meters == ["T1"])
        #expect(try await ledger.accountCount() == 2)
        let lookup = try ledger.makeAccountLookup()
        let found = try await offPool { try lookup.accounts(["7654321", "1111111", "7654321"]) }
        #expect(found.count == 2 && found["7654321"]??.meters == ["T1"])
        #expect(found["1111111"] != nil && found["1111111"]! == nil, "known to be unknown")
        _ = try await ledger.importAccounts([Account(uin: "1111111", meters: ["T1"])], replacing: true)
        #expect(try await ledger.accountCount() == 1)
        #expect(try await ledger.account(uin: "7654321") == nil)
        // The transaction sees the accounts too.
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.account(uin: "1111111")?.meters == ["T1"])
        }
    }

    @Test("readings export: one row per meter, oldest first, in pages, from a date", arguments: LedgerKind.all)
    func export(_ kind: LedgerKind) async throws {
        let ledger = try await kind.make()
        let old = Date().addingTimeInterval(-86400 * 10)
        try await ledger.transaction { tx in
            _ = try tx.insertSubmission(
                NewSubmission(messageID: try tx.insertMessage(message("a", at: old)), uin: "1234567", period: "2026-11", status: "accepted",
                              reason: nil, meters: ["T1", "T2"], values: ["100", "50"], previous: ["90", nil]),
                channel: "sms", sender: "+79030000000", receivedAt: old)
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("b")), status: "held", values: ["99999", "51"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("c")), status: "rejected", values: ["1", "2"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("d")), status: "duplicate", values: ["100", "50"]),
                                        channel: "email", sender: "a@b.ru", receivedAt: Date())
        }
        var rows: [ExportRow] = []
        var cursor: Int64? = 0
        var pages = 0
        while let after = cursor {
            let page = try await ledger.exportPage(since: nil, after: after, limit: 1)
            rows += page.rows
            cursor = page.next
            pages += 1
        }
        #expect(pages >= 3)
        #expect(rows.map(\.value) == ["100", "50", "99999", "51", "100", "50"], "rejected readings are not exported")
        #expect(rows.map(\.messageID) == ["a", "a", "b", "b", "d", "d"])
        #expect(rows[0].previous == "90" && rows[1].previous == nil && rows[0].sender == "+79030000000")
        #expect(rows[0].receivedAt == Timestamp.iso8601(old) && rows[4].status == "duplicate" && rows[4].channel == "email")
        let recent = try await ledger.exportPage(since: Date().addingTimeInterval(-3600), after: 0, limit: 100)
        #expect(recent.rows.map(\.messageID) == ["b", "b", "d", "d"] && recent.next == nil)
    }
}

/// Raw messages collected by a callback on the store's thread.
final class Raws: Sendable {
    private let items = Mutex<[[UInt8]]>([])
    func add(_ raw: [UInt8]) { items.withLock { $0.append(raw) } }
    var all: [[UInt8]] { items.withLock { $0 } }
}
