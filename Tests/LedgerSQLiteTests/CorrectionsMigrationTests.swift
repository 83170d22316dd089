import Foundation
import GRDB
import Ledger
import Testing
@testable import LedgerSQLite

/// Migration v5 on a store written before corrections: the latest accepted submission of an
/// account's period is the one that counts, the accepted and duplicate ones before it are
/// superseded by it, and the accounts' phones and addresses are indexed for the history.
@Suite struct CorrectionsMigrationTests {
    @Test func aStoreFromBeforeCorrectionsGetsOneCurrentReadingPerPeriod() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ledger-v4-\(UUID().uuidString).sqlite").path
        do {
            let queue = try DatabaseQueue(path: path)
            try SQLiteLedger.migrator.migrate(queue, upTo: "v4: outbox.data_sent_at (the end of a reply's data went to the server)")
            try await queue.write { db in
                try db.execute(sql: """
                    INSERT INTO account (uin, meters, previous, phones, emails, imported_at)
                    VALUES ('1234567', 'T1', '100', '+79031112233;+79034445566', 'a@b.ru', 0),
                           ('7654321', 'T1', '', '+79031112233', '', 0);
                    """)
                let rows: [(String, String, String, String)] = [
                    ("1234567", "2026-10", "accepted", "150"), ("1234567", "2026-11", "accepted", "200"),
                    ("1234567", "2026-11", "duplicate", "200"), ("1234567", "2026-11", "held", "9000"),
                    ("1234567", "2026-11", "accepted", "190"), ("7654321", "2026-11", "accepted", "5"),
                ]
                for (index, row) in rows.enumerated() {
                    try db.execute(sql: """
                        INSERT INTO message (channel, external_id, feed, received_at, received_at_text, status, outcome, processed_at)
                        VALUES ('sms', ?, 'test', ?, '2026-11-20T08:00:00Z', ?, '{}', 0)
                        """, arguments: ["m\(index)", Double(index), row.2])
                    try db.execute(sql: """
                        INSERT INTO submission (message_id, uin, period, status, meters, vals, previous, channel, received_at, received_at_text)
                        VALUES (?, ?, ?, ?, 'T1', ?, '', 'sms', ?, '2026-11-20T08:00:00Z')
                        """, arguments: [db.lastInsertedRowID, row.0, row.1, row.2, row.3, Double(index)])
                }
            }
            try queue.close()
        }
        let ledger = try SQLiteLedger(path: path)
        var rows: [ExportRow] = []
        var cursor: Int64? = 0
        while let after = cursor {
            let page = try await ledger.exportPage(since: nil, after: after, limit: 100, includeSuperseded: true)
            rows += page.rows
            cursor = page.next
        }
        #expect(rows.map { "\($0.messageID) \($0.status)" } == [
            "m0 accepted", "m1 superseded", "m2 superseded", "m3 held", "m4 accepted", "m5 accepted",
        ], "the held one is left for the operator")
        try await ledger.transaction { (tx: any LedgerTransaction) throws -> Void in
            #expect(try tx.periodState(uin: "1234567", period: "2026-11", values: ["200"]).alreadyRecorded == false)
            #expect(try tx.periodState(uin: "1234567", period: "2026-11", values: ["1"]).current?.values == ["190"])
            #expect(try tx.uinsBound(to: "+79031112233") == ["1234567", "7654321"])
            #expect(try tx.uinsBound(to: "a@b.ru") == ["1234567"])
        }
        try await ledger.close()
    }
}
