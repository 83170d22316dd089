import Foundation
import Testing

/// Issue 13, item 2: no secret in clear — refused in URLs, never sent in plain text to another
/// host without `allow_plaintext: true`, never empty, never silently changed by YAML.
@Suite("Secrets")
struct SecretsTests {
    static func checkConfig(_ yaml: String, environment: [String: String] = [:]) async throws -> RunResult {
        let sandbox = try Sandbox("secrets")
        defer { sandbox.remove() }
        try sandbox.write("config.yaml", "store:\n  path: store/metergate.sqlite\n" + yaml)
        return try await sandbox.run(["check-config", "--config", "config.yaml"], environment: environment, timeout: 30)
    }

    @Test("a password in a URL is refused by check-config (mailbox, SMTP, Kannel sendsms, SMSC, Gammu database)", arguments: [
        ("mailboxes:\n  - url: imaps://u:hunter2@imap.example.ru/INBOX\n", "mailboxes[0].url"),
        ("mailboxes:\n  - url: pop3://u:hunter2@127.0.0.1:10110/\n", "mailboxes[0].url"),
        ("smtp:\n  url: smtps://u:hunter2@smtp.example.ru:465\n", "smtp.url"),
        ("sms:\n  - kind: kannel\n    sendsms_url: https://u:hunter2@kannel.example.ru/cgi-bin/sendsms\n", "sms[0].sendsms_url"),
        ("sms:\n  - kind: smsc\n    login: l\n    password: p\n    base_url: https://l:hunter2@smsc.example.ru\n", "sms[0].base_url"),
        ("sms:\n  - kind: gammu\n    database: postgres://smsd:hunter2@db.example.ru/smsd\n", "sms[0].database"),
    ])
    func passwordInURL(_ yaml: String, _ key: String) async throws {
        let result = try await Self.checkConfig(yaml)
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains(key) && result.stderr.contains("password"), "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"), "the password is echoed: \(result.stderr)")
    }

    @Test("secrets YAML would change (0123, yes, 12:30, 1e3) are refused with a hint to quote them", arguments: [
        "0123", "yes", "12:30", "1e3", "true", "2026-11-20",
    ])
    func unquotedSecrets(_ value: String) async throws {
        for (yaml, key) in [
            ("mailboxes:\n  - url: imaps://imap.example.ru/INBOX\n    username: u\n    password: \(value)\n", "mailboxes[0].password"),
            ("smtp:\n  url: smtps://smtp.example.ru\n  username: u\n  password: \(value)\n", "smtp.password"),
            ("sms:\n  - kind: kannel\n    secret: \(value)\n", "sms[0].secret"),
        ] {
            let result = try await Self.checkConfig(yaml)
            #expect(result.status == 2, "\(value): \(result)")
            #expect(result.stderr.contains(key) && result.stderr.contains("quote"), "\(value): \(result.stderr)")
        }
        let quoted = try await Self.checkConfig("sms:\n  - kind: kannel\n    secret: \"\(value)\"\n")
        #expect(quoted.status == 0, "quoted \(value) is a fine secret: \(quoted)")
    }

    @Test("an empty secret (inline, file, variable) is a check-config error")
    func emptySecrets() async throws {
        let sandbox = try Sandbox("empty")
        defer { sandbox.remove() }
        try sandbox.write("empty-secret", "\n")
        let file = sandbox.file("empty-secret").path
        for (yaml, environment, key) in [
            ("sms:\n  - kind: kannel\n    secret: \"\"\n", [:], "sms[0].secret"),
            ("sms:\n  - kind: kannel\n    secret_file: \(file)\n", [:], "sms[0].secret_file"),
            ("sms:\n  - kind: kannel\n    secret_env: MG_TEST_EMPTY\n", ["MG_TEST_EMPTY": ""], "sms[0].secret_env"),
            ("smtp:\n  url: smtps://smtp.example.ru\n  password: \"\"\n", [:], "smtp.password"),
        ] as [(String, [String: String], String)] {
            let result = try await Self.checkConfig(yaml, environment: environment)
            #expect(result.status == 2 && result.stderr.contains(key), "\(yaml): \(result)")
        }
    }

    @Test("credentials in plain text to a host that is not loopback need allow_plaintext: true, which is warned at every start")
    func plaintextCredentials() async throws {
        let plainIMAP = "mailboxes:\n  - url: imap://imap.example.ru/INBOX\n    username: u\n    password: p\n    starttls: false\n"
        let refused = try await Self.checkConfig(plainIMAP)
        #expect(refused.status == 2 && refused.stderr.contains("mailboxes[0].url") && refused.stderr.contains("allow_plaintext"), "\(refused)")
        let allowed = try await Self.checkConfig(plainIMAP + "    allow_plaintext: true\n")
        #expect(allowed.status == 0 && allowed.stderr.contains("plain text to imap.example.ru"), "\(allowed)")
        // Without starttls the default is STARTTLS on a host that is not loopback: accepted, no warning.
        let defaulted = try await Self.checkConfig("mailboxes:\n  - url: pop3://pop.example.ru/\n    username: u\n    password: p\n")
        #expect(defaulted.status == 0 && !defaulted.stderr.contains("plain text"), "\(defaulted)")
        let smtp = try await Self.checkConfig("smtp:\n  url: smtp://smtp.example.ru:25\n  username: u\n  password: p\n  starttls: false\n")
        #expect(smtp.status == 2 && smtp.stderr.contains("smtp.url"), "\(smtp)")
        let kannel = try await Self.checkConfig("sms:\n  - kind: kannel\n    sendsms_url: http://kannel.example.ru:13013/cgi-bin/sendsms\n    username: u\n    password: p\n")
        #expect(kannel.status == 2 && kannel.stderr.contains("sms[0].sendsms_url"), "\(kannel)")
        // Loopback (the tests' peers, the contract's sample) stays as it was.
        let loopback = try await Self.checkConfig("mailboxes:\n  - url: imap://127.0.0.1:10143/INBOX\n    username: u\n    password: p\nsmtp:\n  url: smtp://localhost:10025\n  username: u\n  password: p\n")
        #expect(loopback.status == 0 && !loopback.stderr.contains("plain text"), "\(loopback)")
    }

    @Test("a secret file under $CREDENTIALS_DIRECTORY (systemd LoadCredential=) is read; without the variable, one clear line")
    func credentialsDirectory() async throws {
        let sandbox = try Sandbox("creds")
        defer { sandbox.remove() }
        try sandbox.write("creds/metergate_kannel-secret", "s3cret\n")
        let yaml = "sms:\n  - kind: kannel\n    secret_file: $CREDENTIALS_DIRECTORY/metergate_kannel-secret\n"
        let ok = try await Self.checkConfig(yaml, environment: ["CREDENTIALS_DIRECTORY": sandbox.file("creds").path])
        #expect(ok.status == 0, "\(ok)")
        let braces = try await Self.checkConfig(yaml.replacingOccurrences(of: "$CREDENTIALS_DIRECTORY", with: "${CREDENTIALS_DIRECTORY}"),
                                          environment: ["CREDENTIALS_DIRECTORY": sandbox.file("creds").path])
        #expect(braces.status == 0, "\(braces)")
        let missing = try await Self.checkConfig(yaml)
        #expect(missing.status == 2 && missing.stderr.contains("CREDENTIALS_DIRECTORY"), "\(missing)")
    }
}
