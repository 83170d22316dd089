/// Raw tokens → pieces: quoted text, addresses, dates, times, phones, grammar phrases.
extension ParseRun {
    mutating func classify() {
        pieces.reserveCapacity(raw.count)
        var i = 0
        var lineStart = true
        while i < raw.count {
            let token = raw[i]
            if lineStart, let end = quotedLineEnd(at: i) {
                if end == raw.count, !isPunct(i, 0x3E) {  // a signature: the rest of the text
                    note(token.start, raw[raw.count - 1].end, "signature set aside")
                } else {
                    note(token.start, raw[end - 1].end, "quoted line set aside")
                }
                pieces.append(Piece(.quoted, i, end))
                i = end
                continue
            }
            lineStart = false
            switch token.kind {
            case .newline:
                pieces.append(Piece(.newline, i, i + 1))
                lineStart = true
                i += 1
            case .space:
                pieces.append(Piece(.space(joinable: token.joinable), i, i + 1))
                i += 1
            case .email, .url:
                pieces.append(Piece(token.kind == .email ? .email : .url, i, i + 1))
                note(token.start, token.end, token.kind == .email ? "e-mail address set aside" : "URL set aside")
                i += 1
            case .digits:
                i = classifyDigits(at: i)
            case .punct:
                if isPunct(i, 0x2B), let end = phoneEnd(from: i + 1, plus: true) {
                    addAside(.phone(maybeNumber: false), i, end, "phone set aside")
                    i = end
                } else {
                    pieces.append(Piece(.punct(text.scalars[token.start]), i, i + 1))
                    i += 1
                }
            case .word, .symbol:
                if let match = matchPhrase(at: i) {
                    if case .quoteIntro = match.meaning, quoteIntroEndsLine(match.end) {
                        // Bottom-posting: "… пишет:" then '>' lines, then the new text. Only the
                        // header line goes; the '>' lines go as quoted lines. Otherwise (an
                        // unmarked earlier message follows) everything from here is quoted.
                        if let lineEnd = quoteHeaderFollowedByQuotedLines(match.end) {
                            quoteHeader(from: i, to: lineEnd)
                            i = lineEnd
                            continue
                        }
                        quoteRest(from: i)
                        return
                    }
                    if case .month = match.meaning, let end = yearAfter(match.end) {
                        addAside(.date(maybeDecimal: false), i, end, "date set aside")
                        i = end
                        continue
                    }
                    if case .month = match.meaning {
                        note(raw[i].start, raw[match.end - 1].end, "month name ignored")
                    }
                    pieces.append(Piece(.phrase(match.meaning), i, match.end))
                    i = match.end
                } else {
                    pieces.append(Piece(token.kind == .word ? .word : .symbol, i, i + 1))
                    i += 1
                }
            }
        }
    }

    private mutating func addAside(_ kind: Piece.Kind, _ first: Int, _ end: Int, _ why: String) {
        pieces.append(Piece(kind, first, end))
        note(raw[first].start, raw[end - 1].end, why)
    }

    // MARK: quoted text

    /// A line starting with '>' (to its end), or a signature line "--" (to the end of the text).
    private func quotedLineEnd(at i: Int) -> Int? {
        var k = i
        if raw[k].kind == .space { k += 1 }
        guard k < raw.count else { return nil }
        if isPunct(k, 0x3E) {
            var end = k
            while end < raw.count, raw[end].kind != .newline { end += 1 }
            return end
        }
        if isPunct(k, 0x2D), isPunct(k + 1, 0x2D), k + 2 == raw.count || raw[k + 2].kind == .newline
            || (raw[k + 2].kind == .space && (k + 3 == raw.count || raw[k + 3].kind == .newline)) {
            return raw.count
        }
        return nil
    }

    private func quoteIntroEndsLine(_ end: Int) -> Bool {
        var k = end
        if k < raw.count, raw[k].kind == .space { k += 1 }
        guard isPunct(k, 0x3A) else { return false }
        k += 1
        if k < raw.count, raw[k].kind == .space { k += 1 }
        return k >= raw.count || raw[k].kind == .newline
    }

    /// The end of the quote header's line when the next non-blank line starts with '>'.
    private func quoteHeaderFollowedByQuotedLines(_ end: Int) -> Int? {
        var lineEnd = end
        while lineEnd < raw.count, raw[lineEnd].kind != .newline { lineEnd += 1 }
        var k = lineEnd
        while k < raw.count, raw[k].kind == .newline || raw[k].kind == .space { k += 1 }
        return k < raw.count && isPunct(k, 0x3E) ? lineEnd : nil
    }

    /// Sets aside the line holding "… пишет:" (from its start to `lineEnd`).
    private mutating func quoteHeader(from i: Int, to lineEnd: Int) {
        var first = i
        while let last = pieces.last, last.kind != .newline {
            first = last.first
            pieces.removeLast()
        }
        let from = text.offsets[raw[first].start]
        diagnostics.removeAll { $0.range.lowerBound >= from }
        pieces.append(Piece(.quoted, first, lineEnd))
        note(raw[first].start, raw[lineEnd - 1].end, "quote header set aside")
    }

    /// "… пишет:" — the line holding it and everything after is quoted.
    private mutating func quoteRest(from i: Int) {
        var first = i
        while let last = pieces.last, last.kind != .newline {
            first = last.first
            pieces.removeLast()
        }
        diagnostics.removeAll { $0.range.lowerBound >= text.offsets[raw[first].start] }
        pieces.append(Piece(.quoted, first, raw.count))
        note(raw[first].start, raw[raw.count - 1].end, "quoted reply set aside")
    }

    // MARK: phrases

    /// Longest grammar phrase starting at raw token `i`; words may be joined across
    /// spaces and '.', '/', '-', '*' (so "лиц. счет", "л/с", "кВт*ч" match).
    func matchPhrase(at i: Int) -> (end: Int, meaning: PhraseMeaning)? {
        guard grammar.phrases.canStart(ScalarClass.fold(text.scalars[raw[i].start])) else { return nil }
        var node: Int32 = 0
        var best: (end: Int, meaning: PhraseMeaning)?
        var k = i
        var words = 0
        while k < raw.count, words < 8 {
            let token = raw[k]
            guard token.kind == .word || token.kind == .symbol || (token.kind == .digits && words > 0) else { break }
            var failed = false
            for p in token.start..<token.end {
                guard let next = grammar.phrases.child(node, ScalarClass.fold(text.scalars[p])) else { failed = true; break }
                node = next
            }
            if failed { break }
            words += 1
            if let meaning = grammar.phrases.meaning(node) { best = (k + 1, meaning) }
            // Skip a gap of spaces and joining punctuation (at most 3 tokens).
            var next = k + 1
            var gap = 0
            while next < raw.count, gap < 3 {
                let t = raw[next]
                if t.kind == .space {
                } else if t.kind == .punct, [0x2E, 0x2F, 0x2D, 0x2A, 0x5C, 0x27, 0x2019].contains(text.scalars[t.start]) {
                } else { break }
                next += 1
                gap += 1
            }
            k = next
        }
        return best
    }

    // MARK: digits

    private mutating func classifyDigits(at i: Int) -> Int {
        // "л/с1234567": the letters glued on the left finish a phrase that began before them.
        let leftPhrase = i > 0 && raw[i - 1].end == raw[i].start && raw[i - 1].kind == .word
            && pieces.last.map { if case .phrase = $0.kind { return $0.end == i } else { return false } } ?? false
        let rightLetters = i + 1 < raw.count && raw[i + 1].start == raw[i].end && raw[i + 1].kind == .word
        // (Not when those letters are a phrase on their own: then the lexer saw the phrase and
        // marked the digits for another reason, such as digits on both sides: "2н6789".)
        let scalars = text.scalars
        if raw[i].glued, leftPhrase, !rightLetters,
           grammar.phrases.lookup(PhraseTable.key(of: (raw[i - 1].start..<raw[i - 1].end).map { Unicode.Scalar(scalars[$0]) ?? " " })) == nil {
            raw[i].glued = false
            raw[i].gluedToPhrase = true
        }
        if raw[i].glued {
            // "abc8", "8abc", "Т112345": letters the grammar does not know make it a code.
            var piece = Piece(.number, i, i + 1)
            piece.aside = "code"
            pieces.append(piece)
            note(raw[i].start, raw[i].end, "digits glued to letters set aside (a code)")
            return i + 1
        }
        if let end = dateEnd(at: i) {
            if end == i + 3, isPunct(i + 1, 0x2F) {
                addAside(.dateOrPair, i, end, "date set aside (or two numbers)")
                return end
            }
            let maybeDecimal = end == i + 3 && isPunct(i + 1, 0x2E) && raw[i + 2].length == 2 && raw[i].length <= 2
            addAside(.date(maybeDecimal: maybeDecimal), i, end, maybeDecimal ? "date set aside (or a decimal reading)" : "date set aside")
            return end
        }
        if raw[i].length <= 2, isPunct(i + 1, 0x29), i == 0 || raw[i - 1].kind == .newline,
           i + 2 >= raw.count || raw[i + 2].kind == .space {
            addAside(.listMarker, i, i + 2, "list marker set aside")
            return i + 2
        }
        if let end = timeEnd(at: i) {
            addAside(.time, i, end, "time set aside")
            return end
        }
        let token = raw[i]
        let first = text.scalars[token.start]
        if token.length == 1 || token.length == 4, first == 0x37 || first == 0x38, let end = phoneEnd(from: i, plus: false) {
            addAside(.phone(maybeNumber: false), i, end, "phone set aside")
            return end
        }
        if let end = localPhoneEnd(at: i) {
            addAside(.phone(maybeNumber: false), i, end, "phone set aside")
            return end
        }
        if token.length == 11, first == 0x37 || first == 0x38, text.scalars[token.start + 1] == 0x39, !token.lookalike,
           !(i > 0 && isPunct(i - 1, 0x2B)) {
            addAside(.phone(maybeNumber: true), i, i + 1, "phone set aside (or a number)")
            return i + 1
        }
        if token.lookalike {
            for k in token.start..<token.end where !ScalarClass.isDigit(text.scalars[k]) {
                let digit = Character(Unicode.Scalar(grammar.lookalikes[text.scalars[k]] ?? 0x3F))
                note(k, k + 1, "lookalike '\(string(k, k + 1))' read as \(digit)")
            }
        }
        pieces.append(Piece(.number, i, i + 1))
        return i + 1
    }

    /// Dates: dd.mm.yyyy, dd.mm.yy, dd/mm/yyyy, yyyy-mm-dd, mm.yyyy, d month [yyyy], yyyy г., bare dd.mm.
    private func dateEnd(at i: Int) -> Int? {
        guard let a = smallValue(i) else { return nil }
        var end: Int?
        if let sep = punct(i + 1), sep == 0x2E || sep == 0x2F || sep == 0x2D, let b = smallValue(i + 2) {
            if isPunct(i + 3, sep), let c = smallValue(i + 4) {
                if a.length <= 2, (1...31).contains(a.value), b.length <= 2, (1...12).contains(b.value),
                   c.length == 2 || (c.length == 4 && (1900...2099).contains(c.value)) {
                    end = i + 5
                } else if a.length == 4, (1900...2099).contains(a.value), b.length <= 2, (1...12).contains(b.value),
                          c.length <= 2, (1...31).contains(c.value) {
                    end = i + 5
                }
            }
            if end == nil, sep != 0x2D, a.length <= 2, (1...12).contains(a.value), b.length == 4,
               (1900...2099).contains(b.value), !followedByDigitsAfterPunct(i + 3) {
                end = i + 3
            }
            // "20/11" after a reading: a day and month, or two small readings.
            if end == nil, sep == 0x2F, a.length <= 2, (1...31).contains(a.value), b.length <= 2, (1...12).contains(b.value),
               !followedByDigitsAfterPunct(i + 3), !(i >= 2 && punct(i - 1) != nil && raw[i - 2].kind == .digits) {
                end = i + 3
            }
            if end == nil, sep == 0x2E, a.length <= 2, (1...31).contains(a.value), b.length == 2, (1...12).contains(b.value),
               !followedByDigitsAfterPunct(i + 3), !(i >= 2 && punct(i - 1) != nil && raw[i - 2].kind == .digits) {
                end = i + 3
            }
        }
        if end == nil, a.length <= 2, (1...31).contains(a.value), i + 2 < raw.count, raw[i + 1].kind == .space,
           raw[i + 2].kind == .word, let match = matchPhrase(at: i + 2), case .month = match.meaning {
            end = yearAfter(match.end) ?? match.end
        }
        if end == nil, a.length == 4, (1900...2099).contains(a.value), let word = yearWordAfter(i + 1) {
            return word
        }
        if let found = end, let word = yearWordAfter(found) { return word }
        return end
    }

    private func followedByDigitsAfterPunct(_ k: Int) -> Bool {
        guard let p = punct(k), p == 0x2E || p == 0x2C || p == 0x2F || p == 0x2D || p == 0x3A else { return false }
        return k + 1 < raw.count && raw[k + 1].kind == .digits
    }

    /// "[space] yyyy [г.]" after a month name or a day-month.
    private func yearAfter(_ k: Int) -> Int? {
        var j = k
        if j < raw.count, raw[j].kind == .space { j += 1 }
        guard let year = smallValue(j), year.length == 4, (1900...2099).contains(year.value) else { return nil }
        return yearWordAfter(j + 1) ?? j + 1
    }

    /// "[space] г/г./год/года" after a year.
    private func yearWordAfter(_ k: Int) -> Int? {
        var j = k
        if j < raw.count, raw[j].kind == .space { j += 1 }
        guard j < raw.count, raw[j].kind == .word, let match = matchPhrase(at: j), match.meaning == .yearWord else { return nil }
        return isPunct(match.end, 0x2E) ? match.end + 1 : match.end
    }

    private func timeEnd(at i: Int) -> Int? {
        guard let h = smallValue(i, maxLength: 2), h.value <= 23, isPunct(i + 1, 0x3A),
              let m = smallValue(i + 2, maxLength: 2), m.length == 2, m.value <= 59 else { return nil }
        if isPunct(i + 3, 0x3A), let s = smallValue(i + 4, maxLength: 2), s.length == 2, s.value <= 59 { return i + 5 }
        return i + 3
    }

    /// A city phone "555-12-34" (three, two and two digits joined by hyphens, nothing more
    /// hyphenated around it), not after a UIN label; an area code in brackets right before it
    /// ("(495) 555-12-34") is set aside with it. Read as numbers it gave three readings.
    private mutating func localPhoneEnd(at i: Int) -> Int? {
        guard raw[i].length == 3, !raw[i].lookalike, text.scalars[raw[i].start] != 0x30, isPunct(i + 1, 0x2D),
              i + 4 < raw.count, raw[i + 2].kind == .digits, raw[i + 2].length == 2, isPunct(i + 3, 0x2D),
              raw[i + 4].kind == .digits, raw[i + 4].length == 2 else { return nil }
        if isPunct(i + 5, 0x2D) || (i > 0 && isPunct(i - 1, 0x2D)) { return nil }
        if i + 5 < raw.count, raw[i + 5].kind == .digits || raw[i + 5].kind == .word { return nil }
        if i > 0, raw[i - 1].kind == .digits || raw[i - 1].kind == .word { return nil }
        // Not a UIN written in groups after its label ("л/с 123-45-67").
        var p = pieces.count - 1
        while p >= 0, pieces[p].isSpace || pieces[p].kind == .punct(0x3A) || pieces[p].kind == .punct(0x23) { p -= 1 }
        if p >= 0, pieces[p].kind == .phrase(.uinLabel) { return nil }
        // "(495) ": the area code.
        var q = pieces.count - 1
        if q >= 0, pieces[q].isSpace { q -= 1 }
        if q >= 2, pieces[q].kind == .punct(0x29), pieces[q - 1].isNumber, pieces[q - 1].aside == nil,
           (3...5).contains(raw[pieces[q - 1].first].length), pieces[q - 2].kind == .punct(0x28) {
            pieces[q - 1].aside = "phone"
            note(raw[pieces[q - 1].first].start, raw[pieces[q - 1].first].end, "phone set aside")
        }
        return i + 5
    }

    /// A phone number written in groups: "+7 903 123-45-67", "8 (903) 123-45-67", "8-903-123-45-67",
    /// "8 903 123 45 67", "+79031234567". Returns the end, or nil.
    func phoneEnd(from i: Int, plus: Bool) -> Int? {
        guard i < raw.count, raw[i].kind == .digits else { return nil }
        var k = i
        var total = 0
        var groups = 0
        var parens = false
        let first = text.scalars[raw[i].start]
        let target = first == 0x37 || first == 0x38 ? 11 : 12
        var lastEnd = i
        var lengths: [Int] = []
        while k < raw.count, raw[k].kind == .digits {
            let length = raw[k].length
            if groups > 0 && length > 7 { break }
            total += length
            groups += 1
            lengths.append(length)
            lastEnd = k + 1
            if total >= target { break }
            // gap: up to 3 tokens of single spaces, '-', '(', ')'
            var j = k + 1
            var gap = 0
            while j < raw.count, gap < 3 {
                if raw[j].kind == .space, raw[j].length == 1 {
                } else if let p = punct(j), p == 0x2D || p == 0x28 || p == 0x29 {
                    if p == 0x28 { parens = true }
                } else { break }
                j += 1
                gap += 1
            }
            if gap == 0 { break }
            k = j
        }
        if plus {
            return (10...13).contains(total) && (first != 0x37 || total == 11) ? lastEnd : nil
        }
        guard total == 11, groups >= 3 || (groups >= 2 && parens) else { return nil }
        // Only the groupings people write phone numbers in: 8 903 123 45 67, 8 903 123 4567,
        // 8 903 1234567, 8903 123 45 67, 8903 1234567 (so "7987 1597 768" or "8998 958 2497",
        // three readings, is not a phone).
        let rest = Array(lengths.dropFirst())
        let allowed: [[Int]] = lengths.first == 1
            ? [[3, 3, 2, 2], [3, 3, 4], [3, 7], [10], [3, 2, 2, 3]]
            : [[3, 2, 2], [7]]
        guard lengths.first == 1 || lengths.first == 4, allowed.contains(rest) else { return nil }
        let firstLength = raw[i].length
        guard firstLength == 1 || text.scalars[raw[i].start + 1] == 0x39 else { return nil }
        if firstLength == 1 {
            var j = i + 1
            while j < raw.count, raw[j].kind != .digits { j += 1 }
            guard j < raw.count, raw[j].length == 3 || raw[j].length == 10 else { return nil }
        }
        if isPunct(lastEnd, 0x29) { return lastEnd + 1 }
        return lastEnd
    }
}
