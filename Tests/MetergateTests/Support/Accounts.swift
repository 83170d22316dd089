import Foundation

/// Small accounts files and helpers shared by the tests.
enum TestAccounts {
    /// 1234567: two zones (T1 12000, T2 6000), bound to +79031234567 and ivanov@example.ru.
    /// 7654321: one meter (previous 500), bound to +79811567352.
    /// 0012345: one meter, 5 digits (previous 99990), leading zeros count.
    static let basic = """
        uin,meters,previous,digits,phones,emails
        1234567,T1;T2,12000;6000,,+79031234567,ivanov@example.ru
        7654321,T1,500,,+79811567352,
        0012345,T1,99990,5,,
        2000001,T1,1000,,,
        2000002,T1,1000,,,

        """
}

extension Sandbox {
    /// A configuration plus the given accounts imported; returns the configuration path.
    func prepared(accounts: String = TestAccounts.basic, extraConfig: String = "") async throws -> String {
        let config = try writeConfig(extra: extraConfig)
        try write("accounts.csv", accounts)
        let result = try await run(["accounts", "import", "accounts.csv", "--config", config], timeout: 30)
        guard result.status == 0, !result.timedOut else {
            throw HarnessError(description: "accounts import failed: \(result)")
        }
        return config
    }

    /// Writes `lines` (already JSON) as a replay file and replays it.
    func replay(_ lines: [String], config: String, name: String = "input.jsonl", environment: [String: String] = [:],
                timeout: TimeInterval = 60) async throws -> (RunResult, [OutcomeLine]) {
        try write(name, lines.joined(separator: "\n") + "\n")
        let result = try await run(["replay", name, "--config", config], environment: environment, timeout: timeout)
        let outcomes = try result.stdoutLines.map(OutcomeLine.parse)
        return (result, outcomes)
    }

    /// `readings export` (CSV) parsed.
    func exportRows(config: String?, extra: [String] = []) async throws -> (RunResult, [String], [[String: String]]) {
        var arguments = ["readings", "export"]
        if let config { arguments += ["--config", config] }
        let result = try await run(arguments + extra, timeout: 30)
        let parsed = parseExportCSV(result.stdoutText)
        return (result, parsed.header, parsed.rows)
    }
}

func sms(_ id: String, _ text: String, from: String = "+79031234567", at: String = "2026-11-20T08:00:00+03:00") throws -> String {
    try replayLine(["id": id, "channel": "sms", "from": from, "text": text, "received_at": at])
}
