import Foundation
import Testing

/// The command line (contract §2) and configuration (contract §3).
@Suite("CLI contract")
struct CLIContractTests {
    static let helpCommands: [[String]] = [
        ["--help"], ["run", "--help"], ["accounts", "--help"], ["accounts", "import", "--help"],
        ["readings", "--help"], ["readings", "export", "--help"], ["replay", "--help"], ["parse", "--help"],
        ["review", "--help"], ["review", "list", "--help"], ["review", "approve", "--help"], ["review", "reject", "--help"],
        ["status", "--help"], ["check-config", "--help"],
    ]

    @Test("--help exits 0 and describes the command", arguments: helpCommands)
    func help(_ arguments: [String]) async throws {
        let sandbox = try Sandbox("help")
        defer { sandbox.remove() }
        let result = try await sandbox.run(arguments, timeout: 20)
        #expect(result.status == 0, "\(result)")
        let text = result.stdoutText + result.stderr
        #expect(text.contains("USAGE") || text.contains("Usage") || text.contains("usage"), "\(result)")
        if arguments.count > 1 {
            #expect(text.contains(arguments[arguments.count - 2]), "the help should name the command: \(text)")
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.file("metergate-data").path), "--help must touch nothing")
    }

    static let usageErrors: [[String]] = [
        ["frobnicate"], ["--frobnicate"], ["replay"], ["replay", "x.jsonl", "--bogus"], ["readings", "export", "--format", "xml"],
        ["review", "approve", "notanumber"], ["accounts", "import"], ["run", "--onse"],
    ]

    @Test("unknown subcommands, unknown options and bad arguments exit 2", arguments: usageErrors)
    func usageError(_ arguments: [String]) async throws {
        let sandbox = try Sandbox("usage")
        defer { sandbox.remove() }
        let result = try await sandbox.run(arguments, timeout: 20)
        #expect(result.status == 2, "\(result)")
        #expect(!result.stderr.isEmpty, "a usage error says why on stderr")
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack trace"), "\(result.stderr)")
    }

    /// The sandbox with the contract's sample configuration; `grammar.path: Grammars` is a
    /// relative path, so the repository's Grammars/ is linked in.
    static func sampleSandbox() throws -> (Sandbox, String) {
        let sandbox = try Sandbox("sample")
        try sandbox.write("config.yaml", try Fixture.data("contract-sample.yaml"))
        try FileManager.default.createSymbolicLink(
            at: sandbox.file("Grammars"), withDestinationURL: Metergate.packageRoot.appendingPathComponent("Grammars"))
        return (sandbox, sandbox.file("config.yaml").path)
    }

    @Test("check-config accepts the contract's sample configuration as it is")
    func checkConfigSample() async throws {
        let (sandbox, config) = try Self.sampleSandbox()
        defer { sandbox.remove() }
        let result = try await sandbox.run(["check-config", "--config", config], timeout: 30)
        #expect(result.status == 0, "\(result)")
        let embedded = try await sandbox.run(["check-config"], timeout: 30)
        #expect(embedded.status == 0, "the embedded default must pass check-config: \(embedded)")
    }

    @Test("the contract's sample works as it is where no Grammars/ folder exists: built-in grammar, with a warning")
    func sampleWithoutGrammarsFolder() async throws {
        let sandbox = try Sandbox("samplebare")
        defer { sandbox.remove() }
        try sandbox.write("config.yaml", try Fixture.data("contract-sample.yaml"))
        let result = try await sandbox.run(["check-config", "--config", sandbox.file("config.yaml").path], timeout: 30)
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("grammar.path"), "the fallback is told: \(result.stderr)")
    }

    @Test("a secret that cannot be read names the configuration file and the key")
    func unreadableSecret() async throws {
        let (sandbox, config) = try Self.sampleSandbox()
        defer { sandbox.remove() }
        let original = try sandbox.read("config.yaml")
        try sandbox.write("config.yaml", original.replacingOccurrences(of: "password: secret", with: "password_env: MG_TEST_UNSET_VARIABLE"))
        let result = try await sandbox.run(["check-config", "--config", config])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("config.yaml: mailboxes[0].password_env: environment variable MG_TEST_UNSET_VARIABLE is not set"), "\(result.stderr)")
    }

    @Test("check-config accepts the secret from password_env (when set) and password_file")
    func checkConfigSecrets() async throws {
        let (sandbox, config) = try Self.sampleSandbox()
        defer { sandbox.remove() }
        let original = try sandbox.read("config.yaml")
        try sandbox.write("config.yaml", original.replacingOccurrences(of: "password: secret", with: "password_env: MG_TEST_MAILBOX_PASSWORD"))
        let fromEnvironment = try await sandbox.run(["check-config", "--config", config], environment: ["MG_TEST_MAILBOX_PASSWORD": "s3cret"])
        #expect(fromEnvironment.status == 0, "\(fromEnvironment)")
        #expect(!fromEnvironment.stdoutText.contains("s3cret") && !fromEnvironment.stderr.contains("s3cret"), "a secret is never printed")
        try sandbox.write("mailbox.secret", "s3cret\n")
        try sandbox.write("config.yaml", original.replacingOccurrences(
            of: "password: secret", with: "password_file: \(sandbox.file("mailbox.secret").path)"))
        let fromFile = try await sandbox.run(["check-config", "--config", config])
        #expect(fromFile.status == 0, "\(fromFile)")
        try sandbox.write("config.yaml", original.replacingOccurrences(
            of: "password: secret", with: "password_file: \(sandbox.file("no-such.secret").path)"))
        let missingFile = try await sandbox.run(["check-config", "--config", config])
        #expect(missingFile.status == 2, "\(missingFile)")
        #expect(missingFile.stderr.contains("password_file"), "\(missingFile.stderr)")
    }

    struct BadConfig: Sendable, CustomTestStringConvertible {
        var name: String
        var key: String
        var edit: @Sendable (String) -> String
        var testDescription: String { name }
    }

    static let badConfigs: [BadConfig] = [
        BadConfig(name: "unknown key", key: "policy.max_increse") {
            $0.replacingOccurrences(of: "  max_increase: 5000", with: "  max_increse: 5000")
        },
        BadConfig(name: "unknown section", key: "polcy") {
            $0.replacingOccurrences(of: "policy:", with: "polcy:")
        },
        BadConfig(name: "bad policy.submission_days", key: "policy.submission_days") {
            $0.replacingOccurrences(of: "submission_days: \"1-31\"", with: "submission_days: \"25-40\"")
        },
        BadConfig(name: "non-numeric policy.submission_days", key: "policy.submission_days") {
            $0.replacingOccurrences(of: "submission_days: \"1-31\"", with: "submission_days: \"weekly\"")
        },
        BadConfig(name: "bad log.format", key: "log.format") {
            $0.replacingOccurrences(of: "format: text", with: "format: xml")
        },
        BadConfig(name: "bad policy.max_increase", key: "policy.max_increase") {
            $0.replacingOccurrences(of: "max_increase: 5000", with: "max_increase: lots")
        },
        BadConfig(name: "policy.max_increase with trailing junk", key: "policy.max_increase") {
            $0.replacingOccurrences(of: "max_increase: 5000", with: "max_increase: 5000kWh")
        },
        BadConfig(name: "password_env not set", key: "password_env") {
            $0.replacingOccurrences(of: "password: secret", with: "password_env: METERGATE_TEST_SURELY_UNSET_PASSWORD")
        },
        BadConfig(name: "bad mailbox after", key: "mailboxes[0].after") {
            $0.replacingOccurrences(of: "after: seen", with: "after: burn")
        },
        BadConfig(name: "mailbox fetch_connections out of range", key: "mailboxes[0].fetch_connections") {
            $0.replacingOccurrences(of: "after: seen", with: "after: seen\n    fetch_connections: 9")
        },
        BadConfig(name: "smtp.connections out of range", key: "smtp.connections") {
            $0.replacingOccurrences(of: "from: \"Показания <readings@example.test>\"", with: "from: \"Показания <readings@example.test>\"\n  connections: 65")
        },
        BadConfig(name: "mailbox fetch_connections on POP3", key: "mailboxes[0].fetch_connections") {
            $0.replacingOccurrences(of: "after: seen", with: "after: seen\n    fetch_connections: 2")
                .replacingOccurrences(of: "imap://127.0.0.1:10143/INBOX", with: "pop3://127.0.0.1:10110/")
        },
    ]

    @Test("check-config exits 2 naming the key at fault", arguments: badConfigs)
    func checkConfigBad(_ bad: BadConfig) async throws {
        let (sandbox, config) = try Self.sampleSandbox()
        defer { sandbox.remove() }
        let original = try sandbox.read("config.yaml")
        let edited = bad.edit(original)
        try #require(edited != original, "the edit did not apply")
        try sandbox.write("config.yaml", edited)
        let result = try await sandbox.run(["check-config", "--config", config], timeout: 30)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(bad.key), "stderr should name \(bad.key): \(result.stderr)")
        #expect(result.stderr.contains("config.yaml") || bad.key == "password_env", "stderr should name the file: \(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count <= 3, "one clear line: \(result.stderr)")
    }

    @Test("an unreadable --config exits 2 naming the file, for every command that takes one")
    func unreadableConfig() async throws {
        let sandbox = try Sandbox("noconfig")
        defer { sandbox.remove() }
        let missing = sandbox.file("nowhere/metergate.yaml").path
        try sandbox.write("x.jsonl", "")
        try sandbox.write("a.csv", "uin,meters\n")
        for arguments in [["check-config"], ["run", "--once"], ["replay", "x.jsonl"], ["readings", "export"],
                          ["accounts", "import", "a.csv"], ["status"], ["review", "list"]] {
            let result = try await sandbox.run(arguments + ["--config", missing], timeout: 20)
            #expect(result.status == 2, "\(result)")
            #expect(result.stderr.contains("nowhere/metergate.yaml"), "\(result.stderr)")
        }
        try sandbox.write("dir.yaml/placeholder", "")
        let directory = try await sandbox.run(["check-config", "--config", sandbox.file("dir.yaml").path], timeout: 20)
        #expect(directory.status == 2, "a folder given as --config: \(directory)")
        try sandbox.write("broken.yaml", "store: [unclosed\n  path: x\n")
        let broken = try await sandbox.run(["check-config", "--config", sandbox.file("broken.yaml").path], timeout: 20)
        #expect(broken.status == 2, "invalid YAML: \(broken)")
        #expect(broken.stderr.contains("broken.yaml"), "\(broken.stderr)")
    }

    @Test("METERGATE_POLICY_MAX_INCREASE=10 overrides the file: an increase of 11 is held, of 10 accepted")
    func environmentOverride() async throws {
        let sandbox = try Sandbox("envoverride")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let lines = [
            try sms("e1", "2000001 1011", from: "+79036660001"),
            try sms("e2", "2000002 1010", from: "+79036660002"),
        ]
        let (result, outcomes) = try await sandbox.replay(lines, config: config, environment: ["METERGATE_POLICY_MAX_INCREASE": "10"])
        #expect(result.status == 0, "\(result)")
        try #require(outcomes.count == 2)
        #expect(outcomes[0].status == "held", "\(outcomes[0])")
        #expect(outcomes[0].anyReason == "implausible", "\(outcomes[0])")
        #expect(outcomes[1].status == "accepted", "\(outcomes[1])")

        // Without the override the same increase is fine (max_increase 5000 in the file).
        let other = try Sandbox("envoverride2")
        defer { other.remove() }
        let plainConfig = try await other.prepared()
        let (_, plain) = try await other.replay([lines[0]], config: plainConfig)
        #expect(plain.first?.status == "accepted", "\(plain)")

        let badValue = try await sandbox.run(["check-config", "--config", config], environment: ["METERGATE_POLICY_MAX_INCREASE": "many"])
        #expect(badValue.status == 2, "a bad override is a configuration error: \(badValue)")
        #expect(badValue.stderr.contains("max_increase"), "\(badValue.stderr)")

        // A list item's key: METERGATE_<LIST>_<INDEX>_<KEY>.
        let listFile = sandbox.file("list.yaml")
        try """
            store:
              path: \(sandbox.path)/list.sqlite
            mailboxes:
              - name: inbox
                url: imap://127.0.0.1:10143/INBOX
            """.write(to: listFile, atomically: true, encoding: .utf8)
        let listed = try await sandbox.run(["check-config", "--config", listFile.path])
        #expect(listed.status == 0, "\(listed)")
        let badItem = try await sandbox.run(["check-config", "--config", listFile.path], environment: ["METERGATE_MAILBOXES_0_URL": "gopher://x"])
        #expect(badItem.status == 2, "\(badItem)")
        #expect(badItem.stderr.contains("mailboxes[0].url"), "\(badItem.stderr)")
    }

    @Test("parse shows the tokens and the interpretation with the readings; touches no store")
    func parse() async throws {
        let sandbox = try Sandbox("parse")
        defer { sandbox.remove() }
        let result = try await sandbox.run(["parse", "УИН 1234567 день 12345 ночь 6789"], timeout: 20)
        #expect(result.status == 0, "\(result)")
        let text = result.stdoutText
        #expect(text.contains("1234567"), "\(text)")
        #expect(text.contains("12345"), "\(text)")
        #expect(text.contains("6789"), "\(text)")
        let interpretation = text.split(separator: "\n").first { $0.contains("1234567") && $0.contains("12345") && $0.contains("6789") && $0.contains("#1") }
        #expect(interpretation != nil, "one interpretation line holds the UIN and both readings: \(text)")
        if let interpretation {
            let day = interpretation.range(of: "12345 ")?.lowerBound ?? interpretation.range(of: "=12345")?.lowerBound
            let night = interpretation.range(of: "6789")?.lowerBound
            if let day, let night { #expect(day < night, "day before night: \(interpretation)") }
        }
        #expect(!FileManager.default.fileExists(atPath: sandbox.file("metergate-data").path), "parse touches no store")
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.path).isEmpty, "parse wrote files")

        let none = try await sandbox.run(["parse", "добрый день"], timeout: 20)
        #expect(none.status == 0, "\(none)")
        #expect(none.stdoutText.contains("interpretations: 0"), "\(none.stdoutText)")
    }

    @Test("status reports the store, feeds and queues")
    func status() async throws {
        let sandbox = try Sandbox("status")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let result = try await sandbox.run(["status", "--config", config], timeout: 20)
        #expect(result.status == 0, "\(result)")
        #expect(result.stdoutText.contains("5 accounts"), "\(result.stdoutText)")
        #expect(result.stdoutText.lowercased().contains("outbox"), "\(result.stdoutText)")
    }
}

@Suite("Harness")
struct HarnessTests {
    @Test("the metergate binary is found (METERGATE_BINARY or the test's build folder) and runs")
    func binaryFound() async throws {
        let binary = try #require(Metergate.binary, "metergate not found next to \(Bundle.module.bundleURL.path) nor via METERGATE_BINARY")
        #expect(binary.lastPathComponent == "metergate")
        let sandbox = try Sandbox("harness")
        defer { sandbox.remove() }
        let result = try await sandbox.run(["--help"], timeout: 20)
        #expect(result.status == 0 && result.stdoutText.contains("check-config"), "\(result)")
    }
}
