/// One reading of a message: the submissions it makes, how far it strays from the
/// plain reading of the text, and why.
public struct Interpretation: Sendable, Hashable, CustomStringConvertible {
    /// One per UIN, in text order (the same UIN may appear twice).
    public var submissions: [Submission]
    /// 0 = the plain reading of the text; +n for each alternative relied on.
    public var penalty: Int
    /// Human-readable: "joined '41 011' as 41011", "',' read as decimal comma".
    public var notes: [String]

    public init(submissions: [Submission], penalty: Int, notes: [String]) {
        self.submissions = submissions
        self.penalty = penalty
        self.notes = notes
    }

    public var description: String {
        let body = submissions.map(\.description).joined(separator: "; ")
        return "[\(penalty)] \(body)" + (notes.isEmpty ? "" : " (" + notes.joined(separator: "; ") + ")")
    }
}

/// The readings given for one UIN.
public struct Submission: Sendable, Hashable, CustomStringConvertible {
    /// Digits exactly as written (leading zeros kept, look-alikes mapped).
    public var uin: String
    /// A UIN label stood before it.
    public var uinLabeled: Bool
    /// In text order.
    public var readings: [Reading]

    public init(uin: String, uinLabeled: Bool, readings: [Reading]) {
        self.uin = uin
        self.uinLabeled = uinLabeled
        self.readings = readings
    }

    public var description: String {
        "\(uin): " + readings.map(\.description).joined(separator: ", ")
    }
}

/// One reading value, with the meter label it was given (if any).
public struct Reading: Sendable, Hashable, CustomStringConvertible {
    public var value: MeterValue
    /// Canonical meter label from the grammar ("T1", "T2", "M1" …); nil = positional.
    public var zone: String?
    /// As written, e.g. "04488", "33690,5", "41 011".
    public var raw: String

    public init(value: MeterValue, zone: String?, raw: String) {
        self.value = value
        self.zone = zone
        self.raw = raw
    }

    public var description: String { (zone.map { $0 + "=" } ?? "") + value.description }
}

/// What `MessageParser.parse` found in a text.
public struct ParseResult: Sendable, Hashable {
    /// The text after normalisation.
    public var normalized: String
    /// Tokens with UTF-8 byte ranges into `normalized`.
    public var tokens: [Token]
    /// Decisions and oddities, as values.
    public var diagnostics: [Diagnostic]
    /// Distinct, best (lowest penalty) first; empty when no UIN with readings was found.
    public var interpretations: [Interpretation]
    /// A cap was hit (text length, tokens, numbers or interpretations): answer `ambiguous`.
    public var limitReached: Bool
    /// The text asks for the last accepted readings (a history word of the grammar); nil when
    /// it does not.
    public var history: HistoryRequest?

    public init(normalized: String, tokens: [Token], diagnostics: [Diagnostic],
                interpretations: [Interpretation], limitReached: Bool, history: HistoryRequest? = nil) {
        self.normalized = normalized
        self.tokens = tokens
        self.diagnostics = diagnostics
        self.interpretations = interpretations
        self.limitReached = limitReached
        self.history = history
    }

    /// Whether some interpretation gives readings (then the text is a submission, whatever
    /// history word it holds).
    public var hasReadings: Bool {
        interpretations.contains { $0.submissions.contains { !$0.readings.isEmpty } }
    }
}

/// A request for the last accepted readings: `история 1234567`, `1234567 ?`, or the history
/// word alone.
public struct HistoryRequest: Sendable, Hashable {
    /// The UIN-shaped numbers of the text (not set aside), distinct, in text order; empty when
    /// none was given.
    public var uins: [String]

    public init(uins: [String]) {
        self.uins = uins
    }
}
