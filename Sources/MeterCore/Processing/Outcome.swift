import Foundation

/// The contract's outcome statuses (§5).
public enum OutcomeStatus: String, Sendable, Hashable, Codable {
    case accepted, duplicate, held, rejected, ignored
    /// A question answered (the history), nothing recorded.
    case answered

    /// Whether readings are written to the ledger for this status.
    public var records: Bool { self == .accepted || self == .held || self == .duplicate }
}

/// Why a message or a UIN's readings were held, rejected or ignored.
public enum OutcomeReason: String, Sendable, Hashable, Codable, CaseIterable {
    // held
    case implausible
    /// A correction from a sender who neither sent the readings it replaces nor is bound to the account.
    case unverifiedCorrection = "unverified_correction"
    // rejected (contract §5)
    case unparsed
    case unknownAccount = "unknown_account"
    case countMismatch = "count_mismatch"
    case decreasing
    case outOfRange = "out_of_range"
    case ambiguous
    case tooLarge = "too_large"
    /// An operator rejected held readings (`review reject`).
    case reviewRejected = "operator"
    // ignored (informational)
    case autoReply = "auto_reply"
    case bounce
    case ownMessage = "own_message"
    case alreadySeen = "already_seen"
    case rateLimited = "rate_limited"
    case noSender = "no_sender"

    public static let rejections: [OutcomeReason] = [
        .unparsed, .unknownAccount, .countMismatch, .decreasing, .outOfRange, .ambiguous, .tooLarge,
    ]
}

/// One UIN's result within a message.
public struct SubmissionOutcome: Sendable, Hashable {
    public var uin: String
    public var status: OutcomeStatus
    public var reason: OutcomeReason?
    /// Meter labels, in the account's order when the readings could be placed.
    public var meters: [String]
    /// Normalised decimal strings: in meter order when placed, else as written.
    public var readings: [String]
    public var previous: [String?]
    /// Meters the abonent's account expects (for the reply to a bound sender).
    public var expectedCount: Int?
    /// Whether the sender's phone or address is bound to this UIN's account.
    public var senderBound = false
    /// The readings this result replaced: a correction of the same period (contract §5, `replaces`).
    public var replaces: [String]?
    /// Recording it supersedes the period's earlier submissions (it counts now).
    public var supersedes = false
    /// As recorded with the submission (`NewSubmission.senderBound`): nil when the account binds
    /// no phone or address, else whether the sender is bound.
    public var senderBinding: Bool?
    /// A history request's answer (`answered`), for the reply only.
    public var history: HistoryAnswer?

    public init(
        uin: String, status: OutcomeStatus, reason: OutcomeReason? = nil, meters: [String] = [],
        readings: [String] = [], previous: [String?] = [], expectedCount: Int? = nil
    ) {
        self.uin = uin
        self.status = status
        self.reason = reason
        self.meters = meters
        self.readings = readings
        self.previous = previous
        self.expectedCount = expectedCount
    }
}

/// What a history request tells: the last accepted readings, to a sender bound to the account.
public struct HistoryAnswer: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The readings that count in the latest period, and the day they were received (`dd.MM.yyyy`).
        case readings(values: [String], date: String)
        /// The ledger has no accepted readings of the account.
        case none
        /// The sender is not bound to the account (or it does not exist): nothing is told.
        case notBound
        /// No UIN given and the sender is bound to several accounts: which one?
        case whichAccount
    }

    public var kind: Kind

    public init(_ kind: Kind) {
        self.kind = kind
    }
}

/// What happened to one message: the contract's outcome line.
public struct Outcome: Sendable, Hashable {
    public var id: String
    public var status: OutcomeStatus
    public var reason: OutcomeReason?
    public var results: [SubmissionOutcome]
    public var reply: String?
    /// A history request that named no UIN: what it is told (for the reply only).
    public var history: HistoryAnswer?

    public init(id: String, status: OutcomeStatus, reason: OutcomeReason?, results: [SubmissionOutcome], reply: String?) {
        self.id = id
        self.status = status
        self.reason = reason
        self.results = results
        self.reply = reply
    }

    /// The outcome line of `replay` (contract §5), keys in a stable order.
    public var jsonLine: String {
        var json = JSONLine()
        json.open()
        json.key("id"); json.string(id)
        json.key("status"); json.string(status.rawValue)
        if let reason { json.key("reason"); json.string(reason.rawValue) }
        json.key("results")
        json.raw("[")
        for (index, result) in results.enumerated() {
            if index > 0 { json.raw(",") }
            json.open()
            json.key("uin"); json.string(result.uin)
            json.key("status"); json.string(result.status.rawValue)
            if let reason = result.reason { json.key("reason"); json.string(reason.rawValue) }
            json.key("readings")
            json.raw("[")
            for (i, value) in result.readings.enumerated() {
                if i > 0 { json.raw(",") }
                json.string(value)
            }
            json.raw("]")
            if let replaces = result.replaces {
                json.key("replaces")
                json.raw("[")
                for (i, value) in replaces.enumerated() {
                    if i > 0 { json.raw(",") }
                    json.string(value)
                }
                json.raw("]")
            }
            json.close()
        }
        json.raw("]")
        json.key("reply")
        if let reply { json.string(reply) } else { json.raw("null") }
        json.close()
        return json.text
    }
}

/// A tiny JSON writer for outcome lines: fast, stable key order, correct escaping
/// (control characters, U+2028/U+2029 and invisible characters escaped).
package struct JSONLine {
    package private(set) var text = ""
    private var needsComma = [false]

    package init() {}

    package mutating func open() {
        text += "{"
        needsComma.append(false)
    }

    package mutating func close() {
        text += "}"
        needsComma.removeLast()
    }

    package mutating func key(_ name: String) {
        if needsComma[needsComma.count - 1] { text += "," }
        needsComma[needsComma.count - 1] = true
        string(name)
        text += ":"
    }

    package mutating func raw(_ fragment: String) { text += fragment }

    package mutating func string(_ value: String) {
        text += "\""
        // Fast path: nothing to escape (no quote, backslash, control byte, C1/U+2028/U+2029/BOM lead bytes).
        if !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 == 0xC2 || $0 == 0xE2 || $0 == 0xEF }) {
            text += value
            text += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            default:
                let v = scalar.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || v == 0x2028 || v == 0x2029 || v == 0xFEFF {
                    text += String(format: "\\u%04x", v)
                } else {
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
