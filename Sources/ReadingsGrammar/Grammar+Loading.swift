extension Grammar {
    static let listKeys = ["uin", "uin_filler", "hint", "zone", "meter", "noise", "unit", "aside",
                           "aside_after", "aside_near", "month", "year_word", "quote_intro", "lookalike", "history"] + mailListKeys
    /// Word lists for e-mail (`Grammars/mail.grammar`): kept as written (lower-cased), outside the
    /// phrase table; the mail reader uses them as prefixes of lines and subjects.
    public static let mailListKeys = ["mail_footer", "mail_signoff", "mail_separator", "auto_reply_subject", "auto_reply_phrase"]
    static let settingKeys = ["uin_digits", "fraction_digits", "max_reading_digits",
                              "max_interpretations", "thousands_separators"]

    mutating func read(_ text: String, file: String, settings: inout [String: (file: String, line: Int)]) throws {
        var lineNumber = 0
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: " \t\r\u{FEFF}")
            if line.isEmpty || line.hasPrefix("#") { continue }
            try readLine(line, file: file, line: lineNumber, settings: &settings)
        }
    }

    private mutating func readLine(_ line: Substring, file: String, line number: Int,
                                   settings: inout [String: (file: String, line: Int)]) throws {
        func fail(_ code: GrammarError.Code, _ reason: String) -> GrammarError {
            GrammarError(code: code, file: file, line: number, reason: reason)
        }
        guard let sepIndex = line.firstIndex(where: { $0 == ":" || $0 == "=" }) else {
            throw fail(.syntax, "expected 'key: synonym, synonym, …' or 'key = value'")
        }
        let head = line[..<sepIndex].split(separator: " ", omittingEmptySubsequences: true)
        let body = line[line.index(after: sepIndex)...].trimmingCharacters(in: " \t")
        guard let keyPart = head.first else { throw fail(.syntax, "missing key before '\(line[sepIndex])'") }
        let key = keyPart.lowercased()
        guard head.count <= 2 else {
            throw fail(.syntax, "too many words before '\(line[sepIndex])': '\(line[..<sepIndex].trimmingCharacters(in: " "))'")
        }
        let argument = head.count == 2 ? String(head[1]) : nil
        if line[sepIndex] == "=" {
            guard Self.settingKeys.contains(key) else {
                if Self.listKeys.contains(key) { throw fail(.syntax, "'\(key)' takes a list: write '\(key)\(argument.map { " " + $0 } ?? ""): a, b, …'") }
                throw fail(.unknownKey, "unknown key '\(key)' (expected one of \((Self.settingKeys + Self.listKeys).joined(separator: ", ")))")
            }
            guard argument == nil else { throw fail(.syntax, "setting '\(key)' takes no argument") }
            if let previous = settings[key] {
                throw fail(.conflict, "'\(key)' is already set at \(previous.file):\(previous.line)")
            }
            settings[key] = (file, number)
            try applySetting(key, String(body), fail: fail)
            return
        }
        guard Self.listKeys.contains(key) else {
            if Self.settingKeys.contains(key) { throw fail(.syntax, "'\(key)' is a setting: write '\(key) = …'") }
            throw fail(.unknownKey, "unknown key '\(key)' (expected one of \((Self.listKeys + Self.settingKeys).joined(separator: ", ")))")
        }
        let items = body.split(separator: ",", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: " \t")
        }
        if body.isEmpty { throw fail(.emptySynonym, "'\(key)' has no synonyms") }
        if let index = items.firstIndex(where: \.isEmpty) {
            throw fail(.emptySynonym, "empty synonym (item \(index + 1) of the list: two commas in a row or a trailing comma?)")
        }
        if Self.mailListKeys.contains(key) {
            if let argument { throw fail(.syntax, "'\(key)' takes no argument (found '\(argument)')") }
            mailLists[key, default: []].append(contentsOf: items.map { $0.lowercased() })
            return
        }
        if key == "quote_intro" { quoteIntroWords.append(contentsOf: items.map { $0.lowercased() }) }
        let meaning: PhraseMeaning
        switch key {
        case "lookalike":
            guard let argument, argument.count == 1, let digit = argument.unicodeScalars.first,
                  ScalarClass.isDigit(digit.value) else {
                throw fail(.badValue, "'lookalike' needs one digit 0-9 after it, e.g. 'lookalike 0: O, о'")
            }
            for item in items {
                let scalars = Array(item.unicodeScalars)
                guard scalars.count == 1, let s = scalars.first?.value else {
                    throw fail(.badValue, "look-alike '\(item)' must be a single character")
                }
                guard !ScalarClass.isDigit(s), s > 0x20 else { throw fail(.badValue, "look-alike '\(item)' cannot be a digit or a space") }
                if let old = lookalikes[s], old != UInt8(digit.value) {
                    throw fail(.conflict, "look-alike '\(item)' already stands for \(Character(Unicode.Scalar(old)))")
                }
                lookalikes[s] = UInt8(digit.value)
            }
            return
        case "aside_near":
            guard let argument, !argument.isEmpty else {
                throw fail(.badValue, "'aside_near' needs a kind, e.g. 'aside_near address: д'")
            }
            for item in items {
                let phraseKey = PhraseTable.key(of: item.unicodeScalars)
                guard !phraseKey.isEmpty else { throw fail(.emptySynonym, "synonym '\(item)' has no letters, digits or symbols") }
                asideNear[phraseKey] = argument.lowercased()
            }
            return
        case "zone", "meter":
            guard let argument, !argument.isEmpty,
                  argument.unicodeScalars.allSatisfy({ $0.isASCII && (ScalarClass.isLetter($0.value) || ScalarClass.isDigit($0.value)) }) else {
                throw fail(.badValue, "'\(key)' needs a canonical meter label of ASCII letters and digits, e.g. '\(key) \(key == "zone" ? "T1" : "M1"): …'")
            }
            let label = argument.uppercased()
            if !meterLabels.contains(label) { meterLabels.append(label) }
            meaning = .zone(label)
        case "aside", "aside_after":
            guard let argument, !argument.isEmpty else {
                throw fail(.badValue, "'\(key)' needs a kind, e.g. '\(key) phone: …'")
            }
            meaning = key == "aside" ? .aside(argument.lowercased()) : .asideAfter(argument.lowercased())
        case "month":
            guard let argument, let month = Int(argument), (1...12).contains(month) else {
                throw fail(.badValue, "'month' needs a month number 1-12, e.g. 'month 11: ноябрь, ноября'")
            }
            meaning = .month(month)
        default:
            if let argument { throw fail(.syntax, "'\(key)' takes no argument (found '\(argument)')") }
            switch key {
            case "uin": meaning = .uinLabel
            case "uin_filler": meaning = .filler
            case "hint": meaning = .hint
            case "noise": meaning = .noise
            case "unit": meaning = .unit
            case "year_word": meaning = .yearWord
            case "history": meaning = .history
            default: meaning = .quoteIntro
            }
        }
        for item in items {
            if meaning == .history, item == "?" {
                // "1234567 ?": a question mark beside a lone UIN asks for the history too.
                historyQuestionMark = true
                continue
            }
            let phraseKey = PhraseTable.key(of: item.unicodeScalars)
            if phraseKey.isEmpty {
                if meaning == .filler { continue }  // punctuation is always allowed between a label and its number
                throw fail(.emptySynonym, "synonym '\(item)' has no letters, digits or symbols")
            }
            if ScalarClass.isDigit(phraseKey[0]) {
                // A utility's meter code ("1д", "2н", "1T") written glued to the value: a zone
                // or meter synonym may start with a digit when letters follow it.
                let isZone: Bool = if case .zone = meaning { true } else { false }
                guard isZone, phraseKey.contains(where: { ScalarClass.isLetter($0) }) else {
                    throw fail(.badValue, "synonym '\(item)' must not start with a digit (only a zone or meter code such as '1д' may)")
                }
            }
            if let origin = origins[phraseKey] {
                if origin.meaning == meaning { continue }
                throw fail(.conflict, "synonym '\(item)' is already bound to \(origin.meaning) at \(origin.file):\(origin.line)")
            }
            origins[phraseKey] = Origin(meaning: meaning, file: file, line: number)
            phrases.insert(phraseKey, meaning)
        }
    }

    private mutating func applySetting(_ key: String, _ value: String, fail: (GrammarError.Code, String) -> GrammarError) throws {
        func range(_ limits: ClosedRange<Int>) throws -> ClosedRange<Int> {
            let parts = value.split(separator: "-", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: " ") }
            let bounds = parts.compactMap { Int($0) }
            guard bounds.count == parts.count, (1...2).contains(bounds.count) else {
                throw fail(.badValue, "bad range '\(value)' for '\(key)' (expected e.g. '\(limits.lowerBound)-\(limits.upperBound)')")
            }
            let low = bounds[0], high = bounds.last!
            guard low <= high else { throw fail(.badValue, "bad range '\(value)' for '\(key)': \(low) is more than \(high)") }
            guard limits.contains(low), limits.contains(high) else {
                throw fail(.badValue, "bad range '\(value)' for '\(key)': must lie within \(limits.lowerBound)-\(limits.upperBound)")
            }
            return low...high
        }
        func number(_ limits: ClosedRange<Int>) throws -> Int {
            guard let n = Int(value), limits.contains(n) else {
                throw fail(.badValue, "bad value '\(value)' for '\(key)' (expected a number \(limits.lowerBound)-\(limits.upperBound))")
            }
            return n
        }
        switch key {
        case "uin_digits": uinDigits = try range(1...18)
        case "fraction_digits": fractionDigits = try range(1...3)
        case "max_reading_digits": maxReadingDigits = try number(1...15)
        case "max_interpretations": maxInterpretations = try number(1...4096)
        default:
            var set: Set<UInt32> = []
            for name in value.split(whereSeparator: { $0 == " " || $0 == "," }) {
                switch name.lowercased() {
                case "space": set.insert(0x20)
                case "nbsp": set.insert(0xA0)
                case "thin": set.insert(0x2009)
                case "narrow": set.insert(0x202F)
                case "figure": set.insert(0x2007)
                case let other where other.hasPrefix("u+"):
                    guard let v = UInt32(other.dropFirst(2), radix: 16), let scalar = Unicode.Scalar(v),
                          scalar.properties.isWhitespace else {
                        throw fail(.badValue, "'\(name)' is not a space character")
                    }
                    set.insert(v)
                default:
                    throw fail(.badValue, "unknown space '\(name)' (expected space, nbsp, thin, narrow, figure or U+XXXX)")
                }
            }
            thousandsSeparators = set
        }
    }
}

extension Substring {
    func trimmingCharacters(in set: String) -> Substring {
        let scalars = Set(set.unicodeScalars)
        var start = startIndex, end = endIndex
        while start < end, let s = self[start...].unicodeScalars.first, scalars.contains(s) { start = index(after: start) }
        while end > start, let s = self[..<end].unicodeScalars.last, scalars.contains(s) { end = index(before: end) }
        return self[start..<end]
    }
}
