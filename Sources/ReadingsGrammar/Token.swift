/// One token of the normalised text, with its UTF-8 byte range into `ParseResult.normalized`.
public struct Token: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// A value number (a UIN or a reading, decided by the interpretations).
        case number
        case word
        /// A grammar label: "uin", "hint", "filler", or a canonical meter label ("T1", "M2").
        case label(String)
        case unit
        case date
        case time
        case phone
        case email
        case url
        /// A number after (or before) a set-aside label: apartment, serial, money …
        case setAside(String)
        /// A set-aside label itself (kind: "phone", "address", "serial", "money" …).
        case setAsideLabel(String)
        case month
        case separator
        case lineBreak
        case noise
        case symbol
        /// Quoted reply text or a signature, ignored.
        case quoted

        public var description: String {
            switch self {
            case .number: "number"
            case .word: "word"
            case .label(let l): "label(\(l))"
            case .unit: "unit"
            case .date: "date"
            case .time: "time"
            case .phone: "phone"
            case .email: "email"
            case .url: "url"
            case .setAside(let k): "aside(\(k))"
            case .setAsideLabel(let k): "aside-label(\(k))"
            case .month: "month"
            case .separator: "separator"
            case .lineBreak: "line-break"
            case .noise: "noise"
            case .symbol: "symbol"
            case .quoted: "quoted"
            }
        }
    }

    public var kind: Kind
    public var text: String
    /// UTF-8 offsets into the normalised text.
    public var range: Range<Int>

    public init(kind: Kind, text: String, range: Range<Int>) {
        self.kind = kind
        self.text = text
        self.range = range
    }

    public var description: String { "\(kind) '\(text)' @\(range.lowerBound)..<\(range.upperBound)" }
}

/// Something the parser noticed and decided about, as a value (never thrown).
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The text concerned, as normalised.
    public var token: String
    /// UTF-8 offsets into the normalised text.
    public var range: Range<Int>
    /// Why: "date set aside", "label 'ночь' → T2", "lookalike 'O' read as 0" …
    public var message: String

    public init(token: String, range: Range<Int>, message: String) {
        self.token = token
        self.range = range
        self.message = message
    }

    public var description: String { "\(range.lowerBound)..<\(range.upperBound) '\(token)': \(message)" }
}
