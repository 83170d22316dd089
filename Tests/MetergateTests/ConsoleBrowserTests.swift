import Foundation
import Testing
import TestSupport

/// The web console in a real browser (issue 15): the daemon with `console.listen`, driven by
/// Tests/Console/console_browser.py through Chromium's driver and Selenium. Skipped, not
/// passed, when Chromium, its driver or Selenium is missing (scripts/peers/console.packages,
/// `pip install selenium`); with `METERGATE_REQUIRE_PEERS=1` a missing one fails.
/// Screenshots of every page go to `test-artifacts/console/` (git-ignored).
@Suite("Console in a browser", .tags(.peer), .serialized, Peer.needs(Peer.browser, "Chromium, chromium-driver or Selenium"))
struct ConsoleBrowserTests {
    static let accounts = """
        uin,meters,previous,digits,phones,emails
        1234567,T1,10000,5,+79031234567,ivanov@example.ru
        7654321,T1,500,5,,

        """

    /// Three messages from one phone (stored as +79031234567): accepted, unparsed, and a
    /// reading for another account that grew by more than policy.max_increase: held.
    static func replayLines(now: Date) -> String {
        let formatter = ISO8601DateFormatter()
        func at(_ hoursAgo: Double) -> String { formatter.string(from: now.addingTimeInterval(-hoursAgo * 3600)) }
        return """
            {"id": "c1", "channel": "sms", "from": "+79031234567", "text": "1234567 10100", "received_at": "\(at(5))"}
            {"id": "c2", "channel": "sms", "from": "89031234567", "text": "показания счетчика", "received_at": "\(at(4))"}
            {"id": "c3", "channel": "sms", "from": "+7 903 123-45-67", "text": "7654321 90000", "received_at": "\(at(3))"}
            {"id": "c4", "channel": "email", "from": "ivanov@example.ru", "subject": "1234567 10150 <script>alert(1)</script>", "text": "", "received_at": "\(at(2))"}

            """
    }

    @Test("sign in, look up a phone spelled otherwise, read a message's parse, approve a held reading, sign out; the failures refused", .timeLimit(.minutes(5)))
    func browser() async throws {
        let sandbox = try Sandbox("console")
        defer { sandbox.remove() }
        let users = sandbox.file("console-users").path
        let config = try sandbox.writeConfig(extra: """
            http:
              listen: "off"
            console:
              listen: 127.0.0.1:0
              users_file: \(jsonString(users))

            """)
        // check-config refuses the console while its users file is missing, then world-readable.
        let missing = try await sandbox.run(["check-config", "--config", config])
        #expect(missing.status == 2 && missing.stderr.contains("console.users_file"), "\(missing)")
        let password = "correct horse battery"
        for name in ["anna", "boris"] {
            let added = try await sandbox.run(["console", "add-user", name, "--config", config], stdin: Data((password + "\n").utf8))
            try #require(added.status == 0, "\(added)")
            #expect(!added.stdoutText.contains(password) && !added.stderr.contains(password))
        }
        let hashes = try String(contentsOfFile: users, encoding: .utf8)
        #expect(hashes.contains("anna:$2b$12$") && !hashes.contains(password))
        chmod(users, 0o644)
        let readable = try await sandbox.run(["check-config", "--config", config])
        #expect(readable.status == 2 && readable.stderr.contains("readable or writable by others"), "\(readable)")
        chmod(users, 0o600)
        let fine = try await sandbox.run(["check-config", "--config", config])
        try #require(fine.status == 0, "\(fine)")

        try sandbox.write("accounts.csv", Self.accounts)
        let imported = try await sandbox.run(["accounts", "import", sandbox.file("accounts.csv").path, "--config", config])
        try #require(imported.status == 0, "\(imported)")
        try sandbox.write("messages.jsonl", Self.replayLines(now: Date()))
        let replayed = try await sandbox.run(["replay", sandbox.file("messages.jsonl").path, "--config", config])
        try #require(replayed.status == 0, "\(replayed)")
        let list = try await sandbox.run(["review", "list", "--config", config])
        let heldID = try #require(list.stdoutText.split(separator: "\n").first { $0.contains("uin=7654321") }
            .flatMap { $0.dropFirst().split(separator: " ").first }.map(String.init), "\(list)")
        let exportBefore = try await sandbox.run(["readings", "export", "--config", config])
        #expect(exportBefore.stdoutText.contains("7654321,T1,90000,500,") && exportBefore.stdoutText.contains(",held,"), "\(exportBefore)")

        // The CLI look-up finds the four spellings' messages under the stored number.
        let cli = try await sandbox.run(["messages", "--from", "8 (903) 123-45-67", "--format", "json", "--config", config])
        #expect(cli.status == 0 && cli.stdoutLines.count == 3, "\(cli)")

        let daemon = try Daemon(["run", "--config", config], in: sandbox.url)
        defer { daemon.cleanUp() }
        var address = ""
        _ = await waitUntil(timeout: 30) {
            guard let line = daemon.stderr.split(separator: "\n").first(where: { $0.contains("web console on ") }) else { return false }
            address = String(line.split(separator: " ").last { $0.contains("127.0.0.1:") } ?? "")
            return !address.isEmpty
        }
        try #require(!address.isEmpty, "the console did not start: \(daemon.stderr)")

        let artefacts = Metergate.packageRoot.appendingPathComponent("test-artifacts/console")
        let script = Process()
        script.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        script.arguments = ["python3", Metergate.packageRoot.appendingPathComponent("Tests/Console/console_browser.py").path]
        var environment = ProcessInfo.processInfo.environment
        environment.merge([
            "CONSOLE_URL": "http://\(address)", "OPERATOR": "anna", "PASSWORD": password, "LOCKED_OPERATOR": "boris",
            "PHONE_TYPED": "8 (903) 123-45-67", "PHONE_STORED": "+79031234567", "HELD_ID": heldID,
            "SCREENSHOTS": artefacts.path,
        ]) { $1 }
        script.environment = environment
        let output = sandbox.file("browser.log")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        let handle = try FileHandle(forWritingTo: output)
        script.standardOutput = handle
        script.standardError = handle
        try script.run()
        let deadline = Date().addingTimeInterval(240)
        while script.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(200)) }
        if script.isRunning { script.terminate() }
        script.waitUntilExit()
        try? handle.close()
        let log = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        #expect(script.terminationStatus == 0, "console_browser.py failed:\n\(log)")
        #expect(log.contains("all console checks passed"), "\(log)")

        // What the approval changed: the ledger, the export, a reply queued.
        let exportAfter = try await sandbox.run(["readings", "export", "--config", config])
        #expect(exportAfter.stdoutText.split(separator: "\n").contains { $0.hasPrefix("7654321,T1,90000,500,") && $0.contains(",accepted,") },
                "\(exportAfter)")
        let approved = try await sandbox.run(["messages", "--uin", "7654321", "--format", "json", "--config", config])
        #expect(approved.stdoutText.contains("\"reply_state\":\"pending\""), "\(approved)")
        let after = try await sandbox.run(["review", "list", "--config", config])
        #expect(after.stdoutText.contains("no held readings"), "\(after)")
        // Every action is in the log with the operator's name; the phone number is not.
        let stderr = daemon.stderr
        #expect(stderr.contains("console: anna signed in"))
        #expect(stderr.contains("console: anna approved held reading #\(heldID)"))
        #expect(stderr.contains("console: anna looked up messages"))
        #expect(stderr.contains("console: boris is locked out"))
        #expect(stderr.contains("console: anna signed out"))
        #expect(!stderr.contains("+79031234567") && !stderr.contains("8 (903) 123-45-67"), "personal data in the log")
        #expect(await daemon.terminate(timeout: 20) == 0)
    }
}

extension Peer {
    static var browser: Bool {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver") && selenium
    }

    static let selenium: Bool = {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = ["python3", "-c", "import selenium"]
        check.standardOutput = FileHandle.nullDevice
        check.standardError = FileHandle.nullDevice
        guard (try? check.run()) != nil else { return false }
        check.waitUntilExit()
        return check.terminationStatus == 0
    }()
}
