import Foundation
import Testing
@testable import LedgerSQLite
import Ledger

/// The durable steps of a reply with a point of no return: `data_sent_at`, group-committed
/// `sent`, and the replies a stopped process left in doubt.
@Suite struct ReplyFlightLedgerTests {
    let ledger: SQLiteLedger

    init() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-flight-\(UUID().uuidString)")
        ledger = try SQLiteLedger(path: directory.appendingPathComponent("metergate.sqlite").path)
    }

    func enqueue(_ count: Int) async throws -> [Int64] {
        try await ledger.transaction { tx in
            try (0..<count).map { index in
                try tx.enqueueReply(NewReply(
                    messageID: nil, channel: "email", recipient: "r\(index)@example.org", subject: "Re: x",
                    inReplyTo: "<\(index)@x>", references: [], body: "ok", state: .pending))
            }
        }
    }

    @Test func markedRepliesAreNeverDueAndAreHeldAfterARestart() async throws {
        let ledger = self.ledger
        let ids = try await enqueue(4)
        // Reply 0 passes its point of no return; then reply 1 does, and 0's `sent` rides along.
        try await offPool { try ledger.markReplyCommitting(id: ids[0], sent: []) }
        #expect(try await ledger.synchronousMode() == 2, "the connection must be back to FULL")
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == Array(ids[1...]))
        try await offPool { try ledger.markReplyCommitting(id: ids[1], sent: [ids[0]]) }
        try await ledger.markRepliesSent([ids[2]])
        // A definite answer after the end of data (451) makes it due again later.
        try await offPool { try ledger.markReplyCommitting(id: ids[3], sent: []) }
        try await ledger.markReplyFailed(id: ids[3], error: "451", permanent: false, retryAfter: 0)
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == [ids[3]])

        // "Restart": reply 1 is in doubt (mark, no answer): held, not due, reported once.
        let held = try await ledger.holdRepliesLeftInDoubt()
        #expect(held.map(\.id) == [ids[1]])
        #expect(try await ledger.holdRepliesLeftInDoubt().isEmpty)
        #expect(try await ledger.dueReplies(channel: "email").map(\.id) == [ids[3]])
        let counts = try await ledger.outboxCounts()
        #expect(counts["sent"] == 2 && counts["failed"] == 1 && counts["pending"] == 1, "\(counts)")
    }
}
