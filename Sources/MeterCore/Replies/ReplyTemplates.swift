import Foundation

/// The operator-editable reply texts, keyed by outcome (`accepted`, `rejected.decreasing`, …).
public struct ReplyTemplates: Sendable {
    public struct Problem: Error, CustomStringConvertible, Sendable {
        public var file: String
        public var line: Int
        public var reason: String
        public var description: String { "\(file):\(line): \(reason)" }
    }

    struct Entry: Sendable {
        var text: String
        var file: String
        var line: Int
        /// The text split at its placeholders, once: literal, name, literal, name, …
        var parts: [String] = []

        init(text: String, file: String, line: Int) {
            self.text = text
            self.file = file
            self.line = line
            var rest = text[...]
            while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
                parts.append(String(rest[..<open]))
                parts.append(String(rest[rest.index(after: open)..<close]))
                rest = rest[rest.index(after: close)...]
            }
            parts.append(String(rest))
        }

        /// The names between braces, in order.
        var placeholderNames: [String] { parts.indices.filter { $0 % 2 == 1 }.map { parts[$0] } }

        /// The text with each placeholder replaced by `value(name)` (kept as written when nil).
        func filled(_ value: (String) -> String?) -> String {
            var text = ""
            text.reserveCapacity(self.text.utf8.count + 48)
            for (index, part) in parts.enumerated() {
                if index % 2 == 0 { text += part } else { text += value(part) ?? "{" + part + "}" }
            }
            return text
        }
    }

    private let entries: [String: Entry]

    /// For each variant (SMS or e-mail, sender bound or not) and bare key, the entry `text`
    /// falls back to, found once: rendering runs on the store's single writer, per message.
    private let resolved: [[String: Entry]]

    init(entries: [String: Entry]) {
        self.entries = entries
        resolved = Self.resolve(entries)
    }

    private static func variant(email: Bool, bound: Bool) -> Int { (email ? 2 : 0) + (bound ? 1 : 0) }

    private static func resolve(_ entries: [String: Entry]) -> [[String: Entry]] {
        var bare = Set(requiredKeys)
        bare.formUnion(optionalKeys)
        return [(false, false), (false, true), (true, false), (true, true)].map { email, bound in
            let prefix = email ? "email." : ""
            var table: [String: Entry] = [:]
            for key in bare {
                let candidates = (bound ? [prefix + key + ".bound", key + ".bound"] : []) + [prefix + key, key]
                if let entry = candidates.lazy.compactMap({ entries[$0] }).first { table[key] = entry }
            }
            return table
        }
    }

    static let placeholders: Set<String> = ["uin", "readings", "expected", "accepted", "total", "replaced", "date"]
    static let boundOnly: Set<String> = ["expected", "date"]
    /// Placeholders allowed only in some templates: `{replaced}` (the readings a correction
    /// replaced) in `accepted.correction`.
    static let onlyIn: [String: String] = ["replaced": "accepted.correction"]

    /// Optional keys: a folder of older templates works without them (built-in texts stand in).
    static let optionalKeys = [
        "accepted.correction", "history", "history.bound", "history.none.bound", "history.which.bound", "unbound.neutral",
    ]

    /// Keys every template set must define.
    public static var requiredKeys: [String] {
        ["accepted", "duplicate", "held", "multi", "rejected.operator"]
            + OutcomeReason.rejections.map { "rejected.\($0.rawValue)" }
    }

    static var knownKeys: Set<String> {
        var keys = Set(requiredKeys)
        for key in requiredKeys { keys.insert(key + ".bound") }
        keys.formUnion(optionalKeys)
        for key in keys { keys.insert("email." + key) }
        return keys
    }

    /// Parses template files; every problem is reported with its file and line.
    public static func load(files: [(name: String, contents: String)]) throws(Problem) -> ReplyTemplates {
        var entries: [String: Entry] = [:]
        for file in files {
            for (index, rawLine) in file.contents.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let line = rawLine.trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
                if line.isEmpty || line.hasPrefix("#") { continue }
                let number = index + 1
                guard let equals = line.firstIndex(of: "=") else {
                    throw Problem(file: file.name, line: number, reason: "expected 'key = text'")
                }
                let key = line[..<equals].trimmingCharacters(in: .whitespaces)
                let text = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
                guard knownKeys.contains(key) else {
                    throw Problem(file: file.name, line: number, reason: "unknown template key '\(key)'")
                }
                guard !text.isEmpty else {
                    throw Problem(file: file.name, line: number, reason: "template '\(key)' is empty")
                }
                if let previous = entries[key] {
                    throw Problem(file: file.name, line: number,
                                  reason: "template '\(key)' already defined at \(previous.file):\(previous.line)")
                }
                let entry = Entry(text: text, file: file.name, line: number)
                for name in entry.placeholderNames {
                    guard placeholders.contains(name) else {
                        throw Problem(file: file.name, line: number, reason: "unknown placeholder {\(name)} in '\(key)'")
                    }
                    let bare = key.hasPrefix("email.") ? String(key.dropFirst(6)) : key
                    if boundOnly.contains(name) || (name == "readings" && bare.hasPrefix("history")), !key.hasSuffix(".bound") {
                        throw Problem(file: file.name, line: number,
                                      reason: "{\(name)} reveals account data; use it only in a '.bound' template")
                    }
                    if let only = onlyIn[name], bare != only {
                        throw Problem(file: file.name, line: number, reason: "{\(name)} belongs only in '\(only)'")
                    }
                }
                entries[key] = entry
            }
        }
        for key in requiredKeys where entries[key] == nil {
            throw Problem(file: files.first?.name ?? "templates", line: 0, reason: "missing template '\(key)'")
        }
        return ReplyTemplates(entries: entries)
    }

    public static func load(directory: URL) throws -> ReplyTemplates {
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { !$0.hasPrefix(".") && $0.hasSuffix(".txt") }.sorted()
        let files = try names.map { name in
            (name: directory.appendingPathComponent(name).path,
             contents: try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8))
        }
        return try load(files: files)
    }

    /// Checks that every SMS template fits one segment with the longest plausible values.
    public func problemsForSMS() -> [Problem] {
        let worst: [String: String] = [
            "uin": "123456789012", "readings": "123456.7, 123456.7, 123456.7", "expected": "3",
            "accepted": "10", "total": "10", "replaced": "123456.7, 123456.7, 123456.7", "date": "30.11.2026",
        ]
        var problems: [Problem] = []
        var checked = entries
        for key in Self.optionalKeys where !key.hasPrefix("email.") && checked[key] == nil {
            if let text = Self.builtIn[key] { checked[key] = Entry(text: text, file: "built-in", line: 0) }
        }
        for (key, entry) in checked.sorted(by: { $0.key < $1.key }) where !key.hasPrefix("email.") {
            let (coding, length) = SMSText.measure(entry.filled { worst[$0] })
            if length > SMSText.limit(for: coding) {
                problems.append(Problem(
                    file: entry.file, line: entry.line,
                    reason: "SMS template '\(key)' can reach \(length) characters "
                        + "(\(coding == .ucs2 ? "UCS-2, Cyrillic" : "GSM-7")), over one segment of \(SMSText.limit(for: coding))"))
            }
        }
        return problems
    }

    /// The reply for an outcome. `bound`: the sender is bound to the (first) account.
    public func render(_ outcome: Outcome, channel: ChannelKind, bound: Bool) -> String? {
        guard let text = renderUnchecked(outcome, channel: channel, bound: bound) else { return nil }
        if channel == .sms, !SMSText.fitsOneSegment(text) {
            // Values longer than any template was checked for: a short text without them.
            return Self.shortFallback[outcome.status] ?? "Сообщение получено."
        }
        return text
    }

    /// The outcomes an unbound sender gets the neutral reply for.
    static func neutralForUnbound(_ result: SubmissionOutcome) -> Bool {
        result.status == .duplicate
            || (result.status == .rejected && [.unknownAccount, .decreasing, .outOfRange].contains(result.reason ?? .unparsed))
    }

    /// The neutral texts when the templates have no `unbound.neutral` (a folder of older templates).
    static let neutralSMS = "Сообщение получено. Подробности - на номер из договора."
    static let neutralEmail = "Здравствуйте! Сообщение получено. Подробный ответ приходит только на телефон или адрес, указанные в договоре."

    static let shortFallback: [OutcomeStatus: String] = [
        .accepted: "Показания приняты. Спасибо!", .duplicate: "Эти показания уже приняты.",
        .held: "Показания получены и будут проверены.",
        .rejected: "Показания не приняты. Формат: УИН показания",
        .answered: "Запрос получен. Пришлите так: история УИН",
    ]

    /// The texts when the templates lack an optional key (a folder of older templates).
    static let builtIn: [String: String] = [
        "accepted.correction": "Принято: {replaced} → {readings}",
        "email.accepted.correction": "Здравствуйте! Показания исправлены: вместо {replaced} приняты {readings}. Спасибо!",
        "history": "История показаний - только на телефон и e-mail из договора.",
        "email.history": "Здравствуйте! История показаний отправляется только на телефоны и адреса, указанные в договоре.",
        "history.bound": "УИН {uin}: {readings} приняты {date}",
        "email.history.bound": "Здравствуйте! Последние принятые показания по УИН {uin}: {readings}, получены {date}.",
        "history.none.bound": "По УИН {uin} принятых показаний пока нет.",
        "email.history.none.bound": "Здравствуйте! По УИН {uin} принятых показаний пока нет.",
        "history.which.bound": "Укажите УИН: история УИН",
        "email.history.which.bound": "Здравствуйте! К вашему адресу привязано несколько лицевых счетов. Укажите УИН в теме письма: история 1234567",
    ]

    /// A reply's placeholder values (the names of `placeholders`).
    private struct Values {
        var uin: String?
        var readings: String?
        var expected: String?
        var accepted: String?
        var total: String?
        var replaced: String?
        var date: String?

        subscript(name: String) -> String? {
            switch name {
            case "uin": uin
            case "readings": readings
            case "expected": expected
            case "accepted": accepted
            case "total": total
            case "replaced": replaced
            case "date": date
            default: nil
            }
        }
    }

    func renderUnchecked(_ outcome: Outcome, channel: ChannelKind, bound: Bool) -> String? {
        if outcome.status == .ignored { return nil }
        let email = channel == .email
        let prefix = email ? "email." : ""
        let table = resolved[Self.variant(email: email, bound: bound)]
        func text(_ key: String, _ values: Values) -> String {
            table[key]?.filled { values[$0] } ?? ""
        }
        /// An optional key exactly as named (the e-mail variant first), else its built-in text.
        func exact(_ key: String, _ values: Values) -> String {
            for candidate in [prefix + key, key] {
                if let entry = entries[candidate] { return entry.filled { values[$0] } }
            }
            let text = Self.builtIn[prefix + key] ?? Self.builtIn[key] ?? ""
            return Entry(text: text, file: "", line: 0).filled { values[$0] }
        }
        /// A history answer: the readings only to a bound sender, nothing to anyone else.
        func history(_ answer: HistoryAnswer?, uin: String) -> String {
            switch answer?.kind {
            case .readings(let values, let date)?:
                return exact("history.bound", Values(uin: uin, readings: values.joined(separator: ", "), date: date))
            case .none?: return exact("history.none.bound", Values(uin: uin))
            case .whichAccount?: return exact("history.which.bound", Values())
            case .notBound?, nil: return exact("history", Values(uin: uin))
            }
        }
        func single(_ result: SubmissionOutcome) -> String {
            // Oracle defence: to a sender not bound to the account, unknown account, decreasing,
            // out of range and duplicate get one neutral text, so that no reply tells which
            // accounts exist, brackets the stored reading or confirms a guessed value.
            if !result.senderBound, Self.neutralForUnbound(result) {
                let neutral = text("unbound.neutral", Values())
                return neutral.isEmpty ? (email ? Self.neutralEmail : Self.neutralSMS) : neutral
            }
            var values = Values(uin: result.uin, readings: result.readings.joined(separator: ", "))
            if let expected = result.expectedCount { values.expected = String(expected) }
            switch result.status {
            case .rejected: return text("rejected." + (result.reason ?? .unparsed).rawValue, values)
            case .ignored: return ""
            case .answered: return history(result.history, uin: result.uin)
            case .accepted where result.replaces != nil:
                values.replaced = (result.replaces ?? []).joined(separator: ", ")
                return exact("accepted.correction", values)
            default: return text(result.status.rawValue, values)
            }
        }
        guard outcome.results.count > 1 else {
            if let result = outcome.results.first { return single(result) }
            if outcome.status == .answered { return history(outcome.history, uin: "") }
            return text("rejected." + (outcome.reason ?? .unparsed).rawValue, Values())
        }
        let lines = outcome.results.map { "\($0.uin): " + single($0) }
        if email { return lines.joined(separator: "\n") }
        let joined = lines.joined(separator: " ")
        if SMSText.fitsOneSegment(joined) { return joined }
        let accepted = outcome.results.filter { $0.status == .accepted || $0.status == .duplicate }.count
        return text("multi", Values(accepted: String(accepted), total: String(outcome.results.count)))
    }
}
