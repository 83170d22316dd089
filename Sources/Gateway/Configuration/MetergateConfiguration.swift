import Foundation
import Logging
import MeterCore
import PostgreSQL
import SMSChannels

/// Everything `metergate` reads from its YAML file (contract §3), typed and checked.
///
/// Keys and defaults (every key is optional; `METERGATE_<PATH>` overrides any of them):
/// - `store.path` (`var/metergate.sqlite`), `store.url` (PostgreSQL, shared by several instances:
///   `postgres://user@db1,db2/metergate?target_session_attrs=read-write`; `store.password*` its
///   password), `instance.name` (the host name; unique among instances sharing a store)
/// - `grammar.path` (built-in copy), `replies.path` (built-in copy): folders of grammar
///   files and reply templates
/// - `policy.max_increase` (5000), `policy.submission_days` ("1-31"),
///   `policy.max_messages_per_sender_per_hour` (20), `policy.max_message_bytes` (1048576),
///   `policy.timezone` (the system's)
/// - `mailboxes[]`: `name`, `url` (`maildir:PATH`, `imap://`, `imaps://`, `pop3://`, `pop3s://`),
///   `username`, `password` | `password_file` | `password_env`, `poll_interval` (30s),
///   `after` (`seen` | `delete` | `move:FOLDER`), `tls_verify` (true), `ca_file`, `oauth2_token_file`,
///   `fetch_connections` (IMAP: 1…8, accepted; no effect since the pipelined fetch of issue 17), `authserv_id` (the receiving server's id in
///   `Authentication-Results`; default: believe the topmost field)
/// - `smtp`: `url`, `from`, `username`, `password*`, `starttls`, `tls_verify`, `ca_file`,
///   `connections` (4, up to 64: replies sent at once, each over its own pipelined connection)
/// - `sms[]`: `name`, `kind` (`files` | `gammu` | `kannel` | `smsc`), `inbox`/`processed`
///   (files), `database` (gammu; an SQLite path or a postgres URL, `password*` its password), `multipart_wait` (gammu, 60s), `listen`/`secret*`/`sendsms_url`/`username`/`password*`
///   (kannel), `base_url`/`login`/`password*` (smsc), `poll_interval` (5s), `number`
/// - `outbox.path`: write replies as files here instead of sending them
/// - `log.format` (`text` | `json`), `log.level` (`info`), `log.file`, `log.personal_data` (false)
/// - `http.listen` (127.0.0.1:9108), `http.unhealthy_after_failed_polls` (3), `http.unhealthy_after`,
///   `outbox.max_age`, `policy.max_same_reply`, `policy.same_reply_window`: see `OperationsSettings`
/// - `console.listen` (off), `console.users_file`, `console.lockout_failures`, `console.lockout`,
///   `console.session_idle`: see `ConsoleSettings`
package struct MetergateConfiguration {
    package struct Mailbox {
        package var name: String
        package var url: String
        package var scheme: String
        package var path: String?
        package var pollInterval: Duration
        package var after: String
        package var username: String?
        package var secret: SecretReference?
        package var tlsVerify: Bool
        package var caFile: String?
        package var oauth2TokenFile: String?
        package var startTLS: Bool
        /// IMAP: accepted for older configurations; the pipelined fetch uses one connection.
        package var fetchConnections = 1
        /// The authserv-id the receiving server writes in `Authentication-Results`; only its
        /// results decide whether a `From` is authenticated (nil: the topmost field's).
        package var authservID: String? = nil
    }

    /// `smtp.*` beyond `url` and `from`.
    package struct SMTPSettings {
        package var username: String?
        package var secret: SecretReference?
        package var startTLS: Bool
        package var tlsVerify: Bool
        package var caFile: String?
        /// Replies sent at once, each over its own connection (`smtp.connections`).
        package var connections = 4
    }

    package struct SMSFeed {
        package var name: String
        package var kind: String
        package var inbox: String?
        package var processed: String?
        package var database: String?
        package var pollInterval: Duration
        package var number: String?
        package var secret: SecretReference?
        package var kannel: KannelSettings? = nil
        package var smsc: SMSCSettings? = nil
        /// gammu: how long the parts of a long message are waited for.
        package var multipartWait: Duration = .seconds(60)
    }

    package struct SecretReference: Sendable {
        var inline: String?
        var file: String?
        var environment: String?
        var key: String
        var configFile: String

        /// The secret's value; never logged. Empty is an error (it would turn authentication off).
        package func resolve(_ environmentValues: [String: String]) throws -> String? {
            if let inline { return inline }
            if var file {
                // systemd's LoadCredential=: `$CREDENTIALS_DIRECTORY/name` in the unit's private folder.
                for prefix in ["$CREDENTIALS_DIRECTORY/", "${CREDENTIALS_DIRECTORY}/"] where file.hasPrefix(prefix) {
                    guard let folder = environmentValues["CREDENTIALS_DIRECTORY"], !folder.isEmpty else {
                        throw ConfigurationError(
                            file: configFile, key: key + "_file",
                            reason: "CREDENTIALS_DIRECTORY is not set (it is, under the unit's LoadCredential=)")
                    }
                    file = folder + "/" + file.dropFirst(prefix.count)
                }
                let value: String
                do {
                    value = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
                } catch {
                    throw ConfigurationError(file: configFile, key: key + "_file", reason: "cannot read \(file)")
                }
                guard !value.isEmpty else {
                    throw ConfigurationError(file: configFile, key: key + "_file", reason: "\(file) is empty")
                }
                return value
            }
            if let environment {
                guard let value = environmentValues[environment] else {
                    throw ConfigurationError(file: configFile, key: key + "_env", reason: "environment variable \(environment) is not set")
                }
                guard !value.isEmpty else {
                    throw ConfigurationError(file: configFile, key: key + "_env", reason: "environment variable \(environment) is empty")
                }
                return value
            }
            return nil
        }
    }

    package var file: String
    /// Not errors, but worth telling (printed by `check-config`, logged by `run`).
    package var warnings: [String] = []
    package var storePath: String
    package var storeURL: String?
    /// The PostgreSQL store's password (`store.password` | `_file` | `_env`), when not in `~/.pgpass`.
    package var storeSecret: SecretReference?
    /// This instance's name among those sharing a store (`instance.name`; default the host name).
    package var instanceName: String
    package var grammarPath: String?
    package var repliesPath: String?
    package var policy: Policy
    package var mailboxes: [Mailbox]
    package var smtpURL: String?
    package var smtpFrom: String?
    package var smtp: SMTPSettings
    package var sms: [SMSFeed]
    package var outboxPath: String?
    var logFormat: String
    package var logLevel: Logger.Level
    package var logFile: String?
    package var logPersonalData: Bool
    /// Health, outbox lifetime, loop guard (`OperationsSettings`).
    package var operations: OperationsSettings
    /// The operators' web console (`console.*`; off unless `console.listen` is set).
    package var console = ConsoleSettings()

    /// The embedded default: everything under `./metergate-data/`.
    static let embeddedDefault = """
        store:
          path: metergate-data/metergate.sqlite
        mailboxes:
          - name: mail
            url: maildir:metergate-data/mail
            poll_interval: 2s
        sms:
          - name: sms
            kind: files
            inbox: metergate-data/sms/inbox
            processed: metergate-data/sms/processed
            poll_interval: 2s
        outbox:
          path: metergate-data/outbox
        smtp:
          from: "Показания <readings@metergate.invalid>"
        """

    /// Loads `path`, or the embedded default when nil.
    package static func load(path: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MetergateConfiguration {
        let text: String
        let file = path ?? "(embedded default)"
        if let path {
            do {
                text = try String(contentsOfFile: path, encoding: .utf8)
            } catch {
                throw ConfigurationError(file: path, key: "", reason: "cannot read the configuration file")
            }
        } else {
            text = embeddedDefault
        }
        return try MetergateConfiguration(tree: ConfigTree(yaml: text, file: file, environment: environment))
    }

    init(tree: ConfigTree) throws {
        file = tree.file
        let store = tree.section("store")
        storePath = try tree.string(store, "path", at: "store.path") ?? "var/metergate.sqlite"
        storeURL = try tree.string(store, "url", at: "store.url")
        storeSecret = try Self.secret(tree, store ?? [:], key: "password", at: "store")
        if let url = storeURL {
            guard PostgresURL.isPostgresURL(url) else {
                throw ConfigurationError(file: file, key: "store.url", reason: "'\(url.prefix(40))' must start with postgres:// or postgresql://")
            }
            do {
                _ = try PostgresURL(parsing: url)
            } catch {
                throw ConfigurationError(file: file, key: "store.url", reason: "not a PostgreSQL URL: \(error.message)")
            }
            try Self.refusePasswordInURL(url, key: "store.url", file: file)
        }
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "metergate"
        instanceName = try tree.string(tree.section("instance"), "name", at: "instance.name") ?? (host.isEmpty ? "metergate" : host)
        guard !instanceName.isEmpty, instanceName.count <= 63, !instanceName.contains(where: { $0.isNewline || $0 == "\0" }) else {
            throw ConfigurationError(file: file, key: "instance.name", reason: "must be 1 to 63 characters on one line")
        }
        grammarPath = try tree.string(tree.section("grammar"), "path", at: "grammar.path")
        repliesPath = try tree.string(tree.section("replies"), "path", at: "replies.path")
        // A folder that does not exist falls back to the built-in copy (the contract's sample
        // names `Grammars`, which exists only beside a source checkout); relative paths are
        // tried from the working directory, then from the configuration file's folder.
        grammarPath = Self.existingFolder(grammarPath, key: "grammar.path", file: tree.file, warnings: &warnings)
        repliesPath = Self.existingFolder(repliesPath, key: "replies.path", file: tree.file, warnings: &warnings)

        let policySection = tree.section("policy")
        var policy = Policy()
        if let text = try tree.string(policySection, "max_increase", at: "policy.max_increase") {
            let trimmed = text.trimmingCharacters(in: .whitespaces)
            let wellFormed = !trimmed.isEmpty && trimmed.allSatisfy { $0.isASCII && ($0.isNumber || $0 == ".") }
                && trimmed.filter { $0 == "." }.count <= 1 && trimmed.first != "." && trimmed.last != "."
            guard wellFormed, trimmed.count <= 24, let value = Decimal(string: trimmed), value >= 0, value <= 1_000_000_000_000 else {
                throw ConfigurationError(file: file, key: "policy.max_increase", reason: "\(ConfigTree.quote(text)) is not a number in 0…1000000000000")
            }
            policy.maxIncrease = value
        }
        if let text = try tree.string(policySection, "submission_days", at: "policy.submission_days") {
            guard let days = Policy.parseDays(text) else {
                throw ConfigurationError(file: file, key: "policy.submission_days", reason: "'\(text)' is not a range of days like \"1-31\" or \"20-25\"")
            }
            policy.submissionDays = days
        }
        if let value = try tree.int(policySection, "max_messages_per_sender_per_hour", at: "policy.max_messages_per_sender_per_hour", range: 1...1_000_000) {
            policy.maxMessagesPerSenderPerHour = value
        }
        if let value = try tree.int(policySection, "max_message_bytes", at: "policy.max_message_bytes", range: 1024...(1 << 30)) {
            policy.maxMessageBytes = value
        }
        if let name = try tree.string(policySection, "timezone", at: "policy.timezone") {
            guard let zone = TimeZone(identifier: name) else {
                throw ConfigurationError(file: file, key: "policy.timezone", reason: "unknown time zone '\(name)'")
            }
            policy.timeZone = zone
        }
        self.policy = policy

        var names = Set<String>()
        func uniqueName(_ name: String, _ key: String) throws {
            guard names.insert(name).inserted else {
                throw ConfigurationError(file: tree.file, key: key, reason: "feed name '\(name)' is used twice")
            }
        }
        var plaintextWarnings: [String] = []
        mailboxes = try tree.list("mailboxes").enumerated().map { index, item in
            let at = "mailboxes[\(index)]"
            let name = try tree.string(item, "name", at: at + ".name") ?? "mailbox\(index + 1)"
            try uniqueName(name, at + ".name")
            guard let url = try tree.string(item, "url", at: at + ".url") else {
                throw ConfigurationError(file: tree.file, key: at + ".url", reason: "missing (imap://, imaps://, pop3://, pop3s:// or maildir:PATH)")
            }
            let scheme = url.split(separator: ":").first.map { $0.lowercased() } ?? ""
            guard ["imap", "imaps", "pop3", "pop3s", "maildir"].contains(scheme) else {
                throw ConfigurationError(file: tree.file, key: at + ".url", reason: "'\(url)' must start with imap://, imaps://, pop3://, pop3s:// or maildir:")
            }
            let after = try tree.string(item, "after", at: at + ".after") ?? "seen"
            guard after == "seen" || after == "delete" || (after.hasPrefix("move:") && after.count > 5) else {
                throw ConfigurationError(file: tree.file, key: at + ".after", reason: "'\(after)' must be seen, delete or move:FOLDER")
            }
            let secret = try Self.secret(tree, item, key: "password", at: at)
            if scheme.hasPrefix("pop3"), after.hasPrefix("move:") {
                throw ConfigurationError(file: tree.file, key: at + ".after", reason: "POP3 has no folders: use seen (keep) or delete")
            }
            let caFile = try tree.string(item, "ca_file", at: at + ".ca_file")
            let tokenFile = try tree.string(item, "oauth2_token_file", at: at + ".oauth2_token_file")
            if tokenFile != nil, secret != nil {
                throw ConfigurationError(file: tree.file, key: at + ".oauth2_token_file", reason: "give either a password or an OAuth2 token file, not both")
            }
            try Self.checkNetworkURL(url, key: at + ".url", file: tree.file)
            let allowPlaintext = try tree.bool(item, "allow_plaintext", at: at + ".allow_plaintext") ?? false
            let username = try tree.string(item, "username", at: at + ".username")
            let credentials = secret != nil || tokenFile != nil || username != nil
            // STARTTLS is the default on imap:// and pop3:// to a host that is not loopback.
            let explicitStartTLS = try tree.bool(item, "starttls", at: at + ".starttls")
            let startTLS = explicitStartTLS
                ?? ((scheme == "imap" || scheme == "pop3") && credentials && !allowPlaintext && !Self.isLoopback(Self.host(of: url)))
            if startTLS, scheme == "imaps" || scheme == "pop3s" {
                throw ConfigurationError(file: tree.file, key: at + ".starttls", reason: "\(scheme):// is already TLS; starttls is for imap:// and pop3://")
            }
            try Self.checkPlaintext(
                url: url, plainSchemes: ["imap", "pop3"], credentials: credentials, startTLS: startTLS,
                allowPlaintext: allowPlaintext, key: at + ".url", file: tree.file, warnings: &plaintextWarnings)
            let fetchConnections = try tree.int(item, "fetch_connections", at: at + ".fetch_connections", range: 1...8) ?? 1
            if fetchConnections > 1, !scheme.hasPrefix("imap") {
                throw ConfigurationError(file: tree.file, key: at + ".fetch_connections", reason: "only IMAP fetches over several connections")
            }
            let authservID = try tree.string(item, "authserv_id", at: at + ".authserv_id")
            if let authservID, authservID.isEmpty || authservID.contains(where: { $0.isWhitespace || $0 == ";" || $0.isNewline }) {
                throw ConfigurationError(
                    file: tree.file, key: at + ".authserv_id",
                    reason: "\(ConfigTree.quote(authservID)) is not an authserv-id (one word, like mx.example.ru)")
            }
            return Mailbox(
                name: name, url: url, scheme: scheme,
                path: scheme == "maildir" ? String(url.dropFirst("maildir:".count)).replacingOccurrences(of: "//", with: "", options: .anchored) : nil,
                pollInterval: try tree.duration(item, "poll_interval", at: at + ".poll_interval") ?? .seconds(30),
                after: after, username: username, secret: secret,
                tlsVerify: try tree.bool(item, "tls_verify", at: at + ".tls_verify") ?? true,
                caFile: caFile, oauth2TokenFile: tokenFile, startTLS: startTLS, fetchConnections: fetchConnections,
                authservID: authservID)
        }
        let smtp = tree.section("smtp")
        smtpURL = try tree.string(smtp, "url", at: "smtp.url")
        smtpFrom = try tree.string(smtp, "from", at: "smtp.from")
        if let url = smtpURL, !(url.lowercased().hasPrefix("smtp://") || url.lowercased().hasPrefix("smtps://")) {
            throw ConfigurationError(file: tree.file, key: "smtp.url", reason: "'\(url)' must start with smtp:// or smtps://")
        }
        let smtpUsername = try tree.string(smtp, "username", at: "smtp.username")
        let smtpSecret = try Self.secret(tree, smtp ?? [:], key: "password", at: "smtp")
        let smtpAllowPlaintext = try tree.bool(smtp, "allow_plaintext", at: "smtp.allow_plaintext") ?? false
        var smtpStartTLS = try tree.bool(smtp, "starttls", at: "smtp.starttls")
        if let url = smtpURL {
            try Self.checkNetworkURL(url, key: "smtp.url", file: tree.file)
            let credentials = smtpUsername != nil || smtpSecret != nil
            smtpStartTLS = smtpStartTLS
                ?? (url.lowercased().hasPrefix("smtp://") && credentials && !smtpAllowPlaintext && !Self.isLoopback(Self.host(of: url)))
            try Self.checkPlaintext(
                url: url, plainSchemes: ["smtp"], credentials: credentials, startTLS: smtpStartTLS ?? false,
                allowPlaintext: smtpAllowPlaintext, key: "smtp.url", file: tree.file, warnings: &warnings)
        }
        self.smtp = SMTPSettings(
            username: smtpUsername,
            secret: smtpSecret,
            startTLS: smtpStartTLS ?? false,
            tlsVerify: try tree.bool(smtp, "tls_verify", at: "smtp.tls_verify") ?? true,
            caFile: try tree.string(smtp, "ca_file", at: "smtp.ca_file"),
            connections: try tree.int(smtp, "connections", at: "smtp.connections", range: 1...64) ?? 4)
        sms = try tree.list("sms").enumerated().map { index, item in
            let at = "sms[\(index)]"
            let name = try tree.string(item, "name", at: at + ".name") ?? "sms\(index + 1)"
            try uniqueName(name, at + ".name")
            let kind = try tree.string(item, "kind", at: at + ".kind") ?? "gammu"
            guard ["files", "gammu", "kannel", "smsc"].contains(kind) else {
                throw ConfigurationError(file: tree.file, key: at + ".kind", reason: "'\(kind)' must be files, gammu, kannel or smsc")
            }
            if kind == "files", try tree.string(item, "inbox", at: at + ".inbox") == nil {
                throw ConfigurationError(file: tree.file, key: at + ".inbox", reason: "missing: the folder of SMS files")
            }
            if kind == "gammu" {
                guard let database = try tree.string(item, "database", at: at + ".database") else {
                    throw ConfigurationError(file: tree.file, key: at + ".database", reason: "missing: the SMSD database (sqlite path or postgres url)")
                }
                if let refusal = GammuSMSDDatabase.validate(database) {
                    throw ConfigurationError(file: tree.file, key: at + ".database", reason: refusal)
                }
                try Self.refusePasswordInURL(database, key: at + ".database", file: tree.file)
            }
            var feed = SMSFeed(
                name: name, kind: kind, inbox: try tree.string(item, "inbox", at: at + ".inbox"),
                processed: try tree.string(item, "processed", at: at + ".processed"),
                database: try tree.string(item, "database", at: at + ".database"),
                pollInterval: try tree.duration(item, "poll_interval", at: at + ".poll_interval") ?? .seconds(5),
                number: try tree.string(item, "number", at: at + ".number"),
                secret: try Self.secret(tree, item, key: "password", at: at))
            if kind == "kannel" { feed.kannel = try Self.kannelSettings(tree, item, at: at) }
            if kind == "smsc" { feed.smsc = try Self.smscSettings(tree, item, at: at) }
            // The provider's HTTP API: no password in its URL, none in plain text to another host.
            if let url = feed.kannel?.sendsmsURL ?? feed.smsc?.baseURL {
                let key = at + (kind == "kannel" ? ".sendsms_url" : ".base_url")
                try Self.refusePasswordInURL(url, key: key, file: tree.file)
                try Self.checkPlaintext(
                    url: url, plainSchemes: ["http"], credentials: feed.secret != nil, startTLS: false,
                    allowPlaintext: try tree.bool(item, "allow_plaintext", at: at + ".allow_plaintext") ?? false,
                    key: key, file: tree.file, warnings: &plaintextWarnings)
            }
            feed.multipartWait = try tree.duration(item, "multipart_wait", at: at + ".multipart_wait") ?? feed.multipartWait
            return feed
        }
        warnings += plaintextWarnings
        outboxPath = try tree.string(tree.section("outbox"), "path", at: "outbox.path")
        let log = tree.section("log")
        logFormat = try tree.string(log, "format", at: "log.format") ?? "text"
        guard logFormat == "text" || logFormat == "json" else {
            throw ConfigurationError(file: file, key: "log.format", reason: "'\(logFormat)' must be text or json")
        }
        let level = try tree.string(log, "level", at: "log.level") ?? "info"
        guard let parsedLevel = Logger.Level(rawValue: level.lowercased()) else {
            throw ConfigurationError(file: file, key: "log.level", reason: "'\(level)' must be trace, debug, info, notice, warning, error or critical")
        }
        logLevel = parsedLevel
        logFile = try tree.string(log, "file", at: "log.file")
        logPersonalData = try tree.bool(log, "personal_data", at: "log.personal_data") ?? false
        operations = try OperationsSettings(tree: tree)
        console = try ConsoleSettings(tree: tree)
    }

    private static func existingFolder(_ path: String?, key: String, file: String, warnings: inout [String]) -> String? {
        guard let path else { return nil }
        var candidates = [path]
        if !path.hasPrefix("/"), file.hasPrefix("/") || file.contains("/") {
            candidates.append(URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(path).path)
        }
        for candidate in candidates {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), isDirectory.boolValue {
                return candidate
            }
        }
        warnings.append("\(file): \(key): folder '\(path)' does not exist; using the built-in copy")
        return nil
    }

    static func secret(_ tree: ConfigTree, _ item: [String: Any], key: String, at: String) throws -> SecretReference? {
        let inline = try tree.secretString(item, key, at: "\(at).\(key)")
        let file = try tree.string(item, key + "_file", at: "\(at).\(key)_file")
        let environment = try tree.string(item, key + "_env", at: "\(at).\(key)_env")
        let given = [inline, file, environment].compactMap { $0 }.count
        if given > 1 {
            throw ConfigurationError(file: tree.file, key: "\(at).\(key)", reason: "give only one of \(key), \(key)_file, \(key)_env")
        }
        return given == 0 ? nil : SecretReference(
            inline: inline, file: file, environment: environment, key: "\(at).\(key)", configFile: tree.file)
    }

    /// Our own addresses (never answered): the SMTP sender and the SMS numbers.
    var ownSenders: Set<String> {
        var own = Set<String>()
        if let from = smtpFrom {
            let address = from.split(separator: "<").last.map { $0.replacingOccurrences(of: ">", with: "") } ?? from
            own.insert(Contact.normalizeEmail(address))
        }
        for feed in sms { if let number = feed.number { own.insert(Contact.normalizePhone(number)) } }
        return own
    }
}
