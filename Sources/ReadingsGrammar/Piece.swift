/// A classified stretch of raw tokens `first..<end` (a number, a label phrase, a date …),
/// with what the label-binding pass decided about numbers.
struct Piece {
    enum Kind: Equatable {
        case number
        case word
        case symbol
        case punct(UInt32)
        case space(joinable: Bool)
        case newline
        case phrase(PhraseMeaning)
        case date(maybeDecimal: Bool)
        /// "20/11": a day and month by default, two readings as a penalised alternative.
        case dateOrPair
        case time
        case phone(maybeNumber: Bool)
        case email
        case url
        case quoted
        /// "1)" at the start of a line.
        case listMarker
    }

    var kind: Kind
    var first: Int
    var end: Int

    // Decisions about a `.number` piece.
    var zone: String?
    var uinLabeled = false
    var unit = false
    var afterHint = false
    /// Set aside, with the reason ("phone", "address" …).
    var aside: String?

    init(_ kind: Kind, _ first: Int, _ end: Int) {
        self.kind = kind
        self.first = first
        self.end = end
    }

    var isNumber: Bool { kind == .number }

    var isSpace: Bool {
        if case .space = kind { return true }
        return false
    }
}
