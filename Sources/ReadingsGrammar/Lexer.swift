/// One raw lexical unit of the normalised text (scalar indices `start..<end`).
struct RawToken {
    enum Kind: UInt8 {
        /// ASCII digits, possibly with look-alike letters inside (`11O77`).
        case digits
        case word
        case symbol
        case punct
        case space
        case newline
        case email
        case url
    }

    var kind: Kind
    var start: Int
    var end: Int
    /// For `.digits`: a look-alike character was read as a digit.
    var lookalike = false
    /// For `.space`: a single space that may separate thousands.
    var joinable = false
    /// For `.digits`: letters the grammar does not know are glued to it (`abc8`, `8abc`): a
    /// code, never a reading or a UIN.
    var glued = false
    /// For `.digits`: a grammar phrase is glued to it (`УИН3462933`, `ЛС123`, `155431квт`).
    var gluedToPhrase = false

    var length: Int { end - start }
}

/// Splits normalised scalars into raw tokens; e-mail addresses and URLs are found first.
struct Lexer {
    static let maxTokens = 4_000

    let shared: SharedGrammar
    let text: NormalizedText

    var grammar: Grammar { shared.grammar }

    /// Returns the tokens and whether the token cap cut the text (with digits after the cut).
    func tokenize() -> (tokens: [RawToken], cut: Bool) {
        let s = text.scalars
        let n = s.count
        var tokens: [RawToken] = []
        tokens.reserveCapacity(min(n / 3 + 4, 256))
        let spans = addressSpans()
        var spanIndex = 0
        var i = 0
        while i < n {
            if tokens.count >= Self.maxTokens {
                var j = i
                while j < n { if ScalarClass.isDigit(s[j]) { return (tokens, true) }; j += 1 }
                return (tokens, false)
            }
            if spanIndex < spans.count, spans[spanIndex].start == i {
                let span = spans[spanIndex]
                tokens.append(RawToken(kind: span.kind, start: span.start, end: span.end))
                i = span.end
                spanIndex += 1
                continue
            }
            let limit = spanIndex < spans.count ? spans[spanIndex].start : n
            let c = s[i]
            if c == 0x0A {
                var j = i + 1
                while j < limit, s[j] == 0x0A || ScalarClass.isHorizontalSpace(s[j]) { j += 1 }
                tokens.append(RawToken(kind: .newline, start: i, end: j))
                i = j
            } else if ScalarClass.isHorizontalSpace(c) {
                var j = i + 1
                while j < limit, ScalarClass.isHorizontalSpace(s[j]) { j += 1 }
                if j < limit, s[j] == 0x0A {
                    while j < limit, s[j] == 0x0A || ScalarClass.isHorizontalSpace(s[j]) { j += 1 }
                    tokens.append(RawToken(kind: .newline, start: i, end: j))
                } else {
                    let joinable = j == i + 1 && c == 0x20 && !text.nonJoinableSpaces.contains(i)
                    tokens.append(RawToken(kind: .space, start: i, end: j, joinable: joinable))
                }
                i = j
            } else if isWordScalar(c) {
                var j = i + 1
                while j < limit, isWordScalar(s[j]) { j += 1 }
                appendWord(i, j, into: &tokens)
                i = j
            } else if ScalarClass.isPunctuation(c) || c < 0x20 {
                tokens.append(RawToken(kind: .punct, start: i, end: i + 1))
                i += 1
            } else {
                tokens.append(RawToken(kind: .symbol, start: i, end: i + 1))
                i += 1
            }
        }
        return (tokens, false)
    }

    @inline(__always)
    private func isWordScalar(_ c: UInt32) -> Bool {
        ScalarClass.isDigit(c) || ScalarClass.isLetter(c) || (grammar.lookalikes[c] != nil && c != 0x20)
    }

    /// A run of letters, digits and look-alikes: a number (digits, maybe with look-alikes),
    /// a word, or a word glued to a number ("УИН3462933", "155431квт") split at the boundary.
    private func appendWord(_ start: Int, _ end: Int, into tokens: inout [RawToken]) {
        let s = text.scalars
        var digits = 0
        var lookalikes = 0
        var others = 0
        for k in start..<end {
            let c = s[k]
            if ScalarClass.isDigit(c) { digits += 1 } else if grammar.lookalikes[c] != nil { lookalikes += 1 } else { others += 1 }
        }
        // Mostly digits: "11O77", "1730О"; with two or more real digits one more look-alike
        // than digits still reads as a number ("I73OO" → 17300).
        if others == 0 && digits > 0 && lookalikes <= (digits >= 2 ? digits + 1 : digits) {
            tokens.append(RawToken(kind: .digits, start: start, end: end, lookalike: lookalikes > 0))
            return
        }
        if digits == 0 {
            if others == 0 && !(start..<end).contains(where: { ScalarClass.isLetter(s[$0]) }) {
                // Only look-alike punctuation such as '|'.
                for k in start..<end { tokens.append(RawToken(kind: .punct, start: k, end: k + 1)) }
                return
            }
            tokens.append(RawToken(kind: .word, start: start, end: end))
            return
        }
        // Mixed: keep whole when the grammar knows it ("т1", "сч2", an operator's "1д").
        let keyOfWhole = PhraseTable.key(of: (start..<end).lazy.compactMap { Unicode.Scalar(s[$0]) })
        if grammar.phrases.lookup(keyOfWhole) != nil {
            tokens.append(RawToken(kind: .word, start: start, end: end))
            return
        }
        // Otherwise split at letter/digit boundaries, taking the longest grammar phrase that
        // ends at a boundary ("1д12345" → "1д" + "12345" when the grammar names "1д"). Digits
        // glued to letters the grammar does not know are a code ("abc8", "Т112345").
        var boundaries: [Int] = []
        var k = start
        while k < end {
            let isDigit = ScalarClass.isDigit(s[k])
            var j = k + 1
            while j < end, ScalarClass.isDigit(s[j]) == isDigit { j += 1 }
            boundaries.append(j)
            k = j
        }
        var pieces: [(start: Int, end: Int, phrase: Bool, digits: Bool)] = []
        k = start
        var b = 0
        while k < end {
            var taken = false
            var m = boundaries.count - 1
            while m >= b {
                let stop = boundaries[m]
                if m > b || !ScalarClass.isDigit(s[k]) {
                    let key = PhraseTable.key(of: (k..<stop).lazy.compactMap { Unicode.Scalar(s[$0]) })
                    if !key.isEmpty, let meaning = grammar.phrases.lookup(key) {
                        // Noise says what the letters are not, not what the digits are.
                        pieces.append((k, stop, meaning != .noise, false))
                        k = stop
                        b = m + 1
                        taken = true
                        break
                    }
                }
                m -= 1
            }
            if taken { continue }
            let stop = boundaries[b]
            pieces.append((k, stop, false, ScalarClass.isDigit(s[k])))
            k = stop
            b += 1
        }
        for (n, piece) in pieces.enumerated() {
            guard piece.digits else {
                tokens.append(RawToken(kind: .word, start: piece.start, end: piece.end))
                continue
            }
            let neighbours = [n > 0 ? pieces[n - 1] : nil, n + 1 < pieces.count ? pieces[n + 1] : nil].compactMap { $0 }
            var token = RawToken(kind: .digits, start: piece.start, end: piece.end)
            // A phrase with digits glued on both sides ("2н6789") labels one of them, but which?
            let shared = (n >= 2 && pieces[n - 1].phrase && pieces[n - 2].digits)
                || (n + 2 < pieces.count && pieces[n + 1].phrase && pieces[n + 2].digits)
            token.glued = shared || neighbours.contains { !$0.phrase }
            token.gluedToPhrase = neighbours.contains { $0.phrase }
            tokens.append(token)
        }
    }

    struct Span {
        var kind: RawToken.Kind
        var start: Int
        var end: Int
    }

    /// E-mail addresses and URLs, in text order, not overlapping.
    private func addressSpans() -> [Span] {
        let s = text.scalars
        let n = s.count
        var spans: [Span] = []
        var floor = 0
        var i = 0
        func isAddressScalar(_ c: UInt32) -> Bool {
            ScalarClass.isDigit(c) || ScalarClass.isLetter(c) || c == 0x2E || c == 0x5F || c == 0x2D || c == 0x2B || c == 0x25
        }
        func isURLScalar(_ c: UInt32) -> Bool {
            c > 0x20 && c != 0x3C && c != 0x3E && c != 0x22 && c != 0xAB && c != 0xBB && c != 0x29
        }
        while i < n {
            let c = s[i]
            if c == 0x40 {  // '@'
                var a = i
                while a > floor, isAddressScalar(s[a - 1]) { a -= 1 }
                var b = i + 1
                while b < n, isAddressScalar(s[b]) { b += 1 }
                while b > i + 1, s[b - 1] == 0x2E || s[b - 1] == 0x2D { b -= 1 }
                while a < i, s[a] == 0x2E { a += 1 }
                let domainHasDot = (i + 2..<max(i + 2, b - 1)).contains { s[$0] == 0x2E }
                if a < i, domainHasDot {
                    spans.append(Span(kind: .email, start: a, end: b))
                    floor = b
                    i = b
                    continue
                }
                floor = i + 1
            } else if (c == 0x68 || c == 0x48 || c == 0x77 || c == 0x57), i >= floor,
                      i == 0 || !ScalarClass.isLetter(s[i - 1]) && !ScalarClass.isDigit(s[i - 1]) {
                let prefixLength = urlPrefixLength(at: i)
                if prefixLength > 0 {
                    var b = i + prefixLength
                    while b < n, isURLScalar(s[b]) { b += 1 }
                    while b > i + prefixLength, [0x2E, 0x2C, 0x3B, 0x3A, 0x21, 0x3F].contains(s[b - 1]) { b -= 1 }
                    spans.append(Span(kind: .url, start: i, end: b))
                    floor = b
                    i = b
                    continue
                }
            }
            i += 1
        }
        return spans
    }

    private func urlPrefixLength(at i: Int) -> Int {
        let s = text.scalars
        func matches(_ prefix: String) -> Bool {
            var k = i
            for u in prefix.unicodeScalars {
                guard k < s.count else { return false }
                var c = s[k]
                if c &- 0x41 < 26 { c += 0x20 }
                if c != u.value { return false }
                k += 1
            }
            return true
        }
        if matches("https://") { return 8 }
        if matches("http://") { return 7 }
        if matches("www.") { return 4 }
        return 0
    }
}
