import Foundation
import Testing

/// `metergate messages` (contract §2, §5): the support desk's look-up from the command line.
@Suite("metergate messages")
struct MessagesCLITests {
    static let accounts = """
        uin,meters,previous,digits,phones,emails
        1234567,T1;T2,10000;5000,5,+79031234567,ivanov@example.ru
        7654321,T1,500,5,,

        """
    static let lines = """
        {"id": "m1", "channel": "sms", "from": "+79031234567", "text": "1234567 10100 5100", "received_at": "2026-11-20T10:00:00+03:00"}
        {"id": "m2", "channel": "sms", "from": "89031234567", "text": "1234567 10100", "received_at": "2026-11-21T10:00:00+03:00"}
        {"id": "m3", "channel": "email", "from": "Ivanov@Example.ru", "subject": "7654321 600", "text": "", "received_at": "2026-11-22T10:00:00+03:00"}
        {"id": "m4", "channel": "sms", "from": "+79039999999", "text": "7654321 700", "received_at": "2026-11-23T10:00:00+03:00"}

        """

    func prepared() async throws -> (Sandbox, String) {
        let sandbox = try Sandbox("messages")
        let config = try sandbox.writeConfig()
        try sandbox.write("accounts.csv", Self.accounts)
        try sandbox.write("in.jsonl", Self.lines)
        let imported = try await sandbox.run(["accounts", "import", sandbox.file("accounts.csv").path, "--config", config])
        try #require(imported.status == 0, "\(imported)")
        let replayed = try await sandbox.run(["replay", sandbox.file("in.jsonl").path, "--config", config])
        try #require(replayed.status == 0, "\(replayed)")
        return (sandbox, config)
    }

    @Test("--from in any phone spelling, --uin with rejected results too, --since, --status; JSON keys of contract §5")
    func lookUps() async throws {
        let (sandbox, config) = try await prepared()
        defer { sandbox.remove() }
        for spelling in ["+79031234567", "89031234567", "8 (903) 123-45-67", "+7 903 123 45 67"] {
            let found = try await sandbox.run(["messages", "--from", spelling, "--format", "json", "--config", config])
            #expect(found.status == 0 && found.stdoutLines.count == 2, "\(spelling): \(found)")
            #expect(found.stdoutLines.first?.contains("\"id\":\"m2\"") == true, "newest first: \(found)")
        }
        let json = try await sandbox.run(["messages", "--from", "+79031234567", "--format", "json", "--config", config])
        let object = try #require(try JSONSerialization.jsonObject(with: Data((json.stdoutLines.last ?? "").utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["id", "channel", "received_at", "from", "text", "status", "reason", "results", "reply", "reply_state"])
        #expect(object["id"] as? String == "m1" && object["status"] as? String == "accepted" && object["from"] as? String == "+79031234567")
        #expect(object["text"] as? String == "1234567 10100 5100")
        #expect(object["reply_state"] as? String == "replay-only")
        #expect((object["results"] as? [[String: Any]])?.first?["readings"] as? [String] == ["10100", "5100"])
        #expect(object["reason"] is NSNull)

        let rejected = try await sandbox.run(["messages", "--uin", "1234567", "--status", "rejected", "--format", "json", "--config", config])
        #expect(rejected.stdoutLines.count == 1 && rejected.stdoutText.contains("\"reason\":\"count_mismatch\""), "\(rejected)")
        let byAddress = try await sandbox.run(["messages", "--from", "IVANOV@example.RU", "--config", config])
        #expect(byAddress.stdoutText.contains("ivanov@example.ru") && byAddress.stdoutText.contains("uin 7654321"), "\(byAddress)")
        let since = try await sandbox.run(["messages", "--uin", "7654321", "--since", "2026-11-23", "--format", "json", "--config", config])
        #expect(since.stdoutLines.count == 1 && since.stdoutText.contains("\"id\":\"m4\""), "\(since)")
        let limited = try await sandbox.run(["messages", "--limit", "3", "--format", "json", "--config", config])
        #expect(limited.stdoutLines.count == 3, "\(limited)")
        let none = try await sandbox.run(["messages", "--from", "+70000000000", "--config", config])
        #expect(none.status == 0 && none.stdoutText == "no messages\n", "\(none)")
    }

    @Test("bad options exit 2 with one line naming the option", arguments: [
        ["--status", "lost"], ["--since", "yesterday"], ["--limit", "0"], ["--format", "xml"],
    ])
    func badOptions(_ options: [String]) async throws {
        let sandbox = try Sandbox("messages-bad")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        let result = try await sandbox.run(["messages"] + options + ["--config", config])
        #expect(result.status == 2 && result.stderr.contains(options[0]), "\(result)")
    }
}
