import Foundation
import Testing

/// `metergate accounts import` (contract §4, accounts CSV).
@Suite("accounts import")
struct AccountsImportTests {
    /// Line numbers are the file's (the header is line 1).
    static let malformed = """
        uin,meters,previous,digits,phones,emails
        3000001,T1,100,,+79030000001,
        30A0002,T1,100,,,
        3000003,,100,,,
        3000004,T1;T2,100,,,
        3000005,T1,abc,,,
        3000006,T1,100,x,,
        3000007,T1,100
        3000008,T1;T2,"100;200",5,,"a@example.ru;b@example.ru"
        3000009,T1,100,-3,,
        3000010,T1,100,,,
        "3000011,T1,100,,,

        """

    static let badLines: [(line: Int, uin: String)] = [
        (3, "30A0002"), (4, "3000003"), (5, "3000004"), (6, "3000005"), (7, "3000006"), (8, "3000007"),
        (10, "3000009"), (12, "3000011"),
    ]
    static let goodUINs = ["3000001", "3000008", "3000010"]

    @Test("a malformed CSV: exit 1, each bad row reported with its line, the good rows imported")
    func malformedRows() async throws {
        let sandbox = try Sandbox("csv")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("bad.csv", Self.malformed)
        let result = try await sandbox.run(["accounts", "import", "bad.csv", "--config", config])
        #expect(result.status == 1, "\(result)")
        #expect(!result.timedOut)
        let errorLines = result.stderr.split(separator: "\n").map(String.init)
        for bad in Self.badLines {
            let mentions = errorLines.filter { $0.range(of: "(^|[^0-9])\(bad.line)([^0-9]|$)", options: .regularExpression) != nil }
            #expect(!mentions.isEmpty, "line \(bad.line) (uin \(bad.uin)) not reported on stderr:\n\(result.stderr)")
        }
        for good in [2, 9, 11] {
            #expect(!errorLines.contains { $0.contains("bad.csv:\(good):") || $0.contains("line \(good):") },
                    "good line \(good) reported as bad:\n\(result.stderr)")
        }
        #expect(!result.stderr.contains("Fatal error"))

        // The good rows are there, the bad ones are not.
        var lines: [String] = []
        for (index, uin) in Self.goodUINs.enumerated() {
            let values = uin == "3000008" ? "150 250" : "150"
            lines.append(try sms("good\(index)", "\(uin) \(values)", from: "+7903000100\(index)"))
        }
        for (index, bad) in Self.badLines.enumerated() where bad.uin.allSatisfy(\.isNumber) {
            lines.append(try sms("bad\(index)", "\(bad.uin) 150", from: "+7903000200\(index)"))
        }
        let (replay, outcomes) = try await sandbox.replay(lines, config: config)
        #expect(replay.status == 0, "\(replay)")
        try #require(outcomes.count == lines.count, "\(replay)")
        for outcome in outcomes where outcome.id.hasPrefix("good") {
            #expect(outcome.status == "accepted", "\(outcome)")
        }
        for outcome in outcomes where outcome.id.hasPrefix("bad") {
            #expect(outcome.status == "rejected", "\(outcome)")
            #expect(outcome.anyReason == "unknown_account", "\(outcome)")
        }
    }

    @Test("an unterminated quote in the middle does not swallow the good rows after it")
    func unterminatedQuoteMidFile() async throws {
        let sandbox = try Sandbox("csvquote")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("quote.csv", """
            uin,meters,previous
            3100001,T1,100
            3100002,"T1,100
            3100003,T1,100
            3100004,T1,100

            """)
        let result = try await sandbox.run(["accounts", "import", "quote.csv", "--config", config])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains(":3:") || result.stderr.contains("line 3"), "the open quote on line 3 must be reported: \(result.stderr)")
        let (_, outcomes) = try await sandbox.replay([
            try sms("a", "3100001 150", from: "+79031000001"),
            try sms("c", "3100003 150", from: "+79031000003"),
            try sms("d", "3100004 150", from: "+79031000004"),
        ], config: config)
        try #require(outcomes.count == 3)
        #expect(outcomes[0].status == "accepted", "\(outcomes[0])")
        #expect(outcomes[1].status == "accepted", "row after an unterminated quote lost: \(outcomes[1])")
        #expect(outcomes[2].status == "accepted", "row after an unterminated quote lost: \(outcomes[2])")
    }

    @Test("a missing required header column: exit 1 with a clear message, nothing imported")
    func missingHeaderColumn() async throws {
        let sandbox = try Sandbox("csvheader")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("noheader.csv", "uin,previous,phones\n3200001,100,\n")
        let result = try await sandbox.run(["accounts", "import", "noheader.csv", "--config", config])
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("meters"), "the message should name the missing column: \(result.stderr)")
        #expect(result.stderr.contains("noheader.csv"), "the message should name the file: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count <= 3, "one clear line, not a flood: \(result.stderr)")
        let (_, outcomes) = try await sandbox.replay([try sms("x", "3200001 150")], config: config)
        #expect(outcomes.first?.anyReason == "unknown_account", "\(outcomes)")
    }

    @Test("--replace removes the accounts absent from the new file; without it they stay")
    func replace() async throws {
        let sandbox = try Sandbox("csvreplace")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("one.csv", "uin,meters,previous\n3300001,T1,100\n3300002,T1,100\n")
        try sandbox.write("two.csv", "uin,meters,previous\n3300002,T1,100\n3300003,T1,100\n")
        try #require(try await sandbox.run(["accounts", "import", "one.csv", "--config", config]).status == 0)
        try #require(try await sandbox.run(["accounts", "import", "two.csv", "--config", config]).status == 0)
        let (_, merged) = try await sandbox.replay([
            try sms("a", "3300001 150", from: "+79033000001"),
            try sms("b", "3300002 150", from: "+79033000002"),
            try sms("c", "3300003 150", from: "+79033000003"),
        ], config: config, name: "merged.jsonl")
        #expect(merged.map(\.status) == ["accepted", "accepted", "accepted"], "\(merged)")

        let replaced = try await sandbox.run(["accounts", "import", "one.csv", "--config", config, "--replace"])
        #expect(replaced.status == 0, "\(replaced)")
        let (_, after) = try await sandbox.replay([
            try sms("a2", "3300001 160", from: "+79033000001"),
            try sms("b2", "3300002 160", from: "+79033000002"),
            try sms("c2", "3300003 160", from: "+79033000003"),
        ], config: config, name: "after.jsonl")
        try #require(after.count == 3)
        #expect(after[0].status == "accepted", "\(after[0])")
        #expect(after[1].status == "accepted", "\(after[1])")
        #expect(after[2].status == "rejected" && after[2].anyReason == "unknown_account", "3300003 should be gone: \(after[2])")
    }

    @Test("columns in any order, unknown columns ignored, quoted fields with commas, leading zeros kept")
    func columnOrderAndQuoting() async throws {
        let sandbox = try Sandbox("csvorder")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("order.csv", #"""
            Name,emails,previous,Address,meters,uin,digits
            "Иванов, Иван",ivanov@example.ru,"100;200","ул. Ленина, д. 1, кв. ""5""","T1;T2",0034001,
            Petrov,,5000,"",T1,3400002,6

            """#)
        let result = try await sandbox.run(["accounts", "import", "order.csv", "--config", config])
        #expect(result.status == 0, "\(result)")
        let (_, outcomes) = try await sandbox.replay([
            try sms("a", "0034001 150 250", from: "+79034000001"),
            try sms("b", "3400002 5100", from: "+79034000002"),
            try sms("z", "34001 150 250", from: "+79034000003"),
            try sms("d", "0034001 90 260", from: "+79034000004", at: "2026-11-21T09:00:00+03:00"),
        ], config: config)
        try #require(outcomes.count == 4)
        #expect(outcomes[0].status == "accepted", "\(outcomes[0])")
        #expect(outcomes[0].results.first?.uin == "0034001", "leading zeros count: \(outcomes[0])")
        #expect(outcomes[0].results.first?.readings == ["150", "250"], "\(outcomes[0])")
        #expect(outcomes[1].status == "accepted", "\(outcomes[1])")
        #expect(outcomes[2].status == "rejected", "UIN without its leading zeros is another UIN: \(outcomes[2])")
        // previous "100;200" was read: 90 < 100 → decreasing (a correction of the period's 150
        // is checked against the period before, never against the submission it replaces).
        #expect(outcomes[3].status == "rejected" && outcomes[3].anyReason == "decreasing", "\(outcomes[3])")
    }
}
