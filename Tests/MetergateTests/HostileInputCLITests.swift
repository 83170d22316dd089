import Foundation
import Testing

/// Issue 13: numbers and fields from outside, through the command line — the configuration
/// sweep, `replay` of a folder, strict replay lines, `raw_base64`.
@Suite("Hostile input: configuration and replay")
struct HostileInputCLITests {
    /// nan, inf, -1, 1e300, 2^63, 2^64 — and the values that crashed before.
    static let hostileValues = [
        "nan", ".nan", "inf", ".inf", "-.inf", "-1", "1e300", "9223372036854775808", "18446744073709551616",
        "9223372036854775807", "1e30s", "1e300h", "-5m", "\"nan\"", "\"1e300\"",
    ]

    /// Every numeric key of the configuration, where it sits in a file that is otherwise valid.
    static let numericKeys: [(key: String, yaml: @Sendable (String) -> String)] = [
        ("policy.max_increase", { "policy:\n  max_increase: \($0)\n" }),
        ("policy.max_messages_per_sender_per_hour", { "policy:\n  max_messages_per_sender_per_hour: \($0)\n" }),
        ("policy.max_message_bytes", { "policy:\n  max_message_bytes: \($0)\n" }),
        ("policy.max_same_reply", { "policy:\n  max_same_reply: \($0)\n" }),
        ("policy.same_reply_window", { "policy:\n  same_reply_window: \($0)\n" }),
        ("mailboxes[0].poll_interval", { "mailboxes:\n  - name: m\n    url: maildir:mail\n    poll_interval: \($0)\n" }),
        ("mailboxes[0].fetch_connections", {
            "mailboxes:\n  - name: m\n    url: imap://127.0.0.1:10143/INBOX\n    username: u\n    password: p\n    fetch_connections: \($0)\n"
        }),
        ("smtp.connections", { "smtp:\n  url: smtp://127.0.0.1:10025\n  from: r@example.test\n  connections: \($0)\n" }),
        ("sms[0].poll_interval", { "sms:\n  - name: s\n    kind: files\n    inbox: sms/inbox\n    poll_interval: \($0)\n" }),
        ("sms[0].multipart_wait", { "sms:\n  - name: s\n    kind: files\n    inbox: sms/inbox\n    multipart_wait: \($0)\n" }),
        ("outbox.max_age", { "outbox:\n  max_age: \($0)\n" }),
        ("http.unhealthy_after", { "http:\n  unhealthy_after: \($0)\n" }),
        ("http.unhealthy_after_failed_polls", { "http:\n  unhealthy_after_failed_polls: \($0)\n" }),
        ("http.listen", { "http:\n  listen: 127.0.0.1:\($0)\n" }),
        ("sms[0].listen", { "sms:\n  - name: k\n    kind: kannel\n    listen: 127.0.0.1:\($0)\n" }),
    ]

    @Test("every numeric configuration key refuses nan, inf, -1, 1e300, 2^63, 2^64 with one line naming the key")
    func configurationSweep() async throws {
        let sandbox = try Sandbox("cfgsweep")
        defer { sandbox.remove() }
        var failures: [String] = []
        for (key, yaml) in Self.numericKeys {
            for value in Self.hostileValues {
                let text = "store:\n  path: store/metergate.sqlite\n" + yaml(value)
                try sandbox.write("config.yaml", text)
                let result = try await sandbox.run(["check-config", "--config", "config.yaml"], timeout: 30)
                let lines = result.stderr.split(separator: "\n")
                if result.status != 2 || !result.stderr.contains(key) || lines.count != 1
                    || result.stderr.contains("Fatal error") || result.timedOut {
                    failures.append("\(key): \(value) → exit \(result.status): \(result.stderr.prefix(300))")
                }
            }
        }
        #expect(failures.isEmpty, "\(failures.count) not refused cleanly:\n\(failures.joined(separator: "\n"))")
    }

    /// The port of every URL in the configuration, where it sits in a file that is otherwise valid.
    static let urlPortKeys: [(key: String, yaml: @Sendable (String) -> String)] = [
        ("mailboxes[0].url", { "mailboxes:\n  - name: m\n    url: imap://127.0.0.1:\($0)/INBOX\n    username: u\n    password: p\n" }),
        ("mailboxes[0].url", { "mailboxes:\n  - name: m\n    url: pop3s://127.0.0.1:\($0)\n    username: u\n    password: p\n" }),
        ("smtp.url", { "smtp:\n  url: smtp://127.0.0.1:\($0)\n  from: a@b.test\n" }),
        ("sms[0].database", { "sms:\n  - name: g\n    kind: gammu\n    database: postgres://u@127.0.0.1:\($0)/smsd\n" }),
        ("sms[0].sendsms_url", {
            "sms:\n  - name: k\n    kind: kannel\n    listen: 127.0.0.1:8085\n    sendsms_url: http://127.0.0.1:\($0)/cgi-bin/sendsms\n"
        }),
        ("sms[0].base_url", { "sms:\n  - name: c\n    kind: smsc\n    base_url: https://127.0.0.1:\($0)\n    login: l\n    password: p\n" }),
    ]

    @Test("every URL's port refuses nan, -1, 0, 65536, 2^63, 2^64 with one line naming the key")
    func urlPortSweep() async throws {
        let sandbox = try Sandbox("portsweep")
        defer { sandbox.remove() }
        var failures: [String] = []
        for (key, yaml) in Self.urlPortKeys {
            for value in ["nan", "-1", "0", "65536", "99999", "9223372036854775808", "18446744073709551616", "1e300", "８０"] {
                try sandbox.write("config.yaml", "store:\n  path: store/metergate.sqlite\n" + yaml(value))
                let result = try await sandbox.run(["check-config", "--config", "config.yaml"], timeout: 30)
                let lines = result.stderr.split(separator: "\n")
                if result.status != 2 || !result.stderr.contains(key) || lines.count != 1
                    || result.stderr.contains("Fatal error") || result.timedOut {
                    failures.append("\(key): \(value) → exit \(result.status): \(result.stderr.prefix(300))")
                }
            }
        }
        let store = "store:\n  url: postgres://u@127.0.0.1:65536/metergate\n"
        try sandbox.write("config.yaml", store)
        let result = try await sandbox.run(["check-config", "--config", "config.yaml"], timeout: 30)
        if result.status != 2 || !result.stderr.contains("store.url") || result.stderr.contains("Fatal error") {
            failures.append("store.url: 65536 → exit \(result.status): \(result.stderr.prefix(300))")
        }
        #expect(failures.isEmpty, "\(failures.count) not refused cleanly:\n\(failures.joined(separator: "\n"))")
    }

    @Test("environment overrides get the same ranges (METERGATE_OUTBOX_MAX_AGE=1e300h)")
    func environmentSweep() async throws {
        let sandbox = try Sandbox("envsweep")
        defer { sandbox.remove() }
        try sandbox.write("config.yaml", "store:\n  path: store/metergate.sqlite\noutbox:\n  max_age: 72h\npolicy:\n  max_same_reply: 3\n")
        for (variable, key) in [("METERGATE_OUTBOX_MAX_AGE", "outbox.max_age"), ("METERGATE_POLICY_MAX_SAME_REPLY", "policy.max_same_reply")] {
            for value in ["nan", "inf", "-1", "1e300", "1e300h", "9223372036854775808", "18446744073709551616"] {
                let result = try await sandbox.run(["check-config", "--config", "config.yaml"], environment: [variable: value], timeout: 30)
                #expect(result.status == 2 && result.stderr.contains(key), "\(variable)=\(value): \(result)")
            }
        }
    }

    @Test("durations inside their ranges are still accepted (200ms, 1s, 90s, 72h, 366d as hours)")
    func durationsInRange() async throws {
        let sandbox = try Sandbox("cfgok")
        defer { sandbox.remove() }
        let text = """
            store:
              path: store/metergate.sqlite
            mailboxes:
              - name: m
                url: maildir:mail
                poll_interval: 200ms
            sms:
              - name: s
                kind: files
                inbox: sms/inbox
                poll_interval: 1
                multipart_wait: 90s
            outbox:
              max_age: 8784h
            http:
              unhealthy_after: 0.5h

            """
        try sandbox.write("config.yaml", text)
        let result = try await sandbox.run(["check-config", "--config", "config.yaml"], timeout: 30)
        #expect(result.status == 0, "\(result)")
    }

    @Test("replay of a folder is one clear line and exit 1, not a trap")
    func replayFolder() async throws {
        let sandbox = try Sandbox("replaydir")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        for target in ["/tmp", sandbox.path] {
            let result = try await sandbox.run(["replay", target, "--config", config], timeout: 30)
            #expect(result.status == 1, "\(result)")
            #expect(result.stderr.contains("folder"), "\(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
        }
    }

    @Test("replay refuses fields of the wrong JSON type, naming line and field; good lines are processed; exit 1")
    func strictReplayTypes() async throws {
        let sandbox = try Sandbox("strict")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let bad = [
            #"{"id": true, "channel": "sms", "from": "+79811567352", "text": "7654321 600"}"#,
            #"{"id": "t1", "channel": "sms", "from": "+79811567352", "text": 7654321}"#,
            #"{"id": "t2", "channel": "sms", "from": ["+79811567352"], "text": "7654321 600"}"#,
            #"{"id": "t3", "channel": true, "from": "+79811567352", "text": "7654321 600"}"#,
            #"{"id": "t4", "channel": "sms", "from": "+79811567352", "text": "7654321 600", "received_at": 1e300}"#,
            #"{"id": 1.5, "channel": "sms", "from": "+79811567352", "text": "7654321 600"}"#,
            #"{"id": {"a": 1}, "channel": "sms", "from": "+79811567352", "text": "7654321 600"}"#,
            #"{"id": "t5", "channel": "email", "raw_base64": "@@@not base64@@@"}"#,
            #"{"id": "", "channel": "sms", "from": "+79811567352", "text": "7654321 600"}"#,
        ]
        let lines = [try sms("ok1", "1234567 12100 6050")] + bad
            + [try sms("1", "7654321 600", from: "+79811567352")]
        let (result, outcomes) = try await sandbox.replay(lines, config: config)
        #expect(result.status == 1, "\(result)")
        #expect(!result.stderr.contains("Fatal error"))
        try #require(outcomes.count == lines.count, "one outcome line per input line: \(result)")
        #expect(outcomes.first?.status == "accepted")
        #expect(outcomes.last?.id == "1")
        #expect(outcomes.last?.status == "accepted", "{\"id\": true} must not have become id 1: \(outcomes.last!)")
        for outcome in outcomes.dropFirst().dropLast() {
            #expect(outcome.status == "rejected", "\(outcome)")
        }
        for (index, field) in ["id", "text", "from", "channel", "received_at", "id", "id", "raw_base64", "id"].enumerated() {
            let line = index + 2
            let stderrLine = result.stderr.split(separator: "\n").first { $0.contains("input.jsonl:\(line):") }
            #expect(stderrLine?.contains("\"\(field)\"") == true, "line \(line) should name \(field): \(result.stderr)")
        }
    }

    @Test("replay: a received_at before 2000 or more than a day ahead is replaced by the time of replay, and said")
    func replayImplausibleTime() async throws {
        let sandbox = try Sandbox("replaytime")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        let lines = [
            try sms("far", "7654321 600", from: "+79811567352", at: "9999-12-31T23:59:59Z"),
            try sms("old", "1234567 12100 6050", at: "1970-01-01T00:00:00Z"),
        ]
        let (result, outcomes) = try await sandbox.replay(lines, config: config)
        #expect(result.status == 0, "\(result)")
        #expect(outcomes.map(\.status) == ["accepted", "accepted"], "\(outcomes)")
        #expect(result.stderr.contains("input.jsonl:1: received_at 999"), "\(result.stderr)")
        #expect(result.stderr.contains("input.jsonl:2: received_at 1970-01-01"), "\(result.stderr)")
        let (_, _, rows) = try await sandbox.exportRows(config: config)
        let year = Calendar(identifier: .gregorian).component(.year, from: Date())
        for row in rows {
            #expect(row["received_at"]?.hasPrefix("\(year)") == true || row["received_at"]?.hasPrefix("\(year + 1)") == true, "\(row)")
        }
    }

    @Test("replay's raw_base64 carries an 8-bit windows-1251 mail byte for byte (contract §5)")
    func rawBase64() async throws {
        let sandbox = try Sandbox("rawb64")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        // "Показания" in windows-1251, 8-bit body, no MIME encoding of the header.
        var raw = Array("From: ivanov@example.ru\r\nTo: readings@example.test\r\nSubject: 1234567 12100 6050\r\nMessage-ID: <b64@example.ru>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1251\r\nContent-Transfer-Encoding: 8bit\r\n\r\n".utf8)
        raw += [0xCF, 0xEE, 0xEA, 0xE0, 0xE7, 0xE0, 0xED, 0xE8, 0xFF, 0x0D, 0x0A]
        let line = #"{"id": "b64", "channel": "email", "raw_base64": "\#(Data(raw).base64EncodedString())"}"#
        let (result, outcomes) = try await sandbox.replay([line], config: config)
        #expect(result.status == 0, "\(result)")
        #expect(outcomes.first?.status == "accepted", "\(outcomes)")
        #expect(outcomes.first?.results.first?.readings == ["12100", "6050"])
        let both = #"{"id": "b65", "channel": "email", "raw": "x", "raw_base64": "eA=="}"#
        let (twice, _) = try await sandbox.replay([both], config: config, name: "both.jsonl")
        #expect(twice.status == 1 && twice.stderr.contains("raw_base64"), "\(twice)")
    }

    @Test("accounts import refuses a UIN the grammar cannot read (1 digit, a million digits), quoting at most 80 characters")
    func importUINLength() async throws {
        let sandbox = try Sandbox("importuin")
        defer { sandbox.remove() }
        let config = try sandbox.writeConfig()
        try sandbox.write("accounts.csv", "uin,meters\n1234567,T1\n1,T1\n\(String(repeating: "5", count: 1_000_000)),T1\n")
        let result = try await sandbox.run(["accounts", "import", "accounts.csv", "--config", config], timeout: 60)
        #expect(result.status == 1, "\(result)")
        #expect(result.stdoutText.contains("imported 1 account"), "\(result)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines.allSatisfy { $0.count < 300 }, "\(result.stderr.prefix(1000))")
        #expect(result.stderr.contains("accounts.csv:3:") && result.stderr.contains("accounts.csv:4:"), "\(result.stderr.prefix(1000))")
    }
}

/// Issue 13, item 5, through `replay` and the SQLite ledger: forged mail has its own hourly
/// limit and cannot spend the abonent's.
@Suite("Hostile senders: forged mail and the hourly limit")
struct ForgedMailCLITests {
    static func mail(_ id: String, minute: Int, authentication: String?, subject: String) throws -> String {
        let raw = (authentication.map { "Authentication-Results: \($0)\r\n" } ?? "")
            + "From: Ivanov <ivanov@example.ru>\r\nTo: readings@example.test\r\nSubject: \(subject)\r\nMessage-ID: <\(id)@example.ru>\r\n\r\n"
        return try replayLine([
            "id": id, "channel": "email", "raw": raw,
            "received_at": String(format: "2026-11-20T08:%02d:00+03:00", minute),
        ])
    }

    @Test("20 forged mails from an abonent's address, then a real authenticated one: the real one is recorded")
    func forgedThenReal() async throws {
        let sandbox = try Sandbox("forged")
        defer { sandbox.remove() }
        let config = try await sandbox.prepared()
        var lines: [String] = []
        for index in 0..<20 {
            let authentication = index % 2 == 0 ? nil : "mx.example.test; spf=fail smtp.mailfrom=example.ru; dmarc=fail header.from=example.ru"
            lines.append(try Self.mail("forged\(index)", minute: index, authentication: authentication, subject: "spam \(index)"))
        }
        lines.append(try Self.mail(
            "real", minute: 30,
            authentication: "mx.example.test; spf=pass smtp.mailfrom=ivanov@example.ru; dmarc=pass header.from=example.ru",
            subject: "1234567 12100 6050"))
        let (result, outcomes) = try await sandbox.replay(lines, config: config)
        #expect(result.status == 0, "\(result)")
        try #require(outcomes.count == 21, "\(result)")
        let limited = outcomes.prefix(20).filter { $0.reason == "rate_limited" }.count
        #expect(limited == 15, "5 forged an hour (a quarter of 20), the rest rate_limited: \(outcomes.map { $0.reason ?? $0.status })")
        #expect(outcomes.last?.reason != "rate_limited", "\(outcomes.last!)")
        #expect(outcomes.last?.status == "accepted", "\(outcomes.last!)")
        #expect(outcomes.last?.results.first?.readings == ["12100", "6050"], "\(outcomes.last!)")
    }

    @Test("check-config: authserv_id is one word")
    func authservIDChecked() async throws {
        let sandbox = try Sandbox("authserv")
        defer { sandbox.remove() }
        for (value, ok) in [("mx.example.ru", true), ("\"\"", false), ("\"mx example\"", false), ("\"mx;x\"", false)] {
            try sandbox.write("config.yaml", "store:\n  path: store/metergate.sqlite\nmailboxes:\n  - name: m\n    url: maildir:mail\n    authserv_id: \(value)\n")
            let result = try await sandbox.run(["check-config", "--config", "config.yaml"], timeout: 30)
            #expect((result.status == 0) == ok, "\(value): \(result)")
            if !ok { #expect(result.stderr.contains("mailboxes[0].authserv_id"), "\(result)") }
        }
    }
}
