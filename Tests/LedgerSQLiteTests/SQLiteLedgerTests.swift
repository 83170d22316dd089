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

    @Test func durableCommitsInWALMode() async throws {
        #expect(try await ledger.synchronousMode() == 2)  // FULL
        #expect(try await ledger.journalMode() == "wal")
    }

    @Test func reopeningKeepsDataAndMigratesOnce() async throws {
        _ = try await ledger.importAccounts([Account(uin: "1234567", meters: ["T1"])], replacing: false)
        let again = try SQLiteLedger(path: ledger.path)
        #expect(try await again.accountCount() == 1)
    }

    @Test func closingCopiesTheLogIntoTheFile() async throws {
        _ = try await ledger.importAccounts([Account(uin: "1234567", meters: ["T1"])], replacing: false)
        try await ledger.close()  // the last use: a closed ledger is not called again
        let log = (try? FileManager.default.attributesOfItem(atPath: ledger.path + "-wal")[.size] as? Int) ?? 0
        #expect(log == 0, "the last connection to close checkpoints and removes the log")
        #expect(try await SQLiteStore.open(path: ledger.path).accountCount() == 1)
    }

    @Test func aBlockingCallFromATaskIsCaught() async throws {
        // Debug builds trap a blocking store call made on the cooperative pool (see
        // `assertNotOnCooperativePool`); off the pool, on a thread of its own, it runs.
        let ledger = self.ledger
        let id = try await ledger.transaction { tx in
            try tx.enqueueReply(NewReply(
                messageID: nil, channel: "sms", recipient: "+79030000000", subject: nil, inReplyTo: nil, references: [],
                body: "ok", state: .pending))
        }
        try await offPool { try ledger.markReplyCommitting(id: id, sent: []) }
        #expect(try await ledger.dueReplies(channel: "sms").isEmpty)
        #expect(withUnsafeCurrentTask { $0 != nil }, "a test runs in a task: a blocking call here would trap")
    }
}

/// Runs blocking store work on a thread outside the cooperative pool, as a transfer's thread does.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try body() }) }
    }
}
