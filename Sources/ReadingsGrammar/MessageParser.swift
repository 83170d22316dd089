/// Turns a message text into tokens, diagnostics and every plausible interpretation,
/// ranked. Pure and `Sendable`: one parser may serve any number of threads.
public struct MessageParser: Sendable {
    public let grammar: Grammar
    /// The same grammar behind one reference: a parse passes it on with one retain, where a
    /// copy of the struct retains each of its tables.
    private let shared: SharedGrammar

    public init(grammar: Grammar) {
        self.grammar = grammar
        self.shared = SharedGrammar(grammar)
    }

    public func parse(_ text: String) -> ParseResult {
        var run = ParseRun(shared: shared, text: TextNormalizer(thousandsSeparators: grammar.thousandsSeparators).normalize(text))
        return run.execute()
    }
}

/// A grammar held by reference for the passes of one parse (never mutated).
final class SharedGrammar: Sendable {
    let grammar: Grammar

    init(_ grammar: Grammar) {
        self.grammar = grammar
    }
}

/// The state of one `parse` call.
struct ParseRun {
    let shared: SharedGrammar
    let text: NormalizedText
    var raw: [RawToken] = []
    var pieces: [Piece] = []
    var diagnostics: [Diagnostic] = []
    var limitReached = false

    var grammar: Grammar { shared.grammar }

    init(shared: SharedGrammar, text: NormalizedText) {
        self.shared = shared
        self.text = text
    }

    mutating func execute() -> ParseResult {
        if text.truncated {
            note(0, text.scalars.count, "text cut at \(TextNormalizer.maxScalars) characters")
            if text.truncatedDigits { limitReached = true }
        }
        if text.escapeSequences {
            // A terminal escape sequence is no abonent's writing (a hostile sender, or a
            // gateway that mangled the text): the sequence is gone, and the text is ambiguous.
            note(0, text.scalars.count, "terminal escape sequence in the text: dropped, no reading taken")
            limitReached = true
        }
        let lexed = Lexer(shared: shared, text: text).tokenize()
        raw = lexed.tokens
        if lexed.cut {
            limitReached = true
            if let last = raw.last { note(last.end, text.scalars.count, "only the first \(Lexer.maxTokens) tokens considered") }
        }
        classify()
        bindLabels()
        let atoms = buildAtoms()
        var search = InterpretationSearch(shared: shared, atoms: atoms)
        let found = search.run()
        if search.limitReached { limitReached = true }
        for message in search.diagnostics { note(0, 0, message) }
        return ParseResult(normalized: text.string, tokens: makeTokens(), diagnostics: diagnostics,
                           interpretations: found, limitReached: limitReached, history: historyRequest())
    }

    /// A history word anywhere, or (`history: ?`) a question mark beside one UIN and nothing
    /// else but labels, noise and punctuation: the UIN-shaped numbers of the text.
    func historyRequest() -> HistoryRequest? {
        // Most texts ask nothing: one look for the word or the mark before any work.
        let asked = pieces.contains { $0.kind == .phrase(.history) }
        guard asked || (grammar.historyQuestionMark && pieces.contains { $0.kind == .punct(0x3F) }) else { return nil }
        var uins: [String] = []
        var otherContent = false
        for piece in pieces {
            switch piece.kind {
            case .number:
                guard piece.aside == nil else { otherContent = true; continue }
                let digits = (piece.first..<piece.end).filter { raw[$0].kind == .digits }.map { self.digits(ofRaw: $0) }.joined()
                if grammar.uinDigits.contains(digits.count), piece.end - piece.first == 1 {
                    if !uins.contains(digits) { uins.append(digits) }
                } else {
                    otherContent = true
                }
            case .space, .newline, .punct, .phrase(.noise), .phrase(.uinLabel), .phrase(.filler): break
            default: otherContent = true
            }
        }
        if asked { return HistoryRequest(uins: uins) }
        if uins.count == 1, !otherContent { return HistoryRequest(uins: uins) }
        return nil
    }

    // MARK: - Text helpers

    func string(_ start: Int, _ end: Int) -> String { text.string(start, end) }

    func string(of piece: Piece) -> String {
        string(raw[piece.first].start, raw[piece.end - 1].end)
    }

    func string(pieces first: Int, _ last: Int) -> String {
        string(raw[pieces[first].first].start, raw[pieces[last].end - 1].end)
    }

    func byteRange(of piece: Piece) -> Range<Int> {
        text.offsets[raw[piece.first].start]..<text.offsets[raw[piece.end - 1].end]
    }

    mutating func note(_ start: Int, _ end: Int, _ message: String) {
        let range = text.offsets[start]..<text.offsets[end]
        diagnostics.append(Diagnostic(token: string(start, end), range: range, message: message))
    }

    mutating func note(piece index: Int, _ message: String) {
        let piece = pieces[index]
        note(raw[piece.first].start, raw[piece.end - 1].end, message)
    }

    /// Digits of a raw `.digits` token, look-alikes mapped.
    func digits(ofRaw index: Int) -> String {
        let token = raw[index]
        if !token.lookalike { return text.string(token.start, token.end) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(token.length)
        for k in token.start..<token.end {
            let c = text.scalars[k]
            bytes.append(ScalarClass.isDigit(c) ? UInt8(c) : grammar.lookalikes[c] ?? 0x3F)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Value of a raw digits token when it has at most `maxLength` digits.
    func smallValue(_ index: Int, maxLength: Int = 4) -> (value: Int, length: Int)? {
        guard index < raw.count, raw[index].kind == .digits, raw[index].length <= maxLength else { return nil }
        var value = 0
        for k in raw[index].start..<raw[index].end {
            let c = text.scalars[k]
            let d = ScalarClass.isDigit(c) ? Int(c - 48) : Int((grammar.lookalikes[c] ?? 48) - 48)
            value = value * 10 + d
        }
        return (value, raw[index].length)
    }

    func isPunct(_ index: Int, _ c: UInt32) -> Bool {
        index < raw.count && raw[index].kind == .punct && text.scalars[raw[index].start] == c
    }

    func punct(_ index: Int) -> UInt32? {
        index < raw.count && raw[index].kind == .punct ? text.scalars[raw[index].start] : nil
    }
}
