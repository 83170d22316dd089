import Foundation
import Testing

/// `metergate readings export` (contract §4, readings export).
@Suite("readings export")
struct ReadingsExportTests {
    static let fields = ["uin", "meter", "value", "previous", "received_at", "channel", "sender", "status", "message_id"]

    /// accepted (2 meters), held (increase over 5000), duplicate, rejected (decreasing), ignored (bounce),
    /// and an accepted e-mail on a later date.
    static func messages() throws -> [String] {
        [
            try sms("s1", "1234567 12100 6050", at: "2026-11-05T10:00:00+03:00"),
            try sms("s2", "7654321 9000", from: "+79811567352", at: "2026-11-06T10:00:00+03:00"),
            try sms("s3", "1234567 12100 6050", at: "2026-11-07T10:00:00+03:00"),
            try sms("s4", "2000001 900", from: "+79035550001", at: "2026-11-08T10:00:00+03:00"),
            try replayLine([
                "id": "e1", "channel": "email", "from": "ivanov@example.ru", "subject": "2000002 1200", "text": "",
                "received_at": "2026-11-20T12:30:00+03:00",
            ]),
        ]
    }

    func recorded() async throws -> (Sandbox, String, [OutcomeLine]) {
        let sandbox = try Sandbox("export")
        let config = try await sandbox.prepared()
        let (result, outcomes) = try await sandbox.replay(try Self.messages(), config: config)
        guard result.status == 0, outcomes.count == 5 else {
            sandbox.remove()
            throw HarnessError(description: "replay failed: \(result)")
        }
        return (sandbox, config, outcomes)
    }

    @Test("CSV: exact header, one row per meter reading of accepted, held and duplicate results")
    func csv() async throws {
        let (sandbox, config, outcomes) = try await recorded()
        defer { sandbox.remove() }
        #expect(outcomes.map { $0.status ?? "" } == ["accepted", "held", "duplicate", "rejected", "accepted"], "\(outcomes)")
        let (result, header, rows) = try await sandbox.exportRows(config: config)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutLines.first == Self.fields.joined(separator: ","), "header: \(result.stdoutLines.first ?? "")")
        #expect(header == Self.fields)
        for row in rows {
            #expect(row["_fields"] == "9", "every row has 9 fields: \(row)")
            #expect(isNormalisedDecimal(row["value"] ?? ""), "value: \(row)")
        }
        // accepted 1234567 (T1, T2) + held 7654321 (T1) + duplicate 1234567 (T1, T2) + accepted 2000002 (T1)
        #expect(rows.count == 6, "rows: \(result.stdoutText)")
        let accepted = rows.filter { $0["uin"] == "1234567" && $0["status"] == "accepted" }
        #expect(accepted.map { "\($0["meter"] ?? "")=\($0["value"] ?? "")" }.sorted() == ["T1=12100", "T2=6050"], "\(result.stdoutText)")
        #expect(accepted.first { $0["meter"] == "T1" }?["previous"] == "12000", "previous of T1: \(accepted)")
        #expect(accepted.first?["channel"] == "sms")
        #expect(accepted.first?["message_id"] == "s1", "message_id: \(accepted)")
        #expect(accepted.first?["sender"]?.contains("9031234567") == true, "sender: \(accepted)")
        let held = rows.filter { $0["status"] == "held" }
        #expect(held.map { $0["uin"] ?? "" } == ["7654321"] && held.first?["value"] == "9000", "\(result.stdoutText)")
        let duplicate = rows.filter { $0["status"] == "duplicate" }
        #expect(duplicate.count == 2 && duplicate.allSatisfy { $0["uin"] == "1234567" && $0["message_id"] == "s3" }, "\(result.stdoutText)")
        #expect(!rows.contains { $0["uin"] == "2000001" }, "a rejected reading is not exported: \(result.stdoutText)")
        let mail = rows.filter { $0["uin"] == "2000002" }
        #expect(mail.count == 1 && mail.first?["channel"] == "email" && mail.first?["value"] == "1200", "\(result.stdoutText)")
        #expect(mail.first?["received_at"]?.hasPrefix("2026-11-20") == true, "received_at: \(mail)")
    }

    @Test("--format json: one object per line with the same fields")
    func json() async throws {
        let (sandbox, config, _) = try await recorded()
        defer { sandbox.remove() }
        let (csvResult, _, csvRows) = try await sandbox.exportRows(config: config)
        try #require(csvResult.status == 0)
        let result = try await sandbox.run(["readings", "export", "--config", config, "--format", "json"])
        #expect(result.status == 0, "\(result)")
        let lines = result.stdoutLines
        #expect(lines.count == csvRows.count, "json lines \(lines.count), csv rows \(csvRows.count)")
        var objects: [[String: Any]] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not an object: \(line)")
            #expect(Set(object.keys) == Set(Self.fields), "keys: \(object.keys.sorted())")
            #expect(object["value"] is String, "values as decimal strings: \(line)")
            objects.append(object)
        }
        func key(_ object: [String: Any]) -> String {
            Self.fields.map { field in
                let value = object[field]
                return value is NSNull || value == nil ? "" : "\(value!)"
            }.joined(separator: "|")
        }
        let fromJSON = objects.map(key).sorted()
        let fromCSV = csvRows.map { row in Self.fields.map { row[$0] ?? "" }.joined(separator: "|") }.sorted()
        #expect(fromJSON == fromCSV, "json and csv differ:\n\(fromJSON)\n\(fromCSV)")
    }

    @Test("--since filters by received time; a bad --since is a usage error")
    func since() async throws {
        let (sandbox, config, _) = try await recorded()
        defer { sandbox.remove() }
        let (result, _, rows) = try await sandbox.exportRows(config: config, extra: ["--since", "2026-11-15"])
        #expect(result.status == 0, "\(result)")
        #expect(rows.map { $0["uin"] ?? "" } == ["2000002"], "\(result.stdoutText)")
        let (between, _, rowsBetween) = try await sandbox.exportRows(config: config, extra: ["--since", "2026-11-06T00:00:00+03:00"])
        #expect(between.status == 0)
        #expect(rowsBetween.count == 4, "held 7654321 + duplicate (2) + 2000002: \(between.stdoutText)")
        let (later, header, none) = try await sandbox.exportRows(config: config, extra: ["--since", "2027-01-01"])
        #expect(later.status == 0)
        #expect(header == Self.fields, "the header is printed even with no rows")
        #expect(none.isEmpty)
        let bad = try await sandbox.run(["readings", "export", "--config", config, "--since", "yesterday"])
        #expect(bad.status == 2, "\(bad)")
        #expect(bad.stderr.contains("yesterday"), "\(bad.stderr)")
    }
}
