import Foundation
import Testing
@testable import LedgerSQLite
import Ledger

/// The work taken off the writer's thread: account lookups on read-only connections and
/// checkpoints on a connection of their own.
@Suite struct OffWriterTests {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-\(UUID().uuidString)")

    func message(_ id: String, text: String = "1234567 12345") -> NewMessage {
        NewMessage(
            channel: "sms", externalID: id, feed: "test", sender: "+79030000000", receivedAt: Date(), subject: nil,
            text: text, raw: nil, status: "accepted", reason: nil, outcomeJSON: "{}", reply: "ok")
    }

    func submission(_ messageID: Int64, _ status: String, _ period: String, _ values: [String]) -> NewSubmission {
        NewSubmission(
            messageID: messageID, uin: "1234567", period: period, status: status, reason: nil, meters: ["T1", "T2"],
            values: values, previous: [nil, nil])
    }

    @Test func anAccountReaderSeesImportedAccountsAndNamesUnknownOnes() async throws {
        let ledger = try SQLiteLedger(path: directory.appendingPathComponent("a.sqlite").path)
        _ = try await ledger.importAccounts([
            Account(uin: "1234567", meters: ["T1", "T2"], previous: ["100", nil], digits: 5, phones: ["+79031112233"]),
        ], replacing: false)
        let reader = try ledger.makeAccountReader()
        let found = try await offPool { try reader.accounts(["1234567", "7654321", "1234567"]) }
        #expect(found.count == 2)
        #expect(found["1234567"]??.meters == ["T1", "T2"])
        #expect(found["1234567"]??.previous == ["100", nil])
        #expect(found["1234567"]??.phones == ["+79031112233"])
        // Known to be unknown (an entry holding nil), not merely missing.
        #expect(found["7654321"] != nil)
        #expect(found["7654321"]! == nil)
    }

    @Test func priorStateTakesTheNewestAcceptedRowWhateverTheStatusOrder() async throws {
        let ledger = try SQLiteLedger(path: directory.appendingPathComponent("p.sqlite").path)
        try await ledger.transaction { tx in
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("1")), "accepted", "2026-09", ["100", "50"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("2")), "accepted", "2026-10", ["120", "60"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("3")), "held", "2026-11", ["99999", "61"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
            _ = try tx.insertSubmission(submission(try tx.insertMessage(message("4")), "rejected", "2026-11", ["130", "70"]),
                                        channel: "sms", sender: nil, receivedAt: Date())
        }
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            let held = try tx.priorState(uin: "1234567", period: "2026-11", values: ["99999", "61"])
            #expect(held.latestAccepted == ["T1": "120", "T2": "60"])
            #expect(held.alreadyRecorded)
            // A rejected row is not a recording; the same values in another period are not either.
            #expect(try !tx.priorState(uin: "1234567", period: "2026-11", values: ["130", "70"]).alreadyRecorded)
            #expect(try !tx.priorState(uin: "1234567", period: "2026-11", values: ["120", "60"]).alreadyRecorded)
            #expect(try tx.priorState(uin: "7654321", period: "2026-11", values: ["1", "2"]).latestAccepted.isEmpty)
        }
    }

    @Test func theLogIsCopiedIntoTheDatabaseFileOffTheWriter() async throws {
        let path = directory.appendingPathComponent("c.sqlite").path
        // Checkpoints from 64 pages of log; the writer would do one itself only at 256.
        let ledger = try SQLiteLedger(path: path, checkpointFrames: 64)
        ledger.checkpointer.wait()
        let before = try fileSize(path)
        let text = String(repeating: "показания ", count: 200)  // ~3.8 KB: about a page each
        for batch in 0..<15 {
            try await ledger.transaction { tx in
                for index in 0..<10 { _ = try tx.insertMessage(message("\(batch)-\(index)", text: text)) }
            }
        }
        ledger.checkpointer.wait()
        // ~150 pages were committed: the checkpoints copied most of them into the file, although
        // the log never reached the writer's own limit.
        #expect(try fileSize(path) >= before + 100 * 4096)
        #expect(try fileSize(path + "-wal") <= 256 * 4096 + 65_536)
        let again = try SQLiteLedger(path: path)
        try await again.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.hasMessage(channel: "sms", externalID: "14-9"))
        }
    }

    func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
    }
}
