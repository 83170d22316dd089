import Foundation
import Testing
@testable import LedgerSQLite
import Ledger

@Suite struct SQLiteLedgerTests {
    let directory: URL
    let ledger: SQLiteLedger

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")
        ledger = try SQLiteLedger(path: directory.appendingPathComponent("store/metergate.sqlite").path)
    }

    func message(_ id: String, sender: String? = "+79030000000", at date: Date = Date()) -> NewMessage {
        NewMessage(
            channel: "sms", externalID: id, feed: "test", sender: sender, receivedAt: date, subject: nil,
            text: "1234567 12345", raw: nil, status: "accepted", reason: nil, outcomeJSON: "{}", reply: "ok")
    }

    @Test func durableCommitsInWALMode() throws {
        #expect(try ledger.synchronousMode() == 2)  // FULL
        #expect(try ledger.journalMode() == "wal")
    }

    @Test func reopeningKeepsDataAndMigratesOnce() throws {
        _ = try ledger.importAccounts([Account(uin: "1234567", meters: ["T1"])], replacing: false)
        let again = try SQLiteLedger(path: ledger.path)
        #expect(try again.accountCount() == 1)
    }

    @Test func aMessageIsStoredOncePerChannelAndID() throws {
        try ledger.transaction { tx in
            #expect(try !tx.hasMessage(channel: "sms", externalID: "m1"))
            _ = try tx.insertMessage(message("m1"))
            #expect(try tx.hasMessage(channel: "sms", externalID: "m1"))
            #expect(try !tx.hasMessage(channel: "email", externalID: "m1"))
        }
        #expect(throws: (any Error).self) {
            try ledger.transaction { tx in _ = try tx.insertMessage(message("m1")) }
        }
    }

    @Test func aFailedTransactionLeavesNothing() throws {
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try ledger.transaction { tx in
                _ = try tx.insertMessage(message("m2"))
                throw Boom()
            }
        }
        try ledger.transaction { (tx: any LedgerTransaction) throws -> Void in #expect(try !tx.hasMessage(channel: "sms", externalID: "m2")) }
    }

    @Test func accountsUpsertAndReplace() throws {
        _ = try ledger.importAccounts([
            Account(uin: "0012345", meters: ["T1", "T2"], previous: ["100", nil], digits: 5, phones: ["+79031112233"], emails: ["a@b.ru"]),
            Account(uin: "7654321", meters: ["T1"]),
        ], replacing: false)
        let account = try #require(try ledger.account(uin: "0012345"))
        #expect(account.meters == ["T1", "T2"])
        #expect(account.previous == ["100", nil])
        #expect(account.digits == 5)
        #expect(account.phones == ["+79031112233"])
        #expect(try ledger.account(uin: "12345") == nil)  // leading zeros count
        _ = try ledger.importAccounts([Account(uin: "0012345", meters: ["T1"])], replacing: false)
        #expect(try ledger.account(uin: "0012345")?.meters == ["T1"])
        #expect(try ledger.accountCount() == 2)
        _ = try ledger.importAccounts([Account(uin: "1111111", meters: ["T1"])], replacing: true)
        #expect(try ledger.accountCount() == 1)
    }

    @Test func latestAcceptedAndRecordedPerPeriod() throws {
        try ledger.transaction { tx in
            let id = try tx.insertMessage(message("a"))
            _ = try tx.insertSubmission(
                NewSubmission(messageID: id, uin: "1234567", period: "2026-11", status: "accepted", reason: nil,
                              meters: ["T1", "T2"], values: ["100", "50"], previous: ["90", nil]),
                channel: "sms", sender: nil, receivedAt: Date())
            let held = try tx.insertMessage(message("b"))
            _ = try tx.insertSubmission(
                NewSubmission(messageID: held, uin: "1234567", period: "2026-11", status: "held", reason: "implausible",
                              meters: ["T1", "T2"], values: ["99999", "51"], previous: ["100", "50"]),
                channel: "sms", sender: nil, receivedAt: Date())
            #expect(try tx.latestAccepted(uin: "1234567") == ["T1": "100", "T2": "50"])
            #expect(try tx.hasRecorded(uin: "1234567", period: "2026-11", values: ["100", "50"]))
            #expect(try tx.hasRecorded(uin: "1234567", period: "2026-11", values: ["99999", "51"]))
            #expect(try !tx.hasRecorded(uin: "1234567", period: "2026-12", values: ["100", "50"]))
        }
        var rows: [ExportRow] = []
        try ledger.forEachExportRow(since: nil) { rows.append($0) }
        #expect(rows.map(\.value) == ["100", "50", "99999", "51"])
        #expect(rows.first?.previous == "90")
        #expect(rows[1].previous == nil)
        #expect(rows.map(\.messageID) == ["a", "a", "b", "b"])
    }

    @Test func senderCountsWithinAWindow() throws {
        let now = Date()
        try ledger.transaction { tx in
            _ = try tx.insertMessage(message("1", at: now.addingTimeInterval(-4000)))
            _ = try tx.insertMessage(message("2", at: now.addingTimeInterval(-100)))
            _ = try tx.insertMessage(message("3", at: now))
            _ = try tx.insertMessage(message("4", sender: "+79990000000", at: now))
            #expect(try tx.countMessages(sender: "+79030000000", since: now.addingTimeInterval(-3600)) == 2)
        }
    }

    @Test func reviewApproveTurnsHeldIntoAcceptedAndQueuesAReply() throws {
        let submission = try ledger.transaction { tx in
            let id = try tx.insertMessage(message("h"))
            return try tx.insertSubmission(
                NewSubmission(messageID: id, uin: "1234567", period: "2026-11", status: "held", reason: "implausible",
                              meters: ["T1"], values: ["99999"], previous: ["100"]),
                channel: "sms", sender: "+79030000000", receivedAt: Date())
        }
        #expect(try ledger.heldSubmissions().map(\.id) == [submission])
        try ledger.decide(submission: submission, .approve) { held in
            NewReply(messageID: held.messageID, channel: "sms", recipient: held.sender!, subject: nil, inReplyTo: nil,
                     references: [], body: "ok", state: .pending)
        }
        #expect(try ledger.heldSubmissions().isEmpty)
        try ledger.transaction { (tx: any LedgerTransaction) throws -> Void in #expect(try tx.latestAccepted(uin: "1234567") == ["T1": "99999"]) }
        #expect(try ledger.dueReplies(channel: "sms").count == 1)
        #expect(throws: LedgerError.self) {
            try ledger.decide(submission: submission, .reject) { _ in nil }
        }
    }

    @Test func outboxRetriesThenSendsOrFails() throws {
        let reply = NewReply(messageID: nil, channel: "email", recipient: "a@b.ru", subject: "Re: x", inReplyTo: "<1@b>",
                             references: ["<0@b>", "<1@b>"], body: "text", state: .pending)
        let (first, second, _) = try ledger.transaction { tx in
            (try tx.enqueueReply(reply), try tx.enqueueReply(reply),
             try tx.enqueueReply(NewReply(messageID: nil, channel: "email", recipient: "x@y", subject: nil,
                                          inReplyTo: nil, references: [], body: "replay", state: .recorded)))
        }
        let due = try ledger.dueReplies(channel: "email")
        #expect(due.map(\.id) == [first, second])  // replay's recorded reply is never due
        #expect(due.first?.references == ["<0@b>", "<1@b>"])
        try ledger.markReplyFailed(id: first, error: "421 try later", permanent: false, retryAfter: 60)
        #expect(try ledger.dueReplies(channel: "email").map(\.id) == [second])
        #expect(try ledger.dueReplies(channel: "email", now: Date().addingTimeInterval(120)).map(\.id) == [first, second])
        try ledger.markReplySent(id: second)
        try ledger.markReplyFailed(id: first, error: "550 no such user", permanent: true, retryAfter: 0)
        let counts = try ledger.outboxCounts()
        #expect(counts["sent"] == 1 && counts["failed"] == 1 && counts["recorded"] == 1)
    }

    @Test func feedStateRemembersFailuresInARow() throws {
        try ledger.recordPoll(feed: "mail", error: "connection refused")
        try ledger.recordPoll(feed: "mail", error: "connection refused")
        #expect(try ledger.feedStates().first?.consecutiveFailures == 2)
        try ledger.recordPoll(feed: "mail", error: nil)
        let state = try #require(try ledger.feedStates().first)
        #expect(state.consecutiveFailures == 0)
        #expect(state.lastSuccessAt != nil)
    }
}

@Suite struct TimestampTests {
    @Test(arguments: [
        ("2026-11-20T08:00:00+03:00", 1_795_150_800.0, 10800),
        ("2026-11-20T05:00:00Z", 1_795_150_800.0, 0),
        ("2026-11-20T08:00:00.250+0300", 1_795_150_800.0, 10800),
        ("2026-11-20 05:00+00:00", 1_795_150_800.0, 0),
    ])
    func parsesISO8601(text: String, seconds: Double, offset: Int) throws {
        let parsed = try #require(Timestamp.parse(text))
        #expect(parsed.date.timeIntervalSince1970 == seconds)
        #expect(parsed.offset == offset)
    }

    @Test(arguments: ["", "2026-13-01", "2026-11-20T25:00", "yesterday", "2026-11-20T08:00:00+3"])
    func refusesNonsense(text: String) {
        #expect(Timestamp.parse(text) == nil)
    }

    @Test func formatsWithOffset() throws {
        let date = Date(timeIntervalSince1970: 1_795_150_800)
        #expect(Timestamp.iso8601(date, timeZone: TimeZone(secondsFromGMT: 10800)!) == "2026-11-20T08:00:00+03:00")
        #expect(Timestamp.iso8601(date, timeZone: TimeZone(secondsFromGMT: 0)!) == "2026-11-20T05:00:00Z")
    }
}
