/// A value number as the search sees it, before thousands joins and decimal choices.
struct Atom {
    enum Kind {
        case plain
        /// "20.11": a date by default, a decimal reading as a penalised alternative.
        case dateDecimal
        /// "20/11": a date by default, two numbers (`digits`, `fraction`) as a penalised alternative.
        case datePair
        /// "89031234567": a phone by default, a number as a penalised alternative.
        case phoneNumber
    }

    var kind: Kind
    /// Integer digits as written (look-alikes mapped).
    var digits: String
    /// Digits after a decimal comma or point, if the text allows reading one.
    var fraction: String?
    /// As written: "33690,5", "04488".
    var raw: String
    var integerRaw: String
    var fractionRaw: String
    var zone: String?
    var unit = false
    var uinLabeled = false
    var afterHint = false
    /// A single thousands-separator space follows, then another atom.
    var joinableToNext = false
    /// "12345,6 789": a single thousands-separator space follows the fraction, then another
    /// atom; the comma may separate two readings, the second written in groups (6789).
    var fractionJoinableToNext = false
}

/// One value offered to the UIN assignment.
struct Val: Hashable {
    var value: MeterValue
    var raw: String
    var uinText: String
    var zone: String?
    var uinLabeled: Bool
    var afterHint: Bool
    var canUIN: Bool
    var canReading: Bool
}
