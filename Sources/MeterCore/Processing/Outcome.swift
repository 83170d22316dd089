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
/// (control characters, DEL and C1, U+2028/U+2029 and the BOM escaped). It writes UTF-8 bytes:
/// one outcome line per message is built on the store's single writer.
package struct JSONLine {
    private var bytes: [UInt8] = []
    /// Whether the object being written has a member already (innermost last).
    private var needsComma: [Bool] = [false]

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    package init() { bytes.reserveCapacity(512) }

    package var text: String { String(decoding: bytes, as: UTF8.self) }

    package mutating func open() {
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    package mutating func close() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    package mutating func key(_ name: String) {
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
        if name.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            // A plain name (every key of the outcome line): copied as it is.
            bytes.append(UInt8(ascii: "\""))
            bytes.append(contentsOf: name.utf8)
            bytes.append(UInt8(ascii: "\""))
        } else {
            string(name)
        }
        bytes.append(UInt8(ascii: ":"))
    }

    package mutating func raw(_ fragment: String) { bytes.append(contentsOf: fragment.utf8) }

    package mutating func string(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { append(escaping: $0) }
        bytes.append(UInt8(ascii: "\""))
    }

    /// Copies valid UTF-8, escaping what JSON requires and the invisible characters that would
    /// break a line-oriented reader or hide text: U+0000–U+001F, `"`, `\\`, U+007F–U+009F
    /// (C2 80–C2 9F), U+2028/U+2029 (E2 80 A8/A9) and U+FEFF (EF BB BF).
    private mutating func append(escaping utf8: UnsafeBufferPointer<UInt8>) {
        var index = 0
        var copied = 0
        func flush(_ upTo: Int) {
            if upTo > copied { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[copied..<upTo])) }
        }
        while index < utf8.count {
            let byte = utf8[index]
            var escape: (code: UInt32, length: Int)?
            switch byte {
            case 0..<0x20, 0x22, 0x5C, 0x7F:
                escape = (UInt32(byte), 1)
            case 0xC2 where index + 1 < utf8.count && (0x80...0x9F).contains(utf8[index + 1]):
                escape = (UInt32(utf8[index + 1]), 2)
            case 0xE2 where index + 2 < utf8.count && utf8[index + 1] == 0x80 && (utf8[index + 2] == 0xA8 || utf8[index + 2] == 0xA9):
                escape = (0x2000 + UInt32(utf8[index + 2]) - 0x80, 3)
            case 0xEF where index + 2 < utf8.count && utf8[index + 1] == 0xBB && utf8[index + 2] == 0xBF:
                escape = (0xFEFF, 3)
            default:
                break
            }
            guard let (code, length) = escape else {
                index += 1
                continue
            }
            flush(index)
            switch code {
            case 0x22: bytes.append(contentsOf: [0x5C, 0x22])
            case 0x5C: bytes.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
            default:
                let hex = Self.hexDigits
                bytes.append(contentsOf: [0x5C, UInt8(ascii: "u"),
                    hex[Int(code >> 12 & 0xF)], hex[Int(code >> 8 & 0xF)], hex[Int(code >> 4 & 0xF)], hex[Int(code & 0xF)]])
            }
            index += length
            copied = index
        }
        flush(utf8.count)
    }
}
