import Configuration
import Foundation
import Yams

/// The YAML file as a tree, with environment overrides applied and every key checked
/// against the known ones (a typo is an error, not a silently ignored key).
struct ConfigTree {
    let file: String
    private(set) var root: [String: Any]

    /// Known keys: `a.b` for scalars, `list[].key` for list items.
    static let knownKeys: Set<String> = [
        "store.path", "store.url", "store.password", "store.password_file", "store.password_env",
        "instance.name",
        "grammar.path", "replies.path",
        "policy.max_increase", "policy.submission_days", "policy.max_messages_per_sender_per_hour",
        "policy.max_message_bytes", "policy.timezone", "policy.max_same_reply", "policy.same_reply_window",
        "mailboxes[].name", "mailboxes[].url", "mailboxes[].username", "mailboxes[].password",
        "mailboxes[].password_file", "mailboxes[].password_env", "mailboxes[].poll_interval", "mailboxes[].after",
        "mailboxes[].tls_verify", "mailboxes[].starttls", "mailboxes[].allow_plaintext", "mailboxes[].ca_file", "mailboxes[].oauth2_token_file", "mailboxes[].fetch_connections", "mailboxes[].path", "mailboxes[].authserv_id",
        "smtp.url", "smtp.from", "smtp.username", "smtp.password", "smtp.password_file", "smtp.password_env",
        "smtp.starttls", "smtp.tls_verify", "smtp.ca_file", "smtp.allow_plaintext", "smtp.connections",
        "sms[].name", "sms[].kind", "sms[].database", "sms[].poll_interval", "sms[].listen", "sms[].secret",
        "sms[].secret_env", "sms[].secret_file", "sms[].sendsms_url", "sms[].username", "sms[].password",
        "sms[].password_env", "sms[].password_file", "sms[].base_url", "sms[].login", "sms[].inbox",
        "sms[].processed", "sms[].number", "sms[].allowed_addresses", "sms[].multipart_wait",
        "sms[].tls_verify", "sms[].ca_file", "sms[].allow_plaintext",
        "outbox.path", "outbox.max_age",
        "log.format", "log.level", "log.file", "log.personal_data",
        "http.listen", "http.unhealthy_after_failed_polls", "http.unhealthy_after",
        "console.listen", "console.users_file", "console.lockout_failures", "console.lockout", "console.session_idle",
    ]

    init(yaml: String, file: String, environment: [String: String]) throws {
        self.file = file
        let loaded: Any?
        do {
            loaded = try Yams.load(yaml: yaml)
        } catch let error as YamlError {
            throw ConfigurationError(file: file, key: "", reason: "not valid YAML: \(Self.describe(error))")
        }
        if loaded == nil {
            root = [:]
        } else if let dictionary = loaded as? [String: Any] {
            root = dictionary
        } else {
            throw ConfigurationError(file: file, key: "", reason: "the top level must be a mapping of sections")
        }
        try checkKeys(root, prefix: "")
        applyEnvironment(environment)
    }

    private static func describe(_ error: YamlError) -> String {
        String(describing: error).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
    }

    private func checkKeys(_ node: [String: Any], prefix: String) throws {
        for (key, value) in node {
            let path = prefix.isEmpty ? key : prefix + "." + key
            if let child = value as? [String: Any] {
                guard Self.knownKeys.contains(where: { $0.hasPrefix(path + ".") }) else {
                    throw ConfigurationError(file: file, key: path, reason: "unknown section")
                }
                try checkKeys(child, prefix: path)
            } else if let list = value as? [Any] {
                guard Self.knownKeys.contains(where: { $0.hasPrefix(path + "[].") }) else {
                    if Self.knownKeys.contains(path) { continue }
                    throw ConfigurationError(file: file, key: path, reason: "unknown key (a list is not expected here)")
                }
                for (index, item) in list.enumerated() {
                    guard let item = item as? [String: Any] else {
                        throw ConfigurationError(file: file, key: "\(path)[\(index)]", reason: "each item must be a mapping")
                    }
                    for (itemKey, itemValue) in item {
                        let known = "\(path)[].\(itemKey)"
                        guard Self.knownKeys.contains(known) else {
                            throw ConfigurationError(file: file, key: "\(path)[\(index)].\(itemKey)", reason: "unknown key")
                        }
                        if itemValue is [String: Any] {
                            throw ConfigurationError(file: file, key: "\(path)[\(index)].\(itemKey)", reason: "expected a single value")
                        }
                    }
                }
            } else {
                // A section with every key commented out (`grammar:` then comments) is empty, not unknown.
                if value is NSNull, Self.knownKeys.contains(where: { $0.hasPrefix(path + ".") || $0.hasPrefix(path + "[].") }) {
                    continue
                }
                guard Self.knownKeys.contains(path) else {
                    let section = path.split(separator: ".").first.map(String.init) ?? path
                    let hint = Self.knownKeys.filter { $0.hasPrefix(section + ".") }.sorted().joined(separator: ", ")
                    throw ConfigurationError(file: file, key: path, reason: "unknown key" + (hint.isEmpty ? "" : " (known: \(hint))"))
                }
            }
        }
    }

    /// `METERGATE_STORE_PATH=…` overrides `store.path`; `METERGATE_MAILBOXES_0_PASSWORD`
    /// overrides `mailboxes[0].password`. The variables are read through swift-configuration's
    /// `EnvironmentVariablesProvider` (key `metergate.mailboxes.0.password` encodes to that
    /// name), with passwords, secrets and tokens marked secret so that its access reporting
    /// never prints them. A list item must exist in the file to be overridden.
    private mutating func applyEnvironment(_ environment: [String: String]) {
        let ours = environment.filter { $0.key.hasPrefix("METERGATE_") }
        guard !ours.isEmpty else { return }
        let reader = ConfigReader(provider: EnvironmentVariablesProvider(
            environmentVariables: ours, secretsSpecifier: .dynamic { name, _ in Self.isSecret(name) }))
        for key in Self.knownKeys.sorted() {
            let secret = Self.isSecret(key)
            if let range = key.range(of: "[].") {
                let list = String(key[..<range.lowerBound])
                let itemKey = String(key[range.upperBound...])
                guard var items = root[list] as? [Any] else { continue }
                var changed = false
                for index in items.indices {
                    guard var item = items[index] as? [String: Any],
                          let value = reader.string(forKey: ConfigKey(["metergate", list, String(index), itemKey]), isSecret: secret)
                    else { continue }
                    item[itemKey] = value
                    items[index] = item
                    changed = true
                }
                if changed { root[list] = items }
            } else {
                let parts = key.split(separator: ".").map(String.init)
                guard let value = reader.string(forKey: ConfigKey(["metergate"] + parts), isSecret: secret) else { continue }
                var section = root[parts[0]] as? [String: Any] ?? [:]
                section[parts[1]] = value
                root[parts[0]] = section
            }
        }
    }

    /// Keys (or variable names) whose values are credentials.
    static func isSecret(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return ["password", "secret", "token"].contains { lowered.hasSuffix($0) }
    }

    // MARK: typed access

    func section(_ name: String) -> [String: Any]? { root[name] as? [String: Any] }

    func list(_ name: String) -> [[String: Any]] { (root[name] as? [Any])?.compactMap { $0 as? [String: Any] } ?? [] }

    func string(_ node: [String: Any]?, _ key: String, at path: String) throws -> String? {
        guard let value = node?[key] else { return nil }
        switch value {
        case let text as String: return text
        case let number as Int: return String(number)
        case let number as Double: return String(number)
        case let flag as Bool: return String(flag)
        default: throw ConfigurationError(file: file, key: path, reason: "expected a text value")
        }
    }

    func int(_ node: [String: Any]?, _ key: String, at path: String, range: ClosedRange<Int>) throws -> Int? {
        guard let value = node?[key] else { return nil }
        let number: Int? = (value as? Int) ?? (value as? String).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard let number, range.contains(number) else {
            throw ConfigurationError(file: file, key: path, reason: "'\(value)' is not a whole number in \(range.lowerBound)…\(range.upperBound)")
        }
        return number
    }

    func bool(_ node: [String: Any]?, _ key: String, at path: String) throws -> Bool? {
        guard let value = node?[key] else { return nil }
        if let flag = value as? Bool { return flag }
        if let text = (value as? String)?.lowercased() {
            if ["true", "yes", "on", "1"].contains(text) { return true }
            if ["false", "no", "off", "0"].contains(text) { return false }
        }
        throw ConfigurationError(file: file, key: path, reason: "'\(value)' is not true or false")
    }

    /// `30s`, `5m`, `1h`, `500ms`, or a number of seconds, within `range` (every duration key
    /// has one: `1e30s`, `inf`, `9223372036854775807` are refused here, never converted).
    func duration(
        _ node: [String: Any]?, _ key: String, at path: String,
        range: ClosedRange<Duration> = .milliseconds(10) ... .seconds(366 * 86_400)
    ) throws -> Duration? {
        guard let value = node?[key] else { return nil }
        let shown = Self.quote("\(value)")
        let bounds = "\(Self.describe(range.lowerBound))…\(Self.describe(range.upperBound))"
        let seconds: Double?
        if let whole = value as? Int {
            seconds = Double(whole)
        } else if let number = value as? Double {
            seconds = number
        } else if let text = (value as? String)?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("", 1)]
            let found = units.first { text.hasSuffix($0.0) && Double(text.dropLast($0.0.count)) != nil }
            seconds = found.flatMap { suffix, scale in Double(text.dropLast(suffix.count)).map { $0 * scale } }
        } else {
            seconds = nil
        }
        guard let seconds else {
            throw ConfigurationError(file: file, key: path, reason: "\(shown) is not a duration like 30s, 5m, 1h")
        }
        let low = Double(range.lowerBound.components.seconds) + Double(range.lowerBound.components.attoseconds) / 1e18
        let high = Double(range.upperBound.components.seconds) + Double(range.upperBound.components.attoseconds) / 1e18
        guard seconds.isFinite, seconds >= low - 1e-9, seconds <= high + 1e-9 else {
            throw ConfigurationError(file: file, key: path, reason: "\(shown) is outside \(bounds)")
        }
        return .milliseconds(Int64((seconds * 1000).rounded()))
    }

    /// `90s`, `15m`, `72h`, `366d` for messages.
    static func describe(_ duration: Duration) -> String {
        let (seconds, atto) = duration.components
        if atto != 0 || seconds == 0 { return "\(seconds * 1000 + atto / 1_000_000_000_000_000)ms" }
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }

    /// A value from the file as an error line shows it: quoted, at most 80 characters, control
    /// characters escaped.
    static func quote(_ text: String) -> String {
        var shown = ""
        for scalar in text.unicodeScalars.prefix(80) {
            switch scalar {
            case "\n": shown += "\\n"
            case "\r": shown += "\\r"
            case "\t": shown += "\\t"
            case "'", "\\": shown += "\\" + String(scalar)
            default:
                if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || (0x2028...0x2029).contains(scalar.value) {
                    shown += String(format: "\\u{%X}", scalar.value)
                } else {
                    shown.unicodeScalars.append(scalar)
                }
            }
        }
        return "'" + shown + (text.unicodeScalars.count > 80 ? "…" : "") + "'"
    }
}
